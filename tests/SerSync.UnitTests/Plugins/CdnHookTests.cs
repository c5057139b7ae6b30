using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using SerSync.Configuration;
using SerSync.Paths;
using SerSync.Plugins;
using SerSync.Testing;
using static SerSync.UnitTests.Plugins.NetPluginData;

namespace SerSync.UnitTests.Plugins;

public sealed class CdnHookTests
{
    private const string Password = "pswd-Secret-42";
    private const string Token = "tok-Secret-9876";
    private static readonly CdnUrlConfig PicBase = new("http://pic.example.com/cms", null);

    private static CdnHook ChinaCache(int port, TimeSpan? timeout = null, LogCapture? log = null) =>
        new(
            new CdnPluginConfig(Root, PicBase, new ChinaCacheConfig("127.0.0.1", port, "ccuser", Password), null, timeout ?? TimeSpan.FromSeconds(5), PluginConfig.DefaultMaxDelay, 1),
            TimeProvider.System,
            log ?? new LogCapture());

    private static CdnHook Purge(PurgeConfig purge, TimeSpan? timeout = null, LogCapture? log = null) =>
        new(new CdnPluginConfig(Root, PicBase, null, purge, timeout ?? TimeSpan.FromSeconds(5), PluginConfig.DefaultMaxDelay, 1), TimeProvider.System, log ?? new LogCapture());

    private static string Url(CdnUrlConfig url, string watch, HookChange change) => CdnUrls.PublicUrl(url, watch, change);

    [Fact]
    public void The_public_url_is_the_base_and_the_path_below_the_watch_with_only_unsafe_bytes_encoded()
    {
        Assert.Equal("http://pic.example.com/cms/cdn2.jpg", Url(PicBase, Root, Change("cdn2.jpg")));
        Assert.Equal("http://pic.example.com/cms/cdn2.jpg", Url(PicBase with { Base = "http://pic.example.com/cms/" }, Root, Change("cdn2.jpg")));
        Assert.Equal("http://pic.example.com/cms/img/", Url(PicBase, Root, Change("img", isDirectory: true)));
        Assert.Equal("http://pic.example.com/cms/", Url(PicBase, Root, new HookChange(ChangeEvent.Attrib, true, RelativePath.Root, Encoding.UTF8.GetBytes(Root))));
        Assert.Equal("http://pic.example.com/cms/a.png", Url(PicBase, Root + "/sub", Change("sub/a.png")));
        // What sersync sent unencoded stays so; what a URL cannot carry is encoded from the bytes.
        Assert.Equal("http://pic.example.com/cms/x(1)$;=,@!~'[]*:-_.", Url(PicBase, Root, Change("x(1)$;=,@!~'[]*:-_.")));
        Assert.Equal(
            "http://pic.example.com/cms/a%20b%23c%25d%26e%2Bf%3Fg%22%3C%3E%5C%5E%60%7B%7C%7D%0A%09",
            Url(PicBase, Root, Change("a b#c%d&e+f?g\"<>\\^`{|}\n\t")));
        Assert.Equal("http://pic.example.com/cms/caf%C3%A9/bad%FF%FE", Url(PicBase, Root, Change([.. "café/"u8, .. NastyNames.All[19]])));
    }

    [Fact]
    public void With_regexurl_the_url_is_the_base_group_one_and_the_rest_of_the_path()
    {
        // sersync's stock example.
        var stock = new CdnUrlConfig("http://pic.xoyo.com/cms", new Regex("cms.xoyo.com/site([/a-zA-Z0-9]*).xoyo.com/images"));
        var change = new HookChange(ChangeEvent.Modify, false, RelativePath.FromString("cms.xoyo.com/site/jx3.xoyo.com/images/index.html"),
            "/data0/htdocs/cms.xoyo.com/site/jx3.xoyo.com/images/index.html"u8.ToArray());
        Assert.Equal("http://pic.xoyo.com/cms/jx3/index.html", Url(stock, "/data0/htdocs", change));

        // Bytes that are not UTF-8 survive the match and come out exactly, encoded.
        var bytes = new CdnUrlConfig("http://c.example.com", new Regex("/srv/www(/s[^/]*)"));
        Assert.Equal("http://c.example.com/s%FFx/new%0Aline%80/", Url(bytes, Root, Change([.. "s"u8, 0xff, .. "x/new\nline"u8, 0x80], isDirectory: true)));
        // No match: the path below the watch, as without regexurl.
        Assert.Equal("http://c.example.com/other.txt", Url(bytes, Root, Change("other.txt")));
    }

