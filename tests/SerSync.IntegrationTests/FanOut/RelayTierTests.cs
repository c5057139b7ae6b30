// rsync's receiver (here the relay's rsync daemon) writes each file it updates to a temporary ".NAME.XXXXXX" in the
// file's own directory (6 random characters), sets its attributes, closes it and renames it over NAME; the
// directory's mtime is set afterwards. So the relay's watcher sees IN_CLOSE_WRITE of a complete temporary file, then
// IN_MOVED_FROM/IN_MOVED_TO to the real name: the relay may send the temporary file once (a wasted transfer), and
// the move then deletes it on the next tier and sends the real name. With the module's "temp dir" outside the module
// (same file system), the relay sees only IN_MOVED_TO of finished files from outside its tree. A daemon's temp dir
// is inside its module (rsync puts the module's path in front), so there the module is the parent of the relay's
// watched tree, the publisher's target is MODULE/tree, and the temp dir is the tree's sibling.
using System.Diagnostics;
using System.Text.RegularExpressions;
using SerSync.IntegrationTests.EndToEnd;
using SerSync.Testing;

namespace SerSync.IntegrationTests.FanOut;

/// <summary>
/// Two tiers: the publisher's sersyncd pushes to an rsync daemon module; a second sersyncd watches that module's
/// directory and pushes on to a final rsync daemon ("the web server"). A storm, a large file, deletes and renames
/// must arrive at the final tier unchanged, no rsync temporary file may stay there, and once all is delivered the
/// relay must go quiet (no loop).
/// </summary>
public sealed partial class RelayTierTests
{
    private static readonly TimeSpan Converge = TimeSpan.FromSeconds(120);

