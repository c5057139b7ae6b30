using System.Diagnostics;
using SerSync.IntegrationTests.EndToEnd;
using SerSync.Testing;

namespace SerSync.IntegrationTests.Faults;

/// <summary>
/// The rsync daemon a target points at is SIGKILLed by PID and stays down for <see cref="Outage"/> while the watched
/// tree keeps changing; a local directory target beside it must keep its sub-second lag the whole time, and once the
/// daemon is started again on the same port the daemon target must catch up with nothing lost.
/// </summary>
public sealed class RsyncDaemonOutageTests
{
    /// <summary>The issue's outage: one minute.</summary>
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(60);

    private static readonly TimeSpan BaselineFor = TimeSpan.FromSeconds(5);

    private static readonly TimeSpan WriteInterval = TimeSpan.FromMilliseconds(200);

    /// <summary>Every file must reach the local target within this, however long the other target is down.</summary>
    private static readonly TimeSpan LocalLagBound = TimeSpan.FromSeconds(2);

    /// <summary>The backoff doubles from 1 s to a 60 s cap with ±20 % jitter: after a one-minute outage the next retry
    /// may be up to 72 s away. Converging must not take longer than that plus the batch itself.</summary>
    private static readonly TimeSpan ConvergeBound = TimeSpan.FromSeconds(85);

    [Fact]
    public async Task Daemon_target_down_for_a_minute_leaves_the_local_target_current_and_catches_up_on_restart()
    {
        using var tmp = new TempDirectory("sersync-fault-outage-");
        var src = tmp.Sub("src");
        var local = Path.Combine(tmp.Path, "local");
        var module = tmp.Sub("module");
        Directory.CreateDirectory(Path.Combine(src, "pre/nested"));
        File.WriteAllText(Path.Combine(src, "pre/nested/a.txt"), "before the outage");
        File.WriteAllText(Path.Combine(src, "log.txt"), "start\n");

        // A fixed port: the fixture must not pick another one when it is started again.
        await using var rsyncd = new RsyncDaemon(FreePort.Pick()).AddModule("mirror", module).Start();
        var port = rsyncd.Port;
        var config = new ConfigBuilder(src, Path.Combine(tmp.Path, "state"))
            .AddLocalTarget(local)
            .AddRsyncDaemonTarget(rsyncd, "mirror")
            .Write(Path.Combine(tmp.Path, "confxml.xml"));
        using var daemon = DaemonProcess.Start("-r", "-o", config);
        await daemon.WaitForReadyAsync(Mirror.ReadyTimeout);
        TreeComparer.AssertEqual(src, local);
        TreeComparer.AssertEqual(src, module);

        // The same churn with both targets up, for comparison.
        var baseline = await Workload.PacedAsync(src, BaselineFor, WriteInterval, local, LocalLagBound + TimeSpan.FromSeconds(3), "baseline");
        var healthy = await FaultMeasure.WaitForEqualAsync(src, module, Mirror.SyncTimeout, daemon);
        Assert.True(healthy.Converged, $"before the outage: {healthy.Describe()}\n{daemon.Describe()}");

        var daemonPid = rsyncd.Pid;
        rsyncd.Kill();
        Assert.False(DaemonProcess.IsAlive(daemonPid), $"rsync daemon {daemonPid} survived SIGKILL");
        var outage = Stopwatch.StartNew();
        var churn = await Workload.PacedAsync(src, Outage, WriteInterval, local, LocalLagBound + TimeSpan.FromSeconds(3));
        var localAtEnd = await FaultMeasure.WaitForEqualAsync(src, local, TimeSpan.FromSeconds(10), daemon);
        Assert.False(daemon.HasExited, "sersyncd exited during the outage\n" + daemon.Describe());
        Assert.False(Directory.Exists(Path.Combine(module, "live")), "changes made during the outage reached a killed daemon's module");

        rsyncd.Start();
        Assert.Equal(port, rsyncd.Port);
        var down = outage.Elapsed;
        var converged = await FaultMeasure.WaitForEqualAsync(src, module, ConvergeBound, daemon);

        var overBound = churn.Lags.Count(l => l > LocalLagBound);
        FaultMeasure.Report($"rsync daemon (PID {daemonPid}, port {port}) down {down.TotalSeconds:0.0} s; churn: {churn}");
        FaultMeasure.Report($"local target lag with both targets up: {FaultMeasure.Summarize(baseline.Lags)}");
        FaultMeasure.Report($"local target lag during the outage: {FaultMeasure.Summarize(churn.Lags)}; over {LocalLagBound.TotalSeconds:0} s: {overBound}; never seen: {churn.NeverSeen.Count}");
        FaultMeasure.Report($"local target at the end of the outage: {localAtEnd.Describe()}");
        FaultMeasure.Report($"rsync daemon target after the restart: {converged.Describe()}; changes lost: {converged.ChangesLost}");
        FaultMeasure.Report($"rsync exit codes sersyncd logged: {FaultMeasure.ExitCodesLogged(daemon)}");

        Assert.True(churn.NeverSeen.Count == 0, $"never reached the local target: {string.Join(", ", churn.NeverSeen.Take(20))}");
        Assert.True(overBound == 0, $"{overBound} file(s) took longer than {LocalLagBound.TotalSeconds} s to reach the local target while the daemon target was down: {FaultMeasure.Summarize(churn.Lags)}");
        Assert.True(localAtEnd.Converged, "local target " + localAtEnd.Describe());
        Assert.True(converged.Converged, $"rsync daemon target {converged.Describe()}\n{daemon.Describe()}\nrsyncd log:\n{rsyncd.ReadLog()}");
        TreeComparer.AssertEqual(src, local);
        await daemon.StopAsync();
    }
}
