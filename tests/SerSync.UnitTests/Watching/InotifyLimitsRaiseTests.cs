using SerSync.Filtering;
using SerSync.Paths;
using SerSync.Testing;
using SerSync.Watching;

namespace SerSync.UnitTests.Watching;

public sealed class InotifyLimitsRaiseTests
{
    [Theory]
    [InlineData(8192, 100, 16384)] // double the limit: the uid's other inotify users need room too
    [InlineData(1000, 100_000, 2 * 125_000 + 8192)] // a big tree: what it calls for plus 25 %
    [InlineData(0, 0, 8192)]
    [InlineData(2_000_000_000, 10, int.MaxValue)] // the kernel keeps it in an int
    public void The_raised_watch_limit_doubles_or_covers_the_tree(long current, int watched, long expected) =>
        Assert.Equal(expected, InotifyLimits.RaisedWatchLimit(current, watched));

    [Fact]
    public void The_raised_watch_limit_is_never_lower_than_the_current_one()
    {
        foreach (var current in new long[] { 1, 8191, 65536, 192536, int.MaxValue })
        {
            foreach (var watched in new[] { 0, 1, 5000, 1_000_000 })
            {
                var raised = InotifyLimits.RaisedWatchLimit(current, watched);
                Assert.True(raised >= current, $"{current} with {watched} watched gave {raised}");
                Assert.True(raised > current || current == int.MaxValue);
            }
        }
    }

    [Theory]
    [InlineData(0, 327679)] // sersync's value is the floor
    [InlineData(50_000, 327679)]
    [InlineData(100_000, 400_000)] // four events per directory
    [InlineData(int.MaxValue, int.MaxValue)]
    public void The_queued_events_wanted_follow_the_tree(int directories, long expected) =>
        Assert.Equal(expected, InotifyLimits.WantedQueuedEvents(directories));

    [Fact]
    public void TryRaise_raises_and_never_lowers()
    {
        Assert.SkipUnless(Environment.IsPrivilegedProcess, "only root may raise a limit");
        using var t = new TempDirectory();
        var file = Path.Combine(t.Path, "limit");
        File.WriteAllText(file, "1000\n");
        Assert.True(InotifyLimits.TryRaise(file, 5000, out var before));
        Assert.Equal(1000, before);
        Assert.Equal(5000, InotifyLimits.Read(file));

        Assert.True(InotifyLimits.TryRaise(file, 10, out before)); // already above: true, untouched
        Assert.Equal(5000, before);
        Assert.Equal("5000", File.ReadAllText(file).Trim());

        Assert.False(InotifyLimits.TryRaise(Path.Combine(t.Path, "missing"), 10, out before));
        Assert.Null(before);
    }

    [Fact]
    public void The_subtree_fingerprint_changes_with_the_subtree_and_only_then()
    {
        using var t = new TempDirectory();
        var root = FileSystemBytes.RootBytes(t.Path);
        var dir = RelativePath.FromString("d");
        Directory.CreateDirectory(Path.Combine(t.Path, "d/e"));
        File.WriteAllText(Path.Combine(t.Path, "d/e/f"), "one");
        File.WriteAllText(Path.Combine(t.Path, "outside"), "x");
        var later = DateTimeOffset.UtcNow + TimeSpan.FromHours(1); // every entry is settled by then
        var filter = new PathFilter();

        var first = SubtreeFingerprint.Compute(root, dir, filter, later, out var unsettled);
        Assert.NotNull(first);
        Assert.False(unsettled);
        Assert.Equal(first, SubtreeFingerprint.Compute(root, dir, filter, later, out _));
        SubtreeFingerprint.Compute(root, dir, filter, DateTimeOffset.UtcNow, out unsettled);
        Assert.True(unsettled); // just written: an equal fingerprint next time would prove nothing

        File.WriteAllText(Path.Combine(t.Path, "outside"), "changed outside the subtree");
        Assert.Equal(first, SubtreeFingerprint.Compute(root, dir, filter, later, out _));

        File.WriteAllText(Path.Combine(t.Path, "d/e/f"), "two!");
        var written = SubtreeFingerprint.Compute(root, dir, filter, later, out _);
        Assert.NotEqual(first, written);

        File.Delete(Path.Combine(t.Path, "d/e/f"));
        Assert.NotEqual(written, SubtreeFingerprint.Compute(root, dir, filter, later, out _));

        Directory.Delete(Path.Combine(t.Path, "d"), recursive: true);
        Assert.Null(SubtreeFingerprint.Compute(root, dir, filter, later, out _));
    }
}
