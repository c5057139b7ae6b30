using System.Diagnostics;
using System.Globalization;
using System.Text;
using SerSync.Configuration;
using SerSync.Filtering;
using SerSync.Paths;
using SerSync.Testing;
using SerSync.Watching;
using static SerSync.UnitTests.Watching.WatcherHarness;

namespace SerSync.UnitTests.Watching;

/// <summary>The cookie barrier (<see cref="InotifyWatcher.SyncAsync"/>) and the watcher's handle hygiene.</summary>
[Collection("inotify")]
public sealed class InotifyWatcherSyncTests
{
    private static readonly InotifyConfig Everything = new(Delete: true, CreateFolder: true, CreateFile: true,
        CloseWrite: true, MoveFrom: true, MoveTo: true, Attrib: true, Modify: true);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Sync_returns_once_every_earlier_change_is_in_the_channel()
    {
        // The reader starts only after the files are written, so it has a backlog when the barrier is asked for.
        using var h = new WatcherHarness(start: false);
        h.Watcher.PlaceInitialWatches();
        const int count = 2000;
        for (var i = 0; i < count; i++)
        {
            File.WriteAllText(h.P($"f{i}"), "x");
        }

        h.Watcher.StartReader();
        Assert.True(await h.Watcher.SyncAsync(Deadline, Ct));

        // No waiting: the barrier promises they are already there.
        var seen = h.TakeAvailable();
        for (var i = 0; i < count; i++)
        {
            Assert.True(seen.Contains(new FileChange(ChangeKind.Upsert, R($"f{i}"), false)), $"f{i} missing at the barrier; saw {Describe(seen)}");
        }
    }

    [Fact]
    public async Task A_queue_overflow_releases_the_barrier_through_the_rescan()
    {
        // The queue is full and nobody reads when the cookie is created, so its IN_CREATE is dropped with the other
        // lost events: only the Rescan (which covers everything before it) can release the barrier.
        using var h = new WatcherHarness(start: false);
        var limit = InotifyLimits.Read(InotifyLimits.MaxQueuedEventsFile);
        Assert.NotNull(limit);
        h.Watcher.PlaceInitialWatches();
        File.WriteAllText(h.P("a"), "");
        File.WriteAllText(h.P("b"), "");
        for (var i = 0; i < limit.Value + 100; i++)
        {
            File.OpenHandle(h.P(i % 2 == 0 ? "a" : "b"), FileMode.Open, FileAccess.Write).Dispose();
        }

        var sync = h.Watcher.SyncAsync(Deadline, Ct);
        await Eventually.TrueAsync(() => Directory.GetFiles(h.Root, InotifyWatcher.CookiePrefix + "*").Length == 1, Deadline, "the cookie is created", Ct);
        h.Watcher.StartReader();
        Assert.True(await sync);
        Assert.Contains(h.TakeAvailable(), c => c.Kind == ChangeKind.Rescan && c.Path.IsRoot);
    }

    [Fact]
    public async Task Cookies_are_never_reported_whatever_the_filter_and_are_removed()
    {
        using var h = new WatcherHarness(Everything, PathFilter.None);
        for (var i = 0; i < 3; i++)
        {
            Assert.True(await h.Watcher.SyncAsync(Deadline, Ct));
        }

        // The cookies' IN_DELETEs come after the last barrier: a sentinel after them proves they were read too.
        h.Settle();
        Assert.DoesNotContain(h.Seen, c => c.Path.ToMatchString().Contains("sersyncd-cookie", StringComparison.Ordinal));
        Assert.Empty(Directory.GetFiles(h.Root, InotifyWatcher.CookiePrefix + "*"));
    }

    [Fact]
    public async Task Concurrent_syncs_all_pass()
    {
        using var h = new WatcherHarness();
        File.WriteAllText(h.P("a"), "x");
        var syncs = Enumerable.Range(0, 16).Select(_ => Task.Run(() => h.Watcher.SyncAsync(Deadline, Ct), Ct)).ToArray();
        var results = await Task.WhenAll(syncs);
        Assert.All(results, Assert.True);
        Assert.Contains(new FileChange(ChangeKind.Upsert, R("a"), false), h.TakeAvailable());
        Assert.Empty(Directory.GetFiles(h.Root, InotifyWatcher.CookiePrefix + "*"));
    }

