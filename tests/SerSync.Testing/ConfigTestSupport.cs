using SerSync.Configuration;

namespace SerSync.Testing;

public static class ConfigTestSupport
{
    public const string FileName = "test.xml";

    public static string FixturePath(string name) => Path.Combine(AppContext.BaseDirectory, "Configuration", "Fixtures", name);

    /// <summary>A small valid config; each part replaces one piece so a test changes only what it is about.</summary>
    public static string Config(
        string watch,
        string? local = null,
        string rsync = "",
        string sersyncTail = "",
        string head = "") =>
        "<?xml version=\"1.0\"?>\n" +
        "<head version=\"2.5\">\n" +
        head + "\n" +
        "  <sersync>\n" +
        (local ?? $"    <localpath watch=\"{watch}\">\n      <remote ip=\"10.0.0.1\" name=\"www\"/>\n    </localpath>") + "\n" +
        "    <rsync>\n" +
        rsync + "\n" +
        "    </rsync>\n" +
        sersyncTail + "\n" +
        "  </sersync>\n" +
        "</head>\n";

    /// <summary>Where the error must point: the <paramref name="nth"/> occurrence of <paramref name="at"/> (1-based
    /// line and column; for an element marker "&lt;name", the column of the name as XmlReader reports it).</summary>
    public static (int Line, int Column) Pos(string xml, string at, int nth = 1)
    {
        var index = -1;
        for (var i = 0; i < nth; i++)
        {
            index = xml.IndexOf(at, index + 1, StringComparison.Ordinal);
            Assert.True(index >= 0, $"marker '{at}' #{nth} not in the test XML");
        }

        if (at.StartsWith('<'))
        {
            index++;
        }

        var line = 1 + xml[..index].Count(c => c == '\n');
        var lineStart = xml.LastIndexOf('\n', Math.Max(0, index - 1)) + 1;
        if (index == 0)
        {
            lineStart = 0;
        }

        return (line, index - lineStart + 1);
    }

    /// <summary>Parses <paramref name="xml"/>, expects a ConfigException at <paramref name="at"/> whose message
    /// contains every phrase.</summary>
    public static ConfigException AssertFails(string xml, string at, int nth, params string[] phrases)
    {
        var ex = Assert.Throws<ConfigException>(() => ConfigLoader.Parse(xml, FileName));
        var (line, column) = Pos(xml, at, nth);
        Assert.True(line == ex.Line && column == ex.Column, $"expected {line}:{column}, got {ex.Line}:{ex.Column}: {ex.Message}");
        foreach (var phrase in phrases)
        {
            Assert.Contains(phrase, ex.Detail, StringComparison.Ordinal);
        }

        Assert.StartsWith($"{FileName}:{line}:{column}: ", ex.Message, StringComparison.Ordinal);
        return ex;
    }

    public static ConfigException AssertFails(string xml, string at, params string[] phrases) => AssertFails(xml, at, 1, phrases);
}
