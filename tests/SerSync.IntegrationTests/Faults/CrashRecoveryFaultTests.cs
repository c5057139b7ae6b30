using System.Diagnostics;
using SerSync.IntegrationTests.EndToEnd;
using SerSync.Paths;
using SerSync.Testing;

namespace SerSync.IntegrationTests.Faults;

/// <summary>
/// kill -9 of the daemon in the middle of a storm of changes, more changes while it is down, then a restart of the
/// same config without <c>-r</c>: the journal and the catch-up scan must bring every target level with the source,
/// and without a full push (a file that exists only on the targets, in a directory nobody touched, survives).
/// </summary>
public sealed class CrashRecoveryFaultTests
{
    private const int SIGKILL = 9;
    private const string Marker = "static/a/target-only-marker";
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan ConvergeTimeout = TimeSpan.FromSeconds(60);

    /// <summary>The daemon's catch-up margin: the scan starts this long before the last "everything journaled" mark.</summary>
    private static readonly TimeSpan CatchUpMargin = TimeSpan.FromSeconds(5);

    /// <summary>The restart converges: nothing changed before, during or after the kill is lost.</summary>
    [Theory]
    [InlineData(1_301)]
    [InlineData(7_919)]
    public Task Kill9_mid_storm_then_restart_without_r_converges(int seed) => RunAsync(seed, checkNoFullPush: false);

    /// <summary>The restart is no full push: a target-only file in a directory nobody touched survives.</summary>
    [Fact]
    public Task Kill9_mid_storm_then_restart_without_r_is_no_full_push() => RunAsync(4_243, checkNoFullPush: true);

    /// <summary>The catch-up scan starts from the last "everything journaled" mark, which the daemon must write about
    /// once a second while it runs (not only at a clean stop), or a kill -9 sends the catch-up back to the beginning
    /// of time.</summary>
    [Fact]
    public async Task The_everything_journaled_mark_is_written_while_running()
    {
        using var tmp = new TempDirectory("sersync-fault-seen-");
        var source = tmp.Sub("src");
        var state = Path.Combine(tmp.Path, "state");
        var config = new ConfigBuilder(source, state).AddLocalTarget(Path.Combine(tmp.Path, "dst")).Write(Path.Combine(tmp.Path, "confxml.xml"));
        await using var daemon = DaemonProcess.Start("-o", config);
        await daemon.WaitForReadyAsync(ReadyTimeout);
        File.WriteAllText(Path.Combine(source, "one.txt"), "one");
        var readyAt = DateTimeOffset.UtcNow;
        await Eventually.TrueAsync(
            () => StateFiles.ReadSeen(state) is { } seen && seen >= readyAt,
            TimeSpan.FromSeconds(5),
            $"a seen mark newer than READY in {state} within 5 s of running (the mark is what bounds the catch-up scan after kill -9)",
            TestContext.Current.CancellationToken);
        await daemon.StopAsync();
    }

