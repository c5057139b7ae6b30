using System.Text;
using SerSync.FailLog;
using SerSync.Rsync;

namespace SerSync.UnitTests.Syncing;

/// <summary>The fail-log parser on crafted bytes: quotes, newlines in names, comments, bytes that are not UTF-8.</summary>
public sealed class FailLogScriptTests
{
    private static byte[] B(string ascii) => Encoding.UTF8.GetBytes(ascii);

    private static byte[] Cat(params byte[][] parts) => [.. parts.SelectMany(p => p)];

    [Fact]
    public void Blocks_end_at_blank_lines_outside_quotes_only()
    {
        byte[] bad = [(byte)'b', (byte)'a', (byte)'d', 0xff, 0xfe, 0x80];
        var command1 = Cat(
            B("cd '/www' && printf '%s\\0' 'new\n\nline' '"),
            bad,
            B("' 'it'\\''s\n' | 'rsync' '-az' './' '127.0.0.1::www'"));
        var command2 = B("cd \"/x\n\ny\" && echo a\\\n\nb # it's a comment, not a quote\necho 'z'");
        var script = Cat(
            B("#!/bin/sh\n# sersyncd fail log: failed rsync runs, replayed periodically.\n\n"),
            B("#errno 10\n# 2025-01-01 00:00:00 +00:00 127.0.0.1::www: error in socket I/O\n"),
            command1,
            B("\n\n"),
            B("#errno 5\n# a comment with a ' quote in it\n"),
            command2,
            B("\n\n\n  \n"),
            B("# only a note\n# on two lines\n\n"),
            B("cd / && true\n"));

        var blocks = FailLogScript.Parse(script);

        Assert.Equal(5, blocks.Count);
        Assert.False(blocks[0].IsEntry);
        Assert.Equal(B("#!/bin/sh\n# sersyncd fail log: failed rsync runs, replayed periodically."), blocks[0].Text);

        Assert.True(blocks[1].IsEntry);
        Assert.Equal(10, blocks[1].Errno);
        Assert.Equal("2025-01-01 00:00:00 +00:00 127.0.0.1::www: error in socket I/O", blocks[1].Description);
        Assert.Equal(command1, blocks[1].Command.ToArray());

        Assert.True(blocks[2].IsEntry);
        Assert.Equal(5, blocks[2].Errno);
        Assert.Equal("a comment with a ' quote in it", blocks[2].Description);
        Assert.Equal(command2, blocks[2].Command.ToArray());

        Assert.False(blocks[3].IsEntry);
        Assert.Null(blocks[3].Errno);

        Assert.True(blocks[4].IsEntry); // sersync's over-capacity lines had no #errno
        Assert.Null(blocks[4].Errno);
        Assert.Equal(B("cd / && true"), blocks[4].Command.ToArray());
    }

    [Fact]
    public void A_quote_left_open_at_the_end_of_the_file_keeps_the_rest_in_one_block()
    {
        var script = B("#errno 3\ncd '/a\n\nb\n");

        var block = Assert.Single(FailLogScript.Parse(script));

        Assert.Equal(B("cd '/a\n\nb\n"), block.Command.ToArray());
    }

    [Fact]
    public void A_rewritten_entry_has_the_new_errno_one_replayed_line_and_the_same_bytes_otherwise()
    {
        var command = Cat(B("cd '/www' && printf '%s\\0' 'x"), [0xc3, 0x28, 0x0a, 0x0a, 0xff], B("' | 'rsync' 'a'"));
        var script = Cat(B("#errno 10\n# when target: error in socket I/O\n"), command, B("\n\n"));
        var when = new DateTimeOffset(2025, 2, 3, 4, 5, 6, TimeSpan.Zero);

        var once = FailLogScript.WithOutcome(FailLogScript.Parse(script)[0], 35, RsyncExitCodes.Describe(35), when);
        var twice = FailLogScript.WithOutcome(FailLogScript.Parse(Cat(once, B("\n\n")))[0], 5, RsyncExitCodes.Describe(5), when.AddHours(1));

        Assert.Equal(
            Cat(B("#errno 35\n# replayed 2025-02-03 04:05:06 +00:00: exit 35 (timeout waiting for daemon connection)\n# when target: error in socket I/O\n"), command),
            once);
        Assert.Equal(
            Cat(B("#errno 5\n# replayed 2025-02-03 05:05:06 +00:00: exit 5 (error starting client-server protocol)\n# when target: error in socket I/O\n"), command),
            twice);
        var reparsed = FailLogScript.Parse(twice)[0];
        Assert.Equal(5, reparsed.Errno);
        Assert.Equal("when target: error in socket I/O", reparsed.Description);
        Assert.Equal(command, reparsed.Command.ToArray());
    }

    [Fact]
    public void An_entry_without_errno_gets_one()
    {
        var block = FailLogScript.Parse(B("cd / && false\n"))[0];

        var text = FailLogScript.WithOutcome(block, 1, RsyncExitCodes.Describe(1), DateTimeOffset.UnixEpoch);

        Assert.StartsWith("#errno 1\n# replayed ", Encoding.UTF8.GetString(text), StringComparison.Ordinal);
        Assert.EndsWith("\ncd / && false", Encoding.UTF8.GetString(text), StringComparison.Ordinal);
    }

    [Fact]
    public void Empty_and_blank_scripts_have_no_blocks()
    {
        Assert.Empty(FailLogScript.Parse([]));
        Assert.Empty(FailLogScript.Parse(B("\n\n  \n\t\n")));
    }
}
