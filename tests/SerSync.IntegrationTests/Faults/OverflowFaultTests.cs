using System.Diagnostics;
using System.Globalization;
using SerSync.IntegrationTests.EndToEnd;
using SerSync.Testing;

namespace SerSync.IntegrationTests.Faults;

/// <summary>
/// A real IN_Q_OVERFLOW: the daemon is frozen with SIGSTOP while more events than
/// <c>/proc/sys/fs/inotify/max_queued_events</c> are generated (the limit is shared with every process on the machine,
/// so it is read, never lowered), then SIGCONT. The daemon must rescan, full-sync the root and stay up (same PID);
/// twice in a row.
/// </summary>
public sealed class OverflowFaultTests
{
    private const int SIGSTOP = 19;
    private const int SIGCONT = 18;
    private static readonly TimeSpan ConvergeTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Two_queue_overflows_in_a_row_converge_and_the_daemon_stays_up()
    {
        WatcherBackend.SkipUnlessInotify("an inotify queue overflow, made by stopping the daemon, and its log line");
        var maxQueued = int.Parse(File.ReadAllText("/proc/sys/fs/inotify/max_queued_events").Trim(), CultureInfo.InvariantCulture);
        await using var m = await Mirror.StartAsync(m =>
        {
            for (var d = 0; d < 8; d++)
            {
                Directory.CreateDirectory(m.Src($"d{d}"));
            }

            File.WriteAllText(m.Src("untouched.txt"), "stays");
        },
        environment: new Dictionary<string, string> { ["SERSYNCD_RAISE_INOTIFY_LIMITS"] = "0" }); // the burst is sized on the limit read above
        var pid = m.Daemon.Pid;
        var stopped = false;
        try
        {
            for (var round = 1; round <= 2; round++)
            {
                DaemonProcess.SendSignal(pid, SIGSTOP);
                stopped = true;
                var events = Burst(m.Source, round, maxQueued);
                var faultEnded = Stopwatch.StartNew();
                DaemonProcess.SendSignal(pid, SIGCONT);
                stopped = false;
                FaultMeasure.Report($"round {round}: {events} inotify events generated while stopped (max_queued_events = {maxQueued})");
                await Eventually.TrueAsync(
                    () => CountOverflows(m.Daemon) >= round,
                    TimeSpan.FromSeconds(30),
                    $"overflow {round} logged\n{m.Daemon.Describe()}",
                    TestContext.Current.CancellationToken);
                await TargetConvergence.AssertConvergesAsync($"overflow {round}", m.Source, [m.Target], faultEnded, ConvergeTimeout, m.Daemon);
                Assert.True(DaemonProcess.IsAlive(pid) && !m.Daemon.HasExited, $"the daemon died after overflow {round}\n{m.Daemon.Describe()}");
                Assert.Equal(pid, m.Daemon.Pid);
            }

            // Still mirroring live changes after both.
            var faultEnded2 = Stopwatch.StartNew();
            File.WriteAllText(m.Src("d0/after.txt"), "after the overflows");
            await TargetConvergence.AssertConvergesAsync("live change after the overflows", m.Source, [m.Target], faultEnded2, TimeSpan.FromSeconds(30), m.Daemon);
            await m.Daemon.StopAsync();
        }
        finally
        {
            if (stopped && DaemonProcess.IsAlive(pid))
            {
                DaemonProcess.SendSignal(pid, SIGCONT);
            }
        }
    }

    private static int CountOverflows(DaemonProcess daemon) =>
        (daemon.StandardOutput + daemon.StandardError).Split('\n').Count(l => l.Contains("overflowed", StringComparison.Ordinal));

    /// <summary>
    /// More than <paramref name="maxQueued"/> distinct events (the kernel merges only identical back-to-back ones):
    /// 1,000 files created (round 1) or appended to and some deleted (round 2), and enough short-lived files created
    /// and deleted again (IN_CREATE, IN_CLOSE_WRITE, IN_DELETE each) to overflow the queue while keeping the tree small.
    /// Returns the number of events generated.
    /// </summary>
    private static int Burst(string root, int round, int maxQueued)
    {
        const int kept = 1_000;
        var events = 0;
        for (var i = 0; i < kept; i++)
        {
            var path = Path.Combine(root, $"d{i % 8}", $"f{i}");
            if (round == 1)
            {
                File.WriteAllText(path, $"created {i}");
                events += 2;
            }
            else if (i % 5 == 0)
            {
                File.Delete(path);
                events++;
            }
            else
            {
                File.AppendAllText(path, $" appended in round {round}");
                events++;
            }
        }

        for (var i = 0; events <= maxQueued + 2_000; i++)
        {
            var path = Path.Combine(root, $"d{i % 8}", $"tmp-{round}-{i}");
            File.WriteAllText(path, "short-lived");
            File.Delete(path);
            events += 3;
        }

        return events;
    }
}
