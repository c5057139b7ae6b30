using System.Net;
using System.Net.Sockets;

namespace SerSync.Testing;

/// <summary>Loopback TCP ports for servers the tests start.</summary>
public static class FreePort
{
    /// <summary>A TCP port on 127.0.0.1 that was free a moment ago (the kernel picks it: bind port 0, read, close).
    /// Another process may take it before the server binds; fixtures that pick their own port retry on that.</summary>
    public static int Pick()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)listener.LocalEndPoint!).Port;
    }

    /// <summary>True once a TCP connect to 127.0.0.1:<paramref name="port"/> succeeds; false when
    /// <paramref name="deadline"/> (UTC) passes or <paramref name="giveUp"/> says to stop (e.g. the server exited).</summary>
    public static bool WaitForListening(int port, DateTime deadline, Func<bool>? giveUp = null) =>
        WaitUntil(() => CanConnect(port, deadline), deadline, giveUp);

    /// <summary>
    /// Like <see cref="WaitForListening"/>, but only true once process <paramref name="pid"/> itself holds a listening
    /// socket on 127.0.0.1:<paramref name="port"/> (so a stranger that took the port is not mistaken for our server)
    /// and a connect succeeds. False when the deadline passes or <paramref name="giveUp"/> says so.
    /// </summary>
    public static bool WaitForListeningBy(int pid, int port, DateTime deadline, Func<bool>? giveUp = null) =>
        WaitUntil(() => IsListeningBy(pid, port) && CanConnect(port, deadline), deadline, giveUp);

    /// <summary>True when process <paramref name="pid"/> has an open socket in state LISTEN on 127.0.0.1:port
    /// (from /proc/net/tcp and /proc/PID/fd).</summary>
    public static bool IsListeningBy(int pid, int port)
    {
        var wanted = $"0100007F:{port:X4}";
        var inodes = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in File.ReadLines("/proc/net/tcp").Skip(1))
        {
            // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ...
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length > 9 && fields[1] == wanted && fields[3] == "0A")
            {
                inodes.Add($"socket:[{fields[9]}]");
            }
        }

        if (inodes.Count == 0)
        {
            return false;
        }

        try
        {
            foreach (var fd in System.IO.Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd"))
            {
                string? target;
                try
                {
                    target = new FileInfo(fd).LinkTarget;
                }
                catch (IOException)
                {
                    continue; // closed while we looked
                }

                if (target is not null && inodes.Contains(target))
                {
                    return true;
                }
            }
        }
        catch (DirectoryNotFoundException)
        {
            return false; // the process is gone
        }

        return false;
    }

    /// <summary>One connect attempt, bounded by the deadline.</summary>
    public static bool CanConnect(int port, DateTime deadline)
    {
        var left = deadline - DateTime.UtcNow;
        if (left <= TimeSpan.Zero)
        {
            return false;
        }

        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var cts = new CancellationTokenSource(left < TimeSpan.FromSeconds(1) ? left : TimeSpan.FromSeconds(1));
        try
        {
            socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cts.Token).AsTask().GetAwaiter().GetResult();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    // Probed every 20 ms: servers start in tens of milliseconds, and a start-up wait is on every fixture's path.
    private static bool WaitUntil(Func<bool> listening, DateTime deadline, Func<bool>? giveUp)
    {
        var polled = Eventually.Poll(listening, up => up, deadline - DateTime.UtcNow, giveUp, TimeSpan.FromMilliseconds(20));
        return polled.Reached && giveUp?.Invoke() != true;
    }
}
