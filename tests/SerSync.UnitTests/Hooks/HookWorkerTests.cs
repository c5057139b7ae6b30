using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using SerSync.Hooks;
using SerSync.Paths;
using SerSync.Targets;
using SerSync.Testing;

namespace SerSync.UnitTests.Hooks;

/// <summary>
/// The hook worker on a fake clock with a plugin the test answers: it fires only once every target has a change
/// (or after maxDelay), coalesces, retries what failed, and never acknowledges past what is not delivered.
/// </summary>
public sealed class HookWorkerTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 1, 9, 0, 0, TimeSpan.Zero));
    private readonly TargetAcknowledgements _targets = new();
    private readonly RecordingPlugin _plugin = new();
    private readonly LogRecorder<HookWorker> _log = new();
    private readonly List<long> _delivered = [];
    private readonly CancellationTokenSource _stop = new();
    private HookWorker? _worker;
    private Task? _run;

    public void Dispose()
    {
        _stop.Cancel();
        _run?.Wait(Deadline);
        _stop.Dispose();
    }

    private HookWorker Start(string pluginRoot = "/www", TimeSpan? maxDelay = null)
    {
        _worker = new HookWorker(_plugin, new HookScope("/www", pluginRoot), _targets, maxDelay ?? TimeSpan.FromSeconds(60), BatchPolicy.Default, null, _time, _log);
        _worker.Delivered = seq =>
        {
            lock (_delivered)
            {
                _delivered.Add(seq);
            }
        };
        _run = _worker.RunAsync(_stop.Token);
        return _worker;
    }

    private long LastDelivered
    {
        get
        {
            lock (_delivered)
            {
                return _delivered.Count == 0 ? 0 : _delivered[^1];
            }
        }
    }

    private static FileChange Change(string path, ChangeEvent e, bool dir = false, ChangeKind kind = ChangeKind.Upsert) =>
        new(e == ChangeEvent.Delete || e == ChangeEvent.MoveFrom ? ChangeKind.Delete : kind, RelativePath.FromString(path), dir, e);

    /// <summary>Moves the fake clock past the quiet period, so a deliverable batch is due.</summary>
    private Task PastQuietAsync() => AdvanceWhenArmedAsync(TimeSpan.FromSeconds(2));

    /// <summary>
    /// Moves the fake clock once the worker's timer is armed for what it last saw. The worker reads the clock,
    /// computes the span to wait and then arms the timer; a move in between would arm it that much late, past the
    /// time the test moves to, and the worker would wait forever (seen under load in full-suite runs).
    /// </summary>
    private async Task AdvanceWhenArmedAsync(TimeSpan by)
    {
        await Eventually.TrueAsync(() => _worker!.TimerDue is not null, Deadline, "the hook worker to arm its timer", TestContext.Current.CancellationToken);
        _time.Advance(by);
    }

    [Fact]
    public async Task A_change_fires_only_once_every_target_has_acknowledged_it()
    {
        _targets.Add("t1", "web1::www", 0);
        _targets.Add("t2", "web2::www", 0);
        var worker = Start();
        worker.Enqueue(Change("a.txt", ChangeEvent.CloseWrite), 1);
        worker.Enqueue(Change("b.txt", ChangeEvent.Create), 2);
        await PastQuietAsync();
        _targets.Acknowledge("t1", 2);
        _targets.Acknowledge("t2", 1);
        var first = await _plugin.NextAsync(Deadline);
        Assert.Equal(["a.txt:modify:f"], first.Summary); // b.txt: web2 has not acknowledged it
        Assert.Equal("/www/a.txt"u8.ToArray(), first.Batch.Changes[0].AbsolutePath);
        first.Succeed();
        await Eventually.TrueAsync(() => LastDelivered == 1, Deadline, "the hook to acknowledge 1", TestContext.Current.CancellationToken);
        Assert.False(await _plugin.AnyWithinAsync(TimeSpan.FromMilliseconds(200)), "b.txt fired before web2 had it");

        _targets.Acknowledge("t2", 2);
        var second = await _plugin.NextAsync(Deadline);
        Assert.Equal(["b.txt:create:f"], second.Summary);
        second.Succeed();
        await Eventually.TrueAsync(() => LastDelivered == 2, Deadline, "the hook to acknowledge 2", TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task A_target_that_keeps_failing_delays_the_hook_at_most_maxDelay_and_is_named()
    {
        _targets.Add("t1", "web1::www", 0);
        _targets.Add("t2", "down::www", 0);
        var worker = Start(maxDelay: TimeSpan.FromSeconds(60));
        worker.Enqueue(Change("a.txt", ChangeEvent.CloseWrite), 1);
        _targets.Acknowledge("t1", 1);
        await AdvanceWhenArmedAsync(TimeSpan.FromSeconds(59));
        Assert.False(await _plugin.AnyWithinAsync(TimeSpan.FromMilliseconds(200)), "fired before maxDelay while a target lacked the change");
        await AdvanceWhenArmedAsync(TimeSpan.FromSeconds(1));
        var late = await _plugin.NextAsync(Deadline);
        Assert.Equal(["a.txt:modify:f"], late.Summary);
        late.Succeed();
        await Eventually.TrueAsync(() => LastDelivered == 1, Deadline, "the late hook to be acknowledged", TestContext.Current.CancellationToken);
        Assert.Contains(_log.Lines, l => l.Level == LogLevel.Warning && l.Message.Contains("down::www", StringComparison.Ordinal) && !l.Message.Contains("web1", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_healthy_target_that_is_slow_is_waited_for_past_maxDelay()
    {
        var failing = false;
        _targets.Add("t1", "slow::www", 0, () => failing);
        var worker = Start(maxDelay: TimeSpan.FromSeconds(60));
        worker.Enqueue(Change("big.iso", ChangeEvent.CloseWrite), 1);
        await AdvanceWhenArmedAsync(TimeSpan.FromSeconds(61));
        // Past maxDelay, but the target is syncing, not failing: no hook for a file the mirrors do not have yet.
        await AdvanceWhenArmedAsync(TimeSpan.FromSeconds(1));
        Assert.False(await _plugin.AnyWithinAsync(TimeSpan.FromMilliseconds(200)), "fired while a healthy target was still syncing");

        failing = true; // now it fails: the hook fires at the next look
        await AdvanceWhenArmedAsync(TimeSpan.FromSeconds(1));
        var late = await _plugin.NextAsync(Deadline);
        Assert.Equal(["big.iso:modify:f"], late.Summary);
        late.Succeed();
    }

    [Fact]
    public async Task Changes_of_one_path_coalesce_a_created_file_stays_created_and_a_delete_wins()
    {
        var worker = Start();
        worker.Enqueue(Change("new.txt", ChangeEvent.Create), 1);
        worker.Enqueue(Change("new.txt", ChangeEvent.CloseWrite), 2);
        worker.Enqueue(Change("gone.txt", ChangeEvent.CloseWrite), 3);
        worker.Enqueue(Change("gone.txt", ChangeEvent.Delete), 4);
        worker.Enqueue(Change("d", ChangeEvent.MoveTo, dir: true, kind: ChangeKind.UpsertTree), 5);
        await PastQuietAsync();
        var batch = await _plugin.NextAsync(Deadline);
        Assert.Equal(["new.txt:create:f", "gone.txt:delete:f", "d:move_to:d"], batch.Summary);
        batch.Succeed();
        await Eventually.TrueAsync(() => LastDelivered == 5, Deadline, "everything to be acknowledged", TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task A_failed_batch_is_retried_with_newer_changes_and_the_acknowledgement_never_passes_it()
    {
        var worker = Start();
        worker.Enqueue(Change("a.txt", ChangeEvent.CloseWrite), 1);
        await PastQuietAsync();
        var first = await _plugin.NextAsync(Deadline);
        first.Fail("connection refused");
        await Eventually.TrueAsync(() => _log.Lines.Any(l => l.Message.Contains("connection refused", StringComparison.Ordinal)), Deadline, "the failure to be logged", TestContext.Current.CancellationToken);
        worker.Enqueue(Change("b.txt", ChangeEvent.CloseWrite), 2);
        Assert.False(await _plugin.AnyWithinAsync(TimeSpan.FromMilliseconds(200)), "retried before its backoff");
        Assert.Equal(0, LastDelivered);

        await AdvanceWhenArmedAsync(TimeSpan.FromSeconds(2)); // the first backoff is 1 s ± 20 %
        var second = await _plugin.NextAsync(Deadline);
        Assert.Equal(["a.txt:modify:f", "b.txt:modify:f"], second.Summary);
        second.Succeed();
        await Eventually.TrueAsync(() => LastDelivered == 2, Deadline, "both to be acknowledged", TestContext.Current.CancellationToken);
        Assert.Equal([2L], _delivered);
    }

    [Fact]
    public async Task Only_what_failed_is_carried_and_the_acknowledgement_stops_below_it()
    {
        var worker = Start();
        worker.Enqueue(Change("a.txt", ChangeEvent.CloseWrite), 1);
        worker.Enqueue(Change("b.txt", ChangeEvent.CloseWrite), 2);
        worker.Enqueue(Change("c.txt", ChangeEvent.CloseWrite), 3);
        await PastQuietAsync();
        var first = await _plugin.NextAsync(Deadline);
        first.FailOnly("exit 1", "b.txt");
        await Eventually.TrueAsync(() => LastDelivered == 1, Deadline, "a.txt, before the failed b.txt, to be acknowledged", TestContext.Current.CancellationToken);
        worker.Enqueue(Change("d.txt", ChangeEvent.CloseWrite), 4);
        await AdvanceWhenArmedAsync(TimeSpan.FromSeconds(2));
        var retry = await _plugin.NextAsync(Deadline);
        Assert.Equal(["b.txt:modify:f", "d.txt:modify:f"], retry.Summary); // c.txt got through and is not repeated
        retry.Succeed();
        await Eventually.TrueAsync(() => LastDelivered == 4, Deadline, "everything to be acknowledged", TestContext.Current.CancellationToken);
        Assert.Equal([1L, 4L], _delivered);
    }

    [Fact]
    public async Task Changes_outside_the_plugins_directory_are_acknowledged_without_a_delivery()
    {
        var worker = Start(pluginRoot: "/www/images");
        worker.Enqueue(Change("css/site.css", ChangeEvent.CloseWrite), 1);
        await PastQuietAsync();
        await Eventually.TrueAsync(() => LastDelivered == 1, Deadline, "the unrelated change to be acknowledged", TestContext.Current.CancellationToken);
        worker.Enqueue(Change("images/a.png", ChangeEvent.CloseWrite), 2);
        worker.Enqueue(new FileChange(ChangeKind.Rescan, RelativePath.Root, true), 3);

        // No clock to move: the clock has not moved since the last delivery ended, so these count as having waited
        // it out and go at once, with no timer armed.
        var batch = await _plugin.NextAsync(Deadline);
        Assert.Equal(["images/a.png:modify:f", "images:modify:d"], batch.Summary);
        Assert.Equal("/www/images"u8.ToArray(), batch.Batch.Changes[1].AbsolutePath);
        Assert.Equal("/www/images", batch.Batch.PluginRoot);
        batch.Succeed();
        await Eventually.TrueAsync(() => LastDelivered == 3, Deadline, "both to be acknowledged", TestContext.Current.CancellationToken);
    }
}
