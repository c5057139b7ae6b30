// Implementation notes. A small HTTP/1.1 server on one listening socket, for three GET endpoints and nothing else;
// why not HttpListener (it is in the BCL) is in the README: on Linux its managed implementation cannot lower its
// 90 s wait for a request head (HttpListenerTimeoutManager is a no-op there) nor cap connections, matches the Host
// header against its prefix (a scrape of localhost:PORT against listen 127.0.0.1:PORT is a 404) and refuses
// 0.0.0.0. Here every connection is async (no thread waits on a client), at most MaxConnections are served at once
// (more are closed as they are accepted), and each gets RequestTimeout for the whole exchange: reading the head,
// then writing the answer. One request per connection (Connection: close); a request body is never read.
using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SerSync.Configuration;

namespace SerSync.Daemon.Operations;

/// <summary>
/// <c>GET /metrics</c> (Prometheus text format), <c>GET /status</c> (the status JSON) and <c>GET /healthz</c> (200
/// "ok", or 503 with the reasons) on <c>&lt;status listen&gt;</c>; registered only when that is set. The socket is
/// bound at start, before the pipeline; a port that cannot be bound is logged and tried again every
/// <see cref="RebindInterval"/> while the daemon mirrors on.
/// </summary>
public sealed partial class StatusHttpServer(StatusConfig config, StatusSource source, ILogger<StatusHttpServer> logger) : IHostedService, IDisposable
{
    public const int MaxConnections = 8;

    /// <summary>The longest request head read (request line and headers); a longer one is answered 400.</summary>
    public const int MaxHeadBytes = 8192;

    public static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(10);

    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _slots = new(MaxConnections);

    // The /metrics bodies are written into these and reused: a scrape every few seconds must not feed the GC.
    private readonly ConcurrentBag<MemoryStream> _bodies = [];
    private Socket? _listener;
    private Task _accepting = Task.CompletedTask;
    private MetricsExporter? _metrics;

    /// <summary>Where the server listens once started (the port is the kernel's choice when the config says 0).</summary>
    public IPEndPoint? LocalEndPoint => _listener?.LocalEndPoint as IPEndPoint;

    /// <summary>How often a port that could not be bound is tried again.</summary>
    public static readonly TimeSpan RebindInterval = TimeSpan.FromSeconds(10);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var endpoint = config.Listen ?? throw new InvalidOperationException("<status listen> is not set");
        _metrics = new MetricsExporter(source);
        if (TryBind(endpoint, out var failure) is { } socket)
        {
            _accepting = AcceptAsync(socket, _stop.Token);
        }
        else
        {
            // Mirroring matters more than being watched: the daemon runs on, Prometheus sees the scrape fail (up == 0)
            // and the port is tried again until it is free (another exporter stopping, an old instance going away).
            ListenFailed(Format(endpoint), failure!, RebindInterval.TotalSeconds);
            _accepting = RebindAsync(endpoint, _stop.Token);
        }

