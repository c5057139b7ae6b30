using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using SerSync.Testing;

namespace SerSync.IntegrationTests.EndToEnd;

/// <summary>
/// The built <c>sersyncd</c> run as a real process: argv only (never a shell), a test-owned <c>NOTIFY_SOCKET</c>
/// (a unix datagram socket bound in a temp directory and read on a background task, every message recorded), stdout
/// and stderr captured. Stopped with SIGTERM by PID; disposed with SIGKILL by PID if still running.
/// </summary>
public sealed partial class DaemonProcess : IDisposable, IAsyncDisposable
{
    public static readonly TimeSpan DefaultStopTimeout = TimeSpan.FromSeconds(60);

    private const int SIGTERM = 15;
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(20);
    private readonly Process _process;
    private readonly TempDirectory _dir = new("sersync-e2e-notify-");
    private readonly Socket? _notify;
    private readonly Task _notifyReader = Task.CompletedTask;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<string> _messages = [];
    private readonly List<TimeSpan> _messageTimes = [];
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private bool _disposed;

    private DaemonProcess(IReadOnlyList<string> arguments, bool withNotifySocket, IReadOnlyDictionary<string, string>? environment, IReadOnlyList<string>? runAs = null)
    {
        Arguments = arguments;
        if (withNotifySocket)
        {
            NotifySocketPath = Path.Combine(_dir.Path, "notify.sock");
            _notify = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
            _notify.Bind(new UnixDomainSocketEndPoint(NotifySocketPath));
            _notifyReader = Task.Run(ReadNotificationsAsync);
        }

        var (fileName, prefix) = Locate();
        if (runAs is not null)
        {
            // setpriv execs the daemon: the PID is the daemon's.
            (fileName, prefix) = ("setpriv", [.. runAs, "--", fileName, .. prefix]);
        }

        var psi = ChildProcess.StartInfo(fileName, [.. prefix, .. arguments], _dir.Path);
        // Whatever started the tests (systemd, a CI agent) must not leak its notify socket or unit into the daemon.
        psi.Environment.Remove("NOTIFY_SOCKET");
        psi.Environment.Remove("INVOCATION_ID");
        psi.Environment.Remove("SERSYNCD_DETACHED");
        // The daemon raises system-wide inotify limits as root; a test must not leave a kernel setting changed, so only
        // the tests about it (which restore them) let it, by passing SERSYNCD_RAISE_INOTIFY_LIMITS=1.
        psi.Environment["SERSYNCD_RAISE_INOTIFY_LIMITS"] = "0";
        if (NotifySocketPath is not null)
        {
            psi.Environment["NOTIFY_SOCKET"] = NotifySocketPath;
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            psi.Environment[key] = value;
        }

        _process = new Process { StartInfo = psi };
        _process.OutputDataReceived += (_, e) => Append(_stdout, e.Data);
        _process.ErrorDataReceived += (_, e) => Append(_stderr, e.Data);
        if (!_process.Start())
        {
            throw new InvalidOperationException($"could not start {fileName}");
        }

        Pid = _process.Id;
        _process.StandardInput.Close();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public IReadOnlyList<string> Arguments { get; }

    public int Pid { get; }

    /// <summary>The NOTIFY_SOCKET given to the daemon, or null when started without one.</summary>
    public string? NotifySocketPath { get; }

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public string StandardOutput => Read(_stdout);

    public string StandardError => Read(_stderr);

    /// <summary>Every datagram received on the notify socket, in order.</summary>
    public IReadOnlyList<string> Messages
    {
        get
        {
            lock (_messages)
            {
                return [.. _messages];
            }
        }
    }

    /// <summary>Every datagram with when it arrived (since the process was started), in order.</summary>
    public IReadOnlyList<(TimeSpan At, string Message)> TimedMessages
    {
        get
        {
            lock (_messages)
            {
                return [.. _messageTimes.Zip(_messages)];
            }
        }
    }

    /// <summary>When each WATCHDOG=1 arrived (since the process was started).</summary>
    public IReadOnlyList<TimeSpan> WatchdogPings =>
        [.. TimedMessages.Where(m => m.Message.Split('\n').Contains("WATCHDOG=1")).Select(m => m.At)];

    /// <summary>Every <c>KEY=value</c> line of every message, in order.</summary>
    public IReadOnlyList<string> MessageLines => [.. Messages.SelectMany(m => m.Split('\n', StringSplitOptions.RemoveEmptyEntries))];

    public bool IsReady => MessageLines.Contains("READY=1");

    public bool StoppingReceived => MessageLines.Contains("STOPPING=1");

    /// <summary>The text of every STATUS= line, in order.</summary>
    public IReadOnlyList<string> StatusLines => [.. MessageLines.Where(l => l.StartsWith("STATUS=", StringComparison.Ordinal)).Select(l => l["STATUS=".Length..])];

    public string? LastStatus
    {
        get
        {
            var lines = StatusLines;
            return lines.Count == 0 ? null : lines[^1];
        }
    }

    /// <summary>A description for failure messages: argv, state, notifications and output.</summary>
    public string Describe() =>
        $"sersyncd {string.Join(' ', Arguments)} (PID {Pid}, {(HasExited ? "exited " + ExitCode : "running")})\n" +
        $"notifications:\n  {string.Join("\n  ", Messages.Select(m => m.Replace("\n", "\\n", StringComparison.Ordinal)))}\n" +
        $"stdout:\n{StandardOutput}\nstderr:\n{StandardError}";

    /// <summary>
    /// Where the daemon under test is: <c>SERSYNCD_BINARY</c> when set (CI points it at the NativeAOT
    /// <c>dist/sersyncd</c>, the binary that ships); else the JIT build, which sits next to the tests because the test
    /// project references the sersyncd project: the apphost when present, else <c>dotnet sersyncd.dll</c>.
    /// </summary>
    public static (string FileName, IReadOnlyList<string> Prefix) Locate()
    {
        if (Environment.GetEnvironmentVariable("SERSYNCD_BINARY") is { Length: > 0 } binary)
        {
            return File.Exists(binary)
                ? (Path.GetFullPath(binary), [])
                : throw new FileNotFoundException($"SERSYNCD_BINARY={binary}: no such file");
        }

        var dir = AppContext.BaseDirectory;
        var apphost = Path.Combine(dir, "sersyncd");
        var dll = Path.Combine(dir, "sersyncd.dll");
        if (File.Exists(apphost) && (File.GetUnixFileMode(apphost) & UnixFileMode.UserExecute) != 0)
        {
            return (apphost, []);
        }

        if (File.Exists(dll))
        {
            return ("dotnet", [dll]);
        }

        throw new FileNotFoundException($"the built sersyncd is not in {dir} (neither the apphost nor sersyncd.dll)");
    }

    /// <summary>Starts the daemon with <paramref name="arguments"/> and a NOTIFY_SOCKET of its own.</summary>
    public static DaemonProcess Start(params IReadOnlyList<string> arguments) => new(arguments, withNotifySocket: true, null);

    /// <summary>Starts the daemon with a NOTIFY_SOCKET of its own and more environment (WATCHDOG_USEC, a test hook).</summary>
    public static DaemonProcess Start(IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string> environment) =>
        new(arguments, withNotifySocket: true, environment);

    /// <summary>Starts the daemon as another user (setpriv --reuid/--regid --clear-groups), without NOTIFY_SOCKET (its
    /// socket is the test's, which that user cannot reach): files it uses must be that user's.</summary>
    public static DaemonProcess StartAsUser(int uid, int gid, params IReadOnlyList<string> arguments) =>
        new(arguments, withNotifySocket: false, null, [$"--reuid={uid}", $"--regid={gid}", "--clear-groups"]);

    /// <summary>Starts the daemon without NOTIFY_SOCKET (and without INVOCATION_ID) in its environment.</summary>
    public static DaemonProcess StartWithoutNotifySocket(IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string>? environment = null) =>
        new(arguments, withNotifySocket: false, environment);

    /// <summary>Runs a command that is expected to end by itself (<c>-t</c>, <c>--once</c>, <c>-d</c>'s parent) and
    /// returns the finished process; fails the test if it is still running after <paramref name="timeout"/>.</summary>
    public static Task<DaemonProcess> RunToExitAsync(IReadOnlyList<string> arguments, TimeSpan timeout, bool withNotifySocket = false) =>
        RunToExitAsync(arguments, timeout, null, withNotifySocket);

    /// <inheritdoc cref="RunToExitAsync(IReadOnlyList{string}, TimeSpan, bool)"/>
    public static async Task<DaemonProcess> RunToExitAsync(IReadOnlyList<string> arguments, TimeSpan timeout, IReadOnlyDictionary<string, string>? environment, bool withNotifySocket = false)
    {
        var daemon = new DaemonProcess(arguments, withNotifySocket, environment);
        try
        {
            await daemon.WaitForExitAsync(timeout);
            return daemon;
        }
        catch
        {
            await daemon.DisposeAsync();
            throw;
        }
    }

    /// <summary>Returns once READY=1 has arrived; fails with the captured output if the process exits first or the
    /// timeout passes.</summary>
    public async Task WaitForReadyAsync(TimeSpan timeout)
    {
        var ready = await Eventually.PollAsync(() => IsReady, r => r, timeout, abandon: () => HasExited, interval: Poll);
        if (ready.Reached)
        {
            return;
        }

        if (ready.Abandoned)
        {
            // The datagram may have been read just after the exit check: look once more.
            await Task.Delay(Poll);
            if (IsReady)
            {
                return;
            }

            Assert.Fail($"sersyncd exited before READY=1\n{Describe()}");
        }

        Assert.Fail($"no READY=1 within {timeout.TotalSeconds:0.#} s\n{Describe()}");
    }

    /// <summary>Waits (bounded) for the process to exit on its own and returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"sersyncd did not exit within {timeout.TotalSeconds:0.#} s\n{Describe()}");
        }