    /// <param name="mode"><c>beside</c>: rsync's default, a temp file beside each file; <c>tempdir</c>: the relay's
    /// module has a temp dir outside the watched tree; <c>delay-updates</c>: the publisher runs rsync with
    /// <c>--delay-updates</c> (finished files wait in a <c>.~tmp~</c> directory in each directory until the end of
    /// the run).</param>
    [Theory]
    [InlineData("beside")]
    [InlineData("tempdir")]
    [InlineData("delay-updates")]
    public async Task A_relay_tier_delivers_a_storm_deletes_and_renames_to_the_final_tier_with_no_loss_and_no_loop(string mode)
    {
        var moduleTempDir = mode == "tempdir";
        using var tmp = new TempDirectory("sersync-relay-");
        var src = tmp.Sub("src");
        var relayModule = tmp.Sub("relay-module");
        var relayDir = Directory.CreateDirectory(Path.Combine(relayModule, "tree")).FullName;
        Directory.CreateDirectory(Path.Combine(relayModule, ".rsync-tmp"));
        // The final daemon keeps its own temporary files out of the final tree, so that every temp-shaped name seen
        // there is one the relay sent.
        var finalModule = tmp.Sub("final-module");
        var finalDir = Directory.CreateDirectory(Path.Combine(finalModule, "tree")).FullName;
        Directory.CreateDirectory(Path.Combine(finalModule, ".rsync-tmp"));
        File.WriteAllText(Path.Combine(src, "before.txt"), "there before the start");

        // The relay's module; its temp dir (when set) is on the same file system, outside the relay's watch.
        await using var relayd = new RsyncDaemon().AddModule("relay", relayModule, tempDir: moduleTempDir ? "/.rsync-tmp" : null).Start();
        await using var webd = new RsyncDaemon().AddModule("web", finalModule, tempDir: "/.rsync-tmp").Start();
        var relayConfig = new ConfigBuilder(relayDir, Path.Combine(tmp.Path, "state-relay")).AddRsyncDaemonTarget(webd, "web/tree")
            .Write(Path.Combine(tmp.Path, "relay.xml"));
        var publisherConfig = new ConfigBuilder(src, Path.Combine(tmp.Path, "state-pub")) { CommonParams = mode == "delay-updates" ? "-az --delay-updates" : "-az" }.AddRsyncDaemonTarget(relayd, "relay/tree")
            .Write(Path.Combine(tmp.Path, "publisher.xml"));

        await using var relay = DaemonProcess.Start("-o", relayConfig);
        await relay.WaitForReadyAsync(Mirror.ReadyTimeout);
        await using var publisher = DaemonProcess.Start("-o", publisherConfig);
        await publisher.WaitForReadyAsync(Mirror.ReadyTimeout);
        await using var relayRuns = new RsyncChildSampler(relay.Pid);
        await using var tempSeen = new TempNameWatcher(finalDir);
        string Diagnostics() => $"publisher:\n{publisher.Describe()}\nrelay:\n{relay.Describe()}";
        await TreeConvergence.AssertConvergesAsync(src, [relayDir, finalDir], Converge, abandon: () => publisher.HasExited || relay.HasExited, diagnostics: Diagnostics, label: "the first sync through the relay");

        // Per tier, an isolated change: publisher -> relay, then relay -> final.
        var toRelay = new List<TimeSpan>();
        var toFinal = new List<TimeSpan>();
        for (var i = 0; i < 10; i++)
        {
            var name = $"isolated-{i}.txt";
            var content = "isolated " + i;
            File.WriteAllText(Path.Combine(src, name), content);
            var written = Stopwatch.StartNew();
            bool Has(string dir) => new FileInfo(Path.Combine(dir, name)) is { Exists: true } f && f.Length == content.Length;
            var first = await Eventually.PollAsync(() => Has(relayDir), ok => ok, TimeSpan.FromSeconds(30), interval: TimeSpan.FromMilliseconds(2), clock: written, cancellationToken: TestContext.Current.CancellationToken);
            var second = await Eventually.PollAsync(() => Has(finalDir), ok => ok, TimeSpan.FromSeconds(30), interval: TimeSpan.FromMilliseconds(2), clock: written, cancellationToken: TestContext.Current.CancellationToken);
            Assert.True(first.Reached && second.Reached, $"{name}: relay {first.Reached}, final {second.Reached}\n{Diagnostics()}");
            toRelay.Add(first.Elapsed);
            toFinal.Add(second.Elapsed);
            await Task.Delay(300, TestContext.Current.CancellationToken);
        }

        Faults.FaultMeasure.Report($"{mode}: publisher -> relay {Faults.FaultMeasure.Summarize(toRelay)}; publisher -> final tier {Faults.FaultMeasure.Summarize(toFinal)}");

        // A storm of 2,000 files in 20 directories and a 24 MB file.
        var storm = Stopwatch.StartNew();
        var payload = new byte[24 << 20];
        Random.Shared.NextBytes(payload);
        await File.WriteAllBytesAsync(Path.Combine(src, "big.bin"), payload, TestContext.Current.CancellationToken);
        for (var d = 0; d < 20; d++)
        {
            var dir = Directory.CreateDirectory(Path.Combine(src, "storm", $"d{d:00}")).FullName;
            for (var f = 0; f < 100; f++)
            {
                File.WriteAllText(Path.Combine(dir, $"f{f:000}.txt"), new string((char)('a' + (f % 26)), 100 + (37 * f)));
            }
        }

        var stormed = await TreeConvergence.AssertConvergesAsync(src, [finalDir], Converge, abandon: () => publisher.HasExited || relay.HasExited, diagnostics: Diagnostics, clock: storm, label: "the storm on the final tier");
        Faults.FaultMeasure.Report($"2,000-file storm and a 24 MB file on the final tier {stormed.Elapsed.TotalSeconds:0.00} s after it began");

        // Deletes, renames of files and of a directory, a rewrite of the large file.
        for (var f = 0; f < 100; f += 2)
        {
            File.Delete(Path.Combine(src, "storm", "d00", $"f{f:000}.txt"));
        }

        Directory.Delete(Path.Combine(src, "storm", "d01"), recursive: true);
        Directory.Move(Path.Combine(src, "storm", "d02"), Path.Combine(src, "storm", "d02-renamed"));
        for (var f = 0; f < 50; f++)
        {
            File.Move(Path.Combine(src, "storm", "d03", $"f{f:000}.txt"), Path.Combine(src, "storm", "d03", $"renamed-{f:000}.txt"));
        }

        Random.Shared.NextBytes(payload);
        await File.WriteAllBytesAsync(Path.Combine(src, "big.bin"), payload, TestContext.Current.CancellationToken);
        File.Move(Path.Combine(src, "before.txt"), Path.Combine(src, "storm", "before-moved.txt"));
        await TreeConvergence.AssertConvergesAsync(src, [relayDir, finalDir], Converge, abandon: () => publisher.HasExited || relay.HasExited, diagnostics: Diagnostics, label: "deletes and renames through the relay");

        // No loop: with everything delivered the relay starts no more rsyncs.
        var destination = "127.0.0.1::web/tree";
        var runsAtRest = relayRuns.Runs(destination);
        await Task.Delay(TimeSpan.FromSeconds(3), TestContext.Current.CancellationToken);
        Faults.FaultMeasure.Report($"relay rsync runs: {runsAtRest} by the end, {relayRuns.Runs(destination)} three seconds later; temporary files the relay sent on (seen on the final tier): {tempSeen.Seen.Count} ({string.Join(", ", tempSeen.Seen.Take(5))})");
        Assert.Equal(runsAtRest, relayRuns.Runs(destination));
        Assert.True(runsAtRest > 0, "the sampler saw no relay rsync at all");
        TreeComparer.AssertEqual(src, finalDir);
        if (moduleTempDir)
        {
            Assert.Empty(tempSeen.Seen);
        }

        Assert.False(publisher.HasExited || relay.HasExited, Diagnostics());
        await publisher.StopAsync();
        await relay.StopAsync();
    }

    [GeneratedRegex(@"^(\..+\.[A-Za-z0-9]{6}|\.~tmp~)$")]
    private static partial Regex RsyncTempName();

    /// <summary>Walks a tree every 20 ms on a background task and remembers every name shaped like rsync's
    /// temporary files or its <c>--delay-updates</c> directory (the tests' own names never are).</summary>
    private sealed class TempNameWatcher : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;
        private readonly HashSet<string> _seen = new(StringComparer.Ordinal);

        public TempNameWatcher(string root)
        {
            _loop = Task.Run(async () =>
            {
                while (!_stop.IsCancellationRequested)
                {
                    try
                    {
                        foreach (var path in Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories))
                        {
                            if (RsyncTempName().IsMatch(Path.GetFileName(path)))
                            {
                                lock (_seen)
                                {
                                    _seen.Add(Path.GetRelativePath(root, path));
                                }
                            }
                        }
                    }
                    catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                    {
                        // a directory went away while it was walked
                    }

                    try
                    {
                        await Task.Delay(20, _stop.Token);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }
                }
            });
        }

        public IReadOnlyCollection<string> Seen
        {
            get
            {
                lock (_seen)
                {
                    return [.. _seen];
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _loop;
            _stop.Dispose();
        }
    }
}
