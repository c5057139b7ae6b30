using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using SerSync.Configuration;
using SerSync.FailLog;
using SerSync.Filtering;
using SerSync.Paths;
using SerSync.Rsync;
using SerSync.Targets;
using SerSync.Testing;

namespace SerSync.UnitTests.Targets;

/// <summary>
/// The per-target worker at the middle of the pipeline, on a fake clock with a scripted runner: what it runs, when,
/// and what it keeps. The fake clock only moves when a test advances it, so a run's start time says exactly how long
/// the worker waited.
/// </summary>
public sealed class TargetWorkerTests : IDisposable
{
    private const int Seed = 42;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);
    private readonly TempDirectory _temp = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 1, 9, 0, 0, TimeSpan.Zero));
    private readonly ScriptedRunner _runner;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<long> _synced = [];
    private readonly string _root;
    private TargetWorker? _worker;
    private Task? _run;

    public TargetWorkerTests()
    {
        _runner = new ScriptedRunner(_time);
        _root = _temp.Sub("src");
        Directory.CreateDirectory(_root);
        File.WriteAllText(Path.Combine(_root, "a"), "a");
        File.WriteAllText(Path.Combine(_root, "b"), "b");
    }

    public void Dispose()
    {
        _stop.Cancel();
        _run?.Wait(Deadline);
        _worker?.Dispose();
        _stop.Dispose();
        _temp.Dispose();
    }

    [Fact]
    public async Task A_failed_batch_is_kept_and_sent_again_once_the_backoff_has_passed()
    {
        var worker = Start();
        worker.Enqueue(Upsert("a"), 1);
        await AdvanceWhenArmedAsync(worker, TimeSpan.FromMilliseconds(10));
        var first = await _runner.NextAsync();
        Assert.Contains("./a|", first.List, StringComparison.Ordinal);

        first.Complete(10); // socket I/O error: transient
        await Eventually.TrueAsync(() => worker.RetryAt is not null, Deadline, "the worker to schedule a retry", TestContext.Current.CancellationToken);
        Assert.Equal(TargetState.Retrying, worker.State);
        Assert.Equal(1, worker.PendingCount);
        var expectedWait = new RetryPolicy(new Random(Seed)).OnFailure(FailureClass.Transient).Wait;
        Assert.Equal(_time.GetUtcNow() + expectedWait, worker.RetryAt);
        Assert.Empty(_synced);

        _time.Advance(expectedWait);
        var second = await _runner.NextAsync();
        Assert.Equal(first.StartedAt + expectedWait, second.StartedAt);
        Assert.Contains("./a|", second.List, StringComparison.Ordinal);
        second.Complete(0);
        await Eventually.TrueAsync(() => worker.State == TargetState.InSync && worker.PendingCount == 0, Deadline, "the target to be in sync", TestContext.Current.CancellationToken);
        Assert.Equal([1L], _synced);
    }

    [Fact]
    public async Task Repeated_failures_are_paced_by_the_retry_policy()
    {
        var worker = Start();
        var twin = new RetryPolicy(new Random(Seed));
        worker.Enqueue(Upsert("a"), 1);
        await AdvanceWhenArmedAsync(worker, TimeSpan.FromMilliseconds(10));
        var call = await _runner.NextAsync();
        var gaps = new List<TimeSpan>();
        for (var attempt = 1; attempt <= 4; attempt++)
        {
            call.Complete(12); // protocol data stream error: transient
            await Eventually.TrueAsync(() => worker.RetryAt is not null, Deadline, $"retry {attempt} to be scheduled", TestContext.Current.CancellationToken);
            var wait = twin.OnFailure(FailureClass.Transient).Wait;
            _time.Advance(worker.RetryAt!.Value - _time.GetUtcNow());
            var next = await _runner.NextAsync();
            gaps.Add(next.StartedAt - call.StartedAt);
            Assert.Equal(wait, next.StartedAt - call.StartedAt);
            call = next;
        }

        // 1 s, 2 s, 4 s, 8 s, each within its jitter.
        for (var i = 0; i < gaps.Count; i++)
        {
            Assert.InRange(gaps[i].TotalSeconds, 0.8 * (1 << i), 1.2 * (1 << i));
        }

        call.Complete(0);
    }

    [Fact]
    public async Task A_fatal_failure_marks_the_target_failed_and_retries_after_a_minute()
    {
        var worker = Start();
        worker.Enqueue(Upsert("a"), 1);
        await AdvanceWhenArmedAsync(worker, TimeSpan.FromMilliseconds(10));
        var first = await _runner.NextAsync();
        first.Complete(5); // error starting client-server protocol (auth, unknown module)
        await Eventually.TrueAsync(() => worker.RetryAt is not null, Deadline, "the worker to schedule a retry", TestContext.Current.CancellationToken);
        Assert.Equal(TargetState.Failed, worker.State);
        _time.Advance(RetryPolicy.FatalRetryInterval);
        var second = await _runner.NextAsync();
        Assert.Equal(first.StartedAt + RetryPolicy.FatalRetryInterval, second.StartedAt);
        second.Complete(0);
    }

    [Fact]
    public async Task The_third_failure_in_a_row_is_written_to_the_fail_log_once()
    {
        var failLog = Path.Combine(_temp.Path, "rsync_fail_log.sh");
        var worker = Start(new FailLogWriter(failLog, RsyncExitCodes.Describe));
        worker.Enqueue(Upsert("a"), 1);
        await AdvanceWhenArmedAsync(worker, TimeSpan.FromMilliseconds(10));
        var call = await _runner.NextAsync();
        for (var attempt = 1; attempt <= 4; attempt++)
        {
            call.Complete(10);
            await Eventually.TrueAsync(() => worker.RetryAt is not null, Deadline, $"retry {attempt} to be scheduled", TestContext.Current.CancellationToken);
            var entries = File.Exists(failLog) ? File.ReadAllText(failLog).Split("#errno 10").Length - 1 : 0;
            Assert.Equal(attempt >= 3 ? 1 : 0, entries);
            _time.Advance(worker.RetryAt!.Value - _time.GetUtcNow());
            call = await _runner.NextAsync();
        }

        call.Complete(0);
    }

    [Fact]
    public async Task Draining_sends_what_is_pending_at_once_without_the_quiet_period()
    {
        var worker = Start();
        var enqueued = _time.GetUtcNow();
        worker.Enqueue(Upsert("a"), 1);
        worker.Draining = true;
        var call = await _runner.NextAsync(); // the clock never moved: no quiet period was waited out
        Assert.Equal(enqueued, call.StartedAt);
        Assert.True(worker.HasWorkToDrain);
        call.Complete(0);
        await Eventually.TrueAsync(() => !worker.HasWorkToDrain, Deadline, "the drain to finish", TestContext.Current.CancellationToken);
        Assert.Equal([1L], _synced);
    }

    [Fact]
    public async Task Stopping_during_a_run_kills_it_and_keeps_the_batch()
    {
        var worker = Start();
        worker.Enqueue(Upsert("a"), 7);
        await AdvanceWhenArmedAsync(worker, TimeSpan.FromMilliseconds(10));
        await _runner.NextAsync();
        await _stop.CancelAsync();
        await _run!.WaitAsync(Deadline, TestContext.Current.CancellationToken);
        Assert.Equal(1, worker.PendingCount);
        Assert.Empty(_synced);
    }

    [Fact]
    public async Task A_hold_keeps_batches_off_the_target_and_waits_for_a_running_one()
    {
        var worker = Start();
        var hold = await worker.HoldAsync(TestContext.Current.CancellationToken);
        worker.Enqueue(Upsert("a"), 1);
        await AdvanceWhenArmedAsync(worker, TimeSpan.FromMilliseconds(10));
        await Eventually.TrueAsync(() => worker.State == TargetState.Syncing, Deadline, "the batch to be taken", TestContext.Current.CancellationToken);
        Assert.False(await _runner.AnyWithinAsync(TimeSpan.FromMilliseconds(300)), "a batch ran while the target was held");
        hold.Dispose();
        var call = await _runner.NextAsync();

        // Now the other way round: a hold asked for while a batch runs is granted only when it ends.
        var second = worker.HoldAsync(TestContext.Current.CancellationToken);
        Assert.False(second.IsCompleted);
        call.Complete(0);
        (await second.WaitAsync(Deadline, TestContext.Current.CancellationToken)).Dispose();
    }

    [Fact]
    public async Task Two_batches_for_one_path_run_one_after_the_other_in_order()
    {
        var worker = Start();
        worker.Enqueue(Upsert("a"), 1);
        await AdvanceWhenArmedAsync(worker, TimeSpan.FromMilliseconds(10));
        var first = await _runner.NextAsync();

        File.WriteAllText(Path.Combine(_root, "a"), "a, again");
        worker.Enqueue(Upsert("a"), 2);
        worker.Enqueue(Upsert("b"), 3);
        _time.Advance(TimeSpan.FromSeconds(2)); // past the quiet period and the cap: due, but a run is going (no timer: the worker is in the run)
        Assert.False(await _runner.AnyWithinAsync(TimeSpan.FromMilliseconds(300)), "a second rsync started while the first ran");

        first.Complete(0);
        var second = await _runner.NextAsync();
        Assert.Equal("./a|./b|", second.List);
        second.Complete(0);
        await Eventually.TrueAsync(() => worker.State == TargetState.InSync, Deadline, "the target to be in sync", TestContext.Current.CancellationToken);
        Assert.Equal(1, _runner.MaxConcurrent);
        Assert.Equal([1L, 3L], _synced);
    }

    [Fact]
    public async Task A_full_sync_right_after_another_waits_out_the_spacing()
    {
        var worker = Start();
        worker.Enqueue(new FileChange(ChangeKind.Rescan, RelativePath.Root, true), 1);
        await AdvanceWhenArmedAsync(worker, TimeSpan.FromMilliseconds(10));
        var first = await _runner.NextAsync();
        Assert.Contains("./", first.Invocation.Arguments);
        first.Complete(0);
        await Eventually.TrueAsync(() => worker.State == TargetState.InSync, Deadline, "the first full sync to end", TestContext.Current.CancellationToken);

        // The first of a series is not held back; the clock has not moved since the last run ended, so the change
        // counts as having waited out that run and goes at once, with no timer to wait for (nor a clock to move).
        worker.Enqueue(new FileChange(ChangeKind.Rescan, RelativePath.Root, true), 2);
        var second = await _runner.NextAsync();
        var secondEnded = _time.GetUtcNow();
        second.Complete(0);
        await Eventually.TrueAsync(() => worker.State == TargetState.InSync, Deadline, "the second full sync to end", TestContext.Current.CancellationToken);

        worker.Enqueue(new FileChange(ChangeKind.Rescan, RelativePath.Root, true), 3);
        await AdvanceWhenArmedAsync(worker, TimeSpan.FromMilliseconds(10));
        Assert.False(await _runner.AnyWithinAsync(TimeSpan.FromMilliseconds(300)), "an overflow loop is not spaced out");
        await AdvanceWhenArmedAsync(worker, secondEnded + TimeSpan.FromSeconds(2) - _time.GetUtcNow());
        var third = await _runner.NextAsync();
        Assert.Equal(secondEnded + TimeSpan.FromSeconds(2), third.StartedAt);
        third.Complete(0);
    }

    [Fact]
    public async Task The_snapshot_follows_an_outage_from_syncing_to_retrying_and_back_to_in_sync()
    {
        var worker = Start();
        var runs = new List<TargetRun>();
        worker.RunCompleted = r =>
        {
            lock (runs)
            {
                runs.Add(r);
            }
        };
        var idle = worker.Snapshot();
        Assert.Equal(ReportedState.InSync, idle.State);
        Assert.Equal(TimeSpan.Zero, idle.LagAt(_time.GetUtcNow()));
        Assert.Null(idle.LastAttemptSucceeded);

        var arrived = _time.GetUtcNow();
        worker.Enqueue(Upsert("a"), 1);
        worker.Enqueue(Upsert("b"), 2);
        var queued = worker.Snapshot();
        Assert.Equal(ReportedState.Syncing, queued.State); // pending, quiet period running
        Assert.Equal(2, queued.Pending);
        Assert.Equal(arrived, queued.OldestPending);

        await AdvanceWhenArmedAsync(worker, TimeSpan.FromMilliseconds(10));
        var first = await _runner.NextAsync();
        Assert.Equal(2, worker.Snapshot().Pending); // the running batch still counts: the target does not have it
        first.Complete(10, "rsync: failed to connect to 127.0.0.1: Connection refused (111)\nrsync error: error in socket IO (code 10)");
        await Eventually.TrueAsync(() => worker.RetryAt is not null, Deadline, "the worker to schedule a retry", TestContext.Current.CancellationToken);
        var failing = worker.Snapshot();
        Assert.Equal(ReportedState.Retrying, failing.State);
        Assert.Equal(2, failing.Pending);
        Assert.Equal(arrived, failing.OldestPending);
        Assert.False(failing.LastAttemptSucceeded);
        Assert.Equal(1, failing.FailuresTotal);
        Assert.NotNull(failing.FailingSince);
        Assert.Equal(10, failing.LastError!.ExitCode);
        Assert.Equal("error in socket I/O: rsync: failed to connect to 127.0.0.1: Connection refused (111)", failing.LastError.Message); // the cause, not the summary line
        Assert.Equal(1, failing.Runs[(int)FailureClass.Transient]);

        _time.Advance(worker.RetryAt!.Value - _time.GetUtcNow());
        var second = await _runner.NextAsync();
        Assert.Equal(ReportedState.Retrying, worker.Snapshot().State); // a retry running is still the outage
        Assert.True(worker.Snapshot().LagAt(_time.GetUtcNow()) >= TimeSpan.FromSeconds(0.8));
        second.Complete(0);
        await Eventually.TrueAsync(() => worker.Snapshot().State == ReportedState.InSync, Deadline, "the target to be back in sync", TestContext.Current.CancellationToken);
        var back = worker.Snapshot();
        Assert.Equal(0, back.Pending);
        Assert.Null(back.OldestPending);
        Assert.Null(back.FailingSince);
        Assert.True(back.LastAttemptSucceeded);
        Assert.Equal(_time.GetUtcNow(), back.LastSuccess);
        Assert.NotNull(back.LastError); // the last error stays for the operator to read
        Assert.Equal(1, back.Runs[(int)FailureClass.Success]);
        lock (runs)
        {
            Assert.Equal([FailureClass.Transient, FailureClass.Success], runs.Select(r => r.Result));
            Assert.All(runs, r => Assert.Equal(2, r.Paths));
        }
    }

    /// <summary>
    /// Moves the fake clock once the worker's batch timer is armed. The worker reads the clock, computes the span to
    /// wait and then arms the timer; a move in between would arm it that much late, past the time the test moves
    /// to, and the worker would wait forever (seen under load in full-suite runs).
    /// </summary>
    private async Task AdvanceWhenArmedAsync(TargetWorker worker, TimeSpan by)
    {
        await Eventually.TrueAsync(() => worker.BatchTimerDue is not null, Deadline, "the worker to arm its batch timer", TestContext.Current.CancellationToken);
        _time.Advance(by);
    }

    private TargetWorker Start(FailLogWriter? failLog = null)
    {
        var remote = new RemoteConfig(RemoteKind.LocalDirectory, null, null, _temp.Sub("dst"), 1);
        var target = new SyncTarget(_root, remote, RsyncConfig.Stock, Delete: true);
        _worker = new TargetWorker(
            new TargetBatchBuilder(target, new PathFilter(), _temp.Path),
            _runner,
            new SemaphoreSlim(4),
            failLog,
            BatchPolicy.Default,
            new RetryPolicy(new Random(Seed)),
            _time,
            NullLogger<TargetWorker>.Instance)
        {
            Synced = seq =>
            {
                lock (_synced)
                {
                    _synced.Add(seq);
                }
            },
        };
        _run = _worker.RunAsync(_stop.Token);
        return _worker;
    }

    private static FileChange Upsert(string path) => new(ChangeKind.Upsert, new RelativePath(System.Text.Encoding.UTF8.GetBytes(path)), false);
}
