// Why this exists: XDocument gives a text node the position where the node starts, which for stray text is usually
// the line break after the previous tag, not the text a user should look at. The node's value cannot say where its
// first visible character is either (a line break in it may be literal or a character reference such as &#10;), so
// the source text is walked alongside the value, and the node's own position is kept whenever the two disagree.
using System.Globalization;
using System.Xml;
using System.Xml.Linq;

namespace SerSync.Configuration;

/// <summary>Recovers where in the original text a node of the loaded document is, for messages.
/// <paramref name="source"/> gives the decoded text (or null); it is only asked for when stray text needs it.</summary>
internal sealed class ConfigSourcePositions(Func<string?>? source = null)
{
    private readonly Lazy<string?> _source = new(source ?? (() => null));

    /// <summary>The 1-based line of <paramref name="o"/>, or 0 if it has no line info.</summary>
    public static int LineOf(XObject? o) => o is IXmlLineInfo li && li.HasLineInfo() ? li.LineNumber : 0;

    /// <summary>The 1-based line and column a message about <paramref name="at"/> points at, or (0, 0) if it has no
    /// line info. For text, that is its first visible character.</summary>
    public (int Line, int Column) Of(XObject? at)
    {
        if (at is not IXmlLineInfo li || !li.HasLineInfo())
        {
            return (0, 0);
        }

        var (line, column) = (li.LineNumber, li.LinePosition);
        if (at is XText text)
        {
            (line, column) = FirstVisible(text.Value, line, column);
        }

        return (line, column);
    }

    /// <summary>Where the first visible character of a text node starting at <paramref name="line"/>:<paramref
    /// name="column"/> is in the source. The value alone cannot tell: a line break in it may be a literal one or a
    /// character reference such as <c>&amp;#10;</c>, so this walks the source text, checking it against the value,
    /// and keeps the node's own position whenever the two do not agree.</summary>
    private (int Line, int Column) FirstVisible(string value, int line, int column)
    {
        var lead = 0;
        while (lead < value.Length && char.IsWhiteSpace(value[lead]))
        {
            lead++;
        }

        var raw = lead == 0 || lead == value.Length ? null : _source.Value;
        var i = raw == null ? -1 : OffsetOf(raw, line, column);
        if (i < 0)
        {
            return (line, column);
        }

        var (l, c) = (line, column);
        for (var k = 0; k < lead; k++)
        {
            if (i >= raw!.Length)
            {
                return (line, column);
            }

            var ch = raw[i];
            if (ch is '\r' or '\n')
            {
                // Literal line breaks (CR, LF, CR LF) reach the value as one LF.
                if (value[k] != '\n')
                {
                    return (line, column);
                }

                i += ch == '\r' && i + 1 < raw.Length && raw[i + 1] == '\n' ? 2 : 1;
                (l, c) = (l + 1, 1);
            }
            else if (ch == '&')
            {
                var end = raw.IndexOf(';', i, Math.Min(12, raw.Length - i));
                if (end < 0 || CharacterReference(raw.AsSpan(i + 1, end - i - 1)) != value[k])
                {
                    return (line, column);
                }

                c += end + 1 - i;
                i = end + 1;
            }
            else
            {
                if (ch != value[k])
                {
                    return (line, column);
                }

                i++;
                c++;
            }
        }

        return (l, c);
    }

    /// <summary>The offset of 1-based <paramref name="line"/>:<paramref name="column"/> as XmlReader counts them
    /// (CR, LF and CR LF end a line), or -1 if <paramref name="text"/> is shorter.</summary>
    private static int OffsetOf(string text, int line, int column)
    {
        var i = 0;
        for (var l = 1; l < line; l++)
        {
            var next = text.AsSpan(i).IndexOfAny('\r', '\n');
            if (next < 0)
            {
                return -1;
            }

            i += next;
            i += text[i] == '\r' && i + 1 < text.Length && text[i + 1] == '\n' ? 2 : 1;
        }

        var offset = i + column - 1;
        return column >= 1 && offset <= text.Length && text.AsSpan(i, column - 1).IndexOfAny('\r', '\n') < 0 ? offset : -1;
    }

    /// <summary>The character of a reference such as <c>#10</c> or <c>#x9</c> (without <c>&amp;</c> and
    /// <c>;</c>), or -1 for anything else (named entities, characters beyond U+FFFF).</summary>
    private static int CharacterReference(ReadOnlySpan<char> body)
    {
        if (body.Length < 2 || body[0] != '#')
        {
            return -1;
        }

        var hex = body[1] == 'x';
        var digits = hex ? body[2..] : body[1..];
        var style = hex ? NumberStyles.AllowHexSpecifier : NumberStyles.None;
        return int.TryParse(digits, style, CultureInfo.InvariantCulture, out var code) && code is >= 0 and <= 0xFFFF ? code : -1;
    }
}
