// Shared by the network plugins: one timeout on the plugin's clock linked to the caller's token, TCP connects to a
// host name or literal (every address tried in turn, all within the one timeout), and failure texts for the log
// that name what went wrong but never a URL's userinfo, a header or a body.
using System.Net;
using System.Net.Http;
using System.Net.Sockets;

namespace SerSync.Plugins;

/// <summary>A token that ends when the caller's does or when the timeout passes on the plugin's clock.</summary>
internal sealed class TimedToken : IDisposable
{
    private readonly CancellationTokenSource _timer;
    private readonly CancellationTokenSource _linked;

    public TimedToken(TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        _timer = new CancellationTokenSource(timeout, time);
        _linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _timer.Token);
    }

    public CancellationToken Token => _linked.Token;

    public bool TimedOut => _timer.IsCancellationRequested;

    public void Dispose()
    {
        _linked.Dispose();
        _timer.Dispose();
    }
}

internal static class PluginNetwork
{
    /// <summary>Connects to <paramref name="host"/> (an IPv4 or IPv6 literal, bracketed or not, or a name resolved
    /// now, so a DNS change is seen at the next delivery), trying each address until one accepts.</summary>
    public static async Task<Socket> ConnectAsync(string host, int port, CancellationToken cancellationToken)
    {
        var bare = host.Length > 1 && host[0] == '[' && host[^1] == ']' ? host[1..^1] : host;
        var addresses = IPAddress.TryParse(bare, out var literal)
            ? [literal]
            : await Dns.GetHostAddressesAsync(bare, cancellationToken).WaitAsync(cancellationToken).ConfigureAwait(false);
        if (addresses.Length == 0)
        {
            throw new SocketException((int)SocketError.HostNotFound);
        }

        SocketException? last = null;
        foreach (var address in addresses)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, port), cancellationToken).ConfigureAwait(false);
                return socket;
            }
            catch (SocketException e)
            {
                socket.Dispose();
                last = e;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        throw last!;
    }

    public static async Task SendAllAsync(Socket socket, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        while (!data.IsEmpty)
        {
            var sent = await socket.SendAsync(data, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            data = data[sent..];
        }
    }

    /// <summary>True for the failures a delivery reports (and the worker retries); false for bugs, which propagate.
    /// The caller's own cancellation is not one of them: it propagates, so a stopping worker stops.</summary>
    public static bool IsDeliveryFailure(Exception e, CancellationToken cancellationToken) => e switch
    {
        OperationCanceledException => !cancellationToken.IsCancellationRequested,
        SocketException or IOException or HttpRequestException or ObjectDisposedException => true,
        _ => false,
    };

    /// <summary>Why a delivery failed, for the log: the exception's own text carries no credential (socket errors
    /// say "Connection refused"; HttpClient's name the host and port only).</summary>
    public static string Describe(Exception e, TimedToken timeout, TimeSpan limit) =>
        timeout.TimedOut ? $"timed out after {limit.TotalSeconds:0.###} s" : e switch
        {
            SocketException s => $"{s.SocketErrorCode}: {s.Message}",
            HttpRequestException { InnerException: SocketException s } => $"{s.SocketErrorCode}: {s.Message}",
            _ => e.Message,
        };
}
