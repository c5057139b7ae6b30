using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using SerSync.Testing;

namespace SerSync.IntegrationTests.Faults;

/// <summary>
/// A second "host" on this machine: a network namespace (<c>sersync-t-PID</c>) joined to the test's namespace by a
/// veth pair (shaped to 200 Mbit/s towards the namespace) with link-local addresses only (<c>169.254.N.1/30</c> here, <c>169.254.N.2/30</c> inside, N picked at
/// random among the unused), running <c>rsync --daemon --no-detach</c> on <c>169.254.N.2:873</c> inside with one
/// module and no auth. An <c>unreachable</c> route for the /30 (metric 4000) stays behind the link's own route, so
/// while the link is down nothing meant for 169.254.N.x can follow the default route off the machine. IPv6 address
/// generation is off on both ends (no neighbour discovery traffic). Dispose kills the daemon by PID and removes the
/// route, the veth pair and the namespace.
/// </summary>
public sealed class NetnsRsyncHost : IDisposable
{
    public const int Port = 873;
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(20);
    private readonly TempDirectory _dir = new("sersync-netns-");
    private static int _instances;
    private readonly int _octet;
    private bool _namespaceCreated;
    private bool _vethCreated;
    private bool _routeAdded;
    private BackgroundProcess? _rsyncd;

