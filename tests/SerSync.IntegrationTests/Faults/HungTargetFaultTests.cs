using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using SerSync.IntegrationTests.EndToEnd;
using SerSync.Testing;

namespace SerSync.IntegrationTests.Faults;

/// <summary>
/// A hung rsync daemon target (a TCP listener that accepts and never says a word) next to a local target: the local
/// target keeps mirroring with low lag while the hung one times out (<c>&lt;timeout time="3"&gt;</c>) and is retried;
/// then a real rsync daemon takes over the port and the formerly hung target catches up.
/// </summary>
public sealed class HungTargetFaultTests
{
    private static readonly TimeSpan HangFor = TimeSpan.FromSeconds(9);
    private static readonly TimeSpan LagLimit = TimeSpan.FromSeconds(3);

    [Fact]
    public async Task A_hung_daemon_target_does_not_delay_the_local_target_and_catches_up_when_it_answers()
    {
        using var tmp = new TempDirectory("sersync-fault-hung-");
        var source = tmp.Sub("src");
        var local = Path.Combine(tmp.Path, "dst");
        var moduleDir = tmp.Sub("dstd");

        using var hung = new HungListener();
        await using var rsyncd = new RsyncDaemon(hung.Port).AddModule("mod", moduleDir);
        var config = ConfigEdits.WriteWithTimeout(
            new ConfigBuilder(source, Path.Combine(tmp.Path, "state")).AddLocalTarget(local).AddRsyncDaemonTarget(rsyncd, "mod"),
            Path.Combine(tmp.Path, "confxml.xml"),
            seconds: 3);

        await using var daemon = DaemonProcess.Start("-o", config);
        await daemon.WaitForReadyAsync(TimeSpan.FromSeconds(60));

        // Changes keep arriving while the daemon target hangs; each must reach the local target quickly.
        var lags = new List<TimeSpan>();
        var hang = Stopwatch.StartNew();
        for (var i = 0; hang.Elapsed < HangFor; i++)
        {
            var name = $"during-{i}.txt";
            File.WriteAllText(Path.Combine(source, name), $"written {i} during the hang");
            var written = Stopwatch.StartNew();
            await Eventually.TrueAsync(
                () => File.Exists(Path.Combine(local, name)),
                TimeSpan.FromSeconds(20),
                $"{name} on the local target while the other target hangs\n{daemon.Describe()}",
                TestContext.Current.CancellationToken);
            lags.Add(written.Elapsed);
            await Task.Delay(300, TestContext.Current.CancellationToken);
        }

        var sorted = lags.Order().ToList();
        FaultMeasure.Report($"local target lag during the {HangFor.TotalSeconds:0} s hang over {lags.Count} changes: " +
            $"median {sorted[sorted.Count / 2].TotalMilliseconds:0} ms, max {sorted[^1].TotalMilliseconds:0} ms; " +
            $"{hung.Accepted} connection(s) accepted by the hung listener");
        Assert.True(sorted[^1] < LagLimit, $"the local target lagged {sorted[^1].TotalSeconds:0.00} s while the daemon target hung\n{daemon.Describe()}");
        Assert.True(hung.Accepted >= 2, $"rsync connected to the hung listener {hung.Accepted} time(s): expected a timeout and a retry\n{daemon.Describe()}");
        TreeComparer.AssertEqual(source, local);
        var output = daemon.StandardOutput + daemon.StandardError;
        Assert.Contains("rsync exit 30", output, StringComparison.Ordinal); // rsync's own I/O timeout, classified transient

        // The hung peer goes away and a real rsync daemon answers on the same port.
        await hung.StopAsync();
        rsyncd.Start();
        var faultEnded = Stopwatch.StartNew();
        await TargetConvergence.AssertConvergesAsync("hung target replaced by a real rsync daemon", source, [local, moduleDir], faultEnded, TimeSpan.FromSeconds(90), daemon);
        Assert.False(daemon.HasExited, daemon.Describe());
        await daemon.StopAsync();
    }

    /// <summary>Accepts TCP connections on 127.0.0.1 and never writes; holds them until stopped.</summary>
    private sealed class HungListener : IDisposable
    {
        private readonly TcpListener _listener;
        private readonly List<Socket> _accepted = [];
        private readonly Task _acceptLoop;
        private int _count;

        public HungListener()
        {
            _listener = new TcpListener(IPAddress.Loopback, 0);
            _listener.Start();
            Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
            _acceptLoop = Task.Run(AcceptAsync);
        }

        public int Port { get; }

        public int Accepted => Volatile.Read(ref _count);

        /// <summary>Stops listening, then waits (bounded) for the clients to give up on their own (rsync's
        /// timeout) before closing our ends, so an rsync sees a timeout rather than an early EOF.</summary>
        public async Task StopAsync()
        {
            _listener.Stop();
            await _acceptLoop;
            await Eventually.PollAsync(() => Snapshot().All(ClosedByPeer), closed => closed, TimeSpan.FromSeconds(15));

            Dispose();
        }

        public void Dispose()
        {
            _listener.Stop();
            foreach (var socket in Snapshot())
            {
                socket.Dispose();
            }
        }

        private static bool ClosedByPeer(Socket socket)
        {
            try
            {
                return socket.Poll(0, SelectMode.SelectRead) && socket.Available == 0;
            }
            catch (ObjectDisposedException)
            {
                return true;
            }
        }

        private List<Socket> Snapshot()
        {
            lock (_accepted)
            {
                return [.. _accepted];
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
