using System.Text;
using SerSync.Daemon.Operations;

namespace SerSync.UnitTests.Daemon;

public class StatusHttpServerTests
{
    [Theory]
    [InlineData("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", "GET", "/metrics")]
    [InlineData("GET /metrics?name[]=x HTTP/1.1\r\n\r\n", "GET", "/metrics")] // a query string is ignored
    [InlineData("HEAD /healthz HTTP/1.0\n\n", "HEAD", "/healthz")] // bare LF line ends
    [InlineData("POST /status HTTP/1.1\r\n\r\n", "POST", "/status")]
    public void Request_lines_are_read_to_a_method_and_a_path(string head, string method, string path)
    {
        Assert.Equal((method, path), StatusHttpServer.ParseRequestLine(Encoding.ASCII.GetBytes(head)));
    }

    [Theory]
    [InlineData("\r\n\r\n")]
    [InlineData("GET /metrics\r\n\r\n")] // HTTP/0.9
    [InlineData("GET /metrics HTTP/2\r\n\r\n")]
    [InlineData("GET  /metrics HTTP/1.1\r\n\r\n")]
    [InlineData("\u0016\u0003\u0001 TLS hello\r\n\r\n")]
    public void Anything_else_is_a_bad_request(string head)
    {
        Assert.Null(StatusHttpServer.ParseRequestLine(Encoding.Latin1.GetBytes(head)));
    }
}
