using System.Text;

namespace SerSync.FailLog;

/// <summary>
/// POSIX shell quoting for the fail-log script only (sersyncd itself never runs a shell). Single quotes keep every
/// byte but NUL literally, newlines included; a single quote becomes <c>'\''</c>. Works on bytes so a name that is
/// not UTF-8 is written to the script unchanged.
/// </summary>
public static class ShellQuote
{
    public static void Append(Stream output, ReadOnlySpan<byte> word)
    {
        output.WriteByte((byte)'\'');
        foreach (var b in word)
        {
            if (b == (byte)'\'')
            {
                output.Write("'\\''"u8);
            }
            else
            {
                output.WriteByte(b);
            }
        }

        output.WriteByte((byte)'\'');
    }

    public static void Append(Stream output, string word) => Append(output, Encoding.UTF8.GetBytes(word));
}
