// Implementation notes. A probe says whether a target's far end is there at all, not whether rsync will succeed:
// a TCP connect that completes (the kernel on the far side answered the SYN with a SYN-ACK, so a listener is bound
// to the port) or a directory that exists. A stopped daemon answers the SYN with a RST (connection refused: at
// once); a dropped link answers nothing, so the connect must have its own short timeout (the kernel would retransmit
// the SYN at 1, 3, 7, 15 s ... for about two minutes). A probe in flight is never joined by a second one: a caller
// that asks again before the first has ended is told "no answer" (a hung NFS mount keeps its thread, not more).
// The probe connects and closes without a byte: an rsync daemon logs one "connect from" line per probe, which is
// why the worker probes only while it waits to retry, and stops once the target has answered.
using System.Net.Sockets;
using SerSync.Configuration;
using SerSync.Rsync;

namespace SerSync.Targets;

/// <summary>Whether a target's far end answers: cheap, bounded by its own timeout, never throwing.</summary>
public interface IReachabilityProbe
{
    /// <summary>For logs: what is probed (<c>host:port</c>, a directory).</summary>
    string Endpoint { get; }

    /// <summary>True when the target answered within the probe's timeout; false otherwise (refused, timed out,
    /// unresolvable, missing, or a previous probe still running).</summary>
    Task<bool> AnswersAsync(CancellationToken cancellationToken);
}

/// <summary>The real probes, one per target kind, and where they point.</summary>
public static class ReachabilityProbe
{
    /// <summary>How long a probe waits for an answer. A SYN-ACK comes back within a round trip; a connect that has
    /// not completed in this time is a link that drops packets (its SYN is retransmitted only after 1 s).</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromMilliseconds(500);

    public const int RsyncDaemonDefaultPort = 873;
    public const int SshDefaultPort = 22;

    /// <summary>The probe for <paramref name="target"/>: a TCP connect to its daemon's or ssh's port, or its
    /// directory's existence.</summary>
    public static IReachabilityProbe For(SyncTarget target, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(target);
        return target.Remote.Kind == RemoteKind.LocalDirectory
            ? new DirectoryProbe(target.Remote.Path!, Timeout, time)
            : new TcpProbe(HostOf(target), PortOf(target), Timeout, time);
    }

    /// <summary>The TCP port rsync reaches the target on: <c>userDefinedPort</c> or 873 for a daemon; for ssh, the
    /// port the ssh command gives (<c>-p N</c>, <c>-oPort=N</c>), else <c>&lt;ssh port&gt;</c>, else 22. (ssh's own config files may say otherwise;
    /// the probe then never answers and the target keeps its plain backoff.)</summary>
    public static int PortOf(SyncTarget target)
    {
        ArgumentNullException.ThrowIfNull(target);
        return target.Remote.Kind switch
        {
            RemoteKind.RsyncDaemon => target.Rsync.Port.Enabled ? target.Rsync.Port.Value : RsyncDaemonDefaultPort,
            RemoteKind.Ssh => SshPort(target.Rsync.SshCommand) ?? target.Rsync.SshPort ?? SshDefaultPort,
            _ => 0,
        };
    }

    /// <summary>The host part of <c>ip</c>: without a <c>user@</c> and without IPv6 brackets.</summary>
    public static string HostOf(SyncTarget target)
    {
        ArgumentNullException.ThrowIfNull(target);
        var host = target.Remote.Ip ?? string.Empty;
        var at = host.LastIndexOf('@');
        if (at >= 0)
        {
            host = host[(at + 1)..];
        }

        return host.StartsWith('[') && host.EndsWith(']') ? host[1..^1] : host;
    }

