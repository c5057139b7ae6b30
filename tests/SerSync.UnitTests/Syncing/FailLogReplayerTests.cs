using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using SerSync.Configuration;
using SerSync.FailLog;
using SerSync.Processes;
using SerSync.Rsync;
using SerSync.Scheduling;
using SerSync.Testing;

namespace SerSync.UnitTests.Syncing;

/// <summary>The fail-log replay: real commands through /bin/sh (the rsync daemon case is FailLogReplayerRsyncTests).</summary>
public sealed class FailLogReplayerTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private static readonly byte[] Header = "#!/bin/sh\n# sersyncd fail log: failed rsync runs, replayed periodically.\n\n"u8.ToArray();
    private readonly TempDirectory _temp = new("sersync-replay-");

    public void Dispose() => _temp.Dispose();

    private string FailLogPath => Path.Combine(_temp.Path, "rsync_fail_log.sh");

    private FailLogReplayer NewReplayer(TimeProvider? time = null, int minutes = 60) =>
        new(new FailLogConfig(FailLogPath, minutes), RsyncExitCodes.Describe, time ?? TimeProvider.System, NullLogger.Instance);

    private static byte[] B(string text) => Encoding.UTF8.GetBytes(text);

    private static byte[] Cat(params byte[][] parts) => [.. parts.SelectMany(p => p)];

    private static byte[] Entry(int errno, string comment, byte[] command) => Cat(B($"#errno {errno}\n# {comment}\n"), command, B("\n\n"));

    private static void AssertStartsWith(byte[] prefix, byte[] actual) =>
        Assert.True(actual.AsSpan().StartsWith(prefix), $"starts with {Encoding.UTF8.GetString(prefix)}:\n{Encoding.UTF8.GetString(actual)}");

    private static void AssertEndsWith(byte[] suffix, byte[] actual) =>
        Assert.True(actual.AsSpan().EndsWith(suffix), $"ends with {Encoding.UTF8.GetString(suffix)}:\n{Encoding.UTF8.GetString(actual)}");

    private static string Quote(string s) => "'" + s.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    [Fact]
    public async Task Bytes_that_are_not_UTF8_reach_the_shell_and_survive_the_rewrite_exactly()
    {
        var ct = TestContext.Current.CancellationToken;
        var outDir = _temp.Sub("out");
        byte[] name = [(byte)'n', 0xff, (byte)'\n', (byte)'\n', 0xc3, 0x28, (byte)'\'', (byte)'x'];
        // Succeeds: writes the name's bytes to a file, so the test sees what the shell got.
        var writes = Cat(B($"cd {Quote(outDir)} && printf '%s' '"), Escape(name), B("' > 'got'"));
        // Fails (cd to a directory that does not exist): kept, byte for byte.
        var fails = Cat(B("cd '/nonexistent-"), Escape(name), B("' && 'rsync' '--version'"));
        var failing = Entry(10, "2025-01-01 00:00:00 +00:00 u@h::m: error in socket I/O", fails);
        await File.WriteAllBytesAsync(FailLogPath, Cat(Header, Entry(10, "writes", writes), failing), ct);

        var result = await NewReplayer().ReplayAsync(ct);

        Assert.Equal(new FailLogReplayResult(2, 1, 1, true), result);
        Assert.Equal(name, File.ReadAllBytes(Path.Combine(outDir, "got")));
        var after = File.ReadAllBytes(FailLogPath);
        var blocks = FailLogScript.Parse(after);
        var kept = Assert.Single(blocks, b => b.IsEntry);
        Assert.Equal(fails, kept.Command.ToArray());
        Assert.Equal(2, kept.Errno); // dash: "can't cd"
        Assert.Equal("2025-01-01 00:00:00 +00:00 u@h::m: error in socket I/O", kept.Description);
        AssertStartsWith(Header, after);
        AssertEndsWith(Cat(fails, B("\n\n")), after);

        static byte[] Escape(byte[] word) => [.. word.SelectMany(b => b == (byte)'\'' ? "'\\''"u8.ToArray() : [b])];
    }

    [Fact]
    public async Task An_entry_appended_while_the_replay_runs_is_kept()
    {
        var ct = TestContext.Current.CancellationToken;
        var started = Path.Combine(_temp.Path, "started");
        var go = Path.Combine(_temp.Path, "go");
        // Blocks (bounded) until the test lets it go, then fails with 3.
        var blocking = B($"touch {Quote(started)}; i=0; while [ ! -e {Quote(go)} ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; exit 3");
        await File.WriteAllBytesAsync(FailLogPath, Cat(Header, Entry(12, "first", B("true")), Entry(12, "blocks", blocking)), ct);
        var replay = NewReplayer().ReplayAsync(ct);
        await Eventually.TrueAsync(() => File.Exists(started), Timeout, "the blocking entry runs", ct);

        // An rsync fails meanwhile and is appended by the daemon's own FailLog.
        var log = new FailLogWriter(FailLogPath, RsyncExitCodes.Describe);
        var invocation = new ProcessInvocation(_temp.Path, ["-az", "./", "127.0.0.1::www"], B("a\0new\nline\0"));
        log.Append(10, "rsync", invocation, FailLogWriter.SplitNul(invocation.Stdin), "127.0.0.1::www", DateTimeOffset.UnixEpoch);
        var appended = File.ReadAllBytes(FailLogPath).AsSpan(File.ReadAllBytes(FailLogPath).AsSpan().IndexOf("#errno 10"u8)).ToArray();
        await File.WriteAllTextAsync(go, string.Empty, ct);

        var result = await replay.WaitAsync(Timeout, ct);

        Assert.Equal(new FailLogReplayResult(2, 1, 1, true), result);
        var after = File.ReadAllBytes(FailLogPath);
        AssertEndsWith(appended, after);
        var entries = FailLogScript.Parse(after).Where(b => b.IsEntry).ToList();
        Assert.Equal(2, entries.Count);
        Assert.Equal(3, entries[0].Errno);
        Assert.Equal(blocking, entries[0].Command.ToArray());
        Assert.Equal(10, entries[1].Errno);
        Assert.True(entries[1].Command.IndexOf("'new\nline'"u8) >= 0, "the appended entry's list is intact");
    }

    [Fact]
    public async Task A_file_changed_by_someone_else_during_the_replay_is_left_alone()
    {
        var ct = TestContext.Current.CancellationToken;
        var started = Path.Combine(_temp.Path, "started");
        var go = Path.Combine(_temp.Path, "go");
        var blocking = B($"touch {Quote(started)}; i=0; while [ ! -e {Quote(go)} ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; true");
        await File.WriteAllBytesAsync(FailLogPath, Cat(Header, Entry(12, "blocks", blocking)), ct);
        var replay = NewReplayer().ReplayAsync(ct);
        await Eventually.TrueAsync(() => File.Exists(started), Timeout, "the entry runs", ct);
        var edited = Cat(Header, Entry(1, "the operator's own", B("false")));
        await File.WriteAllBytesAsync(FailLogPath, edited, ct);
        await File.WriteAllTextAsync(go, string.Empty, ct);

        var result = await replay.WaitAsync(Timeout, ct);

        Assert.False(result.Rewritten);
        Assert.Equal(edited, File.ReadAllBytes(FailLogPath));
    }

    [Fact]
    public async Task A_missing_or_empty_file_is_nothing_to_do()
    {
        var ct = TestContext.Current.CancellationToken;
        var replayer = NewReplayer();

        Assert.Equal(FailLogReplayResult.Nothing, await replayer.ReplayAsync(ct));
        Assert.False(File.Exists(FailLogPath));

        await File.WriteAllBytesAsync(FailLogPath, [], ct);
        Assert.Equal(FailLogReplayResult.Nothing, await replayer.ReplayAsync(ct));
        Assert.Empty(File.ReadAllBytes(FailLogPath));

        await File.WriteAllBytesAsync(FailLogPath, Header, ct);
        Assert.Equal(FailLogReplayResult.Nothing, await replayer.ReplayAsync(ct));
        Assert.Equal(Header, File.ReadAllBytes(FailLogPath));
    }

    [Fact]
    public async Task The_rewrite_keeps_the_file_mode()
    {
        var ct = TestContext.Current.CancellationToken;
        await File.WriteAllBytesAsync(FailLogPath, Cat(Header, Entry(10, "ok", B("true")), Entry(10, "fails", B("exit 7"))), ct);
        File.SetUnixFileMode(FailLogPath, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead);

        var result = await NewReplayer().ReplayAsync(ct);

        Assert.Equal(new FailLogReplayResult(2, 1, 1, true), result);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead, File.GetUnixFileMode(FailLogPath));
        Assert.Equal(7, Assert.Single(FailLogScript.Parse(File.ReadAllBytes(FailLogPath)), b => b.IsEntry).Errno);
        Assert.Equal(["rsync_fail_log.sh"], Directory.EnumerateFiles(_temp.Path).Select(Path.GetFileName));
    }

    [Fact]
    public async Task The_scheduler_replays_every_interval_on_the_clock()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var t0 = time.GetUtcNow();
        var marker = Path.Combine(_temp.Path, "ran");
        await File.WriteAllBytesAsync(FailLogPath, Cat(Header, Entry(10, "appends", B($"echo x >> {Quote(marker)}; exit 10"))), TestContext.Current.CancellationToken);
        var replayer = NewReplayer(time, minutes: 30);
        var scheduler = new FailLogReplayScheduler(replayer, time, NullLogger.Instance);
        using var cts = new CancellationTokenSource();
        var loop = scheduler.RunAsync(cts.Token);

        await Eventually.TrueAsync(() => scheduler.NextReplayDue == t0.AddMinutes(30), Timeout, "the first replay is due after one interval", TestContext.Current.CancellationToken);
        time.Advance(TimeSpan.FromMinutes(29));
        Assert.Equal(0, replayer.Replays);
        time.Advance(TimeSpan.FromMinutes(1));
        await Eventually.TrueAsync(() => scheduler.NextReplayDue == t0.AddMinutes(60), Timeout, "the replay ran and the next is due", TestContext.Current.CancellationToken);
        Assert.Equal(1, replayer.Replays);
        Assert.Equal("x\n", File.ReadAllText(marker));
        time.Advance(TimeSpan.FromMinutes(30));
        await Eventually.TrueAsync(() => scheduler.NextReplayDue == t0.AddMinutes(90), Timeout, "the second replay ran", TestContext.Current.CancellationToken);
        Assert.Equal("x\nx\n", File.ReadAllText(marker));

        await cts.CancelAsync();
        await loop.WaitAsync(Timeout, TestContext.Current.CancellationToken);
        Assert.Null(scheduler.NextReplayDue);
    }

    [Fact]
    public async Task The_scheduler_runs_each_replay_under_the_hold_and_releases_it_after()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var held = Path.Combine(_temp.Path, "held");
        var marker = Path.Combine(_temp.Path, "ran");

        // The entry notes whether the hold was taken while it ran.
        var command = B($"if test -e {Quote(held)}; then echo held >> {Quote(marker)}; else echo free >> {Quote(marker)}; fi; exit 10");
        await File.WriteAllBytesAsync(FailLogPath, Cat(Header, Entry(10, "notes the hold", command)), TestContext.Current.CancellationToken);
        var scheduler = new FailLogReplayScheduler(NewReplayer(time, minutes: 5), time, NullLogger.Instance)
        {
            Exclusive = _ =>
            {
                File.WriteAllText(held, string.Empty);
                return Task.FromResult<IDisposable>(new Release(() => File.Delete(held)));
            },
        };
        using var cts = new CancellationTokenSource();
        var loop = scheduler.RunAsync(cts.Token);

        var t0 = time.GetUtcNow();
        await Eventually.TrueAsync(() => scheduler.NextReplayDue == t0.AddMinutes(5), Timeout, "the first replay is due", TestContext.Current.CancellationToken);
        time.Advance(TimeSpan.FromMinutes(5));
        await Eventually.TrueAsync(() => scheduler.NextReplayDue == t0.AddMinutes(10), Timeout, "the replay ran", TestContext.Current.CancellationToken);

        Assert.Equal("held\n", File.ReadAllText(marker));
        Assert.False(File.Exists(held), "the hold is released after the replay");
        await cts.CancelAsync();
        await loop.WaitAsync(Timeout, TestContext.Current.CancellationToken);
    }

    private sealed class Release(Action action) : IDisposable
    {
        public void Dispose() => action();
    }
}
