using System.Globalization;
using System.Text;

namespace SerSync.Configuration;

/// <summary>Makes values from a config file safe to quote in a one-line message: control characters (and the Unicode
/// line and paragraph separators) are written as escapes (<c>\n</c>, <c>\r</c>, <c>\t</c>, <c>\xNN</c>,
/// <c>\uNNNN</c>), and long values are cut with an ellipsis.</summary>
internal static class ConfigText
{
    /// <summary>How many characters of a value a message shows.</summary>
    public const int MaxShown = 80;

    /// <summary>How many characters of a path a message shows: paths that passed validation are shown longer, since
    /// messages suggest commands with them.</summary>
    public const int MaxPathShown = 256;

    /// <summary><paramref name="value"/> escaped and shortened, between double quotes.</summary>
    public static string Quote(string? value) => "\"" + Show(value) + "\"";

    /// <summary>A path, escaped and shortened to <see cref="MaxPathShown"/> characters (plus "…").</summary>
    public static string ShowPath(string? path) => Show(path, MaxPathShown);

    /// <summary><paramref name="value"/> escaped and shortened to <paramref name="max"/> characters (plus "…").</summary>
    public static string Show(string? value, int max = MaxShown)
    {
        value ??= "";
        var cut = value.Length > max;
        if (cut)
        {
            var end = max;
            if (char.IsHighSurrogate(value[end - 1]))
            {
                end--; // never split a surrogate pair
            }

            value = value[..end];
        }

        return Escape(value) + (cut ? "…" : "");
    }

    /// <summary>Only the escaping of <see cref="Show"/>, without shortening: the result never spans lines.</summary>
    public static string Escape(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (!value.Any(NeedsEscape))
        {
            return value;
        }

        var b = new StringBuilder(value.Length + 16);
        foreach (var c in value)
        {
            _ = c switch
            {
                '\n' => b.Append("\\n"),
                '\r' => b.Append("\\r"),
                '\t' => b.Append("\\t"),
                _ when c <= 0xff && char.IsControl(c) => b.Append("\\x").Append(((int)c).ToString("X2", CultureInfo.InvariantCulture)),
                _ when NeedsEscape(c) => b.Append("\\u").Append(((int)c).ToString("X4", CultureInfo.InvariantCulture)),
                _ => b.Append(c),
            };
        }

        return b.ToString();
    }

    // Controls (C0, DEL, C1 including NEL) and U+2028/U+2029, which some terminals and editors treat as line breaks.
    private static bool NeedsEscape(char c) => char.IsControl(c) || c is '\u2028' or '\u2029';
}
