// Implementation notes. The fail log is a shell script of blocks separated by blank lines: a header of comments,
// then entries (`#errno N`, comment lines, one command). A command may hold newlines inside single quotes (a file
// name with a newline), so a blank line ends a block only outside quotes. The lexer follows POSIX sh far enough
// for that: single quotes (no escapes inside), double quotes (backslash escapes the next byte), backslash outside
// quotes (escapes the next byte, `'\''` included), and comments (`#` at the start of a word runs to the end of the
// line; a quote in a comment is not a quote). Everything is bytes: a name that is not UTF-8 passes through as is.
using System.Globalization;
using System.Text;

namespace SerSync.FailLog;

/// <summary>
/// One block of the fail-log script: the bytes from its first line to the end of its last line (without the final
/// newline). An entry has a command; a block of comments only (the <c>#!/bin/sh</c> header) is not an entry.
/// </summary>
public sealed class FailLogBlock
{
    internal FailLogBlock(byte[] text, int commandStart, int? errno, int errnoLineEnd, string? description)
    {
        Text = text;
        CommandStart = commandStart;
        Errno = errno;
        ErrnoLineEnd = errnoLineEnd;
        Description = description;
    }

    /// <summary>The block's bytes, without the newline that ends its last line.</summary>
    public byte[] Text { get; }

    /// <summary>Where the command starts in <see cref="Text"/> (after the leading comment lines).</summary>
    internal int CommandStart { get; }

    /// <summary>The <c>#errno N</c> value, when the block starts with one.</summary>
    public int? Errno { get; }

    /// <summary>The first comment line other than <c>#errno</c>, without its <c>#</c> (time, target and meaning
    /// for entries sersyncd wrote), decoded for the log only; null when none.</summary>
    public string? Description { get; }

    /// <summary>End of the <c>#errno</c> line including its newline; 0 when there is none.</summary>
    internal int ErrnoLineEnd { get; }

    public ReadOnlySpan<byte> Command => Text.AsSpan(CommandStart);

    public bool IsEntry => CommandStart < Text.Length;
}

/// <summary>Parses and rewrites sersync's fail-log script, on bytes.</summary>
public static class FailLogScript
{
    private const string ReplayedPrefix = "# replayed ";

    private static ReadOnlySpan<byte> ReplayedPrefixBytes => "# replayed "u8;

    private enum State
    {
        Normal,
        Single,
        Double,
        Comment,
    }

    /// <summary>Splits the script into blocks separated by blank lines (outside quotes). A block that ends inside a
    /// quote at the end of the file (a torn write) runs to the end of the file.</summary>
    public static IReadOnlyList<FailLogBlock> Parse(ReadOnlySpan<byte> script)
    {
        var blocks = new List<FailLogBlock>();
        var pos = 0;
        while (true)
        {
            pos = SkipBlankLines(script, pos);
            if (pos >= script.Length)
            {
                return blocks;
            }

            var end = FindBlockEnd(script, pos);
            blocks.Add(Classify(script[pos..end].ToArray()));
            pos = end;
        }
    }