    /// <summary>
    /// A journaled, unsynced delete of <c>a/b/f</c>; while the daemon is down the whole of <c>a</c> is removed. At the
    /// restart the delete comes back from the journal with no parent left in the source: rsync must not be asked for
    /// it in a way that fails forever (rsync 3.5 exits 24, "parent dir is absent in the file list").
    /// </summary>
    [Fact]
    public async Task A_recovered_delete_under_a_directory_removed_while_down_does_not_retry_forever()
    {
        using var tmp = new TempDirectory("sersync-fault-orphan-");
        var source = tmp.Sub("src");
        var moduleDir = tmp.Sub("dstd");
        var state = Path.Combine(tmp.Path, "state");
        foreach (var root in new[] { source, moduleDir })
        {
            Directory.CreateDirectory(Path.Combine(root, "a", "b"));
            File.WriteAllText(Path.Combine(root, "a", "b", "f"), "f");
            File.WriteAllText(Path.Combine(root, "keep.txt"), "keep");
        }

        await using var rsyncd = new RsyncDaemon().AddModule("mod", moduleDir); // not started yet: connection refused
        var config = new ConfigBuilder(source, state).AddRsyncDaemonTarget(rsyncd, "mod").Write(Path.Combine(tmp.Path, "confxml.xml"));
        await using (var first = DaemonProcess.Start("-o", config))
        {
            await first.WaitForReadyAsync(ReadyTimeout);
            File.Delete(Path.Combine(source, "a", "b", "f"));
            await Eventually.TrueAsync(
                () => StateFiles.ReadRecords(state, out _).Any(r => r.Change.Kind == ChangeKind.Delete && r.Change.Path == RelativePath.FromString("a/b/f")),
                TimeSpan.FromSeconds(10),
                "the delete journaled",
                TestContext.Current.CancellationToken);
            DaemonProcess.SendSignal(first.Pid, SIGKILL);
            await first.WaitForExitAsync(TimeSpan.FromSeconds(10));
        }

        Directory.Delete(Path.Combine(source, "a"), recursive: true);
        rsyncd.Start();
        var faultEnded = Stopwatch.StartNew();
        await using var second = DaemonProcess.Start("-o", config);
        await second.WaitForReadyAsync(ReadyTimeout);
        await TargetConvergence.AssertConvergesAsync("recovered delete under a removed directory", source, [moduleDir], faultEnded, TimeSpan.FromSeconds(30), second);
        await AssertSettledAsync(second, TimeSpan.FromSeconds(8));
        await second.StopAsync(TimeSpan.FromSeconds(20));
    }

    /// <summary>
    /// Once the trees are equal and the source is still, a healthy daemon runs no failing rsync: asserts that no
    /// "rsync exit" warning is logged in the next 8 s and that STATUS= names no failing target (a batch stuck on a partial-transfer error is retried with a
    /// backoff of 1, 2, 4, 8 s, so it shows within that window). Such a batch also holds a clean stop for the full
    /// 60 s drain, which the 20 s stop bound below catches.
    /// </summary>
    private static async Task AssertSettledAsync(DaemonProcess daemon, TimeSpan window)
    {
        static int Failures(DaemonProcess d) => (d.StandardOutput + d.StandardError).Split('\n').Count(l => l.Contains("rsync exit", StringComparison.Ordinal));
        var before = Failures(daemon);
        await Task.Delay(window, TestContext.Current.CancellationToken);
        var after = Failures(daemon);
        Assert.True(after == before, $"{after - before} failing rsync run(s) logged in the {window.TotalSeconds:0} s after the trees became equal (a batch retried forever?)\n{daemon.Describe()}");

        // Only a target's first failure is a warning (the retries of an outage are debug lines): a batch that was
        // already retrying shows in the STATUS= line instead, which names every failing target.
        var status = daemon.LastStatus ?? "";
        Assert.True(!status.Contains("(retrying)", StringComparison.Ordinal) && !status.Contains("(failed)", StringComparison.Ordinal), $"a target still failing after the trees became equal: {status}\n{daemon.Describe()}");
    }