        return _process.ExitCode;
    }

    /// <summary>Sends SIGTERM by PID and waits (bounded) for the exit; asserts exit status 0 and that STOPPING=1 was
    /// received (when started with a notify socket).</summary>
    public async Task StopAsync(TimeSpan? timeout = null)
    {
        SendSignal(Pid, SIGTERM);
        var code = await WaitForExitAsync(timeout ?? DefaultStopTimeout);
        Assert.True(code == 0, $"sersyncd exited {code} after SIGTERM, expected 0\n{Describe()}");
        if (_notify is not null)
        {
            // Datagrams sent before the exit are queued on our socket; give the reader a moment to take them.
            await Eventually.TrueAsync(() => StoppingReceived, TimeSpan.FromSeconds(5), $"STOPPING=1 after SIGTERM\n{Describe()}");
        }
    }

    /// <summary>kill(2) by PID; throws unless it succeeded.</summary>
    public static void SendSignal(int pid, int signal = SIGTERM)
    {
        if (kill(pid, signal) != 0)
        {
            throw new InvalidOperationException($"kill({pid}, {signal}): {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        }
    }

    /// <summary>True while <paramref name="pid"/> names a process that has not exited (a zombie counts as gone).</summary>
    public static bool IsAlive(int pid)
    {
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return true;
        }

        // "pid (comm) S ...": the state follows the last ')'.
        var close = stat.LastIndexOf(')');
        return close < 0 || close + 2 >= stat.Length || stat[close + 2] is not ('Z' or 'X');
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
            if (!_process.HasExited)
            {
                ChildProcess.KillTree(_process, TimeSpan.FromSeconds(10));
            }
        }
        finally
        {
            _stop.Cancel();
            _notify?.Dispose();
            try
            {
                _notifyReader.Wait(TimeSpan.FromSeconds(5));
            }
            catch (AggregateException)
            {
                // The reader ends with the socket.
            }

            _process.Dispose();
            _stop.Dispose();
            _dir.Dispose();
        }
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int kill(int pid, int signal);

    private static void Append(StringBuilder sb, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (sb)
        {
            sb.AppendLine(line);
        }
    }

    private static string Read(StringBuilder sb)
    {
        lock (sb)
        {
            return sb.ToString();
        }
    }

    private async Task ReadNotificationsAsync()
    {
        var buffer = new byte[64 * 1024];
        while (!_stop.IsCancellationRequested)
        {
            int n;
            try
            {
                n = await _notify!.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            var message = Encoding.UTF8.GetString(buffer, 0, n);
            lock (_messages)
            {
                _messages.Add(message);
                _messageTimes.Add(_clock.Elapsed);
            }
        }
    }
}
