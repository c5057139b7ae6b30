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
        var files = new FileChurn(source, random);

        await using (var first = DaemonProcess.Start("-r", "-o", config))
        {
            await first.WaitForReadyAsync(TimeSpan.FromSeconds(60));
            var churning = Stopwatch.StartNew();
            while (churning.Elapsed < TimeSpan.FromMilliseconds(1_200))
            {
                files.Step(20);
                await Task.Delay(2, TestContext.Current.CancellationToken);
            }

            DaemonProcess.SendSignal(first.Pid, SIGKILL);
            await first.WaitForExitAsync(TimeSpan.FromSeconds(10));
        }

        files.Step(300); // while nobody watches
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

        TargetConvergence.Log($"{damage}: journal {before} -> {new FileInfo(journal).Length} bytes; {files.Operations} file changes in all");
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

    /// <summary>File-only changes in fixed directories: create, append, rename, delete.</summary>
    private sealed class FileChurn(string root, Random random)
    {
        private readonly List<string> _files = [];
        private int _names;

        public int Operations { get; private set; }

        public void Step(int count)
        {
            for (var i = 0; i < count; i++, Operations++)
            {
                var roll = random.Next(100);
                if (roll < 40 || _files.Count < 10)
                {
                    var path = Path.Combine(root, $"d{random.Next(4)}", $"f{++_names}");
                    File.WriteAllBytes(path, Bytes(random.Next(0, 3_000)));
                    _files.Add(path);
                }
                else if (roll < 70)
                {
                    using var s = new FileStream(_files[random.Next(_files.Count)], FileMode.Append);
                    s.Write(Bytes(random.Next(1, 500)));
                }
                else if (roll < 85)
                {
                    var k = random.Next(_files.Count);
                    var to = Path.Combine(root, $"d{random.Next(4)}", $"r{++_names}");
                    File.Move(_files[k], to);
                    _files[k] = to;
                }
                else
                {
                    var k = random.Next(_files.Count);
                    File.Delete(_files[k]);
                    _files.RemoveAt(k);
                }
            }
        }

        private byte[] Bytes(int n)
        {
            var b = new byte[n];
            random.NextBytes(b);
            return b;
        }
    }
}
