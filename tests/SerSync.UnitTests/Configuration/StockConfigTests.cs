using System.Text;
using SerSync.Configuration;
using SerSync.Testing;

namespace SerSync.UnitTests.Configuration;

/// <summary>The files operators actually have: sersync 2.5's stock confxml.xml and our own sample.</summary>
public sealed class StockConfigTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private string CopyWithWatch(string fixture, string watch)
    {
        var text = File.ReadAllText(ConfigTestSupport.FixturePath(fixture), Encoding.Latin1);
        Assert.Contains("watch=\"/www\"", text, StringComparison.Ordinal);
        var path = Path.Combine(_temp.Path, fixture);
        File.WriteAllText(path, text.Replace("watch=\"/www\"", $"watch=\"{watch}\"", StringComparison.Ordinal), Encoding.Latin1);
        return path;
    }

    [Fact]
    public void Stock_file_loads_with_every_value()
    {
        var watch = _temp.Sub("www");
        var file = CopyWithWatch("stock-confxml.xml", watch + "/");
        var c = ConfigLoader.Load(file);

        Assert.Equal(file, c.SourceFile);
        Assert.Equal(new HostConfig("localhost", 8008), c.Host);
        Assert.False(c.Debug);
        Assert.False(c.Xfs);
        Assert.False(c.Filter.Enabled);
        Assert.Equal(["(.*)\\.svn", "(.*)\\.gz", "^info/*", "^static/*"], c.Filter.Excludes.Select(e => e.Expression));
        Assert.Equal([7, 8, 9, 10], c.Filter.Excludes.Select(e => e.Line));
        Assert.Equal(InotifyConfig.Stock, c.Inotify);

        var w = Assert.Single(c.Watches);
        Assert.Equal(watch, w.Path); // trailing '/' trimmed
        Assert.Equal(24, w.Line);
        var r = Assert.Single(w.Remotes);
        Assert.Equal(new RemoteConfig(RemoteKind.RsyncDaemon, "172.16.10.5", "/tmp/www", null, 25), r);
        Assert.Equal("172.16.10.5::/tmp/www", r.Label);

        Assert.Equal(["-az"], c.Rsync.CommonParams);
        Assert.Equal(new AuthConfig(false, "root", "/etc/rsync.pas"), c.Rsync.Auth);
        Assert.Equal(new SwitchedNumber(false, 874), c.Rsync.Port);
        Assert.Equal(new SwitchedNumber(false, 100), c.Rsync.Timeout);
        Assert.False(c.Rsync.Ssh);
        Assert.Equal("ssh", c.Rsync.SshCommand);

        Assert.Equal(new FailLogConfig("/tmp/rsync_fail_log.sh", 60), c.FailLog);
        Assert.False(c.Crontab.Enabled);
        Assert.Equal(600, c.Crontab.ScheduleMinutes);
        Assert.False(c.Crontab.FilterEnabled);
        Assert.Equal(["*.php", "info/*"], c.Crontab.Excludes);
        Assert.Empty(c.EnabledPlugins);
        Assert.Null(c.StateDirectory);

        var command = c.Plugins.Command!;
        Assert.Equal(["/bin/sh"], command.Prefix);
        Assert.Empty(command.Suffix);
        Assert.True(command.IgnoreError);
        Assert.False(command.Batch);
        Assert.Null(command.Includes); // filter start="false"
        Assert.True(command.ExecutesChangedFile);
        Assert.Equal(PluginConfig.DefaultMaxDelay, command.MaxDelay);

        var socket = c.Plugins.Socket!;
        Assert.Equal(("/opt/tongbu", "192.168.138.20", 8009, SocketFormat.Frames), (socket.Watch, socket.Host, socket.Port, socket.Format));
        Assert.Equal(53, socket.Line);

        var cdn = c.Plugins.RefreshCdn!;
        Assert.Equal("/data0/htdocs/cms.xoyo.com/site", cdn.Watch);
        Assert.Equal(new ChinaCacheConfig("ccms.chinacache.com", 80, "xxxx", "xxxx"), cdn.ChinaCache);
        Assert.Equal("http://pic.xoyo.com/cms", cdn.Url.Base);
        Assert.Null(cdn.Url.Match); // regex="false"
        Assert.Null(cdn.Purge);
        Assert.Null(c.Plugins.Http);
    }

    [Fact]
    public void Stock_file_as_shipped_fails_only_on_its_missing_watch_directory()
    {
        Assert.SkipWhen(Directory.Exists("/www"), "this machine has /www");
        var ex = Assert.Throws<ConfigException>(() => ConfigLoader.Load(ConfigTestSupport.FixturePath("stock-confxml.xml")));
        Assert.Equal(24, ex.Line);
        Assert.Contains("/www does not exist", ex.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Latin1_declaration_is_honoured_when_loading_a_file()
    {
        var watch = _temp.Sub("w");
        var xml = ConfigTestSupport.Config(watch, head: "<!-- caf\u00e9 -->").Replace(
            "<?xml version=\"1.0\"?>", "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>", StringComparison.Ordinal);
        var path = Path.Combine(_temp.Path, "latin1.xml");
        File.WriteAllBytes(path, Encoding.Latin1.GetBytes(xml)); // 0xE9 alone is invalid UTF-8
        Assert.Equal(watch, ConfigLoader.Load(path).Watches[0].Path);
    }

    [Fact]
    public void Gbk_declaration_is_honoured_when_loading_a_file()
    {
        var watch = _temp.Sub("w");
        var gbk = CodePagesEncodingProvider.Instance.GetEncoding("GB2312")!;
        var xml = ConfigTestSupport.Config(watch, head: "<!-- \u540c\u6b65\u76ee\u5f55 -->").Replace(
            "<?xml version=\"1.0\"?>", "<?xml version=\"1.0\" encoding=\"GB2312\"?>", StringComparison.Ordinal);
        var path = Path.Combine(_temp.Path, "gbk.xml");
        File.WriteAllBytes(path, gbk.GetBytes(xml));
        Assert.Equal(watch, ConfigLoader.Load(path).Watches[0].Path);
    }

    [Fact]
    public void Sample_file_loads_with_its_additions()
    {
        var watch = _temp.Sub("www");
        var c = ConfigLoader.Load(CopyWithWatch("sample-confxml.xml", watch));

        var w = Assert.Single(c.Watches);
        Assert.Equal(watch, w.Path);
        Assert.Equal(
            [new RemoteConfig(RemoteKind.RsyncDaemon, "192.168.1.20", "www", null, w.Remotes[0].Line),
             new RemoteConfig(RemoteKind.LocalDirectory, null, null, "/backup/www", w.Remotes[1].Line)],
            w.Remotes);
        Assert.Equal(["-artuz"], c.Rsync.CommonParams);
        Assert.Equal("ssh -p 22", c.Rsync.SshCommand);
        Assert.False(c.Rsync.Ssh);
        Assert.Equal("/var/lib/sersyncd/www", c.StateDirectory);
        Assert.Equal(4, c.Filter.Excludes.Count);
        Assert.Equal(["command", "socket", "refreshCDN", "http"], c.Plugins.All.Select(p => p.Name));
        var http = c.Plugins.Http!;
        Assert.Equal("/data0/htdocs/cms.xoyo.com/site", http.Watch);
        Assert.Equal(new Uri("http://127.0.0.1/notify"), http.Url);
        Assert.Equal(HttpFormat.Json, http.Format);
    }
}
