using Microsoft.Extensions.Time.Testing;
using SerSync.Paths;
using SerSync.Watching;

namespace SerSync.UnitTests.Watching;

public sealed class UnwatchedDirectoriesTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Nothing_is_due_while_empty_and_the_first_directory_starts_the_clock()
    {
        var time = new FakeTimeProvider(T0);
        var set = new UnwatchedDirectories(time) { Interval = TimeSpan.FromSeconds(5) };
        Assert.Null(set.DueIn());
        Assert.False(set.IsDue());

        time.Advance(TimeSpan.FromMinutes(1)); // an empty set's clock does not run
        Assert.True(set.Add(RelativePath.FromString("a")));
        Assert.Equal(TimeSpan.FromSeconds(5), set.DueIn());
        time.Advance(TimeSpan.FromSeconds(4.9));
        Assert.False(set.IsDue());
        Assert.True(set.DueIn() > TimeSpan.Zero && set.DueIn() <= TimeSpan.FromSeconds(0.1));

        // A second directory does not move the clock.
        Assert.True(set.Add(RelativePath.FromString("b")));
        time.Advance(TimeSpan.FromSeconds(0.1));
        Assert.True(set.IsDue());
        Assert.Equal(TimeSpan.Zero, set.DueIn());
    }

    [Fact]
    public void The_next_rescan_is_one_interval_after_the_last_one_ended()
    {
        var time = new FakeTimeProvider(T0);
        var set = new UnwatchedDirectories(time) { Interval = TimeSpan.FromSeconds(2) };
        set.Add(RelativePath.FromString("a"));
        time.Advance(TimeSpan.FromSeconds(7)); // a slow rescan, or a long read: due long ago
        Assert.True(set.IsDue());
        set.Rescanned();
        Assert.Equal(TimeSpan.FromSeconds(2), set.DueIn()); // not back to back to catch up
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.True(set.IsDue());
    }

    [Fact]
    public void A_directory_is_counted_once_and_leaves_when_watched_or_gone()
    {
        var set = new UnwatchedDirectories(new FakeTimeProvider(T0));
        var a = RelativePath.FromString("x/a");
        Assert.True(set.Add(a));
        Assert.False(set.Add(a)); // said once: the caller logs only on true
        Assert.True(set.Add(RelativePath.FromString("x/b")));
        Assert.Equal(2, set.Count);
        Assert.Equal(2, set.Total);
        Assert.True(set.Contains(a));

        Assert.True(set.Remove(a));
        Assert.False(set.Remove(a));
        Assert.Equal(1, set.Count);
        Assert.Equal(2, set.Total);
        set.Remove(RelativePath.FromString("x/b"));
        Assert.Equal(0, set.Count);
        Assert.Null(set.DueIn());
    }

    [Fact]
    public void Fingerprints_start_unknown_and_are_kept_only_for_members()
    {
        var set = new UnwatchedDirectories(new FakeTimeProvider(T0));
        var a = RelativePath.FromString("a");
        set.Add(a);
        Assert.Null(set.FingerprintOf(a)); // unknown: the first rescan syncs it
        set.SetFingerprint(a, 42);
        Assert.Equal(42UL, set.FingerprintOf(a));
        set.SetFingerprint(a, null); // unsettled: the next rescan syncs again
        Assert.Null(set.FingerprintOf(a));

        set.SetFingerprint(RelativePath.FromString("not-in-set"), 7);
        Assert.Null(set.FingerprintOf(RelativePath.FromString("not-in-set")));
        Assert.Equal(1, set.Count);
    }

    [Fact]
    public void The_sample_is_the_first_paths_in_byte_order()
    {
        var set = new UnwatchedDirectories(new FakeTimeProvider(T0));
        foreach (var name in new[] { "d", "b", "a/z", "c", "a" })
        {
            set.Add(RelativePath.FromString(name));
        }

        Assert.Equal(["a", "a/z", "b"], set.Sample(3).Select(p => p.ToString()));
        Assert.Equal(5, set.Sample(10).Count);
        Assert.Equal(["a", "a/z", "b", "c", "d"], set.Paths().Select(p => p.ToString()));
        set.Clear();
        Assert.Empty(set.Sample(3));
        Assert.Equal(0, set.Count);
    }
}