        return Task.CompletedTask;
    }

    private Socket? TryBind(IPEndPoint endpoint, out string? failure)
    {
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            // A restart must not wait for the previous process's connections in TIME_WAIT.
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            socket.Bind(endpoint);
            socket.Listen(MaxConnections * 2);
        }
        catch (SocketException ex)
        {
            socket.Dispose();
            failure = ex.Message;
            return null;
        }

        failure = null;
        _listener = socket;
        var bound = LocalEndPoint ?? endpoint;
        if (IPAddress.IsLoopback(endpoint.Address))
        {
            Listening(Format(bound));
        }
        else
        {
            NotLoopback(Format(bound));
        }

        return socket;
    }

    private async Task RebindAsync(IPEndPoint endpoint, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(RebindInterval, stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            if (TryBind(endpoint, out _) is { } socket)
            {
                await AcceptAsync(socket, stop);
                return;
            }
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stop.CancelAsync();
        _listener?.Dispose();
        await _accepting.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener?.Dispose();
        _stop.Dispose();
        _slots.Dispose();
    }

    /// <summary>The exporter behind <c>/metrics</c>, for the lead to wire the drift audit's counts into.</summary>
    public MetricsExporter? Metrics => _metrics;

    private async Task AcceptAsync(Socket listener, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(stop);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException ex)
            {
                // Out of descriptors (EMFILE) and the like: pause rather than spin on a failing accept.
                AcceptFailed(ex.Message);
                await Task.Delay(TimeSpan.FromMilliseconds(200), stop).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                continue;
            }

            if (!_slots.Wait(0, CancellationToken.None))
            {
                Busy(MaxConnections);
                client.Dispose();
                continue;
            }

            _ = ServeAsync(client, stop);
        }
    }

    private async Task ServeAsync(Socket client, CancellationToken stop)
    {
        var head = ArrayPool<byte>.Shared.Rent(MaxHeadBytes);
        MemoryStream? body = null;
        try
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(stop);
            deadline.CancelAfter(RequestTimeout);
            await using var stream = new NetworkStream(client, ownsSocket: false);
            Response response;
            if (await ReadRequestAsync(stream, head, deadline.Token) is { } request)
            {
                body = _bodies.TryTake(out var reused) ? reused : new MemoryStream(64 * 1024);
                response = await AnswerAsync(request.Method, request.Path, body, deadline.Token);
            }
            else
            {
                response = Response.Text(HttpStatusCode.BadRequest, "bad request\n");
            }

            await stream.WriteAsync(response.Head, deadline.Token);
            if (!response.HeadOnly)
            {
                await stream.WriteAsync(response.Body, deadline.Token);
            }

            client.Shutdown(SocketShutdown.Send);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
        {
            // A client that was too slow, went away or the daemon is stopping: the connection is simply closed.
        }
        finally
        {
            client.Dispose();
            ArrayPool<byte>.Shared.Return(head);
            if (body is not null && body.Capacity <= 4 * 1024 * 1024)
            {
                body.SetLength(0);
                _bodies.Add(body);
            }

            try
            {
                _slots.Release();
            }
            catch (ObjectDisposedException)
            {
                // The host disposed the server while this connection was closing.
            }
        }
    }

    /// <summary>The request line of one request; null when it is not HTTP or too long.</summary>
    private static async Task<(string Method, string Path)?> ReadRequestAsync(NetworkStream stream, byte[] buffer, CancellationToken cancellationToken)
    {
        var length = 0;
        while (length < MaxHeadBytes)
        {
            var read = await stream.ReadAsync(buffer.AsMemory(length, MaxHeadBytes - length), cancellationToken);
            if (read == 0)
            {
                return null;
            }

            length += read;
            var head = buffer.AsSpan(0, length);
            if (head.IndexOf("\r\n\r\n"u8) >= 0 || head.IndexOf("\n\n"u8) >= 0)
            {
                return ParseRequestLine(head);
            }
        }

        return null;
    }

    /// <summary>"GET /metrics?x HTTP/1.1" → (GET, /metrics).</summary>
    internal static (string Method, string Path)? ParseRequestLine(ReadOnlySpan<byte> head)
    {
        var end = head.IndexOf((byte)'\n');
        var line = Encoding.ASCII.GetString(end < 0 ? head : head[..end]).TrimEnd('\r');
        var parts = line.Split(' ');
        if (parts.Length != 3 || !parts[2].StartsWith("HTTP/1.", StringComparison.Ordinal) || parts[0].Length == 0)
        {
            return null;
        }

        var target = parts[1];
        var query = target.IndexOfAny(['?', '#']);
        return (parts[0], query < 0 ? target : target[..query]);
    }

    private async Task<Response> AnswerAsync(string method, string path, MemoryStream body, CancellationToken cancellationToken)
    {
        if (path is not ("/metrics" or "/status" or "/healthz"))
        {
            return Response.Text(HttpStatusCode.NotFound, "not found: /metrics, /status and /healthz are served\n");
        }

        if (method is not ("GET" or "HEAD"))
        {
            return Response.Text(HttpStatusCode.MethodNotAllowed, "only GET and HEAD\n") with { Extra = "Allow: GET, HEAD\r\n" };
        }

        var headOnly = method == "HEAD";
        try
        {
            switch (path)
            {
                case "/metrics":
                    await _metrics!.WriteAsync(body, cancellationToken);
                    return new Response(HttpStatusCode.OK, "text/plain; version=0.0.4; charset=utf-8", body.GetBuffer().AsMemory(0, (int)body.Length)) { HeadOnly = headOnly };

                case "/status":
                    return new Response(HttpStatusCode.OK, "application/json", StatusJson.Write(source.Read())) { HeadOnly = headOnly };

                default:
                    var problems = HealthRules.Problems(source.Read(), config.UnhealthyAfter);
                    return (problems is null
                        ? Response.Text(HttpStatusCode.OK, "ok\n")
                        : Response.Text(HttpStatusCode.ServiceUnavailable, string.Join('\n', problems) + "\n")) with
                    { HeadOnly = headOnly };
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            RequestFailed(path, ex);
            return Response.Text(HttpStatusCode.InternalServerError, "internal error\n");
        }
    }

    private static string Format(IPEndPoint endpoint) => endpoint.ToString();

    private sealed record Response(HttpStatusCode Status, string ContentType, ReadOnlyMemory<byte> Body)
    {
        public bool HeadOnly { get; init; }

        /// <summary>More header lines, each ending in CRLF.</summary>
        public string Extra { get; init; } = "";

        public byte[] Head => Encoding.ASCII.GetBytes(
            $"HTTP/1.1 {(int)Status} {Reason(Status)}\r\nContent-Type: {ContentType}\r\nContent-Length: {Body.Length}\r\n" +
            $"Cache-Control: no-store\r\nConnection: close\r\n{Extra}\r\n");

        public static Response Text(HttpStatusCode status, string text) => new(status, "text/plain; charset=utf-8", Encoding.UTF8.GetBytes(text));

        private static string Reason(HttpStatusCode status) => status switch
        {
            HttpStatusCode.OK => "OK",
            HttpStatusCode.BadRequest => "Bad Request",
            HttpStatusCode.NotFound => "Not Found",
            HttpStatusCode.MethodNotAllowed => "Method Not Allowed",
            HttpStatusCode.ServiceUnavailable => "Service Unavailable",
            _ => "Internal Server Error",
        };
    }
}

