using System.Runtime.Versioning;
using SerSync.Configuration;
using SerSync.Testing;
using static SerSync.Testing.ConfigTestSupport;

namespace SerSync.UnitTests.Configuration;

/// <summary><c>&lt;status socket group listen unhealthyAfter&gt;</c>: values, defaults and each kind of bad input.</summary>
[UnsupportedOSPlatform("windows")]
public sealed class StatusConfigTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly string _watch;

    public StatusConfigTests()
    {
        _watch = _temp.Sub("www");
    }

    public void Dispose() => _temp.Dispose();

    private string Cfg(string status) => Config(_watch, head: status);

    [Fact]
    public void Without_the_element_the_socket_is_the_default_and_there_is_no_http()
    {
        var c = ConfigLoader.Parse(Config(_watch), "confxml.xml");
        Assert.Equal(StatusConfig.Default, c.Status);
        Assert.Null(c.Status.Socket);
        Assert.Null(c.Status.Listen);
        Assert.Equal(TimeSpan.FromMinutes(5), c.Status.UnhealthyAfter);
    }

    [Fact]
    public void Every_attribute_is_read()
    {
        var c = ConfigLoader.Parse(Cfg("<status socket=\"/run/x//www.sock\" group=\"root\" listen=\"127.0.0.1:9927\" unhealthyAfter=\"60\"/>"), "confxml.xml");
        Assert.Equal("/run/x/www.sock", c.Status.Socket);
        Assert.Equal("root", c.Status.Group);
        Assert.Equal(0u, c.Status.GroupId);
        Assert.Equal(System.Net.IPEndPoint.Parse("127.0.0.1:9927"), c.Status.Listen);
        Assert.Equal(TimeSpan.FromSeconds(60), c.Status.UnhealthyAfter);
        Assert.Equal(System.Net.IPEndPoint.Parse("[::1]:9927"), ConfigLoader.Parse(Cfg("<status listen=\"[::1]:9927\"/>"), "confxml.xml").Status.Listen);
    }

    [Theory]
    [InlineData("<status socket=\"run/www.sock\"/>", "socket=", "not an absolute path")]
    [InlineData("<status group=\"no-such-group-here\"/>", "group=", "no such group")]
    [InlineData("<status listen=\"127.0.0.1\"/>", "listen=", "expected an IP address and a port")]
    [InlineData("<status listen=\"localhost:9927\"/>", "listen=", "expected an IP address and a port")]
    [InlineData("<status listen=\"127.0.0.1:0\"/>", "listen=", "expected an IP address and a port")]
    [InlineData("<status listen=\"127.0.0.1:70000\"/>", "listen=", "expected an IP address and a port")]
    [InlineData("<status unhealthyAfter=\"0\"/>", "unhealthyAfter=", "out of range")]
    [InlineData("<status port=\"1\"/>", "port=", "port")]
    public void Bad_values_are_refused_with_their_line(string status, string at, string phrase)
    {
        var xml = Cfg(status);
        AssertFails(xml, at, phrase);
    }

    [Fact]
    public void A_socket_path_too_long_for_a_unix_socket_is_refused() =>
        AssertFails(Cfg($"<status socket=\"/{new string('s', 120)}.sock\"/>"), "socket=", "longer than a unix socket path");
}