    private static async Task RunAsync(int seed, bool checkNoFullPush)
    {
        var random = new Random(seed);
        using var tmp = new TempDirectory("sersync-fault-crash-");
        var source = tmp.Sub("src");
        var local = Path.Combine(tmp.Path, "dst");
        var moduleDir = tmp.Sub("dstd");
        var state = Path.Combine(tmp.Path, "state");
        await using var rsyncd = new RsyncDaemon().AddModule("mod", moduleDir).Start();

        // A directory the storm never touches; the marker goes there on the targets only.
        Directory.CreateDirectory(Path.Combine(source, "static", "a"));
        Directory.CreateDirectory(Path.Combine(source, "static", "b"));
        File.WriteAllText(Path.Combine(source, "static", "a", "index.html"), "static a");
        File.WriteAllText(Path.Combine(source, "static", "b", "index.html"), "static b");
        var staticChanged = StateFiles.ChangeTime(Path.Combine(source, "static", "a"));
        var storm = new Workload(Path.Combine(source, "storm"), seed, WorkloadProfile.Storm);
        storm.Run(300);

        var config = new ConfigBuilder(source, state).AddLocalTarget(local).AddRsyncDaemonTarget(rsyncd, "mod")
            .Write(Path.Combine(tmp.Path, "confxml.xml"));
        string[] targets = [local, moduleDir];

        await using (var first = DaemonProcess.Start("-r", "-o", config))
        {
            await first.WaitForReadyAsync(ReadyTimeout);
            using var stop = new CancellationTokenSource();
            var storming = storm.RunAsync(stop.Token);
            try
            {
                var killAfter = TimeSpan.FromMilliseconds(random.Next(1_500, 3_500));
                var started = Stopwatch.StartNew();

                // With checkNoFullPush, not before the static directory's ctime is well behind the catch-up window
                // (the last "everything journaled" mark, at most about a second old, minus the 5 s margin).
                var notBefore = checkNoFullPush ? staticChanged + CatchUpMargin + TimeSpan.FromSeconds(2) : DateTimeOffset.MinValue;
                await Eventually.TrueAsync(
                    () => started.Elapsed >= killAfter && DateTimeOffset.UtcNow >= notBefore,
                    TimeSpan.FromSeconds(30),
                    "the kill time",
                    TestContext.Current.CancellationToken);
                var seen = StateFiles.ReadSeen(state);
                DaemonProcess.SendSignal(first.Pid, SIGKILL);
                await first.WaitForExitAsync(TimeSpan.FromSeconds(10));
                FaultMeasure.Report($"seed {seed}: SIGKILL after {started.Elapsed.TotalSeconds:0.00} s of storm (seeded {killAfter.TotalSeconds:0.00} s), " +
                    $"{storm.Operations} operations so far; seen mark at the kill: {(seen is { } s ? $"{(DateTimeOffset.UtcNow - s).TotalSeconds:0.0} s old" : "none")}");

                // More changes while nobody watches.
                await Task.Delay(random.Next(800, 1_500), TestContext.Current.CancellationToken);
            }
            finally
            {
                await stop.CancelAsync();
                await storming;
            }

            FaultMeasure.Report($"storm: {storm.Summary}");
            Assert.DoesNotContain("overflowed", first.StandardOutput + first.StandardError, StringComparison.Ordinal);
        }

        foreach (var target in targets)
        {
            File.WriteAllText(Path.Combine(target, Marker), "only on the target: a full push with --delete would remove this");
        }

        var faultEnded = Stopwatch.StartNew();
        await using var second = DaemonProcess.Start("-o", config);
        await second.WaitForReadyAsync(ReadyTimeout);
        FaultMeasure.Report($"restart without -r: READY after {faultEnded.Elapsed.TotalSeconds:0.00} s");
        await TargetConvergence.AssertConvergesAsync($"kill -9 (seed {seed})", source, targets, faultEnded, ConvergeTimeout, second, TreeCompareOptions.Ignoring(Marker));

        var output = second.StandardOutput + second.StandardError;
        FaultMeasure.Report(string.Join('\n', output.Split('\n').Where(l => l.Contains("recovered", StringComparison.Ordinal))));
        Assert.DoesNotContain("Full push", output, StringComparison.Ordinal);
        await AssertSettledAsync(second, TimeSpan.FromSeconds(8));
        Assert.Contains("catch-up scan", output, StringComparison.Ordinal);
        if (checkNoFullPush)
        {
            foreach (var target in targets)
            {
                Assert.True(File.Exists(Path.Combine(target, Marker)), $"the target-only marker {Marker} in {target} was deleted: the restart synced the untouched directory with deletion (a full push in effect)\n{second.Describe()}");
            }
        }

        await second.StopAsync(TimeSpan.FromSeconds(20));
    }
}
