// Implementation notes. The input (at most 1 MiB) is first streamed once with an XmlReader that refuses absurd
// nesting, since XDocument's load time grows with the square of the depth; then it is loaded into an XDocument with
// line info and handed to ConfigXmlReader, which checks the shape (ConfigSchema: unknown or duplicated elements,
// unknown attributes, stray text) and then the values, element by element, with every check raising a
// ConfigException that points at the offending element or attribute (ConfigSourcePositions works out where). Values
// quoted in messages go through ConfigText, so a message is always one line. Anything else that escapes (I/O, a
// regex engine surprise) is converted here at the API boundary, in Guard, so callers only ever catch ConfigException.
using System.Text;
using System.Xml;
using System.Xml.Linq;

namespace SerSync.Configuration;

/// <summary>Reads and validates a sersync 2.5 confxml.xml (with sersyncd's additions) into a
/// <see cref="SerSyncConfig"/>.</summary>
public static class ConfigLoader
{
    /// <summary>The largest file accepted, in bytes (for <see cref="Parse"/>: characters). The stock confxml.xml is
    /// about 2 KB.</summary>
    public const int MaxSize = 1 << 20;

    /// <summary>The deepest element nesting accepted. confxml.xml needs 5 levels
    /// (<c>head/sersync/crontab/crontabfilter/exclude</c>).</summary>
    public const int MaxDepth = 32;

    static ConfigLoader()
    {
        // Files saved by Chinese editors often declare GB2312/GBK; honour that like sersync's parser did.
        Encoding.RegisterProvider(CodePagesEncodingProvider.Instance);
    }

    /// <summary>Reads <paramref name="path"/>, honouring its XML encoding declaration.</summary>
    public static SerSyncConfig Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        byte[] bytes;
        string full;
        try
        {
            full = Path.GetFullPath(path);
            if (Directory.Exists(full))
            {
                throw new ConfigException(path, 0, 0, "is a directory; expected a confxml.xml file");
            }

            if (!File.Exists(full))
            {
                throw new ConfigException(path, 0, 0, "no such file; expected an existing confxml.xml (see -o)");
            }

            bytes = File.ReadAllBytes(full);
        }
        catch (ConfigException)
        {
            throw;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new ConfigException(path, 0, 0, $"cannot be read: {ConfigText.Escape(ex.Message)}");
        }

        if (IsBlank(bytes))
        {
            throw new ConfigException(path, 0, 0, "is empty; expected a confxml.xml with a <head> root element");
        }

        if (bytes.Length > MaxSize)
        {
            throw new ConfigException(path, 0, 0, $"is {bytes.Length} bytes long; a confxml.xml is a few KB, and files over {MaxSize} bytes (1 MiB) are refused");
        }

        return Guard(path, () => Build(
            () => XmlReader.Create(new MemoryStream(bytes, writable: false), ReaderSettings),
            () => DecodeLikeXmlReader(bytes),
            path,
            full));
    }

    /// <summary>Parses XML text. <paramref name="fileNameForMessages"/> prefixes every message; it is made absolute
    /// against <paramref name="baseDirectory"/> (default: the working directory) for
    /// <see cref="SerSyncConfig.SourceFile"/>.</summary>
    public static SerSyncConfig Parse(string xmlText, string fileNameForMessages, string? baseDirectory = null)
    {
        ArgumentNullException.ThrowIfNull(xmlText);
        ArgumentNullException.ThrowIfNull(fileNameForMessages);
        if (string.IsNullOrWhiteSpace(xmlText))
        {
            throw new ConfigException(fileNameForMessages, 0, 0, "is empty; expected a confxml.xml with a <head> root element");
        }

        if (xmlText.Length > MaxSize)
        {
            throw new ConfigException(fileNameForMessages, 0, 0, $"is {xmlText.Length} characters long; a confxml.xml is a few KB, and files over {MaxSize} characters (1 MiB) are refused");
        }

        return Guard(fileNameForMessages, () =>
        {
            var full = Path.IsPathRooted(fileNameForMessages)
                ? fileNameForMessages
                : Path.GetFullPath(Path.Combine(baseDirectory ?? Environment.CurrentDirectory, fileNameForMessages));
            return Build(() => XmlReader.Create(new StringReader(xmlText), ReaderSettings), () => xmlText, fileNameForMessages, full);
        });
    }

    private static readonly XmlReaderSettings ReaderSettings = new()
    {
        DtdProcessing = DtdProcessing.Prohibit,
        XmlResolver = null,
        IgnoreComments = true,
        IgnoreProcessingInstructions = true,
        CloseInput = true,
    };

    private static bool IsBlank(byte[] bytes)
    {
        foreach (var b in bytes)
        {
            if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n'))
            {
                return false;
            }
        }

        return true;
    }

    private static SerSyncConfig Guard(string file, Func<SerSyncConfig> body)
    {
        try
        {
            return body();
        }
        catch (ConfigException)
        {
            throw;
        }
        catch (XmlException ex)
        {
            throw new ConfigException(file, ex.LineNumber, ex.LinePosition, $"not well-formed XML: {ConfigText.Escape(StripPosition(ex.Message))}");
        }
        catch (Exception ex)
        {
            throw new ConfigException(file, 0, 0, $"cannot be loaded: {ex.GetType().Name}: {ConfigText.Escape(ex.Message)}");
        }
    }

    // XmlException repeats "Line N, position M." which our prefix already says.
    private static string StripPosition(string message)
    {
        var i = message.IndexOf(" Line ", StringComparison.Ordinal);
        return i > 0 ? message[..i] : message;
    }

    /// <summary>Streams the input once to refuse deep nesting, then loads it. <paramref name="source"/> gives the
    /// decoded text (or null), only needed to point at the first visible character of stray text.</summary>
    private static SerSyncConfig Build(Func<XmlReader> open, Func<string?> source, string file, string fullPath)
    {
        using (var scan = open())
        {
            CheckNesting(scan, file);
        }

        XDocument doc;
        using (var reader = open())
        {
            doc = XDocument.Load(reader, LoadOptions.SetLineInfo);
        }

        return new ConfigXmlReader(file, fullPath, source).Read(doc);
    }

    private static void CheckNesting(XmlReader reader, string file)
    {
        while (reader.Read())
        {
            if (reader.NodeType == XmlNodeType.Element && reader.Depth >= MaxDepth)
            {
                var li = (IXmlLineInfo)reader;
                throw new ConfigException(file, li.LineNumber, li.LinePosition,
                    $"<{ConfigText.Show(reader.Name)}> is nested {reader.Depth + 1} elements deep; a confxml.xml needs at most 5 levels, " +
                    $"and more than {MaxDepth} are refused");
            }
        }
    }

    /// <summary>The characters an XmlReader sees in <paramref name="bytes"/>: the encoding it settles on after the
    /// byte order mark and the XML declaration. Null if that cannot be found out.</summary>
    private static string? DecodeLikeXmlReader(byte[] bytes)
    {
        try
        {
            Encoding? encoding;
            using (var probe = new XmlTextReader(new MemoryStream(bytes, writable: false)) { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null })
            {
                _ = probe.Read();
                encoding = probe.Encoding;
            }

            if (encoding == null)
            {
                return null;
            }

            using var text = new StreamReader(new MemoryStream(bytes, writable: false), encoding, detectEncodingFromByteOrderMarks: true);
            return text.ReadToEnd();
        }
        catch (Exception ex) when (ex is XmlException or ArgumentException or NotSupportedException or DecoderFallbackException)
        {
            return null;
        }
    }
}
