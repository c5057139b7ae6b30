// The HTTP side shared by the http plugin and refreshCDN's purge: one HttpClient per plugin (pooled connections that
// are replaced every few minutes, so a DNS change is seen; no redirects followed, since a 3xx is the endpoint saying
// the configuration is wrong), one timeout per request on the plugin's clock, and a result that says whether the
// server answered at all (a down server fails the rest of a per-path run at once; a refusal fails only its own).
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;

namespace SerSync.Plugins;

internal readonly record struct HttpResult(bool Delivered, bool Answered, string Message);

internal static class PluginHttp
{
    public static HttpClient CreateClient() => new(new SocketsHttpHandler
    {
        PooledConnectionLifetime = TimeSpan.FromMinutes(2),
        AllowAutoRedirect = false,
        AutomaticDecompression = DecompressionMethods.None,
        UseCookies = false,
    })
    {
        Timeout = Timeout.InfiniteTimeSpan, // the plugin's own TimedToken bounds each request
    };

    /// <summary>Sends <paramref name="request"/> (and disposes it). 2xx is delivered; anything else, a connection
    /// error or the timeout is not. The message names the status and reason, never a header or the body.</summary>
    public static async Task<HttpResult> SendAsync(
        HttpClient client, HttpRequestMessage request, TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        using (request)
        using (var timed = new TimedToken(timeout, time, cancellationToken))
        {
            try
            {
                using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timed.Token).ConfigureAwait(false);
                var status = (int)response.StatusCode;
                var message = $"HTTP {status} {response.ReasonPhrase}".TrimEnd();
                return new HttpResult(status is >= 200 and < 300, true, message);
            }
            catch (Exception e) when (PluginNetwork.IsDeliveryFailure(e, cancellationToken))
            {
                return new HttpResult(false, false, PluginNetwork.Describe(e, timed, timeout));
            }
        }
    }

    /// <summary>The URL without its userinfo, and that userinfo as a Basic authorization (null without one).</summary>
    public static (Uri Url, AuthenticationHeaderValue? Authorization) SplitUserInfo(Uri url)
    {
        if (string.IsNullOrEmpty(url.UserInfo))
        {
            return (url, null);
        }

        var credentials = Uri.UnescapeDataString(url.UserInfo);
        var bare = new UriBuilder(url) { UserName = string.Empty, Password = string.Empty }.Uri;
        return (bare, new AuthenticationHeaderValue("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(credentials))));
    }

    public static readonly ProductInfoHeaderValue UserAgent = new("sersyncd", typeof(PluginHttp).Assembly.GetName().Version?.ToString(3) ?? "0");
}
