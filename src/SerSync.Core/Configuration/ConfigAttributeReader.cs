using System.Globalization;
using System.Xml.Linq;

namespace SerSync.Configuration;

/// <summary>Reads single attribute values (text, required attributes, booleans, bounded integers, absolute paths),
/// failing on the first one that is malformed.</summary>
internal sealed class ConfigAttributeReader(ConfigErrors errors)
{
    public static string? Text(XElement? element, string attribute) => element?.Attribute(attribute)?.Value;

    public XAttribute Required(XElement element, string attribute, string expected) =>
        element.Attribute(attribute) ?? throw errors.Fail(element, $"<{element.Name}> has no {attribute} attribute; expected {attribute}=\"...\": {expected}");

    public bool Bool(XElement? element, string attribute, bool dflt)
    {
        var attr = element?.Attribute(attribute);
        return attr?.Value switch
        {
            null => dflt,
            "true" => true,
            "false" => false,
            _ => throw errors.Fail(attr, $"{attribute}={ConfigText.Quote(attr.Value)} on <{element!.Name}>: expected true or false"),
        };
    }

    public int Int(XElement? element, string attribute, int dflt, int min, int max)
    {
        var attr = element?.Attribute(attribute);
        if (attr == null)
        {
            return dflt;
        }

        if (!int.TryParse(attr.Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            throw errors.Fail(attr, $"{attribute}={ConfigText.Quote(attr.Value)} on <{element!.Name}>: expected an integer{Range(min, max)}");
        }

        if (value < min || value > max)
        {
            throw errors.Fail(attr, $"{attribute}={ConfigText.Quote(attr.Value)} on <{element!.Name}> is out of range: expected an integer{Range(min, max)}");
        }

        return value;
    }

    private static string Range(int min, int max) => (min, max) switch
    {
        (int.MinValue, int.MaxValue) => "",
        (_, int.MaxValue) => $" of at least {min}",
        _ => $" from {min} to {max}",
    };

    /// <summary>Absolute, without '.'/'..' components; repeated and trailing slashes removed.</summary>
    public string AbsolutePath(XAttribute attr, string what)
    {
        var value = attr.Value;
        if (!value.StartsWith('/'))
        {
            throw errors.Fail(attr, $"{what} {ConfigText.Quote(value)} is not an absolute path; expected a path starting with '/'");
        }

        if (value.Any(char.IsControl))
        {
            throw errors.Fail(attr, $"{what} {ConfigText.Quote(value)} contains control characters; expected a plain absolute path");
        }

        var parts = value.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Any(p => p is "." or ".."))
        {
            throw errors.Fail(attr, $"{what} {ConfigText.Quote(value)} contains '.' or '..' components; expected a plain absolute path");
        }

        return "/" + string.Join('/', parts);
    }

    /// <summary>Whether <paramref name="path"/> is <paramref name="dir"/> or below it (both from <see cref="AbsolutePath"/>).</summary>
    public static bool IsSameOrInside(string path, string dir) =>
        path == dir || dir == "/" || path.StartsWith(dir + "/", StringComparison.Ordinal);
}
