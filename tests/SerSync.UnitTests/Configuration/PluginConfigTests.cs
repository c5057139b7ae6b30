using System.Runtime.Versioning;
using SerSync.Configuration;
using SerSync.Testing;
using static SerSync.Testing.ConfigTestSupport;

namespace SerSync.UnitTests.Configuration;

/// <summary>The plugin sections and switches: what each attribute becomes, and each class of bad input.</summary>
[UnsupportedOSPlatform("windows")]
public sealed class PluginConfigTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly string _watch;

    public PluginConfigTests()
    {
        _watch = _temp.Sub("www");
    }

    public void Dispose() => _temp.Dispose();

    private static SerSyncConfig Parse(string xml) => ConfigLoader.Parse(xml, "confxml.xml");

    private string Cfg(string sersyncTail = "", string head = "") => Config(_watch, null, "", sersyncTail, head);

    private string Socket(string deshost = "ip=\"127.0.0.1\" port=\"8009\"", string? watch = null) =>
        $"<plugin name=\"socket\"><localpath watch=\"{watch ?? _watch}\"><deshost {deshost}/></localpath></plugin>";

    [Fact]
    public void Several_plugins_can_be_switched_on_in_file_order()
    {
        var c = Parse(Cfg(
            sersyncTail: "<plugin start=\"true\" name=\"socket\"/><plugin start=\"false\" name=\"http\"/><plugin start=\"true\" name=\"command\"/>",
            head: Socket() + "<plugin name=\"command\"><param prefix=\"/usr/bin/logger -t x\"/></plugin>"));
        Assert.Equal(["socket", "command"], c.EnabledPlugins);
    }

    [Fact]
    public void A_plugin_switched_on_twice_is_an_error() =>
        AssertFails(Cfg(sersyncTail: "<plugin start=\"true\" name=\"socket\"/>\n<plugin start=\"false\" name=\"socket\"/>", head: Socket()),
            "<plugin", 3, "duplicate <plugin name=\"socket\"> switch", "line");

    [Fact]
    public void A_plugin_switched_on_without_its_section_is_an_error() =>
        AssertFails(Cfg(sersyncTail: "<plugin start=\"true\" name=\"http\"/>"), "<plugin", "no <plugin name=\"http\"> section");

    [Fact]
    public void Command_prefix_and_suffix_are_split_into_words_without_a_shell()
    {
        var c = Parse(Cfg(head: "<plugin name=\"command\" maxDelay=\"5\"><param prefix=\"/usr/local/bin/purge --site 'my site'\" suffix=\"-- x\\ y\" ignoreError=\"false\" batch=\"true\" timeout=\"7\" concurrency=\"2\"/>"
            + "<filter start=\"true\"><include expression=\"(.*)\\.php\"/></filter></plugin>"));
        var command = c.Plugins.Command!;
        Assert.Equal(["/usr/local/bin/purge", "--site", "my site"], command.Prefix);
        Assert.Equal(["--", "x y"], command.Suffix);
        Assert.False(command.IgnoreError);
        Assert.True(command.Batch);
        Assert.Equal(TimeSpan.FromSeconds(7), command.Timeout);
        Assert.Equal(2, command.Concurrency);
        Assert.Equal(TimeSpan.FromSeconds(5), command.MaxDelay);
        var include = Assert.Single(command.Includes!);
        Assert.Matches(include, "/www/a/b.php");
        Assert.DoesNotMatch(include, "/www/a/b.php.txt"); // whole string, as sersync
        Assert.False(command.ExecutesChangedFile);
    }

    [Theory]
    [InlineData("/bin/sh", true)]
    [InlineData("bash", true)]
    [InlineData("sh -c", true)]
    [InlineData("/bin/sh -e -x", true)]
    [InlineData("/bin/sh /usr/local/bin/on-change.sh", false)]
    [InlineData("/usr/bin/logger", false)]
    public void A_prefix_that_would_execute_the_changed_file_is_recognised(string prefix, bool executes) =>
        Assert.Equal(executes, Parse(Cfg(head: $"<plugin name=\"command\"><param prefix=\"{prefix}\"/></plugin>")).Plugins.Command!.ExecutesChangedFile);

    [Theory]
    [InlineData("<param prefix=\"\"/>", "prefix=", "prefix is empty")]
    [InlineData("<param prefix=\"/bin/x 'open\"/>", "prefix=", "command plugin prefix")]
    [InlineData("<param prefix=\"/bin/x\" timeout=\"0\"/>", "timeout=", "out of range")]
    [InlineData("<param prefix=\"/bin/x\" concurrency=\"65\"/>", "concurrency=", "from 1 to 64")]
    [InlineData("<param prefix=\"/bin/x\" batch=\"yes\"/>", "batch=", "expected true or false")]
    [InlineData("<param prefix=\"/bin/x\"/><filter start=\"true\"><include expression=\"(\"/></filter>", "expression=", "invalid regular expression")]
    public void Command_section_errors_name_the_attribute(string body, string at, string phrase) =>
        AssertFails(Cfg(head: $"<plugin name=\"command\">{body}</plugin>"), at, phrase);

    [Fact]
    public void Socket_reads_host_port_format_and_timeout()
    {
        var s = Parse(Cfg(head: Socket("ip=\"[::1]\" port=\"9\" format=\"sersync\" timeout=\"3\""))).Plugins.Socket!;
        Assert.Equal(("::1", 9, SocketFormat.Sersync, TimeSpan.FromSeconds(3)), (s.Host, s.Port, s.Format, s.Timeout));
        Assert.Equal(SocketFormat.Frames, Parse(Cfg(head: Socket("ip=\"listener.example\" port=\"9\""))).Plugins.Socket!.Format);
    }

    [Theory]
    [InlineData("ip=\"127.0.0.1\"", "<deshost", "no port attribute")]
    [InlineData("port=\"1\"", "<deshost", "no ip attribute")]
    [InlineData("ip=\"a b\" port=\"1\"", "ip=", "expected a host name")]
    [InlineData("ip=\"127.0.0.1\" port=\"1\" format=\"json\"", "format=", "expected frames")]
    [InlineData("ip=\"127.0.0.1\" port=\"70000\"", "port=", "from 1 to 65535")]
    public void Socket_section_errors_name_the_attribute(string deshost, string at, string phrase) =>
        AssertFails(Cfg(head: Socket(deshost)), at, phrase);

    [Fact]
    public void An_enabled_plugin_must_watch_a_sync_root_or_a_directory_inside_one()
    {
        var inside = Parse(Cfg(sersyncTail: "<plugin start=\"true\" name=\"socket\"/>", head: Socket(watch: _watch + "/images/")));
        Assert.Equal(_watch + "/images", inside.Plugins.Socket!.Watch);

        AssertFails(Cfg(sersyncTail: "<plugin start=\"true\" name=\"socket\"/>", head: Socket(watch: "/elsewhere")),
            "watch=", "plugin 'socket' watches /elsewhere", "not one of the <sersync><localpath> roots", "-m socket");
        AssertFails(Cfg(sersyncTail: "<plugin start=\"true\" name=\"socket\"/>", head: Socket(watch: _watch + "x")), "watch=", "not one of");

        // Off, it may name anything (sersync's stock sections do).
        Assert.Equal("/elsewhere", Parse(Cfg(head: Socket(watch: "/elsewhere"))).Plugins.Socket!.Watch);
    }

    [Fact]
    public void RefreshCdn_reads_chinacache_url_rules_and_purge()
    {
        var cdn = Parse(Cfg(head: $"<plugin name=\"refreshCDN\"><localpath watch=\"{_watch}\" timeout=\"4\">"
            + "<cdninfo domainname=\"ccms.example\" port=\"8080\" username=\"u\" passwd=\"p\"/><sendurl base=\"http://pic.example/cms/\"/>"
            + "<regexurl regex=\"true\" match=\"site/([a-z]+)\"/>"
            + "<purge method=\"BAN\" url=\"http://127.0.0.1:6081/ban?u={urls}\" maxUrls=\"50\"><header name=\"X-Key\" value=\"k\"/></purge>"
            + "</localpath></plugin>")).Plugins.RefreshCdn!;
        Assert.Equal(new ChinaCacheConfig("ccms.example", 8080, "u", "p"), cdn.ChinaCache);
        Assert.Equal("http://pic.example/cms", cdn.Url.Base);
        Assert.Equal("abc", cdn.Url.Match!.Match("/w/site/abc/x").Groups[1].Value);
        Assert.Equal(TimeSpan.FromSeconds(4), cdn.Timeout);
        var purge = cdn.Purge!;
        Assert.Equal(("BAN", 50, true), (purge.Method, purge.MaxUrls, purge.IsBatched));
        Assert.Equal([new KeyValuePair<string, string>("X-Key", "k")], purge.Headers);
        Assert.False(Parse(Cfg(head: $"<plugin name=\"refreshCDN\"><localpath watch=\"{_watch}\"><sendurl base=\"http://x\"/><purge/></localpath></plugin>"))
            .Plugins.RefreshCdn!.Purge!.IsBatched);
        Assert.Equal("http://127.0.0.1:6081{path}", Parse(Cfg(head: $"<plugin name=\"refreshCDN\"><localpath watch=\"{_watch}\"><sendurl base=\"http://x\"/><purge url=\"http://127.0.0.1:6081{{path}}\"/></localpath></plugin>"))
            .Plugins.RefreshCdn!.Purge!.UrlTemplate);
    }

    [Theory]
    [InlineData("<sendurl base=\"http://x\"/>", "<localpath", "neither <cdninfo>")]
    [InlineData("<cdninfo domainname=\"c\"/>", "<localpath", "has no <sendurl>")]
    [InlineData("<cdninfo domainname=\"c\"/><sendurl base=\"ftp://x\"/>", "base=", "not an http:// or https:// URL")]
    [InlineData("<sendurl base=\"http://x\"/><purge method=\"GET X\"/>", "method=", "not an HTTP method")]
    [InlineData("<sendurl base=\"http://x\"/><purge url=\"/relative\"/>", "url=", "not an http:// or https:// URL template")]
    [InlineData("<sendurl base=\"http://x\"/><purge><header name=\"Bad Name\" value=\"v\"/></purge>", "name=\"Bad", "not an HTTP header name")]
    [InlineData("<sendurl base=\"http://x\"/><regexurl regex=\"true\" match=\"(\"/><purge/>", "match=", "invalid regular expression")]
    public void RefreshCdn_section_errors_name_the_element(string body, string at, string phrase) =>
        AssertFails(Cfg(head: $"<plugin name=\"refreshCDN\"><localpath watch=\"{_watch}\">{body}</localpath></plugin>"), at, phrase);

    [Fact]
    public void Http_reads_url_port_format_and_secret()
    {
        var secretFile = Path.Combine(_temp.Path, "secret");
        File.WriteAllText(secretFile, "s3cret\nignored\n");
        string Http(string deshost) => $"<plugin name=\"http\"><localpath watch=\"{_watch}\"><deshost {deshost}/></localpath></plugin>";

        var h = Parse(Cfg(head: Http("url=\"127.0.0.1/notify\" port=\"8080\" format=\"sersync\" secret=\"k\""))).Plugins.Http!;
        Assert.Equal((new Uri("http://127.0.0.1:8080/notify"), HttpFormat.Sersync, "k"), (h.Url, h.Format, h.Secret));
        Assert.Equal(new Uri("https://h.example:9443/x"), Parse(Cfg(head: Http("url=\"https://h.example:9443/x\" port=\"80\""))).Plugins.Http!.Url);
        Assert.Equal("s3cret", Parse(Cfg(head: Http($"url=\"http://h/\" secretFile=\"{secretFile}\""))).Plugins.Http!.Secret);

        AssertFails(Cfg(head: Http("url=\"ftp://h/\"")), "url=", "not an http:// or https:// URL");
        AssertFails(Cfg(head: Http("url=\"http://h/\" secret=\"a\" secretFile=\"/x\"")), "secret=", "both secret and secretFile");
        AssertFails(Cfg(head: Http("url=\"http://h/\" secretFile=\"/nonexistent/secret\"")), "secretFile=", "cannot be read");
        AssertFails(Cfg(head: Http("url=\"http://h/\" format=\"xml\"")), "format=", "expected json");
    }

    [Fact]
    public void MaxDelay_is_read_in_seconds_and_range_checked()
    {
        Assert.Equal(TimeSpan.Zero, Parse(Cfg(head: "<plugin name=\"command\" maxDelay=\"0\"><param prefix=\"/bin/true\"/></plugin>")).Plugins.Command!.MaxDelay);
        AssertFails(Cfg(head: "<plugin name=\"command\" maxDelay=\"-1\"><param prefix=\"/bin/true\"/></plugin>"), "maxDelay=", "out of range");
    }
}
