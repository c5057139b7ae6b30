using System.Diagnostics;
using System.Net;
using SerSync.Configuration;
using SerSync.Paths;
using SerSync.Plugins;
using SerSync.Testing;
using static SerSync.UnitTests.Plugins.NetPluginData;

namespace SerSync.UnitTests.Plugins;

public sealed class SocketHookTests
{
    private static SocketHook Hook(string host, int port, SocketFormat format, TimeSpan? timeout = null, LogCapture? log = null) =>
        new(new SocketPluginConfig(Root, host, port, format, timeout ?? TimeSpan.FromSeconds(5), PluginConfig.DefaultMaxDelay, 1), TimeProvider.System, log ?? new LogCapture());

    private static byte[] ExpectedFrames(IEnumerable<HookChange> changes)
    {
        var bytes = new List<byte>();
        foreach (var change in changes)
        {
            bytes.AddRange(System.Text.Encoding.ASCII.GetBytes($"{ChangeEvents.Name(change.Event)} {(change.IsDirectory ? 'd' : 'f')} "));
            bytes.AddRange(change.AbsolutePath);
            bytes.Add(0);
        }

        return [.. bytes];
    }

    [Fact]
    public async Task Frames_carry_the_whole_batch_on_one_connection_byte_for_byte()
    {
        await using var listener = new RecordingTcpListener();
        var changes = Nasty();
        var hook = Hook("127.0.0.1", listener.Port, SocketFormat.Frames);

        var outcome = await hook.DeliverAsync(Batch(changes), TestContext.Current.CancellationToken);

        Assert.True(outcome.Succeeded, outcome.Message);
        await Until(() => listener.Received.Count == 1, "the listener read the connection to its end");
        Assert.Equal(1, listener.Accepted);
        Assert.Equal(ExpectedFrames(changes), listener.Received[0]);
        Assert.True(listener.Received[0].AsSpan().StartsWith("create f /srv/www/with space\0modify f /srv/www/ leading and trailing space \0delete d /srv/www/new\nline\0"u8));
        Assert.Equal($"socket 127.0.0.1:{listener.Port}", hook.Label);
    }

    [Fact]
    public async Task Sersync_form_sends_only_each_absolute_path_on_its_own_connection()
    {
        await using var listener = new RecordingTcpListener();
        var changes = Nasty();
        var hook = Hook("127.0.0.1", listener.Port, SocketFormat.Sersync);

        var outcome = await hook.DeliverAsync(Batch(changes), TestContext.Current.CancellationToken);

        Assert.True(outcome.Succeeded, outcome.Message);
        await Until(() => listener.Received.Count == changes.Length, "every connection was read");
        // Each connection is finished before the next opens, so the order is the batch's.
        Assert.Equal(changes.Select(c => c.AbsolutePath), listener.Received);
        Assert.Equal("/srv/www/$(touch pwned)"u8.ToArray(), listener.Received[7]);
    }

    [Theory]
    [InlineData(SocketFormat.Frames)]
    [InlineData(SocketFormat.Sersync)]
    public async Task A_listener_that_is_down_fails_the_batch_and_the_same_batch_goes_through_once_it_is_up(SocketFormat format)
    {
        await using var listener = new RecordingTcpListener(listen: false); // bound, refusing: the port stays ours
        var changes = new[] { Change("a.txt", ChangeEvent.Create), Change("d", ChangeEvent.Delete, isDirectory: true) };
        var hook = Hook("127.0.0.1", listener.Port, format);

        var down = await hook.DeliverAsync(Batch(changes), TestContext.Current.CancellationToken);
        Assert.False(down.Succeeded);
        Assert.Equal(changes, down.Failed);
        Assert.Contains("ConnectionRefused", down.Message, StringComparison.Ordinal);
        Assert.Null(down.ExitCode);

        listener.Start();
        var up = await hook.DeliverAsync(Batch([.. down.Failed]), TestContext.Current.CancellationToken);
        Assert.True(up.Succeeded, up.Message);
        var expected = format == SocketFormat.Frames ? 1 : 2;
        await Until(() => listener.Received.Count == expected, "delivered once the listener is up");
        Assert.Equal(format == SocketFormat.Frames ? [ExpectedFrames(changes)] : changes.Select(c => c.AbsolutePath), listener.Received);
    }

