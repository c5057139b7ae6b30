// The refreshCDN plugin. ChinaCache: sersync's request byte for byte (one raw TCP connection per path, a HEAD line
// carrying the account in its query, the URL not encoded beyond what a URL cannot carry); the reply's status line
// decides, where sersync ignored it and appended it to errorlog.txt in its working directory. Purge: any method and
// URL template over HTTP (Varnish/nginx PURGE, a CDN's API), per path or, when the template takes a list, per
// batch of up to MaxUrls. Neither the account, the headers nor the request URL (it may hold a token) is logged.
using System.Buffers;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using SerSync.Configuration;

namespace SerSync.Plugins;

public sealed partial class CdnHook : IHookPlugin, IDisposable
{
    private const int MaxReply = 8192;

    private readonly CdnPluginConfig _config;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly HttpClient? _client;
    private readonly HttpMethod? _method;

    public CdnHook(CdnPluginConfig config, TimeProvider time, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.Purge is null && config.ChinaCache is null)
        {
            throw new ArgumentException("refreshCDN needs <cdninfo> or <purge>", nameof(config));
        }

        _config = config;
        _time = time ?? TimeProvider.System;
        _logger = logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        if (config.Purge is { } purge)
        {
            _method = new HttpMethod(purge.Method); // a method that is not an HTTP token fails here, not at delivery
            _client = PluginHttp.CreateClient();
            Label = $"refreshCDN purge {purge.Method} {PurgeHost(purge, config.Url.Base)}";
        }
        else
        {
            Label = $"refreshCDN chinacache {config.ChinaCache!.DomainName}:{config.ChinaCache.Port}";
        }
    }

    public string Name => "refreshCDN";

    public string Label { get; }

    public int MaxBatch => _config.Purge?.IsBatched == true ? 1000 : 100;

    public void Dispose() => _client?.Dispose();

    public Task<HookOutcome> DeliverAsync(HookBatch batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Changes.Count == 0)
        {
            return Task.FromResult(HookOutcome.Delivered);
        }

        return _config.Purge is { } purge
            ? purge.IsBatched ? PurgeBatchedAsync(batch, purge, cancellationToken) : PurgeEachAsync(batch, purge, cancellationToken)
            : ChinaCacheAsync(batch, _config.ChinaCache!, cancellationToken);
    }

    /// <summary>sersync's ChinaCache request for one public URL (<c>&amp;dirs=</c> for a directory).</summary>
    internal static byte[] ChinaCacheRequest(ChinaCacheConfig cdn, string publicUrl, bool isDirectory) =>
        Encoding.UTF8.GetBytes(
            $"HEAD /index.jsp?user={cdn.UserName}&pswd={cdn.Password}&ok=ok&{(isDirectory ? "dirs" : "urls")}={publicUrl} HTTP/1.0\r\nHost: {cdn.DomainName}\r\n\r\n");

    /// <summary>The template with its placeholders filled: <c>{url}</c> and <c>{path}</c> from the first URL,
    /// <c>{urls}</c> comma-separated, <c>{urls_json}</c> a JSON array (percent-encoded itself when
    /// <paramref name="inUrl"/>). The URLs are already percent-encoded.</summary>
    internal static string Fill(string template, IReadOnlyList<string> urls, bool inUrl)
    {
        var text = new StringBuilder(template.Length + 64);
        for (var i = 0; i < template.Length; i++)
        {
            var rest = template.AsSpan(i);
            if (rest.StartsWith("{url}", StringComparison.Ordinal))
            {
                text.Append(urls[0]);
                i += 4;
            }
            else if (rest.StartsWith("{path}", StringComparison.Ordinal))
            {
                text.Append(CdnUrls.UrlPath(urls[0]));
                i += 5;
            }
            else if (rest.StartsWith("{urls}", StringComparison.Ordinal))
            {
                text.AppendJoin(',', urls);
                i += 5;
            }
            else if (rest.StartsWith("{urls_json}", StringComparison.Ordinal))
            {
                var json = JsonArray(urls);
                text.Append(inUrl ? Uri.EscapeDataString(json) : json);
                i += 10;
            }
            else
            {
                text.Append(template[i]);
            }
        }

        return text.ToString();
    }

    private static string JsonArray(IReadOnlyList<string> urls)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartArray();
            foreach (var url in urls)
            {
                json.WriteStringValue(url);
            }

            json.WriteEndArray();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static string PurgeHost(PurgeConfig purge, string baseUrl) =>
        Uri.TryCreate(Fill(purge.UrlTemplate, [baseUrl.TrimEnd('/') + "/"], inUrl: true), UriKind.Absolute, out var url) ? url.Authority : "(no host)";

    private string UrlOf(HookBatch batch, HookChange change) => CdnUrls.PublicUrl(_config.Url, batch.PluginRoot, change);

    private async Task<HookOutcome> ChinaCacheAsync(HookBatch batch, ChinaCacheConfig cdn, CancellationToken cancellationToken)
    {
        var failed = new List<HookChange>();
        var why = string.Empty;
        for (var i = 0; i < batch.Changes.Count; i++)
        {
            var change = batch.Changes[i];
            var result = await ChinaCacheOneAsync(cdn, ChinaCacheRequest(cdn, UrlOf(batch, change), change.IsDirectory), cancellationToken).ConfigureAwait(false);
            if (result.Delivered)
            {
                continue;
            }

            why = result.Message;
            if (!result.Answered)
            {
                failed.AddRange(batch.Changes.Skip(i)); // down or stuck: the rest would wait out the same timeout
                break;
            }

            failed.Add(change);
        }

        return Outcome(batch, failed, why);
    }

    /// <summary>One request on its own connection; the reply's status line decides. The connect, the write and the
    /// reply share the configured timeout.</summary>
    private async Task<HttpResult> ChinaCacheOneAsync(ChinaCacheConfig cdn, byte[] request, CancellationToken cancellationToken)
    {
        using var timed = new TimedToken(_config.Timeout, _time, cancellationToken);
        try
        {
            using var socket = await PluginNetwork.ConnectAsync(cdn.DomainName, cdn.Port, timed.Token).ConfigureAwait(false);
            await PluginNetwork.SendAllAsync(socket, request, timed.Token).ConfigureAwait(false);
            var reply = new byte[MaxReply];
            var length = 0;
            while (length < reply.Length && Array.IndexOf(reply, (byte)'\n', 0, length) < 0)
            {
                var read = await socket.ReceiveAsync(reply.AsMemory(length), System.Net.Sockets.SocketFlags.None, timed.Token).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                length += read;
            }

            var line = FirstLine(reply.AsSpan(0, length), cdn);
            LogChinaCacheReply(_logger, Label, line);
            var ok = line.Length >= 12 && line.StartsWith("HTTP/", StringComparison.Ordinal) && line.IndexOf(' ', StringComparison.Ordinal) is var space and > 0
                && space + 4 <= line.Length && line[space + 1] == '2' && char.IsAsciiDigit(line[space + 2]) && char.IsAsciiDigit(line[space + 3]);
            return new HttpResult(ok, true, length == 0 ? "closed without a reply" : ok ? line : $"replied {line}");
        }
        catch (Exception e) when (PluginNetwork.IsDeliveryFailure(e, cancellationToken))
        {
            return new HttpResult(false, false, PluginNetwork.Describe(e, timed, _config.Timeout));
        }
    }

    /// <summary>The reply's first line for the log: control bytes and non-ASCII escaped, bounded, and the account
    /// blanked should the server echo it.</summary>
    private static string FirstLine(ReadOnlySpan<byte> reply, ChinaCacheConfig cdn)
    {
        var end = reply.IndexOfAny((byte)'\r', (byte)'\n');
        var line = new StringBuilder();
        foreach (var b in end < 0 ? reply : reply[..end])
        {
            if (line.Length >= 200)
            {
                line.Append("...");
                break;
            }

            line.Append(b is >= 0x20 and < 0x7f ? ((char)b).ToString() : $"\\x{b:x2}");
        }

        foreach (var secret in new[] { cdn.Password, cdn.UserName })
        {
            if (secret.Length >= 4)
            {
                line.Replace(secret, "***");
            }
        }

        return line.ToString();
    }

    private async Task<HookOutcome> PurgeEachAsync(HookBatch batch, PurgeConfig purge, CancellationToken cancellationToken)
    {
        var failed = new List<HookChange>();
        var why = string.Empty;
        for (var i = 0; i < batch.Changes.Count; i++)
        {
            var result = await PurgeAsync(purge, [UrlOf(batch, batch.Changes[i])], cancellationToken).ConfigureAwait(false);
            if (result.Delivered)
            {
                continue;
            }

            why = result.Message;
            if (!result.Answered)
            {
                failed.AddRange(batch.Changes.Skip(i));
                break;
            }

            failed.Add(batch.Changes[i]);
        }

        return Outcome(batch, failed, why);
    }

    private async Task<HookOutcome> PurgeBatchedAsync(HookBatch batch, PurgeConfig purge, CancellationToken cancellationToken)
    {
        var failed = new List<HookChange>();
        var why = string.Empty;
        var size = Math.Max(1, purge.MaxUrls);
        for (var start = 0; start < batch.Changes.Count; start += size)
        {
            var chunk = batch.Changes.Skip(start).Take(size).ToArray();
            var result = await PurgeAsync(purge, [.. chunk.Select(c => UrlOf(batch, c))], cancellationToken).ConfigureAwait(false);
            if (result.Delivered)
            {
                continue;
            }

            why = result.Message;
            if (!result.Answered)
            {
                failed.AddRange(batch.Changes.Skip(start));
                break;
            }

            failed.AddRange(chunk);
        }

        return Outcome(batch, failed, why);
    }

    private Task<HttpResult> PurgeAsync(PurgeConfig purge, IReadOnlyList<string> urls, CancellationToken cancellationToken)
    {
        var target = Fill(purge.UrlTemplate, urls, inUrl: true);
        if (!Uri.TryCreate(target, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
        {
            // Not retried into success, but reported as a failure so that the worker warns and keeps the changes.
            return Task.FromResult(new HttpResult(false, false, "the purge URL is not an absolute http(s) URL"));
        }

        var (bare, authorization) = PluginHttp.SplitUserInfo(url);
        var request = new HttpRequestMessage(_method!, bare);
        request.Headers.UserAgent.Add(PluginHttp.UserAgent);
        request.Headers.Authorization = authorization;
        if (purge.BodyTemplate is not null)
        {
            var body = Fill(purge.BodyTemplate, urls, inUrl: false);
            request.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
            var trimmed = body.TrimStart();
            request.Content.Headers.ContentType = trimmed.StartsWith('{') || trimmed.StartsWith('[')
                ? new MediaTypeHeaderValue("application/json")
                : new MediaTypeHeaderValue("text/plain") { CharSet = "utf-8" };
        }

        foreach (var (name, value) in purge.Headers)
        {
            if (request.Content is not null && name.StartsWith("Content-", StringComparison.OrdinalIgnoreCase))
            {
                request.Content.Headers.Remove(name);
                request.Content.Headers.TryAddWithoutValidation(name, value);
            }
            else
            {
                request.Headers.Remove(name);
                request.Headers.TryAddWithoutValidation(name, value);
            }
        }

        return PluginHttp.SendAsync(_client!, request, _config.Timeout, _time, cancellationToken);
    }

    private HookOutcome Outcome(HookBatch batch, List<HookChange> failed, string why)
    {
        if (failed.Count == 0)
        {
            LogDelivered(_logger, Label, batch.Changes.Count);
            return HookOutcome.Delivered;
        }

        LogFailed(_logger, Label, failed.Count, why);
        return new HookOutcome(failed, $"{Label}: {why} ({batch.Changes.Count - failed.Count} of {batch.Changes.Count} delivered)");
    }
}
