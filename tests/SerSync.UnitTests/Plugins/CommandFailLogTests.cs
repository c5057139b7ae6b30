using System.Text;
using SerSync.FailLog;
using SerSync.Processes;
using SerSync.Testing;

namespace SerSync.UnitTests.Plugins;

/// <summary>The fail-log entry of a failed command run, byte for byte (CommandHookTests replays such entries).</summary>
public sealed class CommandFailLogTests : IDisposable
{
    private readonly TempDirectory _temp = new("sersync-cmdlog-");

    public void Dispose() => _temp.Dispose();

    private static byte[] B(string text) => Encoding.UTF8.GetBytes(text);

    [Fact]
    public void An_entry_quotes_every_word_sets_the_variables_and_feeds_stdin_through_printf()
    {
        var path = Path.Combine(_temp.Path, "fail.sh");
        var writer = new FailLogWriter(path, code => $"rsync meaning {code}");
        byte[] odd = [(byte)'/', (byte)'r', (byte)'/', (byte)'i', (byte)'\'', (byte)'s', 0xff, (byte)'\n'];
        var when = new DateTimeOffset(2026, 12, 1, 14, 0, 0, TimeSpan.Zero);
        var perPath = new CommandInvocation(B("/usr/bin/on change"), [B("on change"), B("--x"), odd], [new("SERSYNC_EVENT", B("create")), new("SERSYNC_ROOT", B("/r")), new("SERSYNC_ISDIR", B("0"))], B("/r"), null);
        var batch = perPath with { Arguments = [B("on change")], Stdin = [.. odd, 0, .. "/r/b"u8, 0] };

        writer.AppendCommand(3, perPath, "command on change", "exit 3 (create /r/x)", when);
        writer.AppendCommand(-1, batch, "command on change", "timed\nout", when);

        var expected = Encoding.Latin1.GetBytes(
            "#!/bin/sh\n# sersyncd fail log: failed rsync runs, replayed periodically.\n\n"
            + "#errno 3\n# 2026-12-01 14:00:00 +00:00 command on change: exit 3 (create /r/x)\n"
            + "cd '/r' && SERSYNC_EVENT='create' SERSYNC_ROOT='/r' SERSYNC_ISDIR='0' '/usr/bin/on change' '--x' '/r/i'\\''s\xff\n'\n\n"
            + "#errno -1\n# 2026-12-01 14:00:00 +00:00 command on change: timed out\n"
            + "cd '/r' && printf '%s\\0' '/r/i'\\''s\xff\n' '/r/b' | SERSYNC_EVENT='create' SERSYNC_ROOT='/r' SERSYNC_ISDIR='0' '/usr/bin/on change'\n\n");
        Assert.Equal(Encoding.Latin1.GetString(expected), Encoding.Latin1.GetString(File.ReadAllBytes(path)));
        var entries = FailLogScript.Parse(File.ReadAllBytes(path)).Where(b => b.IsEntry).ToList();
        Assert.Equal([3, -1], entries.Select(e => e.Errno ?? 0));
    }

    [Fact]
    public void A_variable_name_the_shell_would_not_take_as_an_assignment_is_refused()
    {
        var writer = new FailLogWriter(Path.Combine(_temp.Path, "fail.sh"), code => string.Empty);
        var invocation = new CommandInvocation(B("/bin/true"), [B("true")], [new("A-B", B("x"))], B("/"), null);

        Assert.Throws<ArgumentException>(() => writer.AppendCommand(1, invocation, "command true", "exit 1", DateTimeOffset.UnixEpoch));
    }
}
