using System.Diagnostics;
using SerSync.IntegrationTests.Faults;
using SerSync.Testing;

namespace SerSync.IntegrationTests.EndToEnd;

/// <summary>
/// The systemd watchdog against the real daemon: with WATCHDOG_USEC set, WATCHDOG=1 arrives on the notify socket at
/// half that interval while the pipeline turns, idle or busy; once a worker's thread blocks for good (the test hook
/// SERSYNCD_TEST_BLOCK_ON), the pings stop and the log names the loop that stopped.
/// </summary>
public sealed class WatchdogEndToEndTests
{
    private const string BlockName = "block-the-worker-here";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);

    [Fact]
    public async Task Pings_go_at_half_the_interval_while_healthy_and_stop_when_a_worker_blocks()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var m = await Mirror.StartAsync(environment: new Dictionary<string, string>
        {
            ["WATCHDOG_USEC"] = ((long)Timeout.TotalMicroseconds).ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["SERSYNCD_TEST_BLOCK_ON"] = BlockName,
        });
        var lines = m.Daemon.MessageLines.ToList();
        Assert.True(lines.IndexOf("WATCHDOG=1") is >= 0 and var first && first < lines.IndexOf("READY=1"), "pings during the start, before READY=1\n" + m.Daemon.Describe());

        // Healthy, idle then busy: a ping about every second (half of 2 s), never a gap near the timeout.
        var healthyFrom = m.Daemon.WatchdogPings.Count;
        var idle = Stopwatch.StartNew();
        await Eventually.TrueAsync(() => idle.Elapsed > TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(10), "4 s of idling", ct);
        for (var i = 0; i < 20; i++)
        {
            File.WriteAllText(m.Src($"file-{i}.txt"), $"healthy {i}");
        }

        await m.WaitForTargetAsync();
        await Eventually.TrueAsync(() => idle.Elapsed > TimeSpan.FromSeconds(8), TimeSpan.FromSeconds(15), "8 s in all", ct);
        var healthy = m.Daemon.WatchdogPings.Skip(healthyFrom).ToList();
        var gaps = healthy.Zip(healthy.Skip(1), (a, b) => b - a).ToList();
        FaultMeasure.Report($"watchdog: {healthy.Count} pings in {idle.Elapsed.TotalSeconds:0.0} s healthy; gaps {gaps.Min().TotalSeconds:0.00}..{gaps.Max().TotalSeconds:0.00} s");
        Assert.InRange(healthy.Count, 6, 10);
        Assert.All(gaps, g => Assert.InRange(g.TotalSeconds, 0.7, 1.6));

        // A change to the hook's name blocks the worker's thread in the middle of its loop: the pings stop.
        File.WriteAllText(m.Src(BlockName), "the worker blocks on this one");
        var blockedAt = Stopwatch.StartNew();
        await Eventually.TrueAsync(
            () => m.Daemon.StandardError.Contains("has not turned for", StringComparison.Ordinal),
            TimeSpan.FromSeconds(10),
            "the watchdog's error naming the stalled loop\n" + m.Daemon.Describe(),
            ct);
        var noticedAfter = blockedAt.Elapsed;
        var error = m.Daemon.StandardError.Split('\n').First(l => l.Contains("has not turned for", StringComparison.Ordinal));
        Assert.Contains("the worker for " + m.Target, error, StringComparison.Ordinal);
        Assert.Contains("WATCHDOG=1 is no longer sent", error, StringComparison.Ordinal);

        var stoppedAt = m.Daemon.WatchdogPings.Count;
        var quiet = Stopwatch.StartNew();
        await Eventually.TrueAsync(() => quiet.Elapsed > Timeout * 2, TimeSpan.FromSeconds(10), "two watchdog intervals", ct);
        Assert.True(m.Daemon.WatchdogPings.Count == stoppedAt, $"no WATCHDOG=1 once the worker blocked\n{m.Daemon.Describe()}");
        Assert.False(m.Daemon.HasExited, "the daemon itself does not exit: systemd restarts it\n" + m.Daemon.Describe());
        FaultMeasure.Report($"watchdog: the stall was logged {noticedAfter.TotalSeconds:0.0} s after the blocking change; no ping for {quiet.Elapsed.TotalSeconds:0.0} s after it");
    }
}
