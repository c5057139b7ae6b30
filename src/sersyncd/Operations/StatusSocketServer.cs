// Implementation notes. The socket is bound under a temporary name in the same directory, given its mode (0600, or
// 0660 and the configured group) and then renamed into place, so there is no moment at which the final path
// exists with the process umask's looser mode. connect(2) on a unix socket needs write permission on it, hence
// 0660 rather than 0640 for a group. A socket left by an instance that was killed is simply replaced; at stop the
// path is removed only while it still names this instance's socket (same inode), so an instance that took the
// path over since keeps its own. Each request is one line ("status"), answered and closed; a client gets 5 s to
// send it and at most 8 are served at once, so a stuck client can neither pile up work nor hold the daemon.
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SerSync.Configuration;
using SerSync.Interop;

namespace SerSync.Daemon.Operations;

/// <summary>Serves <see cref="StatusSource"/> on the instance's unix socket for <c>sersyncd status</c>.</summary>
public sealed partial class StatusSocketServer(string path, StatusConfig settings, StatusSource source, TimeProvider time, ILogger<StatusSocketServer> logger) : BackgroundService
{
    public const int MaxClients = 8;
    public static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(5);
    private const int MaxRequestBytes = 256;
    private readonly SemaphoreSlim _clients = new(MaxClients, MaxClients);
    private ulong? _inode;

    public string SocketPath => path;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        Socket listener;
        try
        {
            listener = Bind();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Mirroring matters more than being asked about it: the daemon runs on without the socket (an error
            // here must never end the host: an over-long path, a directory that cannot be made, a file in the way).
            CannotListen(path, ex.Message);
            return;
        }

        Listening(path, settings.Group is { } g ? $"0660, group {g}" : "0600");
        using (listener)
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                Socket client;
                try
                {
                    client = await listener.AcceptAsync(stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
                catch (SocketException ex)
                {
                    AcceptFailed(path, ex.Message);
                    try
                    {
                        await Task.Delay(TimeSpan.FromMilliseconds(100), time, stoppingToken); // not a busy loop on EMFILE
                    }
                    catch (OperationCanceledException)
                    {
                        break;
                    }

                    continue;
                }

                if (!_clients.Wait(0, CancellationToken.None))
                {
                    client.Dispose(); // too many at once: the client sees the connection closed and retries
                    continue;
                }

                _ = ServeAsync(client, stoppingToken);
            }
        }

        RemoveIfOurs();
    }

    private Socket Bind()
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("the status socket needs Unix file modes (sersyncd runs on Linux, macOS and the BSDs)");
        }

        if (FileIdentity.IsSocket(path) == false)
        {
            throw new IOException("something that is not a socket is there; it is left alone (a typo in <status socket>?)");
        }

        var directory = Path.GetDirectoryName(path)!;
        Directory.CreateDirectory(directory);
        // No longer than the final name plus a few bytes: the loader keeps room for it within sun_path's 107.
        var temporary = Path.Combine(directory, $".{Environment.ProcessId:x}.sock");
        File.Delete(temporary);
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Bind(new UnixDomainSocketEndPoint(temporary));
            if (settings.GroupId is { } gid)
            {
                UnixGroups.ChangeGroup(temporary, gid);
                File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite);
            }
            else
            {
                File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }

            socket.Listen(MaxClients);
            if (FileIdentity.IsSocket(path) == true)
            {
                Replacing(path);
            }

            File.Move(temporary, path, overwrite: true);
            _inode = FileIdentity.InodeOf(path);
            return socket;
        }
        catch
        {
            socket.Dispose();
            File.Delete(temporary);
            throw;
        }
    }

    private async Task ServeAsync(Socket client, CancellationToken stoppingToken)
    {
        try
        {
            using (client)
            using (var deadline = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken))
            {
                deadline.CancelAfter(RequestTimeout);
                var request = await ReadLineAsync(client, deadline.Token);
                var reply = request switch
                {
                    "status" or "" => StatusJson.Write(source.Read()),
                    "release" or "release --keep" => await ReleaseReply.AnswerAsync(source, request.EndsWith("--keep", StringComparison.Ordinal), deadline.Token),
                    null => null,
                    _ => Encoding.UTF8.GetBytes($"error: unknown request '{request}' (this daemon answers: status, release, release --keep)\n"),
                };
                if (reply is not null)
                {
                    await client.SendAsync(reply, SocketFlags.None, deadline.Token);
                    client.Shutdown(SocketShutdown.Send);
                }
            }
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException or ObjectDisposedException or IOException)
        {
            // A client that went away or never spoke: nothing to answer.
        }
        finally
        {
            try
            {
                _clients.Release();
            }
            catch (ObjectDisposedException)
            {
                // The host disposed the server while this client was served: nothing is left to release to.
            }
        }
    }

    /// <summary>The request line, without its newline; "" for a client that only shut its side; null when nothing
    /// sensible arrived (too long, or the connection broke).</summary>
    private static async Task<string?> ReadLineAsync(Socket client, CancellationToken token)
    {
        var buffer = new byte[MaxRequestBytes];
        var used = 0;
        while (used < buffer.Length)
        {
            var n = await client.ReceiveAsync(buffer.AsMemory(used), SocketFlags.None, token);
            if (n == 0)
            {
                break;
            }

            var newline = Array.IndexOf(buffer, (byte)'\n', used, n);
            used += n;
            if (newline >= 0)
            {
                return Encoding.UTF8.GetString(buffer, 0, newline).Trim();
            }
        }

        return used < buffer.Length ? Encoding.UTF8.GetString(buffer, 0, used).Trim() : null;
    }

    private void RemoveIfOurs()
    {
        try
        {
            if (_inode is { } mine && FileIdentity.InodeOf(path) == mine)
            {
                File.Delete(path);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            CannotRemove(path, ex.Message);
        }
    }

    public override void Dispose()
    {
        _clients.Dispose();
        base.Dispose();
    }

    [LoggerMessage(EventId = 9201, Level = LogLevel.Information, Message = "status socket {Path} ({Mode}): sersyncd status answers here")]
    private partial void Listening(string path, string mode);

    [LoggerMessage(EventId = 9202, Level = LogLevel.Error, Message = "status socket {Path}: cannot listen ({Reason}); mirroring goes on, but sersyncd status will not answer")]
    private partial void CannotListen(string path, string reason);

    [LoggerMessage(EventId = 9203, Level = LogLevel.Warning, Message = "status socket {Path}: accept failed: {Reason}")]
    private partial void AcceptFailed(string path, string reason);

    [LoggerMessage(EventId = 9204, Level = LogLevel.Warning, Message = "status socket {Path} existed (an instance that did not stop cleanly, or another one on the same name): replaced")]
    private partial void Replacing(string path);

    [LoggerMessage(EventId = 9205, Level = LogLevel.Warning, Message = "status socket {Path}: cannot remove it at stop: {Reason}")]
    private partial void CannotRemove(string path, string reason);
}
