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
        var name = $"sersyncd-detach-{Environment.ProcessId}-{Guid.NewGuid():N}";
        using var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint("\0" + name));

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

        psi.Environment["NOTIFY_SOCKET"] = "@" + name;
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
