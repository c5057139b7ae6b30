using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using SerSync.Configuration;
using SerSync.FailLog;
using SerSync.Paths;
using SerSync.Plugins;
using SerSync.Testing;

namespace SerSync.UnitTests.Plugins;

/// <summary>The command plugin with real processes: a recording script shows what each run got.</summary>
public sealed class CommandHookTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private readonly TempDirectory _temp = new("sersync-cmd-");
    private readonly CommandLog _log = new();

    public CommandHookTests()
    {
        Root = _temp.Sub("root");
        Records = _temp.Sub("records");
        Recorder = WriteScript("record", $$"""
            f=$(mktemp '{{Records}}/run.XXXXXX') || exit 99
            { printf '%s\0' "$#" "$@" "$SERSYNC_EVENT" "$SERSYNC_ROOT" "$SERSYNC_ISDIR" "$(pwd -P)"; cat; } > "$f.tmp" && mv "$f.tmp" "$f.rec"
            """);
    }

    private string Root { get; }

    private string Records { get; }

    private string Recorder { get; }

    public void Dispose() => _temp.Dispose();

    private static byte[] B(string text) => Encoding.UTF8.GetBytes(text);

    private string WriteScript(string name, string body)
    {
        var path = Path.Combine(_temp.Path, name);
        File.WriteAllText(path, "#!/bin/sh\n" + body + "\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    private static CommandPluginConfig Config(
        string program,
        IReadOnlyList<string>? prefixRest = null,
        IReadOnlyList<string>? suffix = null,
        bool ignoreError = false,
        bool batch = false,
        double timeoutSeconds = 20,
        int concurrency = 4,
        IReadOnlyList<Regex>? includes = null) =>
        new([program, .. prefixRest ?? []], suffix ?? [], ignoreError, batch, TimeSpan.FromSeconds(timeoutSeconds), concurrency, includes, TimeSpan.FromSeconds(60), 1);

    private CommandHook Hook(CommandPluginConfig config) => new(config, _log, TimeProvider.System);

    private HookChange Change(byte[] name, ChangeEvent e = ChangeEvent.Create, bool isDir = false) =>
        new(e, isDir, new RelativePath(name), NastyNames.Join(Root, name));

    private HookBatch Batch(params HookChange[] changes) => new(Root, Root, changes);

    /// <summary>What one recorded run got: argv after argv[0], the three variables, its directory and stdin.</summary>
    private sealed record Recorded(List<byte[]> Args, string Event, string Root, string IsDir, string Cwd, byte[] Stdin);

    private List<Recorded> ReadRecords()
    {
        var result = new List<Recorded>();
        foreach (var file in Directory.GetFiles(Records, "*.rec"))
        {
            var bytes = File.ReadAllBytes(file);
            var fields = new List<byte[]>();
            var pos = 0;
            int Next()
            {
                var end = Array.IndexOf(bytes, (byte)0, pos);
                fields.Add(bytes[pos..end]);
                pos = end + 1;
                return fields.Count - 1;
            }

            var count = int.Parse(Encoding.ASCII.GetString(fields[Next()]), System.Globalization.CultureInfo.InvariantCulture);
            var args = Enumerable.Range(0, count).Select(_ => fields[Next()]).ToList();
            var ev = Encoding.UTF8.GetString(fields[Next()]);
            var root = Encoding.UTF8.GetString(fields[Next()]);
            var isDir = Encoding.UTF8.GetString(fields[Next()]);
            var cwd = Encoding.UTF8.GetString(fields[Next()]);
            result.Add(new Recorded(args, ev, root, isDir, cwd, bytes[pos..]));
        }

        return result;
    }

    private static string Show(byte[] b) => new RelativePath(b).ToString();

    [Fact]
    public async Task Every_nasty_name_arrives_as_one_exact_argv_item_and_nothing_is_executed()
    {
        var ct = TestContext.Current.CancellationToken;
        byte[][] extra = ["`touch pwned`"u8.ToArray(), "$(touch pwned); touch pwned"u8.ToArray()];
        var names = NastyNames.All.Concat(extra).ToList();
        var hook = Hook(Config(Recorder, prefixRest: ["--pre", "a b"], suffix: ["suf", "$(touch pwned)"]));
        var changes = names.Select(n => Change(n)).ToArray();

        var outcome = await hook.DeliverAsync(Batch(changes), ct);

        Assert.True(outcome.Succeeded, outcome.Message);
        var records = ReadRecords();
        Assert.Equal(names.Count, records.Count);
        var got = records.Select(r => r.Args).ToList();
        foreach (var change in changes)
        {
            Assert.Contains(got, args =>
                args.Count == 5 && args[0].SequenceEqual(B("--pre")) && args[1].SequenceEqual(B("a b")) && args[2].SequenceEqual(change.AbsolutePath)
                && args[3].SequenceEqual(B("suf")) && args[4].SequenceEqual(B("$(touch pwned)")));
        }

        Assert.All(records, r => Assert.Equal(("create", Root, "0", Root, 0), (r.Event, r.Root, r.IsDir, r.Cwd, r.Stdin.Length)));
        Assert.Empty(Directory.GetFiles(_temp.Path, "pwned", SearchOption.AllDirectories));
        Assert.False(File.Exists(Path.Combine(Environment.CurrentDirectory, "pwned")));
        Assert.Equal("command " + Recorder, hook.Label);
    }

    [Fact]
    public async Task The_environment_says_what_happened()
    {
        var ct = TestContext.Current.CancellationToken;
        var hook = Hook(Config(Recorder));
        HookChange[] changes =
        [
            Change("c"u8.ToArray(), ChangeEvent.Create, isDir: true),
            Change("m"u8.ToArray(), ChangeEvent.Modify),
            Change("w"u8.ToArray(), ChangeEvent.CloseWrite),
            Change("d"u8.ToArray(), ChangeEvent.Delete),
            Change("f"u8.ToArray(), ChangeEvent.MoveFrom),
            Change("t"u8.ToArray(), ChangeEvent.MoveTo),
            Change("a"u8.ToArray(), ChangeEvent.Attrib),
            Change("u"u8.ToArray(), ChangeEvent.Unknown),
        ];

        Assert.True((await hook.DeliverAsync(Batch(changes), ct)).Succeeded);

        var byName = ReadRecords().ToDictionary(r => Path.GetFileName(Encoding.UTF8.GetString(r.Args[0])), r => (r.Event, r.IsDir));
        Assert.Equal(("create", "1"), byName["c"]);
        Assert.Equal(("modify", "0"), byName["m"]);
        Assert.Equal(("modify", "0"), byName["w"]);
        Assert.Equal(("delete", "0"), byName["d"]);
        Assert.Equal(("move_from", "0"), byName["f"]);
        Assert.Equal(("move_to", "0"), byName["t"]);
        Assert.Equal(("attrib", "0"), byName["a"]);
        Assert.Equal(("modify", "0"), byName["u"]);
    }

    [Fact]
    public async Task Batch_form_runs_once_per_event_kind_with_the_paths_on_stdin()
    {
        var ct = TestContext.Current.CancellationToken;
        var hook = Hook(Config(Recorder, prefixRest: ["-x"], suffix: ["--end"], batch: true));
        byte[] newline = "new\nline"u8.ToArray();
        byte[] bad = [(byte)'b', 0xff];
        HookChange[] changes =
        [
            Change(newline),
            Change("dir"u8.ToArray(), isDir: true),
            Change(bad, ChangeEvent.Delete),
            Change("$(touch pwned)"u8.ToArray()),
            Change("gone"u8.ToArray(), ChangeEvent.Delete),
        ];

        Assert.True((await hook.DeliverAsync(Batch(changes), ct)).Succeeded);

        var records = ReadRecords();
        Assert.Equal(3, records.Count);
        Assert.All(records, r => Assert.Equal([B("-x"), B("--end")], r.Args));
        static byte[] List(params HookChange[] cs) => [.. cs.SelectMany(c => c.AbsolutePath.Append((byte)0))];
        Assert.Equal(List(changes[0], changes[3]), Assert.Single(records, r => r is { Event: "create", IsDir: "0" }).Stdin);
        Assert.Equal(List(changes[1]), Assert.Single(records, r => r is { Event: "create", IsDir: "1" }).Stdin);
        Assert.Equal(List(changes[2], changes[4]), Assert.Single(records, r => r.Event == "delete").Stdin);
        Assert.Empty(Directory.GetFiles(_temp.Path, "pwned", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task Only_paths_an_include_matches_are_run_the_others_count_as_delivered()
    {
        var ct = TestContext.Current.CancellationToken;
        var php = new Regex(@"\A(?:.*\.php)\z", RegexOptions.CultureInvariant);
        var hook = Hook(Config(Recorder, includes: [php]));
        var a = Change("a.php"u8.ToArray());
        var b = Change("b.txt"u8.ToArray());
        var c = Change([0xff, .. ".php"u8]); // not UTF-8: matched on the decoded form

        var outcome = await hook.DeliverAsync(Batch(a, b, c), ct);

        Assert.True(outcome.Succeeded);
        var ran = ReadRecords().Select(r => r.Args[0]).ToList();
        Assert.Equal(2, ran.Count);
        Assert.Contains(ran, x => x.SequenceEqual(a.AbsolutePath));
        Assert.Contains(ran, x => x.SequenceEqual(c.AbsolutePath));
        Assert.True((await hook.DeliverAsync(Batch(b), ct)).Succeeded);
        Assert.Equal(2, ReadRecords().Count);
    }

    [Fact]
    public async Task A_failing_run_is_returned_failed_with_its_exit_status_and_logged_with_its_output()
    {
        var ct = TestContext.Current.CancellationToken;
        var script = WriteScript("fail", """case "$1" in *bad*) echo "no good: $1" >&2; exit 3;; esac""");
        var hook = Hook(Config(script));
        var good = Change("good"u8.ToArray());
        var bad = Change("bad"u8.ToArray());

        var outcome = await hook.DeliverAsync(Batch(good, bad), ct);

        Assert.Equal([bad], outcome.Failed);
        Assert.Equal(3, outcome.ExitCode);
        Assert.Contains("exit 3", outcome.Message, StringComparison.Ordinal);
        var warning = Assert.Single(_log.Entries, e => e.Level == LogLevel.Warning);
        Assert.Equal(10100, warning.Id);
        Assert.Contains("exit 3", warning.Message, StringComparison.Ordinal);
        Assert.Contains($"no good: {Root}/bad", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_ignoreError_a_failing_run_is_logged_at_debug_and_counts_as_delivered()
    {
        var ct = TestContext.Current.CancellationToken;
        var hook = Hook(Config(WriteScript("fail", "exit 4"), ignoreError: true));

        var outcome = await hook.DeliverAsync(Batch(Change("x"u8.ToArray())), ct);

        Assert.True(outcome.Succeeded);
        Assert.DoesNotContain(_log.Entries, e => e.Level >= LogLevel.Warning);
        var debug = Assert.Single(_log.Entries, e => e.Id == 10101);
        Assert.Equal(LogLevel.Debug, debug.Level);
        Assert.Contains("exit 4", debug.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_program_that_is_not_there_fails_every_run_with_minus_one_and_says_so()
    {
        var ct = TestContext.Current.CancellationToken;
        var hook = Hook(Config("sersyncd-no-such-program"));
        var absent = Hook(Config("/nonexistent/sersyncd-prog"));
        var change = Change("x"u8.ToArray());

        var outcome = await hook.DeliverAsync(Batch(change), ct);
        var absentOutcome = await absent.DeliverAsync(Batch(change), ct);

        Assert.Equal([change], outcome.Failed);
        Assert.Equal(-1, outcome.ExitCode);
        Assert.Contains("cannot start sersyncd-no-such-program: not found in PATH", outcome.Message, StringComparison.Ordinal);
        Assert.Contains(_log.Entries, e => e.Id == 10103 && e.Level == LogLevel.Warning);
        Assert.Equal(-1, absentOutcome.ExitCode);
        Assert.Contains("cannot start /nonexistent/sersyncd-prog: no such file", absentOutcome.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_run_past_its_timeout_is_killed_with_its_process_group_and_fails()
    {
        var ct = TestContext.Current.CancellationToken;
        var pids = _temp.Sub("pids");
        var script = WriteScript("hang", $"echo $$ > '{pids}/script'; sleep 1000 & echo $! > '{pids}/sleep'; wait");
        var hook = Hook(Config(script, timeoutSeconds: 1.5));
        var change = Change("x"u8.ToArray());

        var outcome = await hook.DeliverAsync(Batch(change), ct);

        Assert.Equal([change], outcome.Failed);
        Assert.Equal(-1, outcome.ExitCode);
        Assert.Contains("timed out after 1.5 s, killed with its process group", outcome.Message, StringComparison.Ordinal);
        await NativeChildTests.AssertGoneAsync(File.ReadAllText(Path.Combine(pids, "script")).Trim());
        await NativeChildTests.AssertGoneAsync(File.ReadAllText(Path.Combine(pids, "sleep")).Trim());
    }

    [Fact]
    public async Task At_most_concurrency_runs_at_once_and_runs_for_one_path_keep_their_order()
    {
        var ct = TestContext.Current.CancellationToken;
        var state = _temp.Sub("state");
        var script = WriteScript("slow", $"""
            touch '{state}/running.'$$
            ls '{state}' | grep -c '^running\.' >> '{state}/counts'
            printf '%s start %s\n' "$1" "$SERSYNC_EVENT" >> '{state}/order'
            sleep 0.3
            printf '%s end %s\n' "$1" "$SERSYNC_EVENT" >> '{state}/order'
            rm '{state}/running.'$$
            """);
        var hook = Hook(Config(script, concurrency: 2));
        var same = "same"u8.ToArray();
        HookChange[] changes =
        [
            Change(same, ChangeEvent.Create),
            Change("a"u8.ToArray()),
            Change("b"u8.ToArray()),
            Change(same, ChangeEvent.Modify),
            Change("c"u8.ToArray()),
            Change(same, ChangeEvent.Delete),
        ];

        Assert.True((await hook.DeliverAsync(Batch(changes), ct)).Succeeded);

        var counts = File.ReadAllLines(Path.Combine(state, "counts")).Select(int.Parse).ToList();
        Assert.Equal(6, counts.Count);
        Assert.True(counts.Max() <= 2, $"at most 2 at once: {string.Join(',', counts)}");
        Assert.True(counts.Max() == 2, $"runs overlapped: {string.Join(',', counts)}");
        var forSame = File.ReadAllLines(Path.Combine(state, "order")).Where(l => l.StartsWith($"{Root}/same ", StringComparison.Ordinal)).Select(l => l[(Root.Length + 6)..]).ToList();
        Assert.Equal(["start create", "end create", "start modify", "end modify", "start delete", "end delete"], forSame);
    }

    [Fact]
    public async Task A_failed_run_goes_to_the_fail_log_as_a_record_that_replays_the_same_run_once_uncommented()
    {
        var ct = TestContext.Current.CancellationToken;
        var gate = Path.Combine(_temp.Path, "may-succeed");
        var script = WriteScript("gated", $"""
            [ -e '{gate}' ] || exit 5
            exec '{Recorder}' "$@"
            """);
        byte[] newline = "new\nline"u8.ToArray();
        byte[] bad = [(byte)'b', 0xff, (byte)'\'', (byte)'x'];
        var perPath = Hook(Config(script, prefixRest: ["--opt=1"], suffix: ["it's"]));
        var batched = Hook(Config(script, suffix: ["--stdin"], batch: true));
        var changes = new[] { Change(newline), Change(bad, ChangeEvent.Delete, isDir: true), Change("$(touch pwned)"u8.ToArray()) };
        var failLogPath = Path.Combine(_temp.Path, "fail.sh");
        var failLog = new FailLogWriter(failLogPath, code => $"code {code}");
        var when = new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

        var perPathOutcome = await perPath.DeliverAsync(Batch(changes), ct);
        var batchedOutcome = await batched.DeliverAsync(Batch(changes), ct);
        perPath.WriteFailLog(failLog, Batch([.. perPathOutcome.Failed]), perPathOutcome, when);
        batched.WriteFailLog(failLog, Batch([.. batchedOutcome.Failed]), batchedOutcome, when);

        Assert.Equal(3, perPathOutcome.Failed.Count);
        Assert.Equal(3, batchedOutcome.Failed.Count);

        // The hook worker retries these runs itself, so the periodic replay must not run them a second time: the
        // entries are comments. Uncommented (what the entry tells an operator to do), they replay the same runs.
        Assert.DoesNotContain(FailLogScript.Parse(File.ReadAllBytes(failLogPath)), b => b.IsEntry);
        File.WriteAllBytes(failLogPath, Uncomment(File.ReadAllBytes(failLogPath)));
        var blocks = FailLogScript.Parse(File.ReadAllBytes(failLogPath)).Where(b => b.IsEntry).ToList();
        Assert.Equal(5, blocks.Count); // three per-path runs, two batch runs (create, delete of a directory)
        Assert.All(blocks, b => Assert.Equal(5, b.Errno));
        Assert.All(blocks, b => Assert.StartsWith($"2026-12-01 12:00:00 +00:00 command {script}: exit 5", b.Description, StringComparison.Ordinal));
        Assert.Empty(ReadRecords());

        File.WriteAllText(gate, string.Empty);
        var replayer = new FailLogReplayer(new FailLogConfig(failLogPath, 60), code => $"code {code}", TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        var replay = await replayer.ReplayAsync(ct);

        Assert.Equal(new FailLogReplayResult(5, 5, 0, true), replay);
        var records = ReadRecords();
        Assert.Equal(5, records.Count);
        foreach (var c in changes)
        {
            var r = Assert.Single(records, r => r.Args.Count == 3 && r.Args[1].SequenceEqual(c.AbsolutePath));
            Assert.Equal([B("--opt=1"), c.AbsolutePath, B("it's")], r.Args);
            Assert.Equal((c.EventName, Root, c.IsDirectory ? "1" : "0", Root), (r.Event, r.Root, r.IsDir, r.Cwd));
            Assert.Empty(r.Stdin);
        }

        var created = Assert.Single(records, r => r.Args.Count == 1 && r.Event == "create");
        Assert.Equal([B("--stdin")], created.Args);
        Assert.Equal([.. changes[0].AbsolutePath, 0, .. changes[2].AbsolutePath, 0], created.Stdin);
        var deleted = Assert.Single(records, r => r.Args.Count == 1 && r.Event == "delete");
        Assert.Equal(("1", Root), (deleted.IsDir, deleted.Cwd));
        Assert.Equal([.. changes[1].AbsolutePath, 0], deleted.Stdin);
        Assert.Empty(Directory.GetFiles(_temp.Path, "pwned", SearchOption.AllDirectories));
    }

    /// <summary>Removes the "# " the writer put before each command line (after its "remove the '# '" line).</summary>
    private static byte[] Uncomment(byte[] script)
    {
        var output = new List<byte>();
        var commented = false;
        var lines = script.AsSpan();
        while (lines.Length > 0)
        {
            var end = lines.IndexOf((byte)'\n');
            var line = end < 0 ? lines : lines[..(end + 1)];
            lines = end < 0 ? [] : lines[(end + 1)..];
            if (line.StartsWith("# sersyncd retries this run itself"u8))
            {
                commented = true;
                continue;
            }

            if (line.SequenceEqual("\n"u8))
            {
                commented = false;
            }

            output.AddRange(commented && line.StartsWith("# "u8) ? line[2..] : line);
        }

        return [.. output];
    }

    [Fact]
    public void A_prefix_that_executes_the_changed_file_is_warned_about()
    {
        _ = Hook(Config("/bin/sh"));
        _ = Hook(Config("bash", prefixRest: ["-e"]));
        _ = Hook(Config(Recorder));

        Assert.Equal(2, _log.Entries.Count(e => e.Id == 10104 && e.Level == LogLevel.Warning));
    }

    /// <summary>Keeps what was logged, formatted.</summary>
    private sealed class CommandLog : ILogger
    {
        private readonly List<(LogLevel Level, int Id, string Message)> _entries = [];

        public IReadOnlyList<(LogLevel Level, int Id, string Message)> Entries
        {
            get
            {
                lock (_entries)
                {
                    return [.. _entries];
                }
            }
        }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (_entries)
            {
                _entries.Add((logLevel, eventId.Id, formatter(state, exception)));
            }
        }
    }
}
