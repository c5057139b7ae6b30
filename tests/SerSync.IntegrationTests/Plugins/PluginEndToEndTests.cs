using System.Text;
using SerSync.FailLog;
using SerSync.IntegrationTests.EndToEnd;
using SerSync.Testing;

namespace SerSync.IntegrationTests.Plugins;

/// <summary>
/// Each plugin through the built daemon, against a receiving end the test starts (a TCP listener, an HTTP server,
/// a recording script), with a real local target: a receiver that is down for 20 s loses nothing; a kill -9 while
/// hooks are pending loses nothing after the restart; hostile names arrive as their bytes; <c>-m</c> runs the
/// plugin alone with no rsync. With <c>SERSYNC_FIGURES=FILE</c> set, each test appends its counts there.
/// </summary>
public sealed class PluginEndToEndTests
{
    private const int SIGKILL = 9;
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan DeliveryTimeout = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(20);

    private static readonly string[] HostileNames = ["new\nline", "$(touch pwned)", "-rf", "single'quote \"double\""];

    public static TheoryData<string> Kinds => new("socket", "http", "refreshCDN", "command");

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_receiver_down_for_20_s_then_up_gets_every_change(string kind)
    {
        var ct = TestContext.Current.CancellationToken;
        using var tmp = new TempDirectory("sersync-plugin-down-");
        var (source, target) = (tmp.Sub("src"), tmp.Sub("dst"));
        Directory.CreateDirectory(source);
        Directory.CreateDirectory(target);
        await using var sink = PluginSink.Create(kind, tmp.Path, target);
        var config = new ConfigBuilder(source, tmp.Sub("state")).AddLocalTarget(target).AddPlugin(sink.Plugin, sink.Section(source))
            .Write(Path.Combine(tmp.Path, "confxml.xml"));
        await using var daemon = DaemonProcess.Start("-o", config);
        await daemon.WaitForReadyAsync(ReadyTimeout);
        var down = DateTime.UtcNow;

        var expected = MakeChanges(source, "down", ct);
        await TargetHasEverythingAsync(source, target, "while the receiver is down", daemon, ct);
        var whileDown = sink.Deliveries().Count;
        var left = Outage - (DateTime.UtcNow - down);
        if (left > TimeSpan.Zero)
        {
            await Task.Delay(left, ct); // the outage itself: the receiver stays down for 20 s
        }

        sink.Up();
        await AssertAllDeliveredAsync(sink, expected, tmp.Path, ct);
        Figures($"{kind}: receiver down {Outage.TotalSeconds:F0} s: {expected.Changes} changes made ({expected.Paths.Count} paths), {whileDown} delivered while down, {sink.Deliveries().Count} deliveries after, {Distinct(sink)} distinct paths, none missing");
        await daemon.StopAsync();
        Assert.Equal(0, daemon.ExitCode);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_kill_9_while_hooks_are_pending_then_a_restart_delivers_every_hook(string kind)
    {
        var ct = TestContext.Current.CancellationToken;
        using var tmp = new TempDirectory("sersync-plugin-kill-");
        var (source, target) = (tmp.Sub("src"), tmp.Sub("dst"));
        Directory.CreateDirectory(source);
        Directory.CreateDirectory(target);
        await using var sink = PluginSink.Create(kind, tmp.Path, target);
        var config = new ConfigBuilder(source, tmp.Sub("state")).AddLocalTarget(target).AddPlugin(sink.Plugin, sink.Section(source))
            .Write(Path.Combine(tmp.Path, "confxml.xml"));
        Expected expected;
        await using (var first = DaemonProcess.Start("-o", config))
        {
            await first.WaitForReadyAsync(ReadyTimeout);
            expected = MakeChanges(source, "kill", ct);
            await TargetHasEverythingAsync(source, target, "the hooks are then pending, the receiver down", first, ct);
            DaemonProcess.SendSignal(first.Pid, SIGKILL);
            await first.WaitForExitAsync(TimeSpan.FromSeconds(30));
        }

        Assert.Empty(sink.Deliveries());
        sink.Up();
        await using var second = DaemonProcess.Start("-o", config);
        await second.WaitForReadyAsync(ReadyTimeout);
        await AssertAllDeliveredAsync(sink, expected, tmp.Path, ct);
        Figures($"{kind}: kill -9 with hooks pending, restart: {expected.Changes} changes made ({expected.Paths.Count} paths), {sink.Deliveries().Count} deliveries, {Distinct(sink)} distinct paths, none missing");

        // Nothing had been delivered before the kill (the receiver was down), so nothing may arrive twice: the
        // recovered records and what the catch-up scan finds again are one hook per path.
        var twice = sink.Deliveries().GroupBy(d => d.Key).Where(g => g.Count() > 1).Select(g => Encoding.UTF8.GetString(g.First().Path)).ToList();
        Assert.True(twice.Count == 0, "delivered more than once: " + string.Join(", ", twice));
        await second.StopAsync();

        // A clean stop and a start: the catch-up scan must not fire the plugin again for what it had.
        var before = sink.Deliveries().Count;
        await using var third = DaemonProcess.Start("-o", config);
        await third.WaitForReadyAsync(ReadyTimeout);
        var marker = Path.Combine(source, "after-restart.txt");
        File.WriteAllText(marker, "barrier");
        var markerBytes = Encoding.UTF8.GetBytes(marker);
        await Eventually.TrueAsync(() => sink.Deliveries().Any(d => d.Path.AsSpan().SequenceEqual(markerBytes)), DeliveryTimeout, "the marker written after the restart to be delivered", ct);
        var again = sink.Deliveries().Skip(before).Where(d => !d.Path.AsSpan().SequenceEqual(markerBytes)).Select(d => Encoding.UTF8.GetString(d.Path)).ToList();
        Assert.True(again.Count == 0, "fired again after a clean restart: " + string.Join(", ", again));
        await third.StopAsync();
    }

    [Fact]
    public async Task A_plugin_run_alone_with_m_reports_changes_and_runs_no_rsync()
    {
        var ct = TestContext.Current.CancellationToken;
        using var tmp = new TempDirectory("sersync-plugin-m-");
        var (source, target) = (tmp.Sub("src"), tmp.Sub("dst"));
        Directory.CreateDirectory(Path.Combine(source, "images"));
        Directory.CreateDirectory(target);
        await using var sink = PluginSink.Create("socket", tmp.Path, target);
        sink.Up();
        // The plugin watches a directory inside the sync root; the switch is on, but -m ignores the targets.
        var config = new ConfigBuilder(source, tmp.Sub("state")).AddLocalTarget(target).AddPlugin(sink.Plugin, sink.Section(Path.Combine(source, "images")))
            .Write(Path.Combine(tmp.Path, "confxml.xml"));
        await using var daemon = DaemonProcess.Start("-m", "socket", "-o", config);
        await daemon.WaitForReadyAsync(ReadyTimeout);
        File.WriteAllText(Path.Combine(source, "images", "a.png"), "png");
        File.WriteAllText(Path.Combine(source, "outside.txt"), "not watched by the plugin");
        var png = Encoding.UTF8.GetBytes(Path.Combine(source, "images", "a.png"));
        await Eventually.TrueAsync(() => sink.Deliveries().Any(d => d.Path.AsSpan().SequenceEqual(png)), DeliveryTimeout, "the plugin to report images/a.png", ct);

        // A reload stays -m: the plugin alone, never the file's target.
        DaemonProcess.SendSignal(daemon.Pid, 1);
        await Eventually.TrueAsync(() => daemon.MessageLines.Count(l => l == "READY=1") >= 2, DeliveryTimeout, "the reload to finish", ct);
        File.WriteAllText(Path.Combine(source, "images", "b.png"), "png");
        var second = Encoding.UTF8.GetBytes(Path.Combine(source, "images", "b.png"));
        await Eventually.TrueAsync(() => sink.Deliveries().Any(d => d.Path.AsSpan().SequenceEqual(second)), DeliveryTimeout, "the plugin to report images/b.png after the reload", ct);
        await daemon.StopAsync();
        Assert.Equal(0, daemon.ExitCode);
        Assert.Empty(Directory.EnumerateFileSystemEntries(target)); // no rsync ran
        Assert.DoesNotContain(sink.Deliveries(), d => Encoding.UTF8.GetString(d.Path).EndsWith("outside.txt", StringComparison.Ordinal));
        Assert.True(Directory.Exists(Path.Combine(tmp.Sub("state"), "plugin-socket")), "-m keeps its own journal");
    }

    [Fact]
    public async Task The_command_plugins_batch_form_gets_the_paths_on_stdin_once_the_target_has_them()
    {
        var ct = TestContext.Current.CancellationToken;
        using var tmp = new TempDirectory("sersync-plugin-batch-");
        var (source, target) = (tmp.Sub("src"), tmp.Sub("dst"));
        Directory.CreateDirectory(source);
        Directory.CreateDirectory(target);
        var record = Path.Combine(tmp.Path, "record");
        var script = Path.Combine(tmp.Path, "batch-hook.sh");
        // Records one line of argv and environment per run, then the stdin list; checks each path on the target.
        File.WriteAllText(script, $$"""
            #!/bin/sh
            printf 'run argc=%s event=%s isdir=%s root=%s\0' "$#" "$SERSYNC_EVENT" "$SERSYNC_ISDIR" "$SERSYNC_ROOT" >> '{{record}}'
            cat > '{{record}}.stdin.$$'
            cat '{{record}}.stdin.$$' >> '{{record}}'
            case "$SERSYNC_EVENT" in
              delete|move_from) ;;
              *) xargs -0 -n1 sh -c '[ -e '"'{{target}}'"'"${1#"$SERSYNC_ROOT"}" ] || printf "%s\0" "$1" >> '"'{{record}}.missing'" _ < '{{record}}.stdin.$$' ;;
            esac
            rm -f '{{record}}.stdin.$$'

            """);
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var config = new ConfigBuilder(source, tmp.Sub("state")).AddLocalTarget(target)
            .AddPlugin("command", $"<param prefix=\"{script} --from-stdin\" batch=\"true\" timeout=\"10\"/>")
            .Write(Path.Combine(tmp.Path, "confxml.xml"));
        await using var daemon = DaemonProcess.Start("-o", config);
        await daemon.WaitForReadyAsync(ReadyTimeout);
        byte[] odd = [.. "odd-"u8, 0xff, (byte)'\n', .. "$(x)"u8];
        var paths = new List<byte[]>();
        for (var i = 0; i < 10; i++)
        {
            paths.Add(Encoding.UTF8.GetBytes(Path.Combine(source, $"b{i}.txt")));
        }

        paths.Add([.. Encoding.UTF8.GetBytes(source + "/"), .. odd]);
        foreach (var p in paths)
        {
            NastyNames.CreateFile(p, "x"u8.ToArray());
        }

        bool AllListed() => File.Exists(record) && paths.All(p => FailLogWriter.SplitNul(File.ReadAllBytes(record)).ToList().Any(f => f.AsSpan().SequenceEqual(p)));
        await Eventually.TrueAsync(AllListed, DeliveryTimeout, "every path on some run's stdin", ct);
        await daemon.StopAsync();

        var fields = FailLogWriter.SplitNul(File.ReadAllBytes(record)).ToList();
        var runs = fields.Where(f => f.AsSpan().StartsWith("run "u8)).Select(Encoding.UTF8.GetString).ToList();
        Assert.NotEmpty(runs);
        Assert.All(runs, r => Assert.StartsWith($"run argc=1 event=", r, StringComparison.Ordinal)); // no path in argv
        Assert.All(runs, r => Assert.EndsWith($" root={source}", r, StringComparison.Ordinal));
        Assert.True(runs.Count < paths.Count, $"{runs.Count} runs for {paths.Count} paths: not batched");
        Assert.False(File.Exists(record + ".missing"), "given paths the target lacked: " + (File.Exists(record + ".missing") ? File.ReadAllText(record + ".missing") : ""));
    }

    /// <summary>What the changes should produce at the receiver: per absolute path, whether it ends deleted.</summary>
    private sealed record Expected(int Changes, Dictionary<string, (byte[] Path, bool Deleted)> Paths);

    /// <summary>Writes 40 files (6 of them with hostile names), a directory with a file, then deletes 5 files.</summary>
    private static Expected MakeChanges(string source, string tag, CancellationToken ct)
    {
        var paths = new Dictionary<string, (byte[] Path, bool Deleted)>();
        var changes = 0;
        var root = Encoding.UTF8.GetBytes(source);
        byte[] Abs(byte[] name) => [.. root, (byte)'/', .. name];
        var names = Enumerable.Range(0, 34).Select(i => Encoding.ASCII.GetBytes($"{tag}-{i:D2}.txt")).ToList();
        names.AddRange(HostileNames.Select(n => Encoding.UTF8.GetBytes(tag + n)));
        names.Add([.. Encoding.ASCII.GetBytes(tag), 0xff, 0xfe]);
        names.Add([.. Encoding.ASCII.GetBytes(tag + "back`tick`"), 0x80]);
        foreach (var name in names)
        {
            ct.ThrowIfCancellationRequested();
            NastyNames.CreateFile(Abs(name), Encoding.ASCII.GetBytes("content " + tag));
            paths[Convert.ToHexString(Abs(name))] = (Abs(name), false);
            changes++;
        }

        var dir = Encoding.ASCII.GetBytes(tag + "-dir");
        Directory.CreateDirectory(Path.Combine(source, tag + "-dir"));
        File.WriteAllText(Path.Combine(source, tag + "-dir", "inner.txt"), "inner");
        paths[Convert.ToHexString(Abs(dir))] = (Abs(dir), false); // reported as the directory, or with its file
        changes += 2;
        for (var i = 0; i < 5; i++)
        {
            File.Delete(Path.Combine(source, $"{tag}-{i:D2}.txt"));
            var abs = Abs(names[i]);
            paths[Convert.ToHexString(abs)] = (abs, true);
            changes++;
        }

        return new Expected(changes, paths);
    }

    private static async Task TargetHasEverythingAsync(string source, string target, string when, DaemonProcess daemon, CancellationToken ct)
    {
        var polled = await Eventually.PollAsync(() => TreeComparer.Compare(source, target), d => d.Count == 0, DeliveryTimeout, cancellationToken: ct);
        Assert.True(polled.Reached, $"the target lacks changes ({when}) after {DeliveryTimeout.TotalSeconds} s: {string.Join("; ", polled.Value.Take(10))}\n{daemon.Describe()}");
    }

    private static async Task AssertAllDeliveredAsync(PluginSink sink, Expected expected, string workDirectory, CancellationToken ct)
    {
        List<string> Missing()
        {
            var delivered = sink.Deliveries();
            var byPath = delivered.GroupBy(d => d.Key).ToDictionary(g => g.Key, g => g.ToList());
            var missing = new List<string>();
            foreach (var (key, (path, deleted)) in expected.Paths)
            {
                var name = Encoding.UTF8.GetString(path);
                var inner = Convert.ToHexString([.. path, .. "/inner.txt"u8]);
                if (!byPath.TryGetValue(key, out var got) && !byPath.ContainsKey(inner))
                {
                    // A scanning backend never sees a file made and deleted between two of its comparisons.
                    if (!deleted || WatcherBackend.IsInotify)
                    {
                        missing.Add(name);
                    }
                }
                else if (sink.CarriesEvent && got is not null && deleted && !got.Any(d => d.Event is "delete"))
                {
                    missing.Add(name + " (its delete)");
                }
            }

            return missing;
        }

        await Eventually.PollAsync(() => Missing(), m => m.Count == 0, DeliveryTimeout, cancellationToken: ct);
        var left = Missing();
        Assert.True(left.Count == 0, $"not delivered: {string.Join(", ", left.Take(10))} ({left.Count} in all; {sink.Deliveries().Count} deliveries)");
        if (sink.Plugin == "command")
        {
            var missingFile = Path.Combine(workDirectory, "command-missing");
            Assert.False(File.Exists(missingFile), "the command was given paths the target did not have yet: " + (File.Exists(missingFile) ? Encoding.UTF8.GetString(File.ReadAllBytes(missingFile)).Replace('\0', '|') : ""));
        }
    }

    private static int Distinct(PluginSink sink) => sink.Deliveries().Select(d => d.Key).Distinct().Count();

    private static void Figures(string line)
    {
        TestContext.Current.SendDiagnosticMessage(line);
        if (Environment.GetEnvironmentVariable("SERSYNC_FIGURES") is { Length: > 0 } file)
        {
            File.AppendAllText(file, line + "\n");
        }
    }
}
