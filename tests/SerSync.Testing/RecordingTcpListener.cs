using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace SerSync.Testing;

/// <summary>
/// A TCP listener started by a test on a loopback address: it accepts every connection and records the bytes each
/// one carried up to the peer's shutdown (in the order the connections were accepted). With
/// <paramref name="neverRead"/> it accepts and holds connections without reading, so a large write stalls (a stuck
/// receiver). Disposing stops it and closes every connection.
/// </summary>
public sealed class RecordingTcpListener : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly bool _neverRead;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<Socket> _held = new();
    private readonly List<Task> _connections = [];
    private readonly Lock _gate = new();
    private readonly List<byte[]> _received = [];
    private readonly Task _accepting;

    public RecordingTcpListener(IPAddress? address = null, int port = 0, bool neverRead = false)
    {
        address ??= IPAddress.Loopback;
        _neverRead = neverRead;
        _listener = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        _listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        if (neverRead)
        {
            _listener.ReceiveBufferSize = 4096; // inherited by accepted sockets: the sender stalls sooner
        }

        _listener.Bind(new IPEndPoint(address, port));
        _listener.Listen(64);
        Port = ((IPEndPoint)_listener.LocalEndPoint!).Port;
        _accepting = AcceptAsync();
    }

    public int Port { get; }

    /// <summary>Connections accepted so far (held ones included).</summary>
    public int Accepted { get; private set; }

    /// <summary>The bytes of each finished connection, in order of acceptance among finished ones.</summary>
    public IReadOnlyList<byte[]> Received
    {
        get
        {
            lock (_gate)
            {
                return [.. _received];
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        while (_held.TryDequeue(out var socket))
        {
            socket.Dispose();
        }

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
            Accepted++;
            _held.Enqueue(socket);
            if (!_neverRead)
            {
                lock (_gate)
                {
                    _connections.Add(ReadAsync(socket));
                }
            }
        }
    }

    private async Task ReadAsync(Socket socket)
    {
        var data = new MemoryStream();
        var buffer = new byte[65536];
        try
        {
            while (true)
            {
                var read = await socket.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                if (read == 0)
                {
                    break;
                }

                data.Write(buffer, 0, read);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            return; // stopped, or the peer reset: not a finished connection
        }

        lock (_gate)
        {
            _received.Add(data.ToArray());
        }
    }
}