    [Theory]
    [InlineData(SocketFormat.Frames)]
    [InlineData(SocketFormat.Sersync)]
    public async Task A_listener_that_accepts_and_never_reads_times_the_write_out_in_bounded_time(SocketFormat format)
    {
        await using var listener = new RecordingTcpListener(neverRead: true);
        // Far more than the kernel buffers on both sides hold, so the write must wait for the reader.
        var huge = Enumerable.Range(0, 4_000).Select(i => Change($"{i}/{new string('x', 4000)}")).ToArray();
        var hook = Hook("127.0.0.1", listener.Port, format, ShortTimeout);
        var changes = format == SocketFormat.Frames ? huge : [Change([.. "a/"u8, .. NastyNames.All[0]]), .. huge.Take(1)];
        var clock = Stopwatch.StartNew();

        var outcome = await hook.DeliverAsync(Batch(changes), TestContext.Current.CancellationToken);

        if (format == SocketFormat.Frames)
        {
            Assert.Equal(changes, outcome.Failed);
            Assert.Contains("timed out", outcome.Message, StringComparison.Ordinal);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        }
        else
        {
            // One path fits the buffers: sersync's form cannot tell a stuck reader from a slow one.
            Assert.True(outcome.Succeeded, outcome.Message);
        }
    }

    [Fact]
    public async Task In_sersyncs_form_the_paths_before_the_first_failure_count_as_delivered_and_it_stops_there()
    {
        // A reader that never reads: the short paths fit the buffers, the huge one stalls until the timeout.
        await using var listener = new RecordingTcpListener(neverRead: true);
        var huge = new HookChange(ChangeEvent.Create, false, new RelativePath("h"u8.ToArray()), [.. Enumerable.Repeat((byte)'h', 16_000_000)]);
        var changes = new[] { Change("f0"), Change("f1"), huge, Change("f3") };
        var hook = Hook("127.0.0.1", listener.Port, SocketFormat.Sersync, ShortTimeout);

        var outcome = await hook.DeliverAsync(Batch(changes), TestContext.Current.CancellationToken);

        Assert.Equal(changes[2..], outcome.Failed);
        Assert.Contains("timed out", outcome.Message, StringComparison.Ordinal);
        Assert.Contains("2 of 4 delivered", outcome.Message, StringComparison.Ordinal);
        await Until(() => listener.Accepted == 3, "f0, f1 and the huge path connected");
        Assert.Equal(3, listener.Accepted); // f3 was not tried
    }

    [Fact]
    public async Task Reaches_an_ipv6_literal_and_a_host_name()
    {
        await using var v6 = new RecordingTcpListener(IPAddress.IPv6Loopback);
        await using var v4 = new RecordingTcpListener();
        var change = Change([.. "x/"u8, .. NastyNames.All[20]], ChangeEvent.MoveTo);

        var literal = Hook("::1", v6.Port, SocketFormat.Frames);
        Assert.Equal($"socket [::1]:{v6.Port}", literal.Label);
        Assert.True((await literal.DeliverAsync(Batch(change), TestContext.Current.CancellationToken)).Succeeded);
        Assert.True((await Hook("[::1]", v6.Port, SocketFormat.Sersync).DeliverAsync(Batch(change), TestContext.Current.CancellationToken)).Succeeded);
        // "localhost" may resolve to ::1 first, where nothing listens on v4's port: the next address is tried.
        Assert.True((await Hook("localhost", v4.Port, SocketFormat.Frames).DeliverAsync(Batch(change), TestContext.Current.CancellationToken)).Succeeded);

        await Until(() => v6.Received.Count == 2 && v4.Received.Count == 1, "all three delivered");
        Assert.Equal(ExpectedFrames([change]), v4.Received[0]);
        Assert.Contains(ExpectedFrames([change]), v6.Received);
        Assert.Contains(change.AbsolutePath, v6.Received);
    }

    [Fact]
    public async Task An_unknown_host_name_fails_the_batch()
    {
        var hook = Hook("no-such-host.invalid", 9, SocketFormat.Frames, ShortTimeout);
        var outcome = await hook.DeliverAsync(Batch(Change("a")), TestContext.Current.CancellationToken);
        Assert.Single(outcome.Failed);
        Assert.StartsWith($"socket no-such-host.invalid:9: connect:", outcome.Message, StringComparison.Ordinal);
    }
}
