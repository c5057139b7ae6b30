using System.Text;
using System.Text.RegularExpressions;

namespace SerSync.Testing;

/// <summary>One mutated file: its raw bytes (what Load reads) and their Latin-1 view (what Parse gets).</summary>
public sealed record Mutant(string Base, byte[] Bytes, IReadOnlyList<string> Operations)
{
    public string Text => Encoding.Latin1.GetString(Bytes);

    /// <summary>The highest line an error may name: the number of lines plus one, counting every CR and LF byte as a
    /// line break (generous for any encoding).</summary>
    public int LineBound => ConfigMutator.LineBound(Text);
}

/// <summary>Deterministic mutations: <c>Mutate(seed)</c> always builds the same file for the same temp layout. Files
/// are handled as Latin-1 strings, one char per byte, so byte-level edits and text edits mix freely.</summary>
public sealed class ConfigMutator
{
    private static readonly string[] ElementNames =
    [
        "head", "host", "debug", "fileSystem", "filter", "exclude", "inotify", "delete", "createFolder", "sersync",
        "localpath", "remote", "rsync", "commonParams", "auth", "userDefinedPort", "timeout", "ssh", "failLog",
        "crontab", "crontabfilter", "plugin", "state", "param", "include", "deshost", "cdninfo", "regexurl", "audit",
    ];

    private static readonly string[] AttributeNames =
    [
        "version", "hostip", "port", "start", "xfs", "expression", "watch", "ip", "name", "path", "params", "users",
        "passwordfile", "time", "command", "timeToExecute", "schedule", "dir", "prefix", "ignoreError", "regex", "repair",
    ];

    private static readonly string[] Encodings =
    [
        "UTF-8", "utf-8", "UTF-16", "UTF-16LE", "UTF-16BE", "UTF-32", "ISO-8859-1", "latin1", "US-ASCII", "GB2312",
        "GBK", "GB18030", "Big5", "Shift_JIS", "windows-1252", "IBM037", "UTF-7", "bogus-encoding", "", " UTF-8",
    ];

    private static readonly string[] Fragments =
    [
        "\0", "\x01", "\x08", "\x1b", "\x7f", "\x80", "\x85", "\xa0", "\xc3", "\xff", "\xfe", "<", ">", "&", "\"", "'",
        "\n", "\r", "\r\n", " ", "\t", "#", "/", "=", "]]>", "<!--", "-->", "<![CDATA[", "<?", "?>", "&amp;", "&lt;",
        "&#10;", "&#13;", "&#9;", "&#0;", "&#x1;", "&#xD800;", "&#1114112;", "&#x10FFFF;", "&lol;", "&amp", "&#",
        "\xef\xbb\xbf", "\xc3\xa9", "\xe4\xb8\xad", "\xed\xa0\x80", "\xf4\x90\x80\x80", "<!DOCTYPE head>", "<x/>",
        "</head>", "<head>", "xmlns=\"urn:x\"", " x:a=\"1\"",
    ];

    /// <summary>XDocument's load time grows with the square of the depth: 10,000 levels take about a second, this
    /// many about a minute.</summary>
    public const int DeepestNesting = 100_000;

    private readonly string _file;
    private readonly string _dir;

    public ConfigMutator(TempDirectory temp)
    {
        ArgumentNullException.ThrowIfNull(temp);
        Encoding.RegisterProvider(CodePagesEncodingProvider.Instance); // GB2312 and friends, whatever ran first
        Watch = temp.Sub("www");
        _dir = temp.Sub("other-dir");
        _file = Path.Combine(temp.Path, "a-file");
        File.WriteAllText(_file, "not a directory\n");
        var failLog = Path.Combine(temp.Path, "fail.sh");
        Bases =
        [
            ("stock-confxml.xml", Prepare("stock-confxml.xml", failLog)),
            ("sample-confxml.xml", Prepare("sample-confxml.xml", failLog)),
        ];
        EdgeValues =
        [
            "", " ", "\t", "  x  ", "99999999999999999999", "-99999999999999999999", "2147483648", "-2147483649", "-1",
            "-0", "0", "+5", "0x10", "1e3", "1.5", "\x41\xd9\xa3", "true", "false", "TRUE", "yes", "1",
            new string('x', 100_000), new string('/', 5000), "/" + string.Join('/', Enumerable.Repeat("d", 3000)),
            "../..", "..", ".", "www", "relative/dir", "/", "//", "/..", "/./", "/tmp/../tmp", "~/x", "/nonexistent/dir",
            Watch, Watch + "/", Watch + "//", Watch + "/sub", Path.GetDirectoryName(Watch)!, _dir, _file, _file + "/",
            "/dev/null", "/proc/self", "/etc/passwd", "(", ")", "[", "[a-", "*", "+", "?", "(a+)+$", "(a|a)*b", "\\",
            "\\1", "(?<=a)b", "(?<n>a)\\k<n>", "a{99999999999999}", "a{1000000}", "(a{1000}){1000}", "\\p{Bogus}",
            ".*", "^", "$", "-e", "--delete", "-az --rsh=evil", "\"-a", "'", "a b", "a@b", "host:1", "[::1]", "[::1",
            "[fe80::1%eth0]", "127.0.0.1", "&#10;", "a&#10;b", "a&#13;b", "&#9;", "&#0;", "&amp;", "&lt;", "&gt;",
            "&quot;", "&apos;", "\"", "<", "&", ">", "\xe9", "\xc3\xa9", "\xe4\xb8\xad", "\xa0", "\x01", "\x1b[31m",
        ];
    }

