using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace SerSync.Daemon;

/// <summary>
/// The parent half of <c>-d</c> outside systemd: starts a detached copy of this program (see
/// <see cref="Detachment"/>), waits until it reports READY=1 over a private notify socket, and returns 0; if the
/// copy exits first, returns its exit status so a failed start is never reported as success.
/// </summary>
public static class Daemonizer
{
    public static int Detach(IReadOnlyList<string> args, string logFile, TextWriter stderr)
    {
        // Linux: an abstract socket name (nothing on disk to clean up). Elsewhere there are none: a socket file in a
        // directory of our own under the temporary directory, short enough for sun_path (104 bytes on macOS).
        var name = $"sersyncd-detach-{Environment.ProcessId}-{Guid.NewGuid():N}";
        string? directory = null;
        string notifySocket;
        using var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        if (OperatingSystem.IsLinux())
        {
            socket.Bind(new UnixDomainSocketEndPoint("\0" + name));
            notifySocket = "@" + name;
        }
        else
        {
            directory = Directory.CreateTempSubdirectory("sersyncd-").FullName;
            notifySocket = Path.Combine(directory, "ready");
            socket.Bind(new UnixDomainSocketEndPoint(notifySocket));
        }

        try
        {
            return Run(args, logFile, stderr, socket, notifySocket);
        }
        finally
        {
            if (directory is not null)
            {
                try
                {
                    Directory.Delete(directory, recursive: true);
                }
                catch (IOException)
                {
                }
            }
        }
    }

    private static int Run(IReadOnlyList<string> args, string logFile, TextWriter stderr, Socket socket, string notifySocket)
    {

        var psi = new ProcessStartInfo(Environment.ProcessPath!)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var entry = Environment.GetCommandLineArgs()[0];
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet" && entry.EndsWith(".dll", StringComparison.Ordinal))
        {
            psi.ArgumentList.Add(entry);
        }

        foreach (var arg in args)
        {
            psi.ArgumentList.Add(arg);
        }

        psi.Environment["NOTIFY_SOCKET"] = notifySocket;
        psi.Environment[Detachment.MarkerVariable] = "1";
        psi.Environment.Remove("INVOCATION_ID");

        using var child = Process.Start(psi)!;
        var buffer = new byte[4096];
        while (true)
        {
            if (socket.Poll(200_000, SelectMode.SelectRead))
            {
                var n = socket.Receive(buffer);
                var message = Encoding.UTF8.GetString(buffer, 0, n);
                if (message.Split('\n').Contains("READY=1"))
                {
                    stderr.WriteLine($"sersyncd: running in the background as PID {child.Id}; log: {logFile}");
                    return 0;
                }
            }
            else if (child.HasExited)
            {
                stderr.WriteLine($"sersyncd: the daemon exited during start-up with status {child.ExitCode}; see {logFile}");
                return child.ExitCode == 0 ? 1 : child.ExitCode;
            }
        }
    }
}
