// Implementation notes. One OpenSSH connection kept open per ssh target (ControlMaster). The daemon starts the
// master itself (`ssh <user's words> -M -N -S SOCKET -o ControlPersist=no ... HOST`), as its own child with stdin on
// /dev/null and its output read by NativeChild; rsync's ssh and remote commands only join it (`-S SOCKET -o
// ControlMaster=no`). Why not ControlMaster=auto with ControlPersist inside rsync's own ssh: the master it forks
// would outlive rsync as nobody's child, with no PID to stop at shutdown, and (OpenSSH keeps stderr open in the
// forked master unless it was told otherwise) could keep rsync's stderr pipe open, so a runner waiting for end of
// file would wait for the master. With ControlMaster=no, a client whose socket is missing or dead (connect refused)
// just makes its own connection: a dead master costs a handshake, never a batch.
//
// Detection and replacement: the master is our child, so its exit is seen (Completion); every RsyncOption call asks
// for a master (Ensure) and starts a new one when none runs, at most once a second. A master whose peer vanished
// exits on its own through ServerAliveInterval. Before a master starts, its socket path is unlinked: ssh -M finding
// the path taken (a master killed by SIGKILL leaves it) would run without multiplexing.
//
// The socket lives in a directory private to the daemon (0700), under a short hashed name: sun_path holds 108 bytes
// and ssh binds "PATH.XXXXXXXXXXXXXXXX" (17 more) first. Each pipeline's connection gets its own name (the pid and
// a process-wide counter, then a hash of the target), so a reload or another instance never joins or removes
// someone else's, and a later start can tell the sockets of a dead instance (swept: its master asked to exit).
// Stop: `ssh -O exit` asks the master to end (it removes its socket), then the master is killed by PID if it has not
// gone within a bound, and the socket path is unlinked in any case.
using System.Text;
using Microsoft.Extensions.Logging;
using SerSync.Interop;
using SerSync.Paths;

namespace SerSync.Rsync;

/// <summary>The kept ssh connection of one target: its control socket and the master process the daemon owns.</summary>
public sealed partial class SshConnection : IDisposable
{
    /// <summary>The longest control path used (sun_path is 108 bytes with its NUL; ssh adds 17 while binding).</summary>
    public const int MaxControlPathBytes = 107 - 17;

    private static long _generation;

    private readonly Lock _gate = new();
    private readonly IReadOnlyList<string> _words;
    private readonly string _host;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _label;
    private NativeChild? _master;
    private long _lastStart = long.MinValue;
    private bool _stopped;

    /// <param name="words">The ssh program and the options rsync's ssh gets too (the user's command and the
    /// target's user/port/identity).</param>
    /// <param name="host">The host argument (<c>[user@]host</c>).</param>
    public SshConnection(string label, IReadOnlyList<string> words, string host, string controlPath, TimeProvider time, ILogger logger)
    {
        _label = label;
        _words = words;
        _host = host;
        ControlPath = controlPath;
        _time = time;
        _logger = logger;
    }

    /// <summary>The control socket's path.</summary>
    public string ControlPath { get; }

    /// <summary>The running master's PID, or null when none runs.</summary>
    public int? MasterPid
    {
        get
        {
            lock (_gate)
            {
                return _master is { } m && !m.Completion.IsCompleted ? m.Pid : null;
            }
        }
    }

    /// <summary>At most one master start in this interval: a host that refuses does not get a handshake per batch.</summary>
    public static TimeSpan RestartInterval { get; } = TimeSpan.FromSeconds(1);

    /// <summary>The options that make an ssh client join the master (and connect on its own when there is none).</summary>
    public IReadOnlyList<string> ClientOptions() => ["-o", "ControlPath=" + ControlPath, "-o", "ControlMaster=no"];

    /// <summary>Starts a master unless one runs, the connection is stopped, or the last start was under
    /// <see cref="RestartInterval"/> ago. Never waits for the handshake.</summary>
    public void Ensure()
    {
        lock (_gate)
        {
            if (_stopped || (_master is { } m && !m.Completion.IsCompleted))
            {
                return;
            }

            if (_lastStart != long.MinValue && _time.GetElapsedTime(_lastStart) < RestartInterval)
            {
                return;
            }

            _lastStart = _time.GetTimestamp();
            StartMasterLocked();
        }
    }