    /// <summary>The first port an ssh command line gives (ssh keeps the first value it obtains); null when none.</summary>
    public static int? SshPort(string sshCommand)
    {
        if (!CommonParamsSplitter.TrySplit(sshCommand, out var words, out _))
        {
            return null;
        }

        for (var i = 1; i < words.Count; i++)
        {
            var word = words[i];
            if (word.Length < 2 || word[0] != '-')
            {
                return null; // the options end where ssh's would (a host or a command)
            }

            var flag = word[1];
            var value = word.Length > 2 ? word[2..] : i + 1 < words.Count ? words[i + 1] : null;
            var separate = word.Length == 2;
            if (flag == 'p' && int.TryParse(value, out var port) && port is > 0 and < 65536)
            {
                return port;
            }

            if (flag == 'o' && value is not null && PortOption(value) is { } optionPort)
            {
                return optionPort;
            }

            if (separate && OptionsWithArgument.Contains(flag))
            {
                i++; // the option's argument is not an option of its own ("-i -p" names a key file "-p")
            }
        }

        return null;
    }

    /// <summary>ssh(1) options that take an argument.</summary>
    private const string OptionsWithArgument = "BbcDEeFIiJLlmOoPpQRSWw";

    /// <summary><c>Port=N</c> or <c>Port N</c>, the keyword in any case.</summary>
    private static int? PortOption(string option)
    {
        const string keyword = "Port";
        if (option.Length <= keyword.Length || !option.StartsWith(keyword, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var rest = option[keyword.Length..].TrimStart();
        rest = rest.StartsWith('=') ? rest[1..].Trim() : rest.Trim();
        return int.TryParse(rest, out var port) && port is > 0 and < 65536 ? port : null;
    }

    /// <summary>Runs <paramref name="probe"/> unless one is still running, within <paramref name="timeout"/>.</summary>
    private sealed class Single(TimeSpan timeout, TimeProvider time)
    {
        private Task<bool>? _running;

        public async Task<bool> RunAsync(Func<CancellationToken, Task<bool>> probe, CancellationToken cancellationToken)
        {
            if (_running is { IsCompleted: false })
            {
                return false; // the last one has not ended: no second one beside it
            }

            // The timeout's token lives as long as the probe, not as this wait: a connect told to stop only when
            // it is late must still be told after the caller has moved on.
            var bound = new CancellationTokenSource(timeout, time);
            var linked = CancellationTokenSource.CreateLinkedTokenSource(bound.Token, cancellationToken);
            var running = probe(linked.Token);
            _running = running;
            _ = running.ContinueWith(
                _ =>
                {
                    linked.Dispose();
                    bound.Dispose();
                },
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
            try
            {
                return await running.WaitAsync(timeout, time, cancellationToken);
            }
            catch (TimeoutException)
            {
                return false;
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return false;
            }
        }
    }

    private sealed class TcpProbe(string host, int port, TimeSpan timeout, TimeProvider time) : IReachabilityProbe
    {
        private readonly Single _single = new(timeout, time);

        public string Endpoint => host.Contains(':', StringComparison.Ordinal) ? $"[{host}]:{port}" : $"{host}:{port}";

        public Task<bool> AnswersAsync(CancellationToken cancellationToken) => _single.RunAsync(ConnectAsync, cancellationToken);

        private async Task<bool> ConnectAsync(CancellationToken token)
        {
            try
            {
                // Dual-mode: a name or an address of either family; the connect tries each address the name has.
                using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
                await socket.ConnectAsync(host, port, token);
                return true;
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException or IOException or ArgumentException or NotSupportedException)
            {
                return false;
            }
        }
    }

    private sealed class DirectoryProbe(string path, TimeSpan timeout, TimeProvider time) : IReachabilityProbe
    {
        private readonly Single _single = new(timeout, time);

        public string Endpoint => path;

        // On a thread of its own: a stat on a hung network mount blocks until the mount answers.
        public Task<bool> AnswersAsync(CancellationToken cancellationToken) =>
            _single.RunAsync(_ => Task.Run(() => Directory.Exists(path), CancellationToken.None), cancellationToken);
    }
}
