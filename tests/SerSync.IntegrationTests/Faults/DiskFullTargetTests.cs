using System.Diagnostics;
using SerSync.IntegrationTests.EndToEnd;
using SerSync.Testing;

namespace SerSync.IntegrationTests.Faults;

/// <summary>
/// A local directory target on a 2 MB tmpfs receives 4 MB: rsync fails (no space left on the device), sersyncd keeps
/// running and retrying with the batch kept and merged with the changes that keep coming; once the file system is
/// grown the target converges with nothing lost and no rsync temp file left behind.
/// </summary>
public sealed class DiskFullTargetTests
{
    private const int Files = 16;
    private const int FileBytes = 256 << 10; // 16 × 256 KB = 4 MB onto 2 MB

    /// <summary>How long the tree keeps changing after the first failed run, with the target still full.</summary>
    private static readonly TimeSpan FullFor = TimeSpan.FromSeconds(5);

    /// <summary>Failures start when the big files land; within the ~10 s of being full the backoff reaches at most
    /// 8 s × 1.2; then one batch.</summary>
    private static readonly TimeSpan ConvergeBound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Target_file_system_full_then_grown_converges_with_nothing_lost()
    {
        Assert.SkipUnless(Environment.IsPrivilegedProcess, "needs root to mount a tmpfs");
        using var tmp = new TempDirectory("sersync-fault-diskfull-");
        var src = tmp.Sub("src");
        var small = tmp.Sub("small");
        File.WriteAllText(Path.Combine(src, "before.txt"), "fits");
        FaultMeasure.Must("mount", "-t", "tmpfs", "-o", "size=2m,mode=0755", "sersync-test-small", small);
        DaemonProcess? daemon = null;
        try
        {
            var config = new ConfigBuilder(src, Path.Combine(tmp.Path, "state"))
                .AddLocalTarget(small)
                .Write(Path.Combine(tmp.Path, "confxml.xml"));
            daemon = DaemonProcess.Start("-r", "-o", config);
            await daemon.WaitForReadyAsync(Mirror.ReadyTimeout);
            TreeComparer.AssertEqual(src, small);

            Directory.CreateDirectory(Path.Combine(src, "big"));
            for (var i = 0; i < Files; i++)
            {
                var bytes = new byte[FileBytes];
                Random.Shared.NextBytes(bytes);
                await File.WriteAllBytesAsync(Path.Combine(src, "big", $"b{i:D2}.bin"), bytes, TestContext.Current.CancellationToken);
            }

            var failing = Stopwatch.StartNew();
            await Eventually.TrueAsync(
                () => daemon.StandardError.Contains("rsync exit", StringComparison.Ordinal) || daemon.HasExited,
                TimeSpan.FromSeconds(30),
                "a failed rsync run logged for the full target\n" + daemon.Describe(),
                TestContext.Current.CancellationToken);
            var firstFailure = failing.Elapsed;
            var churn = await Workload.PacedAsync(src, FullFor, TimeSpan.FromMilliseconds(200), null, TimeSpan.Zero);
            Assert.False(daemon.HasExited, "sersyncd exited while the target was full\n" + daemon.Describe());
            Assert.NotEmpty(TreeComparer.Compare(src, small));
            var usedWhileFull = FaultMeasure.Must("df", "-k", "--output=used,size", small).Trim();

            FaultMeasure.Must("mount", "-o", "remount,size=64m", small);
            var converged = await FaultMeasure.WaitForEqualAsync(src, small, ConvergeBound, daemon);

            FaultMeasure.Report($"tmpfs {small}: {Files} × {FileBytes >> 10} KB onto 2 MB; first failed run logged {firstFailure.TotalSeconds:0.00} s after the writes; df while full: {usedWhileFull.ReplaceLineEndings(" | ")}");
            FaultMeasure.Report($"kept full for {FullFor.TotalSeconds:0} s more under churn: {churn}");
            FaultMeasure.Report($"rsync exit codes sersyncd logged: {FaultMeasure.ExitCodesLogged(daemon)}");
            FaultMeasure.Report($"target after growing it to 64 MB: {converged.Describe()}; changes lost: {converged.ChangesLost}");

            Assert.True(converged.Converged, $"target {converged.Describe()}\n{daemon.Describe()}");
            await daemon.StopAsync();
        }
        finally
        {
            daemon?.Dispose();
            var umount = ChildProcess.Run("umount", [small]);
            if (umount.ExitCode != 0)
            {
                FaultMeasure.Must("umount", "-l", small);
            }
        }
    }
}