    /// <summary>Waits (bounded) until the master answers on its socket; false when it did not within
    /// <paramref name="timeout"/> or exited. For the pipeline start and tests.</summary>
    public async Task<bool> WaitReadyAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = _time.GetTimestamp();
        while (_time.GetElapsedTime(deadline) < timeout)
        {
            NativeChild? m;
            lock (_gate)
            {
                m = _master;
            }

            if (m is null || m.Completion.IsCompleted)
            {
                return false;
            }

            if (File.Exists(ControlPath))
            {
                return true;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(20), _time, cancellationToken);
        }

        return false;
    }

    private void StartMasterLocked()
    {
        var program = NativeChild.FindProgram(_words[0], Environment.GetEnvironmentVariable("PATH"));
        if (program is null)
        {
            MasterNotStarted(_logger, _label, $"{_words[0]} not found in PATH");
            return;
        }

        Unlink(ControlPath);
        List<string> argv =
        [
            .. _words,
            "-M", "-N", "-S", ControlPath,
            "-o", "ControlPersist=no", // a master that forks away would be nobody's child
            "-o", "BatchMode=yes", // a daemon has no one to answer a prompt
            "-o", "ServerAliveInterval=10",
            "-o", "ServerAliveCountMax=3",
            "-o", $"ConnectTimeout={RemoteShell.ConnectTimeoutSeconds}", // a host that is away holds no master attempt for TCP's minutes
            _host,
        ];
        try
        {
            var env = Processes.CommandRunner.BuildEnvironment([]);
            var master = NativeChild.Start(Encoding.UTF8.GetBytes(program), [.. argv.Select(Encoding.UTF8.GetBytes)], env, "/"u8.ToArray(), stdin: null, maxOutput: 4096);
            _master = master;
            MasterStarted(_logger, _label, master.Pid, ControlPath);
            var started = _time.GetTimestamp();
            _ = master.Completion.ContinueWith(t => Exited(master, t.Result, _time.GetElapsedTime(started)), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
        }
        catch (NativeSpawnException ex)
        {
            MasterNotStarted(_logger, _label, ex.Message);
        }
    }

    /// <summary>A master that lasted this long had a connection: its end is a warning. A shorter one did not get
    /// through (the host is away; the target's own retries say so already), logged at debug level only.</summary>
    private static readonly TimeSpan LastedLongEnough = TimeSpan.FromSeconds(15);

    private void Exited(NativeChild master, NativeChildExit exit, TimeSpan lasted)
    {
        bool stopped;
        bool current;
        lock (_gate)
        {
            stopped = _stopped;
            current = ReferenceEquals(_master, master);
        }

        if (!current)
        {
            return; // discarded on purpose (see Discard), already told
        }

        // A master that leaves its socket behind was up and was killed (ssh removes it on a clean exit, and binds it
        // only once logged in): replaced at once rather than on the next batch, which may be a long time coming.
        // One that never got through, or ended on its own (its peer gone), is replaced by the next batch's Ensure.
        if (!stopped && FileIdentity.IsSocket(ControlPath) == true)
        {
            _ = ReplaceSoonAsync();
        }

        if (!stopped)
        {
            var output = Encoding.UTF8.GetString(exit.Output).Trim().ReplaceLineEndings(" ");
            output = output.Length > 300 ? output[^300..] : output;
            if (lasted >= LastedLongEnough)
            {
                MasterExited(_logger, _label, master.Pid, exit.ExitCode, output);
            }
            else
            {
                MasterFailed(_logger, _label, master.Pid, exit.ExitCode, output);
            }
        }
    }

    private async Task ReplaceSoonAsync()
    {
        try
        {
            await Task.Delay(RestartInterval, _time).ConfigureAwait(false);
            Ensure();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>
    /// Ends the master now (by PID) and removes its socket, so the next client connects on its own and the next
    /// <see cref="Ensure"/> starts a fresh master at once. For a target that has just come back after its link was
    /// down: a master that lived through the outage is stuck in TCP's backed-off retransmission and would hold every
    /// client that joins it for seconds, where a new connection gets through at once.
    /// </summary>
    public void Discard()
    {
        NativeChild? master;
        lock (_gate)
        {
            if (_stopped)
            {
                return;
            }

            master = _master;
            _master = null;
            _lastStart = long.MinValue;
        }

        if (master is not null && !master.Completion.IsCompleted)
        {
            master.KillGroup();
            MasterDiscarded(_logger, _label, master.Pid);
        }

        Unlink(ControlPath);
    }

    /// <summary>Ends the master (<c>ssh -O exit</c>, then by PID after <paramref name="grace"/>) and removes the
    /// socket. No master is started afterwards.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        NativeChild? master;
        lock (_gate)
        {
            _stopped = true;
            master = _master;
        }

        if (master is not null && !master.Completion.IsCompleted)
        {
            var program = NativeChild.FindProgram(_words[0], Environment.GetEnvironmentVariable("PATH"));
            if (program is not null && File.Exists(ControlPath))
            {
                try
                {
                    List<string> argv = [_words[0], "-S", ControlPath, "-O", "exit", _host];
                    var ask = NativeChild.Start(Encoding.UTF8.GetBytes(program), [.. argv.Select(Encoding.UTF8.GetBytes)], [], "/"u8.ToArray(), stdin: null, maxOutput: 1024);
                    using var askBound = new CancellationTokenSource(grace, _time);
                    using var killAsk = askBound.Token.Register(ask.KillGroup);
                    await ask.Completion.ConfigureAwait(false);
                }
                catch (NativeSpawnException)
                {
                    // Killed below instead.
                }
            }

            using var bound = new CancellationTokenSource(grace, _time);
            using var kill = bound.Token.Register(master.KillGroup);
            await master.Completion.ConfigureAwait(false);
            MasterStopped(_logger, _label, master.Pid);
        }

        Unlink(ControlPath);
    }

    /// <summary>The synchronous last resort (a pipeline disposed without a stop): kill by PID, remove the socket.</summary>
    public void Dispose()
    {
        NativeChild? master;
        lock (_gate)
        {
            _stopped = true;
            master = _master;
        }

        master?.KillGroup();
        Unlink(ControlPath);
    }

    private static void Unlink(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Not there, or not ours to remove: a new master then runs without it and clients connect directly.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>The longest socket name <see cref="NewControlPath"/> makes (a pid of 8 hex digits and a counter of 4).</summary>
    public const int MaxNameBytes = 8 + 1 + 4 + 1 + 8;

    /// <summary>A control path for <paramref name="targetId"/> in <paramref name="directory"/>: the pid and a
    /// process-wide counter in hex (so a later start can tell a dead instance's socket), then 8 hex digits of a hash
    /// of the directory and the target.</summary>
    public static string NewControlPath(string directory, string targetId)
    {
        var n = Interlocked.Increment(ref _generation) & 0xffff;
        var name = $"{Environment.ProcessId:x}-{n:x}-{StableId.Of(directory + "\n" + targetId)[..8]}";
        return Path.Combine(directory, name);
    }

    /// <summary>The pid a socket name of <see cref="NewControlPath"/> was made by, or null for another name.</summary>
    public static int? OwnerOf(string name)
    {
        var dash = name.IndexOf('-', StringComparison.Ordinal);
        return dash > 0 && int.TryParse(name.AsSpan(0, dash), System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture, out var pid) ? pid : null;
    }

    /// <summary>Ends what a dead instance left in <paramref name="directory"/>: a master still serving a socket
    /// there (sersyncd killed outside systemd, which would have killed the master with it) is asked to exit, and
    /// the socket is removed. Sockets of live processes (this one's other pipelines, other instances sharing a
    /// fallback directory) are left alone.</summary>
    public static async Task SweepAsync(string directory, string sshProgram, TimeSpan grace)
    {
        foreach (var path in System.IO.Directory.EnumerateFileSystemEntries(directory))
        {
            if (OwnerOf(Path.GetFileName(path)) is not { } pid || pid == Environment.ProcessId || ProcessSession.IsAlive(pid))
            {
                continue;
            }

            if (FileIdentity.IsSocket(path) == true && NativeChild.FindProgram(sshProgram, Environment.GetEnvironmentVariable("PATH")) is { } program)
            {
                try
                {
                    // The host is not contacted: -S names the socket, so the name is only a placeholder.
                    var ask = NativeChild.Start(Encoding.UTF8.GetBytes(program), [.. new[] { sshProgram, "-S", path, "-O", "exit", "sersyncd-stale" }.Select(Encoding.UTF8.GetBytes)], [], "/"u8.ToArray(), stdin: null, maxOutput: 1024);
                    using var bound = new CancellationTokenSource(grace);
                    using var kill = bound.Token.Register(ask.KillGroup);
                    await ask.Completion.ConfigureAwait(false);
                }
                catch (NativeSpawnException)
                {
                    // Removed below all the same.
                }
            }

            Unlink(path);
        }
    }
}