    /// <summary>The real directory both bases watch.</summary>
    public string Watch { get; }

    public IReadOnlyList<(string Name, byte[] Bytes)> Bases { get; }

    private string[] EdgeValues { get; }

    public static int LineBound(string text) => text.Count(c => c is '\n' or '\r') + 2;

    public Mutant Mutate(int seed)
    {
        var rng = new Random(seed);
        var (name, bytes) = Bases[seed % Bases.Count];
        var s = Encoding.Latin1.GetString(bytes);
        var ops = new List<string>();
        var count = rng.Next(10) switch
        {
            < 5 => 1,
            < 8 => 2,
            _ => 3 + rng.Next(3),
        };
        for (var i = 0; i < count; i++)
        {
            s = Apply(rng, s, ops);
        }

        return new Mutant(name, Encoding.Latin1.GetBytes(s), ops);
    }

    private byte[] Prepare(string fixture, string failLog)
    {
        var text = File.ReadAllText(ConfigTestSupport.FixturePath(fixture), Encoding.Latin1);
        Assert.Contains("watch=\"/www\"", text, StringComparison.Ordinal);
        text = text
            .Replace("watch=\"/www\"", $"watch=\"{Watch}\"", StringComparison.Ordinal)
            .Replace("/tmp/rsync_fail_log.sh", failLog, StringComparison.Ordinal);
        return Encoding.Latin1.GetBytes(text);
    }

