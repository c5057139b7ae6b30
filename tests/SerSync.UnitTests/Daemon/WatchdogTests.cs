using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using SerSync.Daemon;
using SerSync.Daemon.Operations;
using SerSync.Pipeline;
using SerSync.Testing;

namespace SerSync.UnitTests.Daemon;

/// <summary>The watchdog's tick against a real notify socket and a fake clock: WATCHDOG=1 only while every loop
/// beats, one error naming the loop that stopped, and pings again (with a warning) once it turns again.</summary>
public sealed class WatchdogTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 1, 9, 0, 0, TimeSpan.Zero));
    private readonly Socket _socket = new(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
    private readonly SystemdNotifier _notifier;

    public WatchdogTests()
    {
        var path = Path.Combine(_temp.Path, "notify.sock");
        _socket.Bind(new UnixDomainSocketEndPoint(path));
        _notifier = new SystemdNotifier(path);
    }

    public void Dispose()
    {
        _notifier.Dispose();
        _socket.Dispose();
        _temp.Dispose();
    }

    private List<string> Received()
    {
        var messages = new List<string>();
        var buffer = new byte[4096];
        while (_socket.Available > 0)
        {
            messages.Add(Encoding.UTF8.GetString(buffer, 0, _socket.Receive(buffer)));
        }

        return messages;
    }

    [Fact]
    public void Pings_only_while_every_loop_beats_and_says_which_one_stopped()
    {
        var settings = new WatchdogSettings(TimeSpan.FromSeconds(2));
        var liveness = new Liveness(settings.BeatPeriod, _time);
        var reader = liveness.Register("inotify reader for /srv/www");
        var worker = liveness.Register("worker for 127.0.0.1::www");
        reader.Start();
        worker.Start();
        var log = new LogCapture<Watchdog>();
        var watchdog = new Watchdog(settings, liveness, _notifier, _time, log);

        var stalled = watchdog.Check(null);
        Assert.Null(stalled);
        Assert.Equal(["WATCHDOG=1"], Received());

        _time.Advance(TimeSpan.FromSeconds(0.9));
        reader.Beat();
        _time.Advance(TimeSpan.FromSeconds(0.2)); // the worker: 1.1 s, past half the timeout
        stalled = watchdog.Check(stalled);
        Assert.Same(worker, stalled);
        Assert.Empty(Received());
        var error = Assert.Single(log.Lines);
        Assert.Equal(LogLevel.Error, error.Level);
        Assert.Contains("the worker for 127.0.0.1::www has not turned for 1.1 s; WATCHDOG=1 is no longer sent", error.Message, StringComparison.Ordinal);

        _time.Advance(TimeSpan.FromSeconds(1));
        reader.Beat();
        stalled = watchdog.Check(stalled);
        Assert.Same(worker, stalled);
        Assert.Empty(Received());
        Assert.Single(log.Lines); // said once per stall

        worker.Beat();
        stalled = watchdog.Check(stalled);
        Assert.Null(stalled);
        Assert.Equal(["WATCHDOG=1"], Received());
        Assert.Equal(LogLevel.Warning, log.Lines[^1].Level);
        Assert.Contains("turns again", log.Lines[^1].Message, StringComparison.Ordinal);
        Assert.Equal(2, watchdog.Pings);
    }
}
