using System.Globalization;
using SerSync.IntegrationTests.Watching;
using SerSync.Testing;
using SerSync.Watching;

namespace SerSync.IntegrationTests.EndToEnd;

/// <summary>The daemon as root with the inotify limits: max_queued_events raised at start, and max_user_watches
/// used up while the tree grows (raised, the daemon stays up). Both restored in a finally.</summary>
[Collection("kernel-limits")]
public sealed class WatchLimitEndToEndTests
{
    [Fact]
    public async Task As_root_the_daemon_raises_both_limits_and_misses_nothing_in_a_tree_past_the_watch_limit()
    {
        WatcherBackend.SkipUnlessInotify("raising max_user_watches and max_queued_events");
        Assert.SkipUnless(Environment.IsPrivilegedProcess, "needs root to lower max_user_watches");
        var ct = TestContext.Current.CancellationToken;
        var queuedBefore = InotifyLimits.Read(InotifyLimits.MaxQueuedEventsFile)!.Value;
        var watchesBefore = InotifyLimits.Read(InotifyLimits.MaxUserWatchesFile)!.Value;
        try
        {
            await using var m = await Mirror.StartAsync(environment: new Dictionary<string, string> { ["SERSYNCD_RAISE_INOTIFY_LIMITS"] = "1" });
            Assert.True(InotifyLimits.Read(InotifyLimits.MaxQueuedEventsFile) >= Math.Max(queuedBefore, InotifyLimits.SersyncQueuedEvents), "max_queued_events raised at start");
            Assert.Equal(1, InotifyUse.OfProcess(m.Daemon.Pid));

            long lowered;
            using (var limit = LoweredWatchLimit.ToInUsePlus(room: 32))
            {
                lowered = limit.Value;
                for (var i = 0; i < 20; i++)
                {
                    var deepest = m.Src($"t{i}/a/b/c/d");
                    Directory.CreateDirectory(deepest); // 100 new directories, past the room
                    await File.WriteAllTextAsync(Path.Combine(deepest, "f"), $"file {i}", ct);
                    await File.WriteAllTextAsync(m.Src($"t{i}/top"), $"top {i}", ct);
                }

                await Eventually.TrueAsync(() => InotifyUse.OfProcess(m.Daemon.Pid) == 101 || m.Daemon.HasExited, TimeSpan.FromSeconds(30), "every new directory watched", ct);
                Assert.True(InotifyLimits.Read(InotifyLimits.MaxUserWatchesFile) > lowered, "the daemon raised max_user_watches");
            }

            Assert.False(m.Daemon.HasExited, m.Daemon.Describe());
            Assert.Contains("raised /proc/sys/fs/inotify/max_user_watches from " + lowered.ToString(CultureInfo.InvariantCulture), m.Daemon.StandardError + m.Daemon.StandardOutput, StringComparison.Ordinal);
            await m.WaitForTargetAsync();

            // The deepest directory is watched: a later file in it arrives like any other change.
            await File.WriteAllTextAsync(m.Src("t19/a/b/c/d/later"), "later", ct);
            await m.WaitForTargetAsync();
            Assert.Equal("later", await File.ReadAllTextAsync(m.Dst("t19/a/b/c/d/later"), ct));
        }
        finally
        {
            if (InotifyLimits.Read(InotifyLimits.MaxUserWatchesFile) != watchesBefore)
            {
                File.WriteAllText(InotifyLimits.MaxUserWatchesFile, watchesBefore.ToString(CultureInfo.InvariantCulture));
            }

            if (InotifyLimits.Read(InotifyLimits.MaxQueuedEventsFile) != queuedBefore)
            {
                File.WriteAllText(InotifyLimits.MaxQueuedEventsFile, queuedBefore.ToString(CultureInfo.InvariantCulture));
            }
        }

        Assert.Equal(watchesBefore, InotifyLimits.Read(InotifyLimits.MaxUserWatchesFile));
        Assert.Equal(queuedBefore, InotifyLimits.Read(InotifyLimits.MaxQueuedEventsFile));
    }
}