    private string Apply(Random rng, string s, List<string> ops)
    {
        var lines = s.Split('\n');
        int Pos() => s.Length == 0 ? 0 : rng.Next(s.Length + 1);
        switch (rng.Next(22))
        {
            case 0:
                {
                    var i = rng.Next(lines.Length);
                    ops.Add($"delete line {i + 1}");
                    return string.Join('\n', lines.Where((_, j) => j != i));
                }

            case 1:
                {
                    var i = rng.Next(lines.Length);
                    ops.Add($"duplicate line {i + 1}");
                    return string.Join('\n', lines.Take(i + 1).Append(lines[i]).Concat(lines.Skip(i + 1)));
                }

            case 2:
                {
                    var (i, j) = (rng.Next(lines.Length), rng.Next(lines.Length));
                    ops.Add($"swap lines {i + 1} and {j + 1}");
                    (lines[i], lines[j]) = (lines[j], lines[i]);
                    return string.Join('\n', lines);
                }

            case 3:
                {
                    var p = Pos();
                    var n = Math.Min(1 + rng.Next(12), s.Length - p);
                    ops.Add($"delete {n} char(s) at {p}");
                    return s.Remove(p, n);
                }

            case 4 or 5:
                {
                    var p = Pos();
                    var f = rng.Next(4) == 0 ? ((char)rng.Next(256)).ToString() : Fragments[rng.Next(Fragments.Length)];
                    ops.Add($"insert {Show(f)} at {p}");
                    return s.Insert(p, f);
                }

            case 6:
                {
                    if (s.Length == 0)
                    {
                        return s;
                    }

                    var p = rng.Next(s.Length);
                    var c = (char)(s[p] ^ (1 << rng.Next(8)));
                    ops.Add($"flip char {p} to {Show(c.ToString())}");
                    return string.Concat(s.AsSpan(0, p), c.ToString(), s.AsSpan(p + 1));
                }

            case 7 or 8 or 9 or 10:
                {
                    var values = Regex.Matches(s, "=\"([^\"<]*)\"");
                    if (values.Count == 0)
                    {
                        return s;
                    }

                    var g = values[rng.Next(values.Count)].Groups[1];
                    var v = EdgeValues[rng.Next(EdgeValues.Length)];
                    ops.Add($"value \"{Show(g.Value)}\" at {g.Index} -> \"{Show(v)}\"");
                    return string.Concat(s.AsSpan(0, g.Index), v, s.AsSpan(g.Index + g.Length));
                }

            case 11:
                {
                    var tags = Regex.Matches(s, "</?([A-Za-z_][-A-Za-z0-9_.:]*)");
                    if (tags.Count == 0)
                    {
                        return s;
                    }

                    var g = tags[rng.Next(tags.Count)].Groups[1];
                    var to = rng.Next(5) switch
                    {
                        0 => g.Value.ToUpperInvariant(),
                        1 => g.Value + "x",
                        2 => "x:" + g.Value,
                        3 => "1" + g.Value,
                        _ => ElementNames[rng.Next(ElementNames.Length)],
                    };
                    ops.Add($"rename element <{g.Value}> at {g.Index} to <{to}>");
                    return string.Concat(s.AsSpan(0, g.Index), to, s.AsSpan(g.Index + g.Length));
                }

            case 12:
                {
                    var attrs = Regex.Matches(s, "\\s([A-Za-z_][-A-Za-z0-9_.:]*)=");
                    if (attrs.Count == 0)
                    {
                        return s;
                    }

                    var g = attrs[rng.Next(attrs.Count)].Groups[1];
                    var to = rng.Next(5) switch
                    {
                        0 => g.Value.ToUpperInvariant(),
                        1 => "xml:" + g.Value,
                        2 => "xmlns",
                        3 => "xmlns:" + g.Value,
                        _ => AttributeNames[rng.Next(AttributeNames.Length)],
                    };
                    ops.Add($"rename attribute {g.Value} at {g.Index} to {to}");
                    return string.Concat(s.AsSpan(0, g.Index), to, s.AsSpan(g.Index + g.Length));
                }

            case 13:
                {
                    var p = rng.Next(s.Length);
                    ops.Add($"truncate at {p}");
                    return s[..p];
                }

            case 14:
                {
                    var decl = s.StartsWith("<?xml", StringComparison.Ordinal) ? s.IndexOf("?>", StringComparison.Ordinal) + 2 : 0;
                    if (rng.Next(2) == 0)
                    {
                        ops.Add("wrap the document in <wrap>");
                        return string.Concat(s.AsSpan(0, decl), "<wrap>", s.AsSpan(decl), "</wrap>\n");
                    }

                    var i = rng.Next(lines.Length);
                    ops.Add($"wrap line {i + 1} in <x>");
                    lines[i] = "<x a=\"1\">" + lines[i] + "</x>";
                    return string.Join('\n', lines);
                }

            case 15:
                {
                    var roll = rng.Next(100);
                    var depth = roll == 0 ? DeepestNesting : roll < 6 ? 10_000 : 1 + rng.Next(100);
                    var closed = rng.Next(3) != 0;
                    var name = rng.Next(2) == 0 ? "a" : ElementNames[rng.Next(ElementNames.Length)];
                    var nest = new StringBuilder();
                    for (var k = 0; k < depth; k++)
                    {
                        nest.Append('<').Append(name).Append('>');
                    }

                    for (var k = 0; closed && k < depth; k++)
                    {
                        nest.Append("</").Append(name).Append('>');
                    }

                    var i = rng.Next(lines.Length);
                    ops.Add($"insert {depth} nested <{name}>{(closed ? "" : " unclosed")} before line {i + 1}");
                    lines[i] = nest + lines[i];
                    return string.Join('\n', lines);
                }

            case 16:
                {
                    var decl = s.StartsWith("<?xml", StringComparison.Ordinal) ? s.IndexOf("?>", StringComparison.Ordinal) + 2 : 0;
                    var (label, dtd, use) = rng.Next(5) switch
                    {
                        0 => ("billion laughs", BillionLaughs, "&lol9;"),
                        1 => ("external entity", "<!DOCTYPE head [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>", "&xxe;"),
                        2 => ("quadratic blowup", $"<!DOCTYPE head [<!ENTITY a \"{new string('a', 50_000)}\">]>", string.Concat(Enumerable.Repeat("&a;", 2000))),
                        3 => ("parameter entity", "<!DOCTYPE head [<!ENTITY % p SYSTEM \"http://127.0.0.1:9/x.dtd\"> %p;]>", "&x;"),
                        _ => ("internal entity", "<!DOCTYPE head [<!ENTITY w \"/www\">]>", "&w;"),
                    };
                    ops.Add($"DOCTYPE: {label}");
                    s = string.Concat(s.AsSpan(0, decl), "\n", dtd, s.AsSpan(decl));
                    var values = Regex.Matches(s, "watch=\"[^\"]*\"");
                    return values.Count == 0 ? s : s.Remove(values[0].Index, values[0].Length).Insert(values[0].Index, $"watch=\"{use}\"");
                }

            case 17:
                {
                    var (label, bom) = rng.Next(5) switch
                    {
                        0 => ("UTF-8", "\xef\xbb\xbf"),
                        1 => ("UTF-16LE", "\xff\xfe"),
                        2 => ("UTF-16BE", "\xfe\xff"),
                        3 => ("UTF-32LE", "\xff\xfe\0\0"),
                        _ => ("two UTF-8", "\xef\xbb\xbf\xef\xbb\xbf"),
                    };
                    ops.Add($"prepend {label} BOM");
                    return bom + s;
                }

            case 18:
                {
                    var declared = Encodings[rng.Next(Encodings.Length)];
                    var transcode = rng.Next(2) == 0;
                    var actual = transcode ? Encodings[rng.Next(Encodings.Length)] : "";
                    ops.Add($"declare encoding \"{declared}\"" + (transcode ? $", written as {actual}" : ""));
                    var declMatch = Regex.Match(s, "encoding=\"[^\"]*\"");
                    s = declMatch.Success
                        ? s.Remove(declMatch.Index, declMatch.Length).Insert(declMatch.Index, $"encoding=\"{declared}\"")
                        : $"<?xml version=\"1.0\" encoding=\"{declared}\"?>\n" + s;
                    if (!transcode)
                    {
                        return s;
                    }

                    try
                    {
                        var encoding = Encoding.GetEncoding(actual.Trim());
                        return Encoding.Latin1.GetString(encoding.GetBytes(s));
                    }
                    catch (Exception ex) when (ex is ArgumentException or NotSupportedException)
                    {
                        return s;
                    }
                }

            case 19:
                {
                    var decl = s.StartsWith("<?xml", StringComparison.Ordinal) ? s.IndexOf("?>", StringComparison.Ordinal) + 2 : 0;
                    switch (rng.Next(4))
                    {
                        case 0:
                            ops.Add("remove the XML declaration");
                            return s[decl..];
                        case 1:
                            ops.Add("text before the XML declaration");
                            return (rng.Next(2) == 0 ? "\n" : " x") + s;
                        case 2:
                            ops.Add("second XML declaration");
                            return string.Concat(s.AsSpan(0, decl), "\n<?xml version=\"1.0\"?>", s.AsSpan(decl));
                        default:
                            ops.Add("XML version 1.1");
                            return s.Replace("version=\"1.0\"", "version=\"1.1\"", StringComparison.Ordinal);
                    }
                }

            case 20:
                {
                    // Text where only elements belong, often spanning lines or made of character references.
                    var i = rng.Next(lines.Length);
                    var text = rng.Next(4) switch
                    {
                        0 => "# a note",
                        1 => "first\nsecond",
                        2 => string.Concat(Enumerable.Repeat("&#10;", 1 + rng.Next(60))) + "x",
                        _ => "  \t&#13;&#10;  y&#10;z",
                    };
                    ops.Add($"text {Show(text)} at the end of line {i + 1}");
                    lines[i] += text;
                    return string.Join('\n', lines);
                }

            default:
                {
                    // A character reference or special character inside an attribute value.
                    var values = Regex.Matches(s, "=\"([^\"<]*)\"");
                    if (values.Count == 0)
                    {
                        return s;
                    }

                    var g = values[rng.Next(values.Count)].Groups[1];
                    var f = Fragments[rng.Next(Fragments.Length)];
                    var p = g.Index + rng.Next(g.Length + 1);
                    ops.Add($"insert {Show(f)} into value \"{Show(g.Value)}\" at {p}");
                    return s.Insert(p, f);
                }
        }
    }

    private static readonly string BillionLaughs =
        "<!DOCTYPE head [\n <!ENTITY lol \"lol\">\n" +
        string.Concat(Enumerable.Range(1, 9).Select(i =>
            $" <!ENTITY lol{i} \"{string.Concat(Enumerable.Repeat($"&lol{(i == 1 ? "" : (i - 1).ToString(System.Globalization.CultureInfo.InvariantCulture))};", 10))}\">\n")) +
        "]>";

    private static string Show(string s)
    {
        var b = new StringBuilder();
        foreach (var c in s.Length > 60 ? s[..40] + $"...({s.Length} chars)" : s)
        {
            _ = c >= ' ' && c < 0x7f ? b.Append(c) : b.Append($"\\x{(int)c:X2}");
        }

        return b.ToString();
    }
}
