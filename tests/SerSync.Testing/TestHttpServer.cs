using System.Net;
using System.Net.Sockets;
using System.Text;

namespace SerSync.Testing;

/// <summary>One request as <see cref="TestHttpServer"/> received it: the request line's parts, the headers in
/// order, the body (by Content-Length) and the raw bytes of the head and body exactly as they arrived.</summary>
public sealed record TestHttpRequest(string Method, string Target, string Version, IReadOnlyList<KeyValuePair<string, string>> Headers, byte[] Body, byte[] Raw)
{
    /// <summary>The first header of that name (case-insensitive), or null.</summary>
    public string? Header(string name) =>
        Headers.FirstOrDefault(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Value;
}

/// <summary>
/// A small HTTP/1.x server on a loopback socket, for tests: one request per connection (it answers with
/// <c>Connection: close</c>), recorded with its raw bytes; the status comes from <see cref="Status"/>. With
/// <see cref="Silent"/> it reads the request and never answers (a stuck endpoint). With <c>listen: false</c> the port
/// is bound but refuses connections until <see cref="Start"/> (a server that is down, on a port no other test can
/// take). Disposing stops it.
/// </summary>
public sealed class TestHttpServer : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private readonly List<TestHttpRequest> _requests = [];
    private readonly List<Task> _connections = [];
    private Task _accepting = Task.CompletedTask;

    public TestHttpServer(IPAddress? address = null, int port = 0, bool listen = true)
    {
        address ??= IPAddress.Loopback;
        _listener = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        _listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        _listener.Bind(new IPEndPoint(address, port));
        Port = ((IPEndPoint)_listener.LocalEndPoint!).Port;
        if (listen)
        {
            Start();
        }
    }

    /// <summary>Starts listening (once).</summary>
    public void Start()
    {
        _listener.Listen(64);
        _accepting = AcceptAsync();
    }

    public int Port { get; }

    public Uri Url => new($"http://127.0.0.1:{Port}/");

    /// <summary>The status to answer a request with (default 200).</summary>
    public Func<TestHttpRequest, int> Status { get; set; } = _ => 200;

    /// <summary>Extra header lines for the answer (e.g. <c>Location: ...</c>).</summary>
    public string ExtraResponseHeaders { get; set; } = string.Empty;

    public bool Silent { get; set; }

    public IReadOnlyList<TestHttpRequest> Requests
    {
        get
        {
            lock (_gate)
            {
                return [.. _requests];
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        try
        {
            await _accepting;
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        Task[] connections;
        lock (_gate)
        {
            connections = [.. _connections];
        }

        await Task.WhenAll(connections).WaitAsync(TimeSpan.FromSeconds(10));
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var socket = await _listener.AcceptAsync(_stop.Token);
            lock (_gate)
            {
                _connections.Add(ServeAsync(socket));
            }
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        using (socket)
        {
            try
            {
                using var stream = new NetworkStream(socket, ownsSocket: false);
                var request = await ReadRequestAsync(stream);
                if (request is null)
                {
                    return;
                }

                lock (_gate)
                {
                    _requests.Add(request);
                }

                if (Silent)
                {
                    await Task.Delay(Timeout.Infinite, _stop.Token);
                }

                var status = Status(request);
                var answer = $"HTTP/1.1 {status} {Reason(status)}\r\nContent-Length: 0\r\nConnection: close\r\n{ExtraResponseHeaders}\r\n";
                await stream.WriteAsync(Encoding.ASCII.GetBytes(answer), _stop.Token);
                socket.Shutdown(SocketShutdown.Send);
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
            {
            }
        }
    }

    private async Task<TestHttpRequest?> ReadRequestAsync(NetworkStream stream)
    {
        var raw = new MemoryStream();
        var buffer = new byte[65536];
        var headEnd = -1;
        while (headEnd < 0)
        {
            var read = await stream.ReadAsync(buffer, _stop.Token);
            if (read == 0)
            {
                return null;
            }

            raw.Write(buffer, 0, read);
            headEnd = raw.GetBuffer().AsSpan(0, (int)raw.Length).IndexOf("\r\n\r\n"u8);
        }

        var head = Encoding.Latin1.GetString(raw.GetBuffer(), 0, headEnd).Split("\r\n");
        var requestLine = head[0].Split(' ');
        var headers = head.Skip(1)
            .Select(line => line.Split(':', 2))
            .Select(parts => KeyValuePair.Create(parts[0], parts.Length > 1 ? parts[1].Trim() : string.Empty))
            .ToArray();
        var contentLength = headers.Where(h => h.Key.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            .Select(h => int.Parse(h.Value, System.Globalization.CultureInfo.InvariantCulture)).FirstOrDefault();
        var bodyStart = headEnd + 4;
        while (raw.Length < bodyStart + contentLength)
        {
            var read = await stream.ReadAsync(buffer, _stop.Token);
            if (read == 0)
            {
                break;
            }

            raw.Write(buffer, 0, read);
        }

        var all = raw.ToArray();
        var body = all.AsSpan(bodyStart, Math.Min(contentLength, all.Length - bodyStart)).ToArray();
        return new TestHttpRequest(
            requestLine[0], requestLine.Length > 1 ? requestLine[1] : string.Empty, requestLine.Length > 2 ? requestLine[2] : string.Empty, headers, body, all);
    }

    private static string Reason(int status) => status switch
    {
        200 => "OK",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        403 => "Forbidden",
        404 => "Not Found",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    };
}
