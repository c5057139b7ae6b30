using System.Diagnostics;
using SerSync.IntegrationTests.EndToEnd;
using SerSync.Testing;

namespace SerSync.IntegrationTests.Faults;

/// <summary>
/// The target host is a network namespace behind a veth pair; its link is taken down in the middle of a transfer
/// and kept down while the tree keeps changing, then brought back. The rsync stuck on the dead connection must end
/// at its <c>--timeout</c>, the batch be kept and merged with the newer changes, and the target converge once the
/// link is back, with nothing lost.
/// </summary>
public sealed class NetnsLinkDownTests
{
    private const int TimeoutSeconds = 5;
    private const int BigFileBytes = 48 << 20; // about 2 s on the 200 Mbit/s link

    private static readonly TimeSpan LinkDownFor = TimeSpan.FromSeconds(15);

    /// <summary>After ~15-20 s of failures the backoff's next step is at most 16 s × 1.2 away; then one batch.</summary>
    private static readonly TimeSpan ConvergeBound = TimeSpan.FromSeconds(45);

    [Fact]
    public async Task Link_taken_down_mid_transfer_for_15_s_then_up_converges_with_nothing_lost()
    {
        Assert.SkipUnless(Environment.IsPrivilegedProcess, "needs root for ip netns, veth and tc");
        using var tmp = new TempDirectory("sersync-fault-netns-");
        var src = tmp.Sub("src");
        var module = tmp.Sub("module");
        Directory.CreateDirectory(Path.Combine(src, "pre/nested"));
        File.WriteAllText(Path.Combine(src, "pre/nested/a.txt"), "before start");
        using var host = new NetnsRsyncHost("mod", module);
        var config = new ConfigBuilder(src, Path.Combine(tmp.Path, "state")) { TimeoutSeconds = TimeoutSeconds }
            .AddRsyncDaemonTarget(host.Address, NetnsRsyncHost.Port, "mod")
            .Write(Path.Combine(tmp.Path, "confxml.xml"));
        using var daemon = DaemonProcess.Start("-r", "-o", config);
        await daemon.WaitForReadyAsync(Mirror.ReadyTimeout);
        TreeComparer.AssertEqual(src, module);

        File.WriteAllText(Path.Combine(src, "live.txt"), "over the veth");
        Directory.CreateDirectory(Path.Combine(src, "new/dir"));
        File.WriteAllText(Path.Combine(src, "new/dir/leaf.txt"), "leaf");
        File.Delete(Path.Combine(src, "pre/nested/a.txt"));
        var healthy = await FaultMeasure.WaitForEqualAsync(src, module, Mirror.SyncTimeout, daemon);
        Assert.True(healthy.Converged, $"before the fault: {healthy.Describe()}\n{daemon.Describe()}\nrsyncd log:\n{host.ReadLog()}");

        // A large file, so that the link goes down while its transfer is in flight (rsync's temp file ".big.bin.*").
        var big = new byte[BigFileBytes];
        Random.Shared.NextBytes(big);
        await File.WriteAllBytesAsync(Path.Combine(src, "big.bin"), big, TestContext.Current.CancellationToken);
        var inFlight = await WaitForTempFileAsync(module, ".big.bin.", TimeSpan.FromSeconds(10));

        host.LinkDown();
        var fault = Stopwatch.StartNew();
        var churn = await Workload.PacedAsync(src, LinkDownFor, TimeSpan.FromMilliseconds(200), null, TimeSpan.Zero);
        Assert.False(daemon.HasExited, "sersyncd exited while the link was down\n" + daemon.Describe());
        host.LinkUp();
        var down = fault.Elapsed;
        var converged = await FaultMeasure.WaitForEqualAsync(src, module, ConvergeBound, daemon);

        FaultMeasure.Report($"netns {host.Namespace}, rsync daemon PID {host.DaemonPid} on {host.Address}:{NetnsRsyncHost.Port}, --timeout={TimeoutSeconds}");
        FaultMeasure.Report($"before the fault: {healthy.Describe()}; link down {(inFlight ? "during" : "after (the transfer had ended: no temp file seen)")} the {BigFileBytes >> 20} MB transfer");
        FaultMeasure.Report($"link {host.HostInterface} down {down.TotalSeconds:0.0} s; churn: {churn}");
        FaultMeasure.Report($"rsync exit codes sersyncd logged: {FaultMeasure.ExitCodesLogged(daemon)}");
        FaultMeasure.Report($"target after the link came up: {converged.Describe()}; changes lost: {converged.ChangesLost}");

        Assert.True(converged.Converged, $"target {converged.Describe()}\n{daemon.Describe()}\nrsyncd log:\n{host.ReadLog()}");
        await daemon.StopAsync();
    }

    private static async Task<bool> WaitForTempFileAsync(string directory, string prefix, TimeSpan timeout) =>
        (await Eventually.PollAsync(() => Directory.EnumerateFiles(directory, prefix + "*").Any(), found => found, timeout, interval: TimeSpan.FromMilliseconds(5))).Reached;
}
