// Percent-encoding straight from a path's raw bytes (a name need not be UTF-8, so no string round trip), and the
// reversible decoding the CDN's regexurl needs: a path is matched as a string, then cut back into its exact bytes.
using System.Text;

namespace SerSync.Plugins;

internal static class UrlBytes
{
    /// <summary>A path in a CDN URL: bytes that sersync sent as they were stay so (so an existing ChinaCache
    /// contract sees the same request for plain names); space, controls, non-ASCII and the characters that end or
    /// split a URL or its query (<c>% # &amp; + ?</c>) or that are unsafe in one (<c>" &lt; &gt; \ ^ ` { | }</c>)
    /// become <c>%XX</c>.</summary>
    public static void AppendPathEscaped(StringBuilder to, ReadOnlySpan<byte> bytes)
    {
        foreach (var b in bytes)
        {
            if (b <= 0x20 || b >= 0x7f || "%#&+?\"<>\\^`{|}".Contains((char)b, StringComparison.Ordinal))
            {
                AppendEscape(to, b);
            }
            else
            {
                to.Append((char)b);
            }
        }
    }

    /// <summary>A value in an <c>application/x-www-form-urlencoded</c> body: letters, digits, <c>* - . _</c> and
    /// <c>/</c> as they are (a path stays readable, as sersync's unencoded one was), a space as <c>+</c>, any other
    /// byte as <c>%XX</c>.</summary>
    public static void AppendFormEscaped(StringBuilder to, ReadOnlySpan<byte> bytes)
    {
        foreach (var b in bytes)
        {
            if (char.IsAsciiLetterOrDigit((char)b) || b is (byte)'*' or (byte)'-' or (byte)'.' or (byte)'_' or (byte)'/')
            {
                to.Append((char)b);
            }
            else if (b == (byte)' ')
            {
                to.Append('+');
            }
            else
            {
                AppendEscape(to, b);
            }
        }
    }

    /// <summary>Decodes UTF-8, turning each byte that is not part of a valid sequence into the lone surrogate
    /// U+DC00+byte (as Python's surrogateescape), so <see cref="EncodeEscaped"/> gives back exactly the bytes.</summary>
    public static string DecodeEscaped(ReadOnlySpan<byte> bytes)
    {
        var text = new StringBuilder(bytes.Length);
        while (!bytes.IsEmpty)
        {
            if (System.Text.Rune.DecodeFromUtf8(bytes, out var rune, out var consumed) == System.Buffers.OperationStatus.Done)
            {
                text.Append(rune.ToString());
                bytes = bytes[consumed..];
            }
            else
            {
                text.Append((char)(0xdc00 + bytes[0]));
                bytes = bytes[1..];
            }
        }

        return text.ToString();
    }

    /// <summary>The inverse of <see cref="DecodeEscaped"/>.</summary>
    public static byte[] EncodeEscaped(ReadOnlySpan<char> text)
    {
        var bytes = new List<byte>(text.Length);
        Span<byte> scratch = stackalloc byte[4];
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                var n = new System.Text.Rune(c, text[i + 1]).EncodeToUtf8(scratch);
                bytes.AddRange(scratch[..n]);
                i++;
            }
            else if (c is >= '\udc80' and <= '\udcff')
            {
                bytes.Add((byte)(c - 0xdc00));
            }
            else if (char.IsSurrogate(c))
            {
                bytes.Add((byte)'?'); // a lone surrogate cannot come from DecodeEscaped; a regex cannot split a pair
            }
            else
            {
                var n = new System.Text.Rune(c).EncodeToUtf8(scratch);
                bytes.AddRange(scratch[..n]);
            }
        }

        return [.. bytes];
    }

    private static void AppendEscape(StringBuilder to, byte b)
    {
        const string Hex = "0123456789ABCDEF";
        to.Append('%').Append(Hex[b >> 4]).Append(Hex[b & 0xf]);
    }
}
