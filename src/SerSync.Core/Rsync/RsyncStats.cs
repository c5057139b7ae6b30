// Implementation notes. rsync --stats (the same as --info=stats2 since 3.1) prints, on stdout and at the end of a run,
// lines such as "Total transferred file size: 123,456 bytes" and "Total bytes sent: 123,570". The digits are grouped
// with commas (or the locale's separator; the runner sets LC_ALL=C), so every non-digit is skipped. Errors go to
// stderr, so reading stdout for these lines leaves the output that errors are read from as it was.
namespace SerSync.Rsync;

/// <summary>What one rsync run said it moved, read from its <c>--stats</c> lines; null where it said nothing.</summary>
public sealed class RsyncStats
{
    /// <summary>The option that makes rsync print them.</summary>
    public const string Option = "--stats";

    private const string TransferredPrefix = "Total transferred file size:";
    private const string SentPrefix = "Total bytes sent:";

    /// <summary>File data sent (what changed files weigh).</summary>
    public long? TransferredBytes { get; private set; }

    /// <summary>Bytes on the wire, protocol included.</summary>
    public long? SentBytes { get; private set; }

    /// <summary>Takes one stdout line; lines that are not stats are ignored. Called from the runner's pump.</summary>
    public void Read(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        if (line.StartsWith(TransferredPrefix, StringComparison.Ordinal))
        {
            TransferredBytes = Number(line.AsSpan(TransferredPrefix.Length)) ?? TransferredBytes;
        }
        else if (line.StartsWith(SentPrefix, StringComparison.Ordinal))
        {
            SentBytes = Number(line.AsSpan(SentPrefix.Length)) ?? SentBytes;
        }
    }

    /// <summary>The first number in <paramref name="text"/>, its digit groups joined; null without digits.</summary>
    internal static long? Number(ReadOnlySpan<char> text)
    {
        long value = 0;
        var digits = 0;
        foreach (var c in text)
        {
            if (c is >= '0' and <= '9')
            {
                value = checked((value * 10) + (c - '0'));
                digits++;
            }
            else if (digits > 0 && c is not (',' or '.' or '\'' or ' ' or '\u00a0'))
            {
                // "bytes" ends it; "123.46K" (-h in commonParams) is rounded: better no number than a wrong one.
                return c is 'K' or 'M' or 'G' or 'T' or 'P' ? null : value;
            }
        }

        return digits > 0 ? value : null;
    }
}
