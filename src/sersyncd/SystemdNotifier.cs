using System.Net.Sockets;
using System.Text;

namespace SerSync.Daemon;

/// <summary>
/// sd_notify(3) over the datagram socket systemd names in <c>NOTIFY_SOCKET</c> (a path, or an abstract name written
/// with a leading '@'). Without the variable every call is a no-op. sersyncd sends READY=1 itself, after its watches
/// are placed and the <c>-r</c> push is done, rather than when the host has merely started.
/// </summary>
public sealed class SystemdNotifier : IDisposable
{
    private readonly Socket? _socket;
    private readonly UnixDomainSocketEndPoint? _endpoint;
    private readonly Lock _gate = new();

    public SystemdNotifier(string? notifySocket)
    {
        if (string.IsNullOrEmpty(notifySocket))
        {
            return;
        }

        var path = notifySocket[0] == '@' ? "\0" + notifySocket[1..] : notifySocket;
        _endpoint = new UnixDomainSocketEndPoint(path);
        _socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
    }

    public static SystemdNotifier FromEnvironment() => new(Environment.GetEnvironmentVariable("NOTIFY_SOCKET"));

    public bool IsEnabled => _socket is not null;

    /// <summary>How long systemd may wait for the next progress message during start, past TimeoutStartSec.</summary>
    public static readonly TimeSpan ProgressGrace = TimeSpan.FromSeconds(30);

    private volatile bool _ready;

    public void Ready(string status)
    {
        _ready = true;
        Send($"READY=1\nSTATUS={OneLine(status)}");
    }

    public void Status(string status) => Send($"STATUS={OneLine(status)}");

    /// <summary>
    /// A status that also proves the start is moving (watches placed, a <c>-r</c> push running): before READY it
    /// extends systemd's start timeout by <see cref="ProgressGrace"/>, so a big tree may take as long as it needs
    /// while a hung start is still caught. After READY it is a plain status (the extension would stretch
    /// RuntimeMaxSec instead).
    /// </summary>
    public void Progress(string status) =>
        Send(_ready
            ? $"STATUS={OneLine(status)}"
            : $"STATUS={OneLine(status)}\nEXTEND_TIMEOUT_USEC={(long)ProgressGrace.TotalMicroseconds}");

    public void Stopping(string status) => Send($"STOPPING=1\nSTATUS={OneLine(status)}");

    public void Send(string message)
    {
        if (_socket is null || _endpoint is null)
        {
            return;
        }

        lock (_gate)
        {
            try
            {
                _socket.SendTo(Encoding.UTF8.GetBytes(message), _endpoint);
            }
            catch (SocketException)
            {
                // The manager went away (or never listened): notifications are advisory.
            }
        }
    }

    public void Dispose() => _socket?.Dispose();

    private static string OneLine(string text) => text.Replace('\n', ' ');
}
