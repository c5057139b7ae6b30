using System.Text.RegularExpressions;
using SerSync.Configuration;
using SerSync.Testing;

namespace SerSync.UnitTests.Configuration;

/// <summary>packaging/example.xml, installed as /etc/sersync.d/example.xml.sample: it must load as shipped (once
/// its watch directory exists) and with its commented-out elements switched on, so the example never rots.</summary>
public sealed partial class PackagedExampleTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    // A run of element lines (opening or closing tags) that ends a comment: an example left commented out.
    [GeneratedRegex(@"\n(?<xml>(?:[ ]*</?[a-zA-Z][^\n]*\n)+)[ ]*-->\n")]
    private static partial Regex CommentedElements();

    [GeneratedRegex("<(debug|filter|delete|createFolder|createFile|closeWrite|moveFrom|moveTo|attrib|modify|timeout|ssh|crontab|crontabfilter) start=\"false\"")]
    private static partial Regex SwitchOff();

    private static string Example()
    {
        var text = File.ReadAllText(ConfigTestSupport.FixturePath("packaged-example.xml"));
        Assert.Contains("watch=\"/var/www/html\"", text, StringComparison.Ordinal);
        return text;
    }

    private string Write(string text)
    {
        var path = Path.Combine(_temp.Path, "example.xml");
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void Example_loads_as_shipped()
    {
        var watch = _temp.Sub("html");
        var c = ConfigLoader.Load(Write(Example().Replace("/var/www/html", watch, StringComparison.Ordinal)));

        var w = Assert.Single(c.Watches);
        Assert.Equal(watch, w.Path);
        Assert.Equal([new RemoteConfig(RemoteKind.RsyncDaemon, "192.0.2.10", "www", null, w.Remotes[0].Line)], w.Remotes);
        Assert.Equal(["-az"], c.Rsync.CommonParams);
        Assert.False(c.Rsync.Ssh);
        Assert.False(c.Rsync.Auth.Enabled);
        Assert.False(c.Filter.Enabled);
        Assert.Equal(3, c.Filter.Excludes.Count);
        Assert.Equal(InotifyConfig.Stock, c.Inotify);
        Assert.Equal(FailLogConfig.Absent, c.FailLog);
        Assert.False(c.Crontab.Enabled);
        Assert.Empty(c.EnabledPlugins);
        Assert.Null(c.StateDirectory);
    }

    [Fact]
    public void Example_loads_with_its_commented_elements_and_switches_on()
    {
        var html = _temp.Sub("html");
        var stat = _temp.Sub("static");
        var failLog = Path.Combine(_temp.Sub("log"), "www-fail.sh");
        var uncommented = CommentedElements().Replace(Example(), "\n-->\n${xml}");
        Assert.Equal(4, CommentedElements().Count(Example()));
        var text = uncommented
            .Replace("/var/www/html", html, StringComparison.Ordinal)
            .Replace("/var/www/static", stat, StringComparison.Ordinal)
            .Replace("/var/lib/sersyncd/www-fail.sh", failLog, StringComparison.Ordinal);

        // Every switch on except those that need a real password file, an rsync daemon port with ssh, or plugins.
        text = SwitchOff().Replace(text, "<$1 start=\"true\"");
        var c = ConfigLoader.Load(Write(text));

        Assert.Equal([html, stat], c.Watches.Select(w => w.Path));
        Assert.Equal(
            [RemoteKind.Ssh, RemoteKind.LocalDirectory],
            c.Watches[0].Remotes.Select(r => r.Kind));
        Assert.Equal("/srv/mirror/html", c.Watches[0].Remotes[1].Path);
        Assert.Equal(new FailLogConfig(failLog, 60), c.FailLog);
        Assert.Equal("/var/lib/sersyncd/www", c.StateDirectory);
        Assert.True(c.Rsync.Ssh);
        Assert.Equal("ssh -p 22 -i /root/.ssh/id_ed25519", c.Rsync.SshCommand);
        Assert.True(c.Filter.Enabled);
        Assert.True(c.Crontab.Enabled);
        Assert.True(c.Debug);
    }
}
