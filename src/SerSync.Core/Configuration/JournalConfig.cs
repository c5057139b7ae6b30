using System.Globalization;
using System.Xml.Linq;

namespace SerSync.Configuration;

/// <summary>
/// Addition: <c>&lt;journal maxSize="64M"/&gt;</c>, under <c>&lt;sersync&gt;</c> for every root or under a
/// <c>&lt;localpath&gt;</c> for that root. Past <paramref name="MaxBytes"/>, a target that is away (retrying or failed)
/// and holds the journal back is collapsed into one "full sync needed" record and the journal is compacted, so the
/// journal file stays under the bound however long the outage lasts.
/// </summary>
/// <param name="MaxBytes">The bound on the journal file, in bytes.</param>
/// <param name="Line">The element's line, or 0 for the default.</param>
public sealed record JournalConfig(long MaxBytes, int Line)
{
    /// <summary>64 MiB: about a million changes (a record is 26 bytes plus the path), more than a day of a busy web
    /// root, and a few seconds of reading at start; a target away for longer gets one full sync instead.</summary>
    public const long DefaultMaxBytes = 64L << 20;

    /// <summary>Below this a collapse would come every few hundred changes (a record is up to 64 KiB).</summary>
    public const long MinMaxBytes = 1L << 20;

    public static JournalConfig Default { get; } = new(DefaultMaxBytes, 0);

    /// <summary>The bound on one target's coalesced pending paths in memory (<c>Targets/PendingSet</c>) while it is
    /// away: as many paths as the smallest records the journal bound holds, so memory follows the same bound.</summary>
    public int MaxPendingPaths => (int)Math.Clamp(MaxBytes / 64, 1000, int.MaxValue);

    /// <summary>"64M", "512K", "1G", "1048576": K, M and G are powers of 1,024.</summary>
    public static bool TryParseSize(string text, out long bytes)
    {
        bytes = 0;
        if (text.Length == 0)
        {
            return false;
        }

        var shift = char.ToUpperInvariant(text[^1]) switch
        {
            'K' => 10,
            'M' => 20,
            'G' => 30,
            _ => 0,
        };
        var digits = shift == 0 ? text : text[..^1];
        if (digits.Length == 0 || !digits.All(char.IsAsciiDigit)
            || !long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            || value > (long.MaxValue >> shift))
        {
            return false;
        }

        bytes = value << shift;
        return true;
    }
}

/// <summary>Reads <c>&lt;journal maxSize&gt;</c>.</summary>
internal static class JournalConfigReader
{
    public static JournalConfig Read(ConfigErrors errors, XElement? element, JournalConfig inherited)
    {
        var attr = element?.Attribute("maxSize");
        if (element == null || attr == null)
        {
            return inherited;
        }

        if (!JournalConfig.TryParseSize(attr.Value.Trim(), out var bytes))
        {
            throw errors.Fail(attr, $"maxSize={ConfigText.Quote(attr.Value)} on <journal>: expected a size in bytes, or with K, M or G (e.g. 64M)");
        }

        if (bytes < JournalConfig.MinMaxBytes)
        {
            throw errors.Fail(attr, $"maxSize={ConfigText.Quote(attr.Value)} on <journal> is too small: expected at least 1M (a record of a long path is up to 64K)");
        }

        return new JournalConfig(bytes, ConfigSourcePositions.LineOf(element));
    }
}
