using System.Diagnostics;
using System.Threading.Channels;
using SerSync.Configuration;
using SerSync.Filtering;
using SerSync.Paths;
using SerSync.Testing;
using SerSync.Watching;

namespace SerSync.UnitTests.Watching;

/// <summary>The portable and polling backends on a real directory: hints, the safety-net scan, the barrier, a lost root.</summary>
[Collection("inotify")] // FileSystemWatcher is inotify on Linux: the same limits as the inotify tests
public sealed class ScanningWatcherTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);
    private readonly TempDirectory _temp = new("sersync-scanw-");
    private readonly Channel<FileChange> _channel = Channel.CreateUnbounded<FileChange>();
    private readonly string _root;

    public ScanningWatcherTests() => _root = _temp.Sub("root");

    public void Dispose() => _temp.Dispose();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private ScanningWatcher New(WatcherKind kind, TimeSpan interval, bool dropHints = false) =>
        new(kind, _root, InotifyConfig.Stock, new PathFilter(), _channel.Writer, interval) { DropHints = dropHints };

    private async Task<FileChange> WaitForAsync(string path, ChangeKind kind)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        cts.CancelAfter(Deadline);
        var seen = new List<string>();
        try
        {
            while (true)
            {
                var c = await _channel.Reader.ReadAsync(cts.Token);
                if (c.Path == RelativePath.FromString(path) && c.Kind == kind)
                {
                    return c;
                }

                seen.Add($"{c.Kind} {c.Path}");
            }
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"no {kind} {path} within {Deadline}; saw {string.Join(", ", seen)}");
            throw;
        }
    }

    [Fact]
    public async Task Portable_hints_bring_a_change_long_before_the_scan_interval()
    {
        using var watcher = New(WatcherKind.Portable, TimeSpan.FromHours(1));
        watcher.Start();
        var clock = Stopwatch.StartNew();
        Directory.CreateDirectory(Path.Combine(_root, "d"));
        File.WriteAllText(Path.Combine(_root, "d", "f"), "x");
        await WaitForAsync("d", ChangeKind.UpsertTree);
        File.WriteAllText(Path.Combine(_root, "g"), "x");
        await WaitForAsync("g", ChangeKind.Upsert);
        File.Delete(Path.Combine(_root, "g"));
        await WaitForAsync("g", ChangeKind.Delete);
        Assert.True(clock.Elapsed < TimeSpan.FromMinutes(1), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task With_every_hint_dropped_the_full_scan_finds_the_change_within_the_interval()
    {
        var interval = TimeSpan.FromSeconds(1);
        using var watcher = New(WatcherKind.Portable, interval, dropHints: true);
        watcher.Start();
        var clock = Stopwatch.StartNew();
        File.WriteAllText(Path.Combine(_root, "missed"), "x");
        await WaitForAsync("missed", ChangeKind.Upsert);

        // Found by a scan: at most one interval after the write, plus the scan's own time (generous on a busy machine).
        Assert.True(clock.Elapsed < interval + TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task A_FileSystemWatcher_that_went_quiet_is_found_by_its_probe_and_made_again()
    {
        using var watcher = new ScanningWatcher(WatcherKind.Portable, _root, InotifyConfig.Stock, new PathFilter(), _channel.Writer, TimeSpan.FromHours(1)) { ProbeAfterQuiet = TimeSpan.FromSeconds(1) };
        watcher.Start();
        watcher.SilenceHints();
        var clock = Stopwatch.StartNew();
        File.WriteAllText(Path.Combine(_root, "after-silence"), "x");

        // Found by the whole-tree comparison that follows the restart, long before the hour's scan.
        await WaitForAsync("after-silence", ChangeKind.Upsert);
        Assert.True(watcher.Overflows >= 1, "the restart is counted as a lost-events repair");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"took {clock.Elapsed}");

        // And the new FileSystemWatcher brings hints again.
        File.WriteAllText(Path.Combine(_root, "after-restart"), "x");
        await WaitForAsync("after-restart", ChangeKind.Upsert);
    }

    [Fact]
    public async Task Polling_reports_a_rename_as_a_move_and_the_barrier_needs_no_interval()
    {
        File.WriteAllText(Path.Combine(_root, "a"), "content");
        using var watcher = New(WatcherKind.Poll, TimeSpan.FromHours(1));
        watcher.Start();
        Assert.Equal(1, watcher.WatchCount);
        File.Move(Path.Combine(_root, "a"), Path.Combine(_root, "b"));

        // The barrier compares the whole tree now: what was on the disk before it is in the channel when it returns.
        Assert.True(await watcher.SyncAsync(Deadline, Ct));
        Assert.True(_channel.Reader.TryRead(out var from));
        Assert.True(_channel.Reader.TryRead(out var to));
        Assert.Equal((ChangeKind.Delete, "a", true), (from.Kind, from.Path.ToString(), from.MoveToFollows));
        Assert.Equal((ChangeKind.Upsert, "b", "a"), (to.Kind, to.Path.ToString(), to.MovedFrom?.ToString()));
    }

    [Fact]
    public async Task A_root_deleted_is_reported_as_lost_never_as_deletes()
    {
        File.WriteAllText(Path.Combine(_root, "f"), "x");
        using var watcher = New(WatcherKind.Poll, TimeSpan.FromMilliseconds(200));
        var lost = new TaskCompletionSource<RootLostReason>(TaskCreationOptions.RunContinuationsAsynchronously);
        watcher.RootLost += (_, e) => lost.TrySetResult(e.Reason);
        watcher.Start();
        Directory.Delete(_root, recursive: true);
        Assert.Equal(RootLostReason.Deleted, await lost.Task.WaitAsync(Deadline, Ct));
        await Assert.ThrowsAsync<RootLostException>(() => watcher.Completion.WaitAsync(Deadline, Ct));
        Assert.False(_channel.Reader.TryRead(out var change), $"reported {change.Kind} {change.Path}");
    }

    [Fact]
    public void Start_on_a_missing_root_throws_and_each_backend_says_what_it_does_not_guarantee()
    {
        using var watcher = new ScanningWatcher(WatcherKind.Poll, Path.Combine(_root, "nope"), InotifyConfig.Stock, new PathFilter(), _channel.Writer, TimeSpan.FromSeconds(5));
        Assert.Throws<DirectoryNotFoundException>(watcher.Start);
        Assert.Contains("up to 5 s late", watcher.Caveat, StringComparison.Ordinal);
        Assert.Contains("lost", ScanningWatcher.Describe(WatcherKind.Portable, TimeSpan.FromSeconds(60)), StringComparison.Ordinal);
    }
}
