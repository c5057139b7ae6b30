using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using SerSync.Configuration;
using SerSync.Paths;
using SerSync.Plugins;
using SerSync.Testing;
using static SerSync.UnitTests.Plugins.NetPluginData;

namespace SerSync.UnitTests.Plugins;

public sealed class HttpHookTests
{
    private const string Secret = "hunter2-webhook-secret";

    private static HttpHook Hook(Uri url, HttpFormat format, string? secret = null, TimeSpan? timeout = null, LogCapture? log = null) =>
        new(new HttpPluginConfig(Root, url, format, secret, timeout ?? TimeSpan.FromSeconds(5), PluginConfig.DefaultMaxDelay, 1), TimeProvider.System, log ?? new LogCapture());

    /// <summary>Decodes a form value back to bytes, independently of the plugin's encoder.</summary>
    private static byte[] FormDecode(string value)
    {
        var bytes = new List<byte>();
        for (var i = 0; i < value.Length; i++)
        {
            if (value[i] == '+')
            {
                bytes.Add((byte)' ');
            }
            else if (value[i] == '%')
            {
                bytes.Add(Convert.FromHexString(value.AsSpan(i + 1, 2))[0]);
                i += 2;
            }
            else
            {
                bytes.Add((byte)value[i]);
            }
        }

        return [.. bytes];
    }

