using System.Globalization;
using System.Net;
using System.Net.Sockets;
using SerSync.IntegrationTests.Faults;
using SerSync.Testing;

namespace SerSync.IntegrationTests.FanOut;

/// <summary>
/// Many rsync daemon targets: a real rsync daemon of its own per loopback target, each on 127.0.0.1 and a port of its
/// own (given to its <c>&lt;remote&gt;</c> by a per-target <c>&lt;rsync&gt;&lt;userDefinedPort&gt;</c>),
/// <see cref="NetnsRsyncHost"/>s listening on the shared <see cref="Port"/> inside their namespaces (other hosts,
/// behind veths), and optionally a hung listener on the first namespace link's host-side address and that port,
/// which accepts and never says a word (the hung target). Every target directory is under <see cref="Root"/>.
/// </summary>
public sealed class FanOutFleet : IAsyncDisposable
{
    public const string HungModule = "hung";
    private readonly List<NetnsRsyncHost> _hosts = [];
    private readonly List<(string Ip, int Port, string Module, string Directory)> _targets = [];
    private readonly List<RsyncDaemon> _loopback = [];
    private HungTcpListener? _hung;

    public FanOutFleet(string root, int loopbackTargets, int netnsTargets, bool withHungTarget)
    {
        Root = root;
        Port = FreePort.Pick();
        try
        {
            for (var i = 0; i < netnsTargets; i++)
            {
                var dir = Directory.CreateDirectory(Path.Combine(root, $"netns-{i:00}")).FullName;
                var host = new NetnsRsyncHost("mod", dir, Port);
                _hosts.Add(host);
                _targets.Add((host.Address, Port, "mod", dir));
            }

            for (var i = 0; i < loopbackTargets; i++)
            {
                var name = $"m{i:00}";
                var dir = Directory.CreateDirectory(Path.Combine(root, "loop-" + name)).FullName;
                var daemon = new RsyncDaemon();
                _loopback.Add(daemon);
                daemon.AddModule(name, dir);
                daemon.Start();
                _targets.Add(("127.0.0.1", daemon.Port, name, dir));
            }
            if (withHungTarget)
            {
                if (_hosts.Count == 0)
                {
                    throw new ArgumentException("the hung listener sits on a namespace link's host-side address: give at least one netns target");
                }

                _hung = new HungTcpListener(IPAddress.Parse(_hosts[0].HostAddress), Port);
                HungDestination = _hosts[0].HostAddress + "::" + HungModule;
            }
        }
        catch
        {
            Cleanup();
            throw;
        }
    }

    public string Root { get; }

    public int Port { get; }

    /// <summary>The hung target's rsync destination (the last word of its argv), or null without one.</summary>
    public string? HungDestination { get; }

    public int HungAccepted => _hung?.Accepted ?? 0;

    /// <summary>The healthy targets' directories (what each must equal).</summary>
    public IReadOnlyList<string> HealthyDirectories => [.. _targets.Select(t => t.Directory)];

    public int HealthyCount => _targets.Count;

    /// <summary>Adds every target (the healthy ones, then the hung one) to <paramref name="config"/>.</summary>
    public ConfigBuilder AddTargets(ConfigBuilder config)
    {
        ArgumentNullException.ThrowIfNull(config);
        foreach (var (ip, port, module, _) in _targets)
        {
            config.AddRsyncDaemonTarget(ip, port, module);
        }

        if (_hung is not null)
        {
            config.AddRsyncDaemonTarget(_hosts[0].HostAddress, Port, HungModule);
        }

        return config;
    }

    public string Describe() =>
        string.Create(CultureInfo.InvariantCulture, $"fleet: {_targets.Count} healthy targets ({_loopback.Count} loopback daemons, {_hosts.Count} in namespaces on port {Port}), hung listener accepted {HungAccepted}") +
        "\nfirst loopback rsyncd log (tail):\n" + Tail(_loopback.Count > 0 ? _loopback[0].ReadLog() : string.Empty);

    public ValueTask DisposeAsync()
    {
        Cleanup();
        return ValueTask.CompletedTask;
    }

    private void Cleanup()
    {
        var errors = new List<Exception>();
        FaultMeasure.Cleanup(errors, () => _hung?.Dispose());
        foreach (var daemon in _loopback)
        {
            FaultMeasure.Cleanup(errors, daemon.Dispose);
        }
        foreach (var host in _hosts)
        {
            FaultMeasure.Cleanup(errors, host.Dispose);
        }

        _hung = null;
        _loopback.Clear();
        _hosts.Clear();
        if (errors.Count > 0)
        {
            throw new AggregateException("cleaning up the fleet", errors);
        }
    }

    private static string Tail(string text) => text.Length <= 3000 ? text : text[^3000..];

    /// <summary>Accepts TCP connections and never writes; holds them until disposed.</summary>
    private sealed class HungTcpListener : IDisposable
    {
        private readonly TcpListener _listener;
        private readonly List<Socket> _accepted = [];
        private readonly Task _acceptLoop;
        private int _count;

        public HungTcpListener(IPAddress address, int port)
        {
            _listener = new TcpListener(address, port);
            _listener.Start();
            _acceptLoop = Task.Run(AcceptAsync);
        }

        public int Accepted => Volatile.Read(ref _count);

        public void Dispose()
        {
            _listener.Stop();
            _acceptLoop.Wait(TimeSpan.FromSeconds(5));
            lock (_accepted)
            {
                foreach (var socket in _accepted)
                {
                    socket.Dispose();
                }

                _accepted.Clear();
            }
        }

        private async Task AcceptAsync()
        {
            while (true)
            {
                Socket socket;
                try
                {
                    socket = await _listener.AcceptSocketAsync();
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException or InvalidOperationException)
                {
                    return;
                }

                lock (_accepted)
                {
                    _accepted.Add(socket);
                }

                Interlocked.Increment(ref _count);
            }
        }
    }
}
