using System.Text;

namespace SerSync.Testing;

/// <summary>
/// A real OpenSSH server (<c>/usr/sbin/sshd -D -e</c>) on 127.0.0.1 and a port of its own, with a generated host key,
/// a generated client key allowed in its own authorized_keys, and its config in a temp directory. Logs in as the
/// current user (root in CI). Stopped only by PID.
/// </summary>
public sealed class SshServer : IDisposable, IAsyncDisposable
{
    public const string SshdPath = "/usr/sbin/sshd";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(20);
    private readonly TempDirectory _dir = new("sersync-sshd-");
    private BackgroundProcess? _process;
    private bool _disposed;

    /// <summary>Generates the keys and config and starts sshd; returns once the port accepts connections.</summary>
    public SshServer()
    {
        try
        {
            if (_dir.Path.Any(char.IsWhiteSpace))
            {
                throw new InvalidOperationException($"temp directory {_dir.Path} contains whitespace: rsync -e splits on it");
            }

            HostKeyPath = Path.Combine(_dir.Path, "ssh_host_ed25519_key");
            ClientKeyPath = Path.Combine(_dir.Path, "client_ed25519");
            AuthorizedKeysPath = Path.Combine(_dir.Path, "authorized_keys");
            ConfigPath = Path.Combine(_dir.Path, "sshd_config");
            GenerateKey(HostKeyPath);
            GenerateKey(ClientKeyPath);
            RsyncDaemon.WritePrivateFile(AuthorizedKeysPath, File.ReadAllText(ClientKeyPath + ".pub"));
            EnsurePrivilegeSeparationDirectory();
            Start();
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public int Port { get; private set; }

    public int Pid => _process is { HasExited: false } p ? p.Pid : throw new InvalidOperationException("sshd is not running");

    /// <summary>The user tests log in as: the current user.</summary>
    public string User { get; } = CurrentIds.UserName;

    public string HostKeyPath { get; }

    /// <summary>Private key (no passphrase) accepted by this server.</summary>
    public string ClientKeyPath { get; }

    public string AuthorizedKeysPath { get; }

    public string ConfigPath { get; }

    /// <summary>sshd's stdout/stderr so far (LogLevel ERROR).</summary>
    public string Output => _process?.Output ?? string.Empty;

    /// <summary>argv for <c>ssh</c> reaching this server, without the destination.</summary>
    public IReadOnlyList<string> SshArguments =>
    [
        "-p", Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "-i", ClientKeyPath,
        "-o", "IdentitiesOnly=yes",
        "-o", "StrictHostKeyChecking=no",
        "-o", "UserKnownHostsFile=/dev/null",
        "-o", "BatchMode=yes",
        "-o", "LogLevel=ERROR",
    ];

    /// <summary>The remote shell for <c>rsync -e</c>: "ssh -p P -i KEY -o ...".</summary>
    public string SshCommand => "ssh " + string.Join(' ', SshArguments);

    /// <summary>An rsync-over-ssh destination: <c>user@127.0.0.1:path</c>.</summary>
    public string Destination(string remotePath) => $"{User}@127.0.0.1:{remotePath}";

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        try
        {
            _process?.Dispose();
        }
        finally
        {
            _dir.Dispose();
        }
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    private static void GenerateKey(string path)
    {
        var result = ChildProcess.Run("ssh-keygen", ["-q", "-t", "ed25519", "-N", string.Empty, "-C", "sersync-test", "-f", path]);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"ssh-keygen failed: {result}");
        }
    }

    private static void EnsurePrivilegeSeparationDirectory()
    {
        // Debian's sshd refuses to start without it; systemd creates it on a normal host, containers lack it.
        if (!System.IO.Directory.Exists("/run/sshd") && !OperatingSystem.IsWindows())
        {
            System.IO.Directory.CreateDirectory("/run/sshd", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
                UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        }
    }

    private void Start()
    {
        for (var attempt = 1; ; attempt++)
        {
            Port = FreePort.Pick();
            WriteConfig();
            var process = BackgroundProcess.Start(SshdPath, ["-D", "-e", "-f", ConfigPath]);
            if (FreePort.WaitForListeningBy(process.Pid, Port, DateTime.UtcNow + StartTimeout, () => process.HasExited) && !process.HasExited)
            {
                _process = process;
                return;
            }

            var exited = process.HasExited;
            process.Dispose();
            var output = process.Output;
            if (attempt < 5 && output.Contains("Address already in use", StringComparison.Ordinal))
            {
                continue; // lost a race for the port
            }

            throw new InvalidOperationException(
                $"sshd on port {Port} {(exited ? "exited during start" : "did not listen within " + StartTimeout.TotalSeconds + " s")}\noutput:\n{output}");
        }
    }

    private void WriteConfig()
    {
        var lines = new List<string>
        {
            "# written by the sersync tests",
            "ListenAddress 127.0.0.1",
            $"Port {Port}",
            $"HostKey {HostKeyPath}",
            $"AuthorizedKeysFile {AuthorizedKeysPath}",
            $"PidFile {Path.Combine(_dir.Path, "sshd.pid")}",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PubkeyAuthentication yes",
            "PermitRootLogin prohibit-password",
            "StrictModes no",
            "UsePAM no",
            "UseDNS no",
            "PrintMotd no",
            "LogLevel ERROR",
            "MaxStartups 200",
            "MaxSessions 100",
            // OpenSSH 9.8+ refuses a source address for a while after connections it counts as misbehaving (our
            // port probe is one); everything here comes from 127.0.0.1, so turn that off where it exists.
            "PerSourcePenalties no",
        };
        File.WriteAllText(ConfigPath, string.Join('\n', lines) + "\n");
        var test = ChildProcess.Run(SshdPath, ["-t", "-f", ConfigPath]);
        if (test.ExitCode != 0 && test.StandardError.Contains("PerSourcePenalties", StringComparison.Ordinal))
        {
            lines.RemoveAt(lines.Count - 1); // older sshd: no such option
            File.WriteAllText(ConfigPath, string.Join('\n', lines) + "\n");
            test = ChildProcess.Run(SshdPath, ["-t", "-f", ConfigPath]);
        }

        if (test.ExitCode != 0)
        {
            throw new InvalidOperationException($"sshd -t rejects {ConfigPath}: {test}\nconfig:\n{File.ReadAllText(ConfigPath, Encoding.UTF8)}");
        }
    }
}
