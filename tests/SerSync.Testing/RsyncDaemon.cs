using System.Text;
using SerSync.Configuration;
using SerSync.Rsync;

namespace SerSync.Testing;

/// <summary>
/// A real <c>rsync --daemon --no-detach</c> on 127.0.0.1 and a port of its own, with its config, secrets, pid and log
/// files in a temp directory. Add modules, then <see cref="Start"/>. It is stopped only by PID (SIGKILL to it and its
/// connection children) and can be started again on the same port, for fault tests.
/// </summary>
public sealed class RsyncDaemon : IDisposable, IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(20);
    private readonly TempDirectory _dir = new("sersync-rsyncd-");
    private readonly List<Module> _modules = [];
    private readonly bool _portChosenByUs;
    private BackgroundProcess? _process;
    private int _clientPasswordFiles;
    private bool _disposed;

    /// <param name="port">A fixed port, or null to pick a free one (re-picked if it is taken before the first start).</param>
    public RsyncDaemon(int? port = null)
    {
        _portChosenByUs = port is null;
        Port = port ?? FreePort.Pick();
    }

    public int Port { get; private set; }

    /// <summary>PID of the running daemon; throws when it is not running.</summary>
    public int Pid => _process is { HasExited: false } p ? p.Pid : throw new InvalidOperationException("the rsync daemon is not running");

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>The temp directory holding the daemon's files (not the modules' paths).</summary>
    public string Directory => _dir.Path;

    /// <summary><c>use chroot = yes</c> (root only), as a stock rsyncd.conf has it: the receiver sees the module as /.</summary>
    public bool UseChroot { get; init; }

    public string ConfigPath => Path.Combine(_dir.Path, "rsyncd.conf");

    public string LogPath => Path.Combine(_dir.Path, "rsyncd.log");

    public string PidFilePath => Path.Combine(_dir.Path, "rsyncd.pid");

    public string SecretsPath => Path.Combine(_dir.Path, "rsyncd.secrets");

    /// <summary>The daemon's log file so far (empty if none yet).</summary>
    public string ReadLog() => File.Exists(LogPath) ? File.ReadAllText(LogPath) : string.Empty;

    /// <summary>Adds a module; call before <see cref="Start"/> (or between <see cref="Kill"/> and Start). With
    /// <paramref name="authUser"/> the module requires that user and <paramref name="password"/>; with
    /// <paramref name="tempDir"/> the receiver writes its temporary files there (<c>temp dir</c>) instead of beside
    /// each file: a path inside the module (the daemon puts the module's path in front, even of an absolute one),
    /// which must exist.</summary>
    public RsyncDaemon AddModule(string name, string path, string? authUser = null, string? password = null, bool readOnly = false, string? tempDir = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if ((authUser is null) != (password is null))
        {
            throw new ArgumentException("authUser and password go together");
        }

        if (name.IndexOfAny(['[', ']', '\n', '/']) >= 0 || path.Contains('\n', StringComparison.Ordinal) || tempDir?.Contains('\n', StringComparison.Ordinal) == true || authUser?.IndexOfAny([':', '\n', ',', ' ']) >= 0)
        {
            throw new ArgumentException("module name, path or user cannot be written into rsyncd.conf");
        }

        if (IsRunning)
        {
            throw new InvalidOperationException("add modules before Start()");
        }

        _modules.Add(new Module(name, Path.GetFullPath(path), authUser, password, readOnly, tempDir));
        return this;
    }

    /// <summary>The rsync daemon destination for sersync-style pushes: <c>user@127.0.0.1::module</c> (pass
    /// <c>--port=</c><see cref="Port"/> too).</summary>
    public static string Destination(string module, string? user = null) =>
        user is null ? $"127.0.0.1::{module}" : $"{user}@127.0.0.1::{module}";

    /// <summary>The URL form, <c>rsync://user@127.0.0.1:PORT/module/</c>.</summary>
    public string Url(string module, string? user = null) =>
        user is null ? $"rsync://127.0.0.1:{Port}/{module}/" : $"rsync://{user}@127.0.0.1:{Port}/{module}/";

    /// <summary>Writes a client password file (mode 0600) for <c>--password-file</c> and returns its path.</summary>
    public string WriteClientPasswordFile(string password)
    {
        ArgumentNullException.ThrowIfNull(password);
        var path = Path.Combine(_dir.Path, $"client-{Interlocked.Increment(ref _clientPasswordFiles)}.password");
        WritePrivateFile(path, password + "\n");
        return path;
    }

    /// <summary>A sync target for <paramref name="module"/> on this daemon (127.0.0.1, its port), authenticated as
    /// <paramref name="user"/> through a fresh client password file.</summary>
    /// <param name="timeoutSeconds">rsync's I/O timeout; null keeps the stock (off, so the 300 s default applies).</param>
    public SyncTarget TargetFor(string root, string module, string user, string password, string commonParams = "-az", int? timeoutSeconds = 30) =>
        new(
            root,
            new RemoteConfig(RemoteKind.RsyncDaemon, "127.0.0.1", module, null, 1),
            RsyncConfig.Stock with
            {
                CommonParams = [commonParams],
                Auth = new AuthConfig(true, user, WriteClientPasswordFile(password)),
                Port = new SwitchedNumber(true, Port),
                Timeout = timeoutSeconds is { } t ? new SwitchedNumber(true, t) : RsyncConfig.Stock.Timeout,
            },
            Delete: true);

    /// <summary>Writes the config and starts the daemon; returns once the port accepts connections. Throws with the
    /// daemon's output and log when it exits or does not listen in time.</summary>
    public RsyncDaemon Start()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (IsRunning)
        {
            throw new InvalidOperationException("the rsync daemon is already running");
        }

        _process?.Dispose();
        _process = null;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                StartOnce();
                return this;
            }
            catch (InvalidOperationException e) when (_portChosenByUs && attempt < 5 && e.Message.Contains("Address already in use", StringComparison.Ordinal))
            {
                Port = FreePort.Pick(); // lost a race for the port before we ever listened on it
            }
        }
    }

    /// <summary>SIGKILLs the daemon (and its connection children) by PID and waits for it to exit.</summary>
    public void Kill()
    {
        _process?.Kill();
    }

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

    private void StartOnce()
    {
        WriteConfig();
        File.Delete(PidFilePath); // rsync creates it with O_EXCL: a SIGKILLed daemon leaves it behind
        var process = BackgroundProcess.Start("rsync",
        [
            "--daemon",
            "--no-detach",
            "--address=127.0.0.1",
            $"--port={Port}",
            $"--config={ConfigPath}",
            $"--log-file={LogPath}",
        ]);
        var deadline = DateTime.UtcNow + StartTimeout;
        if (FreePort.WaitForListeningBy(process.Pid, Port, deadline, () => process.HasExited) && !process.HasExited)
        {
            _process = process;
            return;
        }

        var exited = process.HasExited;
        process.Dispose();
        throw new InvalidOperationException(
            $"rsync daemon on port {Port} {(exited ? "exited during start" : "did not listen within " + StartTimeout.TotalSeconds + " s")}\n" +
            $"output:\n{process.Output}\nlog:\n{ReadLog()}");
    }

    private void WriteConfig()
    {
        var conf = new StringBuilder();
        conf.AppendLine("# written by the sersync tests");
        conf.AppendLine(UseChroot ? "use chroot = yes" : "use chroot = no");
        conf.AppendLine($"uid = {CurrentIds.UserName}");
        conf.AppendLine($"gid = {CurrentIds.GroupName}");
        conf.AppendLine($"pid file = {PidFilePath}");
        conf.AppendLine("max connections = 0");
        conf.AppendLine("reverse lookup = no");
        // With chroot off rsync defaults to munging symlinks ("/rsyncd-munged/" prefix); a mirror must keep them.
        conf.AppendLine("munge symlinks = no");
        var secrets = new StringBuilder();
        foreach (var m in _modules)
        {
            conf.AppendLine();
            conf.AppendLine($"[{m.Name}]");
            conf.AppendLine($"    path = {m.Path}");
            conf.AppendLine($"    read only = {(m.ReadOnly ? "yes" : "no")}");
            conf.AppendLine("    list = yes");
            if (m.TempDir is not null)
            {
                conf.AppendLine($"    temp dir = {m.TempDir}");
            }
            if (m.AuthUser is not null)
            {
                conf.AppendLine($"    auth users = {m.AuthUser}");
                conf.AppendLine($"    secrets file = {SecretsPath}");
                conf.AppendLine("    strict modes = yes");
                secrets.Append(m.AuthUser).Append(':').Append(m.Password).Append('\n');
            }
        }

        File.WriteAllText(ConfigPath, conf.ToString());
        File.Delete(SecretsPath);
        WritePrivateFile(SecretsPath, secrets.ToString());
    }

    /// <summary>Creates a file with mode 0600 from the start (never briefly readable by others).</summary>
    public static void WritePrivateFile(string path, string content)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("Linux only");
        }

        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        };
        using var stream = new FileStream(path, options);
        var bytes = Encoding.UTF8.GetBytes(content);
        stream.Write(bytes);
    }

    private sealed record Module(string Name, string Path, string? AuthUser, string? Password, bool ReadOnly, string? TempDir);
}

/// <summary>The user and group this test process runs as (root in CI).</summary>
public static class CurrentIds
{
    private static readonly Lazy<string> Group = new(() => ChildProcess.Run("id", ["-gn"]).StandardOutput.Trim());

    public static string UserName => Environment.UserName;

    public static string GroupName => Group.Value;
}