    /// <param name="port">The daemon's port inside the namespace: 873 unless the test shares one port among
    /// several daemons (sersync's <c>&lt;userDefinedPort&gt;</c> is one for every target).</param>
    public NetnsRsyncHost(string module, string modulePath, int port = Port)
    {
        // The first host of a test process keeps the plain names; more hosts at once get a counter after them.
        var instance = Interlocked.Increment(ref _instances) - 1;
        var pid = Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + (instance == 0 ? string.Empty : "x" + instance.ToString(CultureInfo.InvariantCulture));
        DaemonPort = port;
        Namespace = $"sersync-t-{pid}";
        HostInterface = $"sfh{pid}"; // at most 3 + 7 (+ 1 + 2 for a counter) characters: under IFNAMSIZ
        NamespaceInterface = $"sfn{pid}";
        _octet = PickOctet();
        HostAddress = $"169.254.{_octet}.1";
        Address = $"169.254.{_octet}.2";
        try
        {
            FaultMeasure.Must("ip", "netns", "add", Namespace);
            _namespaceCreated = true;
            FaultMeasure.Must("ip", "link", "add", HostInterface, "type", "veth", "peer", "name", NamespaceInterface);
            _vethCreated = true;
            FaultMeasure.Must("ip", "link", "set", "dev", HostInterface, "addrgenmode", "none");
            FaultMeasure.Must("ip", "link", "set", "dev", NamespaceInterface, "addrgenmode", "none");
            FaultMeasure.Must("ip", "link", "set", "dev", NamespaceInterface, "netns", Namespace);
            FaultMeasure.Must("ip", "route", "add", "unreachable", Subnet, "metric", "4000");
            _routeAdded = true;
            FaultMeasure.Must("ip", "address", "add", HostAddress + "/30", "dev", HostInterface);
            FaultMeasure.Must("ip", "-n", Namespace, "address", "add", Address + "/30", "dev", NamespaceInterface);
            FaultMeasure.Must("ip", "-n", Namespace, "link", "set", "dev", "lo", "up");
            FaultMeasure.Must("ip", "-n", Namespace, "link", "set", "dev", NamespaceInterface, "up");
            FaultMeasure.Must("ip", "link", "set", "dev", HostInterface, "up");
            // A 200 Mbit/s line out of the host, so a large file is still in transit when a test pulls the link.
            FaultMeasure.Must("tc", "qdisc", "add", "dev", HostInterface, "root", "tbf", "rate", "200mbit", "burst", "256kb", "latency", "50ms");
            StartDaemon(module, modulePath);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public string Namespace { get; }

    public string HostInterface { get; }

    /// <summary>The port the daemon listens on inside the namespace (<see cref="Port"/> unless given).</summary>
    public int DaemonPort { get; }

    public string NamespaceInterface { get; }

    public string HostAddress { get; }

    /// <summary>The rsync daemon's address, inside the namespace.</summary>
    public string Address { get; }

    public string Subnet => $"169.254.{_octet}.0/30";

    public int DaemonPid => _rsyncd?.Pid ?? throw new InvalidOperationException("no rsync daemon");

    public string LogPath => Path.Combine(_dir.Path, "rsyncd.log");

    public string ReadLog() => File.Exists(LogPath) ? File.ReadAllText(LogPath) : string.Empty;

    /// <summary>Takes the host's end of the veth down: the link and its route are gone.</summary>
    public void LinkDown() => FaultMeasure.Must("ip", "link", "set", "dev", HostInterface, "down");

    public void LinkUp() => FaultMeasure.Must("ip", "link", "set", "dev", HostInterface, "up");

    /// <summary>Takes the namespace's end down while the host's stays up, with its route and a permanent neighbour
    /// entry for the daemon: packets go out and vanish (no refusal, no "unreachable"), so a connect hangs, as behind
    /// a dead switch.</summary>
    public void PeerDown()
    {
        var link = FaultMeasure.Must("ip", "-n", Namespace, "-o", "link", "show", "dev", NamespaceInterface);
        var words = link.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var mac = words[Array.IndexOf(words, "link/ether") + 1];
        FaultMeasure.Must("ip", "neigh", "replace", Address, "lladdr", mac, "dev", HostInterface, "nud", "permanent");
        FaultMeasure.Must("ip", "-n", Namespace, "link", "set", "dev", NamespaceInterface, "down");
    }

    public void PeerUp() => FaultMeasure.Must("ip", "-n", Namespace, "link", "set", "dev", NamespaceInterface, "up");

    public void Dispose()
    {
        var errors = new List<Exception>();
        FaultMeasure.Cleanup(errors, () => _rsyncd?.Dispose());
        if (_routeAdded)
        {
            FaultMeasure.Cleanup(errors, () => FaultMeasure.Must("ip", "route", "del", "unreachable", Subnet, "metric", "4000"));
        }

        if (_vethCreated)
        {
            // Deleting one end deletes its peer, wherever it is.
            FaultMeasure.Cleanup(errors, () => FaultMeasure.Must("ip", "link", "del", "dev", HostInterface));
        }

        if (_namespaceCreated)
        {
            FaultMeasure.Cleanup(errors, () => FaultMeasure.Must("ip", "netns", "del", Namespace));
        }

        _routeAdded = _vethCreated = _namespaceCreated = false;
        _dir.Dispose();
        if (errors.Count > 0)
        {
            throw new AggregateException("cleaning up the network namespace", errors);
        }
    }

    /// <summary>A third octet no address or route on this host uses yet.</summary>
    private static int PickOctet()
    {
        var used = FaultMeasure.Must("ip", "-4", "-o", "address", "show") + FaultMeasure.Must("ip", "-4", "route", "show", "table", "all");
        for (var attempt = 0; attempt < 100; attempt++)
        {
            var octet = Random.Shared.Next(2, 254);
            if (!used.Contains($"169.254.{octet}.", StringComparison.Ordinal))
            {
                return octet;
            }
        }

        throw new InvalidOperationException("no free 169.254.N.0/30 found");
    }

    private void StartDaemon(string module, string modulePath)
    {
        var config = Path.Combine(_dir.Path, "rsyncd.conf");
        var conf = new StringBuilder()
            .AppendLine("use chroot = no")
            .AppendLine("uid = root")
            .AppendLine("gid = root")
            .AppendLine("munge symlinks = no")
            .AppendLine("reverse lookup = no")
            .AppendLine("max connections = 0")
            .AppendLine(CultureInfo.InvariantCulture, $"pid file = {Path.Combine(_dir.Path, "rsyncd.pid")}")
            .AppendLine()
            .AppendLine(CultureInfo.InvariantCulture, $"[{module}]")
            .AppendLine(CultureInfo.InvariantCulture, $"    path = {Path.GetFullPath(modulePath)}")
            .AppendLine("    read only = no");
        File.WriteAllText(config, conf.ToString());

        // `ip netns exec` enters the namespace and execs rsync: the PID we hold is the daemon's own.
        _rsyncd = BackgroundProcess.Start("ip",
        [
            "netns", "exec", Namespace,
            "rsync", "--daemon", "--no-detach", $"--address={Address}", $"--port={DaemonPort}", $"--config={config}", $"--log-file={LogPath}",
        ]);
        var rsyncd = _rsyncd;
        if (Eventually.Poll(CanConnect, up => up, StartTimeout, () => rsyncd.HasExited).Reached)
        {
            return;
        }

        throw new InvalidOperationException(
            $"rsync daemon in {Namespace} on {Address}:{DaemonPort} {(_rsyncd.HasExited ? "exited" : "did not listen")}\noutput:\n{_rsyncd.Output}\nlog:\n{ReadLog()}");
    }

    private bool CanConnect()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        try
        {
            socket.ConnectAsync(new IPEndPoint(IPAddress.Parse(Address), DaemonPort), cts.Token).AsTask().GetAwaiter().GetResult();
            return true;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            return false;
        }
    }
}
