// The http plugin. Json (the default): one POST per batch, {"root", "changes": [{"path", "kind", "isDir"}]}, a path
// that is not valid UTF-8 sent as "path": null plus "path_base64". Sersync: one form POST per path, as sersync's
// compiled-out code would have sent it. With a secret, each body is signed with HMAC-SHA256 as GitHub signs its
// webhooks (X-Sersync-Signature-256: sha256=HEX).
using System.Buffers;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using SerSync.Configuration;
using SerSync.Paths;

namespace SerSync.Plugins;

public sealed partial class HttpHook : IHookPlugin, IDisposable
{
    public const string SignatureHeader = "X-Sersync-Signature-256";

    private static readonly MediaTypeHeaderValue Json = new("application/json");
    private static readonly MediaTypeHeaderValue Form = new("application/x-www-form-urlencoded");

    private readonly HttpPluginConfig _config;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly HttpClient _client = PluginHttp.CreateClient();
    private readonly Uri _url;
    private readonly AuthenticationHeaderValue? _authorization;

    public HttpHook(HttpPluginConfig config, TimeProvider time, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(config);
        _config = config;
        _time = time ?? TimeProvider.System;
        _logger = logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        (_url, _authorization) = PluginHttp.SplitUserInfo(config.Url);
        Label = $"http {_url.AbsoluteUri}";
    }

    public string Name => "http";

    public string Label { get; }

    public int MaxBatch => _config.Format == HttpFormat.Json ? 1000 : 100;

    public Task<HookOutcome> DeliverAsync(HookBatch batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        return batch.Changes.Count == 0
            ? Task.FromResult(HookOutcome.Delivered)
            : _config.Format == HttpFormat.Json ? DeliverJsonAsync(batch, cancellationToken) : DeliverFormsAsync(batch, cancellationToken);
    }

    public void Dispose() => _client.Dispose();

    /// <summary>The JSON body of a batch. <c>root</c> is the sync root (<see cref="HookBatch.Root"/>), not the plugin's
    /// watch; each path is absolute.</summary>
    internal static byte[] JsonBody(HookBatch batch)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("root", batch.Root);
            json.WriteStartArray("changes");
            foreach (var change in batch.Changes)
            {
                json.WriteStartObject();
                if (System.Text.Unicode.Utf8.IsValid(change.AbsolutePath))
                {
                    json.WriteString("path", change.AbsolutePath);
                }
                else
                {
                    // JSON strings are Unicode: the exact bytes go in base64, and "path" is null rather than a lossy
                    // text that names a different file.
                    json.WriteNull("path");
                    json.WriteBase64String("path_base64", change.AbsolutePath);
                }

                json.WriteString("kind", change.EventName);
                json.WriteBoolean("isDir", change.IsDirectory);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>sersync's form body for one change: <c>watchroot=W&amp;isdir=0|1&amp;inotifyPath=ABS&amp;mask=N</c>,
    /// W the plugin's watch and N the inotify mask sersync would have seen.</summary>
    internal static byte[] FormBody(string pluginRoot, HookChange change)
    {
        var body = new StringBuilder("watchroot=");
        UrlBytes.AppendFormEscaped(body, Encoding.UTF8.GetBytes(pluginRoot));
        body.Append("&isdir=").Append(change.IsDirectory ? '1' : '0').Append("&inotifyPath=");
        UrlBytes.AppendFormEscaped(body, change.AbsolutePath);
        body.Append("&mask=").Append(ChangeEvents.InotifyMask(change.Event, change.IsDirectory).ToString(System.Globalization.CultureInfo.InvariantCulture));
        return Encoding.ASCII.GetBytes(body.ToString());
    }

    private async Task<HookOutcome> DeliverJsonAsync(HookBatch batch, CancellationToken cancellationToken)
    {
        var result = await PostAsync(JsonBody(batch), Json, cancellationToken).ConfigureAwait(false);
        if (!result.Delivered)
        {
            LogFailed(_logger, Label, batch.Changes.Count, result.Message);
            return new HookOutcome(batch.Changes, $"{Label}: {result.Message}");
        }

        LogDelivered(_logger, Label, batch.Changes.Count, result.Message);
        return HookOutcome.Delivered;
    }

    private async Task<HookOutcome> DeliverFormsAsync(HookBatch batch, CancellationToken cancellationToken)
    {
        var failed = new List<HookChange>();
        var why = string.Empty;
        for (var i = 0; i < batch.Changes.Count; i++)
        {
            var result = await PostAsync(FormBody(batch.PluginRoot, batch.Changes[i]), Form, cancellationToken).ConfigureAwait(false);
            if (result.Delivered)
            {
                continue;
            }

            why = result.Message;
            if (!result.Answered)
            {
                // Down or stuck: every later request would wait out the same timeout.
                failed.AddRange(batch.Changes.Skip(i));
                break;
            }

            failed.Add(batch.Changes[i]); // refused this one: the server is up, so the others still go
        }

        if (failed.Count > 0)
        {
            LogFailed(_logger, Label, failed.Count, why);
            return new HookOutcome(failed, $"{Label}: {why} ({batch.Changes.Count - failed.Count} of {batch.Changes.Count} delivered)");
        }

        LogDelivered(_logger, Label, batch.Changes.Count, "HTTP 2xx");
        return HookOutcome.Delivered;
    }

    private Task<HttpResult> PostAsync(byte[] body, MediaTypeHeaderValue type, CancellationToken cancellationToken)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, _url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = type;
        request.Headers.UserAgent.Add(PluginHttp.UserAgent);
        request.Headers.Authorization = _authorization;
        if (_config.Secret is not null)
        {
            request.Headers.TryAddWithoutValidation(SignatureHeader, HmacSha256.SignatureHeader(_config.Secret, body));
        }

        return PluginHttp.SendAsync(_client, request, _config.Timeout, _time, cancellationToken);
    }
}