    [Fact]
    public async Task ChinaCache_gets_sersyncs_request_byte_for_byte_and_a_2xx_reply_delivers()
    {
        await using var cdn = new TestHttpServer();
        var log = new LogCapture();
        var hook = ChinaCache(cdn.Port, log: log);
        var changes = new[] { Change("cdn2.jpg", ChangeEvent.Create), Change("dir", ChangeEvent.Delete, isDirectory: true), Change("a b$(x)", ChangeEvent.MoveTo) };

        var outcome = await hook.DeliverAsync(Batch(changes), TestContext.Current.CancellationToken);

        Assert.True(outcome.Succeeded, outcome.Message);
        Assert.Equal(
            [
                $"HEAD /index.jsp?user=ccuser&pswd={Password}&ok=ok&urls=http://pic.example.com/cms/cdn2.jpg HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n",
                $"HEAD /index.jsp?user=ccuser&pswd={Password}&ok=ok&dirs=http://pic.example.com/cms/dir/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n",
                $"HEAD /index.jsp?user=ccuser&pswd={Password}&ok=ok&urls=http://pic.example.com/cms/a%20b$(x) HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n",
            ],
            cdn.Requests.Select(r => Encoding.Latin1.GetString(r.Raw)));
        Assert.Equal($"refreshCDN chinacache 127.0.0.1:{cdn.Port}", hook.Label);
        Assert.Contains(log.Lines, l => l.Message.Contains("HTTP/1.1 200 OK", StringComparison.Ordinal));
        Assert.DoesNotContain(Password, log.AllText + outcome.Message + hook.Label, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ChinaCache_a_down_server_fails_every_path_and_once_up_a_refusal_fails_only_its_own()
    {
        var log = new LogCapture();
        var changes = new[] { Change("ok"), Change("no"), Change("ok2") };
        await using var cdn = new TestHttpServer(listen: false) { Status = r => r.Target.Contains("/no", StringComparison.Ordinal) ? 403 : 200 };
        var hook = ChinaCache(cdn.Port, log: log);

        var down = await hook.DeliverAsync(Batch(changes), TestContext.Current.CancellationToken);
        Assert.Equal(changes, down.Failed);
        Assert.Contains("0 of 3 delivered", down.Message, StringComparison.Ordinal);

        cdn.Start();
        var refused = await hook.DeliverAsync(Batch([.. down.Failed]), TestContext.Current.CancellationToken);
        Assert.Equal([changes[1]], refused.Failed);
        Assert.Contains("403 Forbidden", refused.Message, StringComparison.Ordinal);
        Assert.Contains("2 of 3 delivered", refused.Message, StringComparison.Ordinal);
        Assert.Equal(3, cdn.Requests.Count);
        Assert.DoesNotContain(Password, log.AllText + down.Message + refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ChinaCache_a_server_that_never_answers_times_out_in_bounded_time()
    {
        await using var cdn = new TestHttpServer { Silent = true };
        var changes = new[] { Change("a"), Change("b") };
        var clock = Stopwatch.StartNew();

        var outcome = await ChinaCache(cdn.Port, ShortTimeout).DeliverAsync(Batch(changes), TestContext.Current.CancellationToken);

        Assert.Equal(changes, outcome.Failed);
        Assert.Contains("timed out", outcome.Message, StringComparison.Ordinal);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(4), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task Purge_sends_one_request_per_path_with_the_configured_method_and_headers()
    {
        await using var cache = new TestHttpServer();
        var log = new LogCapture();
        var purge = new PurgeConfig("PURGE", $"http://127.0.0.1:{cache.Port}{{path}}", null, [KeyValuePair.Create("X-Purge-Token", Token)], 100);
        using var hook = Purge(purge, log: log);
        var changes = new[] { Change("a b.jpg"), Change([.. "d/"u8, .. NastyNames.All[20]], ChangeEvent.Delete), Change("img", isDirectory: true), Change("x[1]'(y)$;=,@!~*:") };

        var outcome = await hook.DeliverAsync(Batch(changes), TestContext.Current.CancellationToken);

        Assert.True(outcome.Succeeded, outcome.Message);
        Assert.Equal($"refreshCDN purge PURGE 127.0.0.1:{cache.Port}", hook.Label);
        Assert.Equal(["/cms/a%20b.jpg", "/cms/d/lone%80", "/cms/img/", "/cms/x[1]'(y)$;=,@!~*:"], cache.Requests.Select(r => r.Target));
        Assert.All(cache.Requests, r => Assert.Equal("PURGE", r.Method));
        Assert.All(cache.Requests, r => Assert.Equal(Token, r.Header("X-Purge-Token")));
        Assert.DoesNotContain(Token, log.AllText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Purge_with_a_list_template_sends_batches_of_up_to_max_urls()
    {
        await using var api = new TestHttpServer();
        var log = new LogCapture();
        var purge = new PurgeConfig(
            "POST", $"http://127.0.0.1:{api.Port}/purge?first={{url}}", """{"files": {urls_json}}""", [KeyValuePair.Create("Authorization", "Bearer " + Token)], 2);
        using var hook = Purge(purge, log: log);
        var changes = Enumerable.Range(0, 5).Select(i => Change($"f {i}.css")).ToArray();

        var outcome = await hook.DeliverAsync(Batch(changes), TestContext.Current.CancellationToken);

        Assert.True(outcome.Succeeded, outcome.Message);
        var requests = api.Requests;
        Assert.Equal(3, requests.Count);
        Assert.Equal("/purge?first=http://pic.example.com/cms/f%200.css", requests[0].Target);
        Assert.All(requests, r => Assert.Equal("application/json", r.Header("Content-Type")));
        Assert.All(requests, r => Assert.Equal("Bearer " + Token, r.Header("Authorization")));
        var sent = requests.SelectMany(r =>
        {
            using var json = JsonDocument.Parse(r.Body);
            return json.RootElement.GetProperty("files").EnumerateArray().Select(u => u.GetString()!).ToArray();
        });
        Assert.Equal(changes.Select((_, i) => $"http://pic.example.com/cms/f%20{i}.css"), sent);
        Assert.DoesNotContain(Token, log.AllText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Purge_urls_in_the_url_are_comma_separated_and_a_failed_chunk_fails_its_changes()
    {
        await using var api = new TestHttpServer { Status = r => r.Target.Contains("f2", StringComparison.Ordinal) ? 500 : 204 };
        using var hook = Purge(new PurgeConfig("GET", $"http://127.0.0.1:{api.Port}/ban?u={{urls}}", null, [], 2));
        var changes = Enumerable.Range(0, 4).Select(i => Change($"f{i}")).ToArray();

        var outcome = await hook.DeliverAsync(Batch(changes), TestContext.Current.CancellationToken);

        Assert.Equal(changes[2..], outcome.Failed);
        Assert.Contains("HTTP 500", outcome.Message, StringComparison.Ordinal);
        Assert.Equal("/ban?u=http://pic.example.com/cms/f0,http://pic.example.com/cms/f1", api.Requests[0].Target);
    }

    [Fact]
    public async Task Purge_against_a_down_then_stuck_server_fails_in_bounded_time()
    {
        await using var stuck = new TestHttpServer(listen: false) { Silent = true };
        var changes = new[] { Change("a"), Change("b") };
        using var hook = Purge(new PurgeConfig("PURGE", $"http://127.0.0.1:{stuck.Port}{{path}}", null, [], 100), ShortTimeout);

        var down = await hook.DeliverAsync(Batch(changes), TestContext.Current.CancellationToken);
        Assert.Equal(changes, down.Failed);

        stuck.Start();
        var clock = Stopwatch.StartNew();
        var timedOut = await hook.DeliverAsync(Batch(changes), TestContext.Current.CancellationToken);
        Assert.Equal(changes, timedOut.Failed);
        Assert.Contains("timed out", timedOut.Message, StringComparison.Ordinal);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(4), $"took {clock.Elapsed}");
    }
}