    [Fact]
    public async Task Sync_is_false_when_the_watcher_is_not_running()
    {
        var unstarted = new WatcherHarness(start: false);
        using (unstarted)
        {
            Assert.False(await unstarted.Watcher.SyncAsync(Deadline, Ct));
        }

        var disposed = new WatcherHarness();
        disposed.Dispose();
        Assert.False(await disposed.Watcher.SyncAsync(Deadline, Ct));

        using var lost = new WatcherHarness();
        Directory.Delete(lost.Root);
        await Assert.ThrowsAsync<RootLostException>(() => lost.Watcher.Completion.WaitAsync(Deadline, Ct));
        Assert.False(await lost.Watcher.SyncAsync(Deadline, Ct));
    }

    [Fact]
    public async Task Dispose_during_a_sync_ends_it_promptly_and_removes_the_cookie()
    {
        // Which wins is a race: the barrier passes first, or Dispose ends it (false). Either way it does not wait
        // for its timeout, and the cookie is gone.
        using var h = new WatcherHarness();
        var sw = Stopwatch.StartNew();
        var sync = h.Watcher.SyncAsync(TimeSpan.FromSeconds(30), Ct);
        h.Watcher.Dispose();
        await sync.WaitAsync(Deadline, Ct);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"took {sw.Elapsed}");
        Assert.Empty(Directory.GetFiles(h.Root, InotifyWatcher.CookiePrefix + "*"));
    }

    [Fact]
    public async Task Sync_on_a_root_that_cannot_be_written_is_false_at_once()
    {
        using var h = new WatcherHarness();
        // Tests run as root in CI, where mode bits do not stop a create: the immutable attribute does.
        var immutable = Environment.IsPrivilegedProcess;
        if (immutable)
        {
            Assert.SkipUnless(Run("chattr", "+i", h.Root) == 0, "chattr +i is not supported on this file system");
        }
        else
        {
            File.SetUnixFileMode(h.Root, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        }

        try
        {
            var sw = Stopwatch.StartNew();
            Assert.False(await h.Watcher.SyncAsync(TimeSpan.FromSeconds(30), Ct));
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"took {sw.Elapsed}: it waited instead of failing");
        }
        finally
        {
            if (immutable)
            {
                Run("chattr", "-i", h.Root);
            }
            else
            {
                File.SetUnixFileMode(h.Root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
        }

        // The watcher still works and a later barrier passes.
        Assert.True(await h.Watcher.SyncAsync(Deadline, Ct));
    }

    [Fact]
    public async Task A_completed_channel_stops_the_watcher()
    {
        using var h = new WatcherHarness();
        h.CompleteChannel();
        File.WriteAllText(h.P("a"), "x");
        await h.Watcher.Completion.WaitAsync(Deadline, Ct); // throws at the deadline if it kept reading
        Assert.True(h.Watcher.Completion.IsCompletedSuccessfully);
        Assert.False(await h.Watcher.SyncAsync(Deadline, Ct));
    }

    [Fact]
    public async Task A_failed_start_closes_the_inotify_fd_and_the_eventfd()
    {
        using var temp = new TempDirectory();
        using var w = new InotifyWatcher(Path.Combine(temp.Path, "nope"), InotifyConfig.Stock, new PathFilter(),
            System.Threading.Channels.Channel.CreateUnbounded<FileChange>().Writer);
        Assert.Throws<DirectoryNotFoundException>(w.Start);
        Assert.False(await w.SyncAsync(Deadline, Ct));

        // The watcher (and so its handles) is still reachable here, so nothing was closed by a finalizer. An fd number
        // another test reuses meanwhile would not be this kind of anonymous inode.
        Assert.True(w.InotifyFd >= 0 && w.WakeupFd >= 0);
        Assert.NotEqual("anon_inode:inotify", FdTarget(w.InotifyFd));
        Assert.NotEqual("anon_inode:[eventfd]", FdTarget(w.WakeupFd));
        Assert.Equal(0, w.WatchCount);
    }

    /// <summary>What /proc/self/fd/N links to, or null when N is not open.</summary>
    private static string? FdTarget(int fd)
    {
        try
        {
            var target = FileSystemBytes.ReadLink(Encoding.UTF8.GetBytes("/proc/self/fd/" + fd.ToString(CultureInfo.InvariantCulture)));
            return Encoding.UTF8.GetString(target);
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static int Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardError = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        p.StandardError.ReadToEnd();
        p.WaitForExit();
        return p.ExitCode;
    }
}
