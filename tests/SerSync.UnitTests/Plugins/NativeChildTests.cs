using System.Text;
using SerSync.Interop;
using SerSync.Processes;
using SerSync.Testing;

namespace SerSync.UnitTests.Plugins;

/// <summary>The native spawn and the runner over it, with real processes.</summary>
public sealed class NativeChildTests : IDisposable
{
    private readonly TempDirectory _temp = new("sersync-spawn-");

    public void Dispose() => _temp.Dispose();

    private static byte[] B(string text) => Encoding.UTF8.GetBytes(text);

    private static CommandInvocation Sh(string script, string? cwd = null, byte[]? stdin = null, params byte[][] args) =>
        new(B("/bin/sh"), [B("sh"), B("-c"), B(script), .. args], [], B(cwd ?? "/"), stdin);

    [Fact]
    public async Task Arguments_environment_and_working_directory_arrive_as_exact_bytes()
    {
        var ct = TestContext.Current.CancellationToken;
        byte[] odd = [(byte)'a', 0xff, (byte)'\n', 0xc3, 0x28, (byte)' ', (byte)'$', (byte)'('];
        var dir = NastyNames.Join(_temp.Path, odd);
        NastyNames.CreateDirectory(dir);
        var invocation = new CommandInvocation(
            B("/bin/sh"),
            [B("sh"), B("-c"), B("printf '%s\\0' \"$0\" \"$1\" \"$ODD\" \"$(pwd -P)\""), B("zero"), odd],
            [new("ODD", odd)],
            dir,
            null);

        var result = await new CommandRunner(TimeProvider.System).RunAsync(invocation, TimeSpan.FromSeconds(20), ct);

        Assert.Equal(0, result.ExitCode);
        Assert.True(result.Started);
        // The runner's Output is text for the log; the raw bytes go through the child directly.
        var child = NativeChild.Start(invocation.Program, invocation.Arguments, [Concat(B("ODD="), odd)], dir, null);
        var exit = await child.Completion.WaitAsync(TimeSpan.FromSeconds(20), ct);
        Assert.Equal(0, exit.ExitCode);
        Assert.Equal(Concat(B("zero\0"), odd, [0], odd, [0], dir, [0]), exit.Output);
    }

