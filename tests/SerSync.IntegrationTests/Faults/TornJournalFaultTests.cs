using System.Diagnostics;
using SerSync.IntegrationTests.EndToEnd;
using SerSync.Testing;

namespace SerSync.IntegrationTests.Faults;

/// <summary>
/// kill -9, then the journal's tail is damaged (garbage appended, or the last record cut short) before the restart:
/// the daemon must start, say that it dropped a damaged record, and still bring the target level with the source.
/// </summary>
public sealed class TornJournalFaultTests
{
    private const int SIGKILL = 9;

    [Theory]
    [InlineData("garbage")]
    [InlineData("truncate")]
    public async Task A_damaged_journal_tail_is_logged_and_the_target_still_converges(string damage)
    {
        var random = new Random(damage.Length * 7_001);
        using var tmp = new TempDirectory("sersync-fault-torn-");
        var source = tmp.Sub("src");
        var target = Path.Combine(tmp.Path, "dst");
        var state = Path.Combine(tmp.Path, "state");
        for (var d = 0; d < 4; d++)
        {
            Directory.CreateDirectory(Path.Combine(source, $"d{d}"));
        }

        var config = new ConfigBuilder(source, state).AddLocalTarget(target).Write(Path.Combine(tmp.Path, "confxml.xml"));
        var files = new Workload(source, damage.Length * 7_001, WorkloadProfile.FilesOnly);

        await using (var first = DaemonProcess.Start("-r", "-o", config))
        {
            await first.WaitForReadyAsync(TimeSpan.FromSeconds(60));
            await files.RunForAsync(TimeSpan.FromMilliseconds(1_200), TestContext.Current.CancellationToken);

            DaemonProcess.SendSignal(first.Pid, SIGKILL);
            await first.WaitForExitAsync(TimeSpan.FromSeconds(10));
        }

        files.Run(300); // while nobody watches
        var journal = StateFiles.JournalPath(state);
        var before = new FileInfo(journal).Length;
        Assert.True(before > 64, $"the journal holds {before} bytes after {files.Operations} changes: nothing to damage");
        if (damage == "garbage")
        {
            var garbage = new byte[37];
            random.NextBytes(garbage);
            garbage[0] = 40; // a plausible length prefix, so the reader must reject the record by its check, not its size
            garbage[1] = garbage[2] = garbage[3] = 0;
            using var stream = new FileStream(journal, FileMode.Append);
            stream.Write(garbage);
        }
        else
        {
            using var stream = new FileStream(journal, FileMode.Open);
            stream.SetLength(before - 3);
        }

        var readable = StateFiles.ReadRecords(state, out var torn);
        Assert.True(torn, $"{damage}: the journal's reader does not see the damage ({readable.Count} records readable)");
        FaultMeasure.Report($"{damage}: journal {before} -> {new FileInfo(journal).Length} bytes, {readable.Count} records readable; {files.Operations} file changes in all");
        var faultEnded = Stopwatch.StartNew();
        await using var second = DaemonProcess.Start("-o", config);
        await second.WaitForReadyAsync(TimeSpan.FromSeconds(60));
        await TargetConvergence.AssertConvergesAsync($"torn journal ({damage})", source, [target], faultEnded, TimeSpan.FromSeconds(60), second);
        Assert.Contains("damaged record", second.StandardOutput + second.StandardError, StringComparison.Ordinal);
        Assert.True(DaemonProcess.IsAlive(second.Pid), second.Describe());

        // Still mirroring live after the recovery.
        var live = Stopwatch.StartNew();
        File.WriteAllText(Path.Combine(source, "d0", "after-recovery.txt"), "live");
        await TargetConvergence.AssertConvergesAsync($"live change after the torn journal ({damage})", source, [target], live, TimeSpan.FromSeconds(30), second);
        await second.StopAsync();
    }
}