    private static Dictionary<string, byte[]> FormFields(byte[] body)
    {
        var text = Encoding.ASCII.GetString(body);
        Assert.DoesNotContain(' ', text);
        Assert.DoesNotContain('\n', text);
        return text.Split('&').Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => FormDecode(p[1]));
    }

    [Fact]
    public async Task Json_posts_the_batch_once_signed_and_every_path_comes_back_exactly()
    {
        await using var server = new TestHttpServer();
        var log = new LogCapture();
        var changes = Nasty();
        using var hook = Hook(server.Url, HttpFormat.Json, Secret, log: log);

        var outcome = await hook.DeliverAsync(new HookBatch(Root, Root + "/sub", changes), TestContext.Current.CancellationToken);

        Assert.True(outcome.Succeeded, outcome.Message);
        var request = Assert.Single(server.Requests);
        Assert.Equal("POST", request.Method);
        Assert.Equal("/", request.Target);
        Assert.Equal("application/json", request.Header("Content-Type"));
        Assert.Equal("sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(Secret), request.Body)), request.Header(HttpHook.SignatureHeader));

        using var json = JsonDocument.Parse(request.Body);
        Assert.Equal(Root, json.RootElement.GetProperty("root").GetString());
        var sent = json.RootElement.GetProperty("changes").EnumerateArray().ToArray();
        Assert.Equal(changes.Length, sent.Length);
        for (var i = 0; i < changes.Length; i++)
        {
            var path = sent[i].GetProperty("path");
            var bytes = path.ValueKind == JsonValueKind.Null
                ? Convert.FromBase64String(sent[i].GetProperty("path_base64").GetString()!)
                : Encoding.UTF8.GetBytes(path.GetString()!);
            Assert.Equal(changes[i].AbsolutePath, bytes);
            Assert.Equal(path.ValueKind == JsonValueKind.Null, !System.Text.Unicode.Utf8.IsValid(changes[i].AbsolutePath));
            Assert.Equal(changes[i].EventName, sent[i].GetProperty("kind").GetString());
            Assert.Equal(changes[i].IsDirectory, sent[i].GetProperty("isDir").GetBoolean());
        }

        Assert.Contains(sent, c => c.GetProperty("path").ValueKind == JsonValueKind.Null);
        Assert.DoesNotContain(Secret, log.AllText, StringComparison.Ordinal);
    }

    [Fact]
    public void Json_body_is_exactly_this_for_a_plain_and_a_non_utf8_path()
    {
        var body = HttpHook.JsonBody(Batch(Change("a b.txt", ChangeEvent.Create), Change([0x62, 0xff], ChangeEvent.Delete, isDirectory: true)));
        Assert.Equal(
            """{"root":"/srv/www","changes":[{"path":"/srv/www/a b.txt","kind":"create","isDir":false},{"path":null,"path_base64":"L3Nydi93d3cvYv8=","kind":"delete","isDir":true}]}""",
            Encoding.UTF8.GetString(body));
    }

    [Fact]
    public async Task Sersync_form_posts_each_change_with_sersyncs_fields_percent_encoded_from_the_bytes()
    {
        await using var server = new TestHttpServer();
        var changes = Nasty();
        using var hook = Hook(new Uri(server.Url, "/hook?x=1"), HttpFormat.Sersync, Secret);

        var outcome = await hook.DeliverAsync(new HookBatch(Root, Root, changes), TestContext.Current.CancellationToken);

        Assert.True(outcome.Succeeded, outcome.Message);
        var requests = server.Requests;
        Assert.Equal(changes.Length, requests.Count);
        for (var i = 0; i < changes.Length; i++)
        {
            Assert.Equal("POST", requests[i].Method);
            Assert.Equal("/hook?x=1", requests[i].Target);
            Assert.Equal("application/x-www-form-urlencoded", requests[i].Header("Content-Type"));
            Assert.Equal("sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(Secret), requests[i].Body)), requests[i].Header(HttpHook.SignatureHeader));
            var fields = FormFields(requests[i].Body);
            Assert.Equal(["watchroot", "isdir", "inotifyPath", "mask"], fields.Keys);
            Assert.Equal(Encoding.UTF8.GetBytes(Root), fields["watchroot"]);
            Assert.Equal(changes[i].IsDirectory ? "1"u8.ToArray() : "0"u8.ToArray(), fields["isdir"]);
            Assert.Equal(changes[i].AbsolutePath, fields["inotifyPath"]);
            Assert.Equal(Encoding.ASCII.GetBytes(ChangeEvents.InotifyMask(changes[i].Event, changes[i].IsDirectory).ToString(System.Globalization.CultureInfo.InvariantCulture)), fields["mask"]);
        }

        Assert.Equal("watchroot=/srv/www&isdir=0&inotifyPath=/srv/www/with+space&mask=256", Encoding.ASCII.GetString(requests[0].Body));
        Assert.Equal("watchroot=/srv/www&isdir=0&inotifyPath=/srv/www/%24%28touch+pwned%29&mask=8", Encoding.ASCII.GetString(requests[7].Body));
    }

    [Theory]
    [InlineData(500)]
    [InlineData(404)]
    [InlineData(302)]
    public async Task A_status_other_than_2xx_fails_and_names_the_status(int status)
    {
        await using var server = new TestHttpServer { Status = _ => status, ExtraResponseHeaders = "Location: http://127.0.0.1:1/\r\n" };
        var log = new LogCapture();
        var changes = new[] { Change("a"), Change("b") };
        using var json = Hook(server.Url, HttpFormat.Json, Secret, log: log);
        using var form = Hook(server.Url, HttpFormat.Sersync, Secret, log: log);

        var one = await json.DeliverAsync(Batch(changes), TestContext.Current.CancellationToken);
        var each = await form.DeliverAsync(Batch(changes), TestContext.Current.CancellationToken);

        Assert.Equal(changes, one.Failed);
        Assert.Contains($"HTTP {status}", one.Message, StringComparison.Ordinal);
        Assert.Equal(changes, each.Failed); // the server answered, so every path was tried (and refused)
        Assert.Equal(3, server.Requests.Count); // a redirect is not followed
        Assert.DoesNotContain(Secret, log.AllText + one.Message + each.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task In_the_form_a_refused_path_fails_alone_while_the_others_go_through()
    {
        await using var server = new TestHttpServer { Status = r => Encoding.ASCII.GetString(r.Body).Contains("bad", StringComparison.Ordinal) ? 403 : 200 };
        var changes = new[] { Change("ok1"), Change("bad"), Change("ok2") };
        using var hook = Hook(server.Url, HttpFormat.Sersync);

        var outcome = await hook.DeliverAsync(Batch(changes), TestContext.Current.CancellationToken);

        Assert.Equal([changes[1]], outcome.Failed);
        Assert.Contains("HTTP 403 Forbidden", outcome.Message, StringComparison.Ordinal);
        Assert.Contains("2 of 3 delivered", outcome.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(HttpFormat.Json)]
    [InlineData(HttpFormat.Sersync)]
    public async Task A_server_that_is_down_fails_everything_and_the_retry_goes_through_once_it_is_up(HttpFormat format)
    {
        await using var server = new TestHttpServer(listen: false); // bound, refusing: the port stays ours
        var changes = new[] { Change("x", ChangeEvent.Create), Change("y", ChangeEvent.MoveTo) };
        using var hook = Hook(new Uri($"http://127.0.0.1:{server.Port}/in"), format);

        var down = await hook.DeliverAsync(Batch(changes), TestContext.Current.CancellationToken);
        Assert.Equal(changes, down.Failed);

        server.Start();
        var up = await hook.DeliverAsync(Batch([.. down.Failed]), TestContext.Current.CancellationToken);
        Assert.True(up.Succeeded, up.Message);
        Assert.Equal(format == HttpFormat.Json ? 1 : 2, server.Requests.Count);
    }

    [Theory]
    [InlineData(HttpFormat.Json)]
    [InlineData(HttpFormat.Sersync)]
    public async Task A_server_that_never_answers_times_out_in_bounded_time(HttpFormat format)
    {
        await using var server = new TestHttpServer { Silent = true };
        var changes = new[] { Change("x"), Change("y"), Change("z") };
        using var hook = Hook(server.Url, format, timeout: ShortTimeout);
        var clock = Stopwatch.StartNew();

        var outcome = await hook.DeliverAsync(Batch(changes), TestContext.Current.CancellationToken);

        Assert.Equal(changes, outcome.Failed);
        Assert.Contains("timed out after 0.5 s", outcome.Message, StringComparison.Ordinal);
        Assert.Single(server.Requests); // not answered: the form does not wait out the timeout once per path
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(4), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task Userinfo_in_the_url_becomes_basic_auth_and_never_appears_in_the_label_or_the_log()
    {
        await using var server = new TestHttpServer { Status = _ => 503 };
        var log = new LogCapture();
        using var hook = Hook(new Uri($"http://alice:pa%24%24word@127.0.0.1:{server.Port}/h"), HttpFormat.Json, log: log);

        var outcome = await hook.DeliverAsync(Batch(Change("a")), TestContext.Current.CancellationToken);

        Assert.False(outcome.Succeeded);
        Assert.Equal($"http http://127.0.0.1:{server.Port}/h", hook.Label);
        var request = Assert.Single(server.Requests);
        Assert.Equal("Basic " + Convert.ToBase64String("alice:pa$$word"u8), request.Header("Authorization"));
        Assert.Equal("/h", request.Target);
        var everything = log.AllText + outcome.Message + hook.Label;
        Assert.DoesNotContain("pa$$word", everything, StringComparison.Ordinal);
        Assert.DoesNotContain("pa%24%24word", everything, StringComparison.Ordinal);
        Assert.NotEmpty(log.Lines);
    }

    [Fact]
    public async Task The_callers_cancellation_is_not_a_failed_delivery_it_propagates()
    {
        await using var server = new TestHttpServer { Silent = true };
        using var hook = Hook(server.Url, HttpFormat.Json, timeout: TimeSpan.FromSeconds(30));
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);

        var delivery = hook.DeliverAsync(Batch(Change("a")), stop.Token);
        await Until(() => server.Requests.Count == 1, "the request arrived");
        await stop.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => delivery);
    }
}
