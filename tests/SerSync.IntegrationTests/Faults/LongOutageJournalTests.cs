using System.Diagnostics;
using System.Globalization;
using System.Xml.Linq;
using SerSync.IntegrationTests.EndToEnd;
using SerSync.Testing;

namespace SerSync.IntegrationTests.Faults;

/// <summary>
/// The issue's long outage: an rsync daemon target is killed while 200,000 changes are made to the tree (files
/// created, rewritten twice, a third deleted, from this process: no process per change). The journal, bounded by
/// <c>&lt;journal maxSize="2M"/&gt;</c>, must stay under its bound plus one append's slack the whole time (sampled),
/// the local target beside it must keep up, and once the daemon is back its target gets a full sync and matches.
/// </summary>
public sealed class LongOutageJournalTests
{
    private const long Bound = 2L << 20;
    private const int Dirs = 200;
    private const int FilesPerDir = 300;

    /// <summary>What one append may add past the bound before its collapse runs: the dispatcher appends at most
    /// 4,096 records at once, each 26 bytes plus its path (at most 11 bytes here: dNNN/fNNNNN).</summary>
    private const long Slack = 4096 * (26 + 11);

    [Fact]
    public async Task A_target_away_for_200000_changes_keeps_the_journal_under_its_bound_and_matches_after_its_return()
    {
        using var tmp = new TempDirectory("sersync-long-outage-");
        var src = tmp.Sub("src");
        var local = Path.Combine(tmp.Path, "local");
        var module = tmp.Sub("module");
        var state = Path.Combine(tmp.Path, "state");
        File.WriteAllText(Path.Combine(src, "before.txt"), "before the outage");
        await using var rsyncd = new RsyncDaemon(FreePort.Pick()).AddModule("mirror", module).Start();
        var doc = new ConfigBuilder(src, state).AddLocalTarget(local).AddRsyncDaemonTarget(rsyncd, "mirror").Build();
        doc.Root!.Element("sersync")!.Add(new XElement("journal", new XAttribute("maxSize", "2M")));
        var config = Path.Combine(tmp.Path, "confxml.xml");
        File.WriteAllText(config, doc.Declaration + "\n" + doc.Root);
        using var daemon = DaemonProcess.Start("-r", "-o", config);
        await daemon.WaitForReadyAsync(Mirror.ReadyTimeout);
        var journalPath = StateFiles.JournalPath(state);

        // Down, and known to be down (its first failure recorded) before the storm begins.
        rsyncd.Kill();
        File.WriteAllText(Path.Combine(src, "first.txt"), "the change that finds the target away");
        await Eventually.TrueAsync(() => daemon.StandardError.Contains("retrying", StringComparison.Ordinal), TimeSpan.FromSeconds(60),
            "the daemon target never became retrying\n" + daemon.Describe(), TestContext.Current.CancellationToken);

        using var sampling = new CancellationTokenSource();
        long peak = 0;
        var samples = 0;
        var cancel = TestContext.Current.CancellationToken;
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                try
                {
                    peak = Math.Max(peak, new FileInfo(journalPath).Length);
                    samples++;
                }
                catch (FileNotFoundException)
                {
                    // between the compaction's rename and nothing: the rename replaces the name atomically
                }

                await Task.Delay(5, cancel);
            }
        }, cancel);

        var storm = Stopwatch.StartNew();
        var changes = MakeChanges(src);
        var stormTime = storm.Elapsed;
        var localMatch = await FaultMeasure.WaitForEqualAsync(src, local, TimeSpan.FromSeconds(180), daemon);
        var localLag = storm.Elapsed - stormTime;
        await sampling.CancelAsync();
        await sampler;
        var collapses = daemon.StandardError.Split('\n').Where(l => l.Contains("collapsed into one full sync", StringComparison.Ordinal)).ToList();

        var back = Stopwatch.StartNew();
        rsyncd.Start();
        var moduleMatch = await FaultMeasure.WaitForEqualAsync(src, module, TimeSpan.FromSeconds(240), daemon);
        var returnTime = back.Elapsed;

        FaultMeasure.Report(string.Create(CultureInfo.InvariantCulture, $"{changes} changes in {stormTime.TotalSeconds:0.0} s; journal peak {peak} bytes over {samples} samples, bound {Bound} (+ slack {Slack})"));
        FaultMeasure.Report(string.Create(CultureInfo.InvariantCulture, $"local target matched {localLag.TotalSeconds:0.0} s after the last change; {collapses.Count} collapse(s): {string.Join(" | ", collapses.Take(3))}"));
        FaultMeasure.Report(string.Create(CultureInfo.InvariantCulture, $"daemon target matched {returnTime.TotalSeconds:0.0} s after its return: {moduleMatch.Describe()}"));

        Assert.Equal(200_000, changes);
        Assert.True(peak <= Bound + Slack, $"journal peak {peak} bytes over the bound {Bound} + {Slack}");
        Assert.NotEmpty(collapses);
        Assert.Contains(collapses, l => l.Contains("127.0.0.1::mirror", StringComparison.Ordinal)); // the one away
        Assert.True(localMatch.Converged, $"local target: {localMatch.Describe()}\n{daemon.Describe()}");
        Assert.True(moduleMatch.Converged, $"daemon target after its return: {moduleMatch.Describe()}\n{daemon.Describe()}\nrsyncd log:\n{rsyncd.ReadLog()}");
        Assert.Contains("synced the whole root", daemon.StandardOutput + daemon.StandardError, StringComparison.Ordinal);
        TreeComparer.AssertEqual(src, module);
        await daemon.StopAsync();
    }

    /// <summary>60,000 files created, each rewritten twice, then every third deleted: 200,000 changes.</summary>
    private static int MakeChanges(string root)
    {
        var count = 0;
        var content = new byte[16];
        for (var d = 0; d < Dirs; d++)
        {
            Directory.CreateDirectory(Path.Combine(root, $"d{d:D3}"));
        }

        for (var pass = 0; pass < 3; pass++)
        {
            for (var d = 0; d < Dirs; d++)
            {
                for (var f = 0; f < FilesPerDir; f++)
                {
                    content[0] = (byte)pass;
                    content[1] = (byte)f;
                    File.WriteAllBytes(Path.Combine(root, $"d{d:D3}", $"f{f:D5}"), content);
                    count++;
                }
            }
        }

        for (var d = 0; d < Dirs; d++)
        {
            for (var f = 0; f < FilesPerDir; f += 3)
            {
                File.Delete(Path.Combine(root, $"d{d:D3}", $"f{f:D5}"));
                count++;
            }
        }

        return count;
    }
}