    /// <summary>The block as it goes back into the file after a failed replay: <c>#errno</c> set to
    /// <paramref name="exitCode"/> and a <c># replayed TIME: exit N (meaning)</c> line (replacing an earlier one), the
    /// rest byte for byte.</summary>
    /// <param name="meaning">What the exit code means (rsync's table, from the caller).</param>
    public static byte[] WithOutcome(FailLogBlock block, int exitCode, string meaning, DateTimeOffset when)
    {
        ArgumentNullException.ThrowIfNull(block);
        using var output = new MemoryStream(block.Text.Length + 96);
        output.Write(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"#errno {exitCode}\n")));
        output.Write(Encoding.UTF8.GetBytes(string.Create(
            CultureInfo.InvariantCulture,
            $"{ReplayedPrefix}{when:yyyy-MM-dd HH:mm:ss zzz}: exit {exitCode} ({FailLogWriter.Sanitize(meaning)})\n")));
        var text = block.Text.AsSpan();
        var pos = block.ErrnoLineEnd;
        while (pos < block.CommandStart)
        {
            var lineEnd = LineEnd(text, pos);
            var next = Math.Min(lineEnd + 1, text.Length);
            if (!text[pos..lineEnd].StartsWith(ReplayedPrefixBytes))
            {
                output.Write(text[pos..next]);
            }

            pos = next;
        }

        output.Write(text[block.CommandStart..]);
        return output.ToArray();
    }

    private static int SkipBlankLines(ReadOnlySpan<byte> script, int pos)
    {
        while (pos < script.Length)
        {
            var i = pos;
            while (i < script.Length && script[i] is (byte)' ' or (byte)'\t' or (byte)'\r')
            {
                i++;
            }

            if (i < script.Length && script[i] != (byte)'\n')
            {
                return pos;
            }

            pos = Math.Min(i + 1, script.Length);
        }

        return pos;
    }

    /// <summary>The end (exclusive, before the newline) of the block starting at <paramref name="start"/>.</summary>
    private static int FindBlockEnd(ReadOnlySpan<byte> script, int start)
    {
        var state = State.Normal;
        var wordStart = true;
        for (var i = start; i < script.Length; i++)
        {
            var b = script[i];
            switch (state)
            {
                case State.Single:
                    if (b == (byte)'\'')
                    {
                        state = State.Normal;
                    }

                    wordStart = false;
                    break;
                case State.Double:
                    if (b == (byte)'\\')
                    {
                        i++;
                    }
                    else if (b == (byte)'"')
                    {
                        state = State.Normal;
                    }

                    wordStart = false;
                    break;
                case State.Comment:
                    if (b == (byte)'\n')
                    {
                        state = State.Normal;
                        if (IsBlankLine(script, i + 1))
                        {
                            return i;
                        }

                        wordStart = true;
                    }

                    break;
                default:
                    switch (b)
                    {
                        case (byte)'\n':
                            if (IsBlankLine(script, i + 1))
                            {
                                return i;
                            }

                            wordStart = true;
                            break;
                        case (byte)'\'':
                            state = State.Single;
                            wordStart = false;
                            break;
                        case (byte)'"':
                            state = State.Double;
                            wordStart = false;
                            break;
                        case (byte)'\\':
                            i++; // the next byte is literal (a newline after it continues the line)
                            wordStart = false;
                            break;
                        case (byte)'#' when wordStart:
                            state = State.Comment;
                            break;
                        case (byte)' ' or (byte)'\t' or (byte)';' or (byte)'&' or (byte)'|' or (byte)'(' or (byte)')' or (byte)'<' or (byte)'>':
                            wordStart = true;
                            break;
                        default:
                            wordStart = false;
                            break;
                    }

                    break;
            }
        }

        // End of file; drop a final newline so the block's text never ends with one.
        var end = script.Length;
        return end > start && script[end - 1] == (byte)'\n' && state is State.Normal or State.Comment ? end - 1 : end;
    }

    /// <summary>True when the line starting at <paramref name="pos"/> holds only blanks, or the file ends there.</summary>
    private static bool IsBlankLine(ReadOnlySpan<byte> script, int pos)
    {
        for (var i = pos; i < script.Length; i++)
        {
            switch (script[i])
            {
                case (byte)'\n':
                    return true;
                case (byte)' ' or (byte)'\t' or (byte)'\r':
                    continue;
                default:
                    return false;
            }
        }

        return true;
    }

    private static FailLogBlock Classify(byte[] text)
    {
        int? errno = null;
        var errnoLineEnd = 0;
        string? description = null;
        var pos = 0;
        var span = text.AsSpan();
        while (pos < span.Length)
        {
            var lineStart = pos;
            while (lineStart < span.Length && span[lineStart] is (byte)' ' or (byte)'\t')
            {
                lineStart++;
            }

            if (lineStart >= span.Length || span[lineStart] != (byte)'#')
            {
                break;
            }

            var lineEnd = LineEnd(span, pos);
            var line = span[lineStart..lineEnd];
            if (pos == 0 && line.StartsWith("#errno"u8) && (line.Length == 6 || line[6] is (byte)' ' or (byte)'\t'))
            {
                errno = ParseErrno(line["#errno"u8.Length..]);
                errnoLineEnd = Math.Min(lineEnd + 1, span.Length);
            }
            else if (description is null && !line.StartsWith("#!"u8) && !line.StartsWith(ReplayedPrefixBytes))
            {
                description = Encoding.UTF8.GetString(line[1..]).Trim();
            }

            pos = Math.Min(lineEnd + 1, span.Length);
        }

        // The loop stops at the first line that is not a comment; blank lines end blocks, so the rest is a command.
        var commandStart = pos;
        return new FailLogBlock(text, commandStart, errno, errnoLineEnd, description);
    }

    private static int? ParseErrno(ReadOnlySpan<byte> rest)
    {
        var text = Encoding.ASCII.GetString(rest).Trim();
        return int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) ? value : null;
    }

    private static int LineEnd(ReadOnlySpan<byte> text, int pos)
    {
        var n = text[pos..].IndexOf((byte)'\n');
        return n < 0 ? text.Length : pos + n;
    }
}
