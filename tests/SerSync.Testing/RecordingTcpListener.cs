using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace SerSync.Testing;

/// <summary>
/// A TCP listener started by a test on a loopback address: it accepts every connection and records the bytes each
/// one carried up to the peer's shutdown (in the order the connections were accepted). With
/// <paramref name="neverRead"/> it accepts and holds connections without reading, so a large write stalls (a stuck
/// receiver). With <c>listen: false</c> the port is bound but not listening until <see cref="Start"/>: a connect is
/// refused (a listener that is down) while no other test can take the port. Disposing stops it and closes every
/// connection.
/// </summary>
public sealed class RecordingTcpListener : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly bool _neverRead;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<Socket> _held = new();
    private readonly List<Task> _connections = [];
    private readonly Lock _gate = new();
    private readonly SortedList<int, byte[]> _received = [];
    private Task _accepting = Task.CompletedTask;

    public RecordingTcpListener(IPAddress? address = null, int port = 0, bool neverRead = false, bool listen = true)
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

    /// <summary>Connections accepted so far (held ones included).</summary>
    public int Accepted { get; private set; }

    /// <summary>The bytes of each finished connection, in the order they were accepted (their readers may finish in
    /// another order).</summary>
    public IReadOnlyList<byte[]> Received
    {
        get
        {
            lock (_gate)
            {
                return [.. _received.Values];
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
            var index = Accepted++;
            _held.Enqueue(socket);
            if (!_neverRead)
            {
                lock (_gate)
                {
                    _connections.Add(ReadAsync(socket, index));
                }
            }
        }
    }

    private async Task ReadAsync(Socket socket, int index)
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
            _received.Add(index, data.ToArray());
        }
    }
}