    [Fact]
    public async Task Without_addchdir_np_the_shell_fallback_passes_the_same_bytes_and_directory()
    {
        var ct = TestContext.Current.CancellationToken;
        byte[] odd = [(byte)'-', (byte)'n', 0xff, (byte)'\n', (byte)'$', (byte)'(', (byte)'x', (byte)')', (byte)'`'];
        var dir = NastyNames.Join(_temp.Path, odd);
        NastyNames.CreateDirectory(dir);
        var script = B("printf '%s\\0' \"$1\" '$PWD' \"$(pwd -P)\"");

        var child = NativeChild.StartThroughShell(B("/bin/sh"), [B("sh"), B("-c"), script, B("zero"), odd], [], dir, null, 4096);
        var exit = await child.Completion.WaitAsync(TimeSpan.FromSeconds(20), ct);

        Assert.Equal(0, exit.ExitCode);
        Assert.Equal(Concat(odd, [0], B("$PWD"), [0], dir, [0]), exit.Output);
        Assert.Empty(Directory.GetFiles(_temp.Path, "x", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task Stdin_is_fed_and_closed_and_output_of_both_streams_is_kept()
    {
        var ct = TestContext.Current.CancellationToken;
        var big = new byte[300_000]; // more than a pipe holds: the writer must not block the reader
        for (var i = 0; i < big.Length; i++)
        {
            big[i] = (byte)('a' + (i % 26));
        }

        var child = NativeChild.Start(B("/bin/sh"), [B("sh"), B("-c"), B("wc -c; echo err >&2")], [], B("/"), big);
        var exit = await child.Completion.WaitAsync(TimeSpan.FromSeconds(20), ct);

        Assert.Equal(0, exit.ExitCode);
        Assert.Equal("300000\nerr\n", Encoding.ASCII.GetString(exit.Output).TrimStart());
    }

    [Fact]
    public async Task No_stdin_is_dev_null()
    {
        var ct = TestContext.Current.CancellationToken;
        var child = NativeChild.Start(B("/bin/sh"), [B("sh"), B("-c"), B("wc -c")], [], B("/"), null);
        var exit = await child.Completion.WaitAsync(TimeSpan.FromSeconds(20), ct);
        Assert.Equal("0", Encoding.ASCII.GetString(exit.Output).Trim());
    }

    [Fact]
    public async Task Exit_status_and_death_by_signal_are_reported_as_a_shell_would()
    {
        var ct = TestContext.Current.CancellationToken;
        var runner = new CommandRunner(TimeProvider.System);

        var exited = await runner.RunAsync(Sh("echo boom >&2; exit 7"), TimeSpan.FromSeconds(20), ct);
        var signalled = await runner.RunAsync(Sh("kill -TERM $$"), TimeSpan.FromSeconds(20), ct);

        Assert.Equal(7, exited.ExitCode);
        Assert.Equal("boom", exited.Output);
        Assert.Equal("exit 7", exited.Describe(TimeSpan.FromSeconds(1)));
        Assert.Equal(128 + 15, signalled.ExitCode);
        Assert.Contains("signal 15", signalled.Describe(TimeSpan.FromSeconds(1)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_child_starts_with_no_blocked_and_no_ignored_signals_in_its_own_process_group()
    {
        var ct = TestContext.Current.CancellationToken;
        // Read by the spawned program itself: a shell changes its own mask around waiting for its children.
        var grep = NativeChild.FindProgram("grep", Environment.GetEnvironmentVariable("PATH"))!;
        var cat = NativeChild.FindProgram("cat", Environment.GetEnvironmentVariable("PATH"))!;
        var status = NativeChild.Start(B(grep), [B("grep"), B("-E"), B("^(SigBlk|SigIgn)"), B("/proc/self/status")], [], B("/"), null);
        var stat = NativeChild.Start(B(cat), [B("cat"), B("/proc/self/stat")], [], B("/"), null);
        var lines = Encoding.ASCII.GetString((await status.Completion.WaitAsync(TimeSpan.FromSeconds(20), ct)).Output).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var fields = Encoding.ASCII.GetString((await stat.Completion.WaitAsync(TimeSpan.FromSeconds(20), ct)).Output).Split(' ');

        Assert.Equal(2, lines.Length);
        Assert.Equal(0UL, Mask(lines[0]));
        // .NET ignores SIGPIPE (bit 12 of the mask: signal 13); a child must not inherit that.
        var ours = Mask(File.ReadAllLines("/proc/self/status").Single(l => l.StartsWith("SigIgn:", StringComparison.Ordinal)));
        Assert.True((Mask(lines[1]) & (1UL << 12)) == 0, $"child {lines[1]}, ours {ours:x16}");
        Assert.Equal(stat.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture), fields[4]); // pgrp: its own group
    }

    private static ulong Mask(string statusLine) => Convert.ToUInt64(statusLine.Split(':')[1].Trim(), 16);

    [Fact]
    public async Task A_program_that_does_not_exist_is_not_started_and_says_why()
    {
        var ct = TestContext.Current.CancellationToken;
        var runner = new CommandRunner(TimeProvider.System);
        var missing = new CommandInvocation(B("/nonexistent/sersyncd-prog"), [B("x")], [], B("/"), null);
        var notExecutable = Path.Combine(_temp.Path, "plain");
        await File.WriteAllTextAsync(notExecutable, "echo hi\n", ct);

        var result = await runner.RunAsync(missing, TimeSpan.FromSeconds(20), ct);
        var denied = await runner.RunAsync(missing with { Program = B(notExecutable) }, TimeSpan.FromSeconds(20), ct);
        var badDir = await runner.RunAsync(Sh("true", cwd: "/nonexistent-dir-sersyncd"), TimeSpan.FromSeconds(20), ct);

        Assert.Equal(-1, result.ExitCode);
        Assert.False(result.Started);
        Assert.Equal("cannot start /nonexistent/sersyncd-prog: no such file", result.Error);
        Assert.Equal(-1, denied.ExitCode);
        Assert.Contains("permission denied", denied.Error, StringComparison.Ordinal);
        Assert.Equal(-1, badDir.ExitCode);
        Assert.Contains("working directory does not exist", badDir.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Program_lookup_searches_PATH_like_execvp_but_not_the_current_directory()
    {
        var bin = _temp.Sub("bin");
        var prog = Path.Combine(bin, "myprog");
        File.WriteAllText(prog, "#!/bin/sh\n");
        File.SetUnixFileMode(prog, UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.UserWrite);
        var plain = Path.Combine(bin, "plain");
        File.WriteAllText(plain, "#!/bin/sh\n");

        Assert.Equal(prog, NativeChild.FindProgram("myprog", $"/nonexistent::{bin}"));
        Assert.Null(NativeChild.FindProgram("plain", bin));
        Assert.Null(NativeChild.FindProgram("myprog", "/nonexistent:"));
        Assert.Equal("/x/y", NativeChild.FindProgram("/x/y", bin));
        Assert.Equal("/bin/sh", NativeChild.FindProgram("sh", "/bin"));
    }

    [Fact]
    public async Task The_time_bound_kills_the_whole_process_group()
    {
        var ct = TestContext.Current.CancellationToken;
        var dir = _temp.Path;
        var script = $"echo $$ > '{dir}/script.pid'; sleep 1000 & echo $! > '{dir}/sleep.pid'; wait";

        var result = await new CommandRunner(TimeProvider.System).RunAsync(Sh(script), TimeSpan.FromSeconds(1.5), ct);

        Assert.True(result.TimedOut);
        Assert.Equal(-1, result.ExitCode);
        Assert.Contains("timed out after 1.5 s", result.Describe(TimeSpan.FromSeconds(1.5)), StringComparison.Ordinal);
        await AssertGoneAsync(File.ReadAllText(Path.Combine(dir, "script.pid")).Trim());
        await AssertGoneAsync(File.ReadAllText(Path.Combine(dir, "sleep.pid")).Trim());
    }

    [Fact]
    public async Task Cancellation_kills_the_group_and_the_output_of_a_background_child_does_not_hold_the_run()
    {
        var ct = TestContext.Current.CancellationToken;
        var runner = new CommandRunner(TimeProvider.System);
        var dir = _temp.Path;

        // Exits at once, leaving a child in another session that keeps stdout open: the run must still end.
        var leftBehind = await runner.RunAsync(Sh($"setsid sleep 30 & echo $! > '{dir}/bg.pid'; echo done"), TimeSpan.FromSeconds(20), ct);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var running = runner.RunAsync(Sh($"echo $$ > '{dir}/c.pid'; sleep 1000"), TimeSpan.FromSeconds(60), cts.Token);
        await Eventually.TrueAsync(() => File.Exists(Path.Combine(dir, "c.pid")) && File.ReadAllText(Path.Combine(dir, "c.pid")).Length > 0, TimeSpan.FromSeconds(20), "the script started", ct);
        await cts.CancelAsync();
        var cancelled = await running.WaitAsync(TimeSpan.FromSeconds(20), ct);

        Assert.Equal(0, leftBehind.ExitCode);
        Assert.Equal("done", leftBehind.Output);
        Assert.Equal(-1, cancelled.ExitCode);
        Assert.False(cancelled.TimedOut);
        await AssertGoneAsync(File.ReadAllText(Path.Combine(dir, "c.pid")).Trim());
        _ = TestLibcKill(File.ReadAllText(Path.Combine(dir, "bg.pid")).Trim());
    }

    internal static async Task AssertGoneAsync(string pid)
    {
        // Dead means no /proc entry, or a zombie waiting for its (new) parent to reap it.
        await Eventually.TrueAsync(
            () =>
            {
                try
                {
                    var stat = File.ReadAllText($"/proc/{pid}/stat");
                    return stat[(stat.LastIndexOf(')') + 2)..].StartsWith('Z');
                }
                catch (IOException)
                {
                    return true;
                }
            },
            TimeSpan.FromSeconds(10),
            $"process {pid} is gone");
    }

    private static bool TestLibcKill(string pid)
    {
        try
        {
            using var p = System.Diagnostics.Process.GetProcessById(int.Parse(pid, System.Globalization.CultureInfo.InvariantCulture));
            p.Kill();
            return true;
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }

    private static byte[] Concat(params byte[][] parts) => [.. parts.SelectMany(p => p)];
}
