using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using SerSync.Configuration;
using SerSync.Filtering;
using SerSync.Paths;
using SerSync.Rsync;
using SerSync.Targets;
using SerSync.Testing;

namespace SerSync.UnitTests.Targets;

/// <summary>
/// The wait to retry with a reachability probe, on a fake clock with a scripted runner and a fake probe: a target
/// that comes back is retried at the first probe that answers, whatever the backoff had reached; one that answers
/// but fails keeps its backoff; a fatal failure is not probed; a probe that hangs is not joined by another.
/// </summary>
public sealed class TargetWorkerProbeTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);
    private readonly TempDirectory _temp = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 1, 9, 0, 0, TimeSpan.Zero));
    private readonly ScriptedRunner _runner;
    private readonly FakeProbe _probe = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly List<long> _synced = [];
    private readonly string _root;
    private TargetWorker? _worker;
    private Task? _run;

    public TargetWorkerProbeTests()
    {
        _runner = new ScriptedRunner(_time);
        _root = _temp.Sub("src");
        Directory.CreateDirectory(_root);
        File.WriteAllText(Path.Combine(_root, "a"), "a");
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
    public async Task A_target_back_during_a_long_backoff_is_retried_at_the_first_probe_that_answers()
    {
        var worker = Start();
        var call = await FirstRunAsync(worker);

        // Four failures with the target away: the backoff grows to about 16 s.
        for (var attempt = 1; attempt <= 4; attempt++)
        {
            call.Complete(10);
            await RetryScheduledAsync(worker);
            _time.Advance(worker.RetryAt!.Value - _time.GetUtcNow());
            call = await _runner.NextAsync();
        }

        call.Complete(10);
        await RetryScheduledAsync(worker);
        var retryAt = worker.RetryAt!.Value;
        Assert.True(retryAt - _time.GetUtcNow() >= TimeSpan.FromSeconds(12), $"backoff {retryAt - _time.GetUtcNow()}");

        // Away at the first two probes, back at the third: the batch goes at that probe.
        await ProbeAsync(worker);
        await ProbeAsync(worker);
        Assert.False(await _runner.AnyWithinAsync(TimeSpan.FromMilliseconds(100)), "a probe without an answer started a run");
        _probe.Answers = true;
        var probedAt = await ProbeAsync(worker);
        var back = await _runner.NextAsync();
        Assert.Equal(probedAt, back.StartedAt);
        Assert.True(retryAt - back.StartedAt > TimeSpan.FromSeconds(10), $"retried at {back.StartedAt:O}, the backoff said {retryAt:O}");
        Assert.Equal(call.StartedAt + (3 * TargetWorker.ProbeInterval), back.StartedAt);

        back.Complete(0);
        await Eventually.TrueAsync(() => worker.State == TargetState.InSync && worker.PendingCount == 0, Deadline, "the target to be in sync", TestContext.Current.CancellationToken);
        Assert.Equal([1L], _synced);
        Assert.Null(worker.ProbeDue);
        var probes = worker.ProbesStarted;
        Assert.False(await _runner.AnyWithinAsync(TimeSpan.FromMilliseconds(100)));
        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(probes, worker.ProbesStarted); // a healthy target is not probed
    }

    [Fact]
    public async Task A_target_that_answers_the_probe_but_fails_keeps_its_backoff_and_is_not_probed_again()
    {
        _probe.Answers = true;
        var worker = Start();
        var first = await FirstRunAsync(worker);
        first.Complete(11); // file I/O error (a full disk): transient, yet the target is there
        await RetryScheduledAsync(worker);
        var retryAt = worker.RetryAt!.Value;

        await ProbeAsync(worker, expectNext: false);
        Assert.Equal(1, _probe.Calls);
        Assert.False(await _runner.AnyWithinAsync(TimeSpan.FromMilliseconds(100)), "a probe that answered from the start started a run");
        Assert.Null(worker.ProbeDue); // answered: no more probes in this wait

        _time.Advance(retryAt - _time.GetUtcNow() - TimeSpan.FromMilliseconds(1));
        Assert.False(await _runner.AnyWithinAsync(TimeSpan.FromMilliseconds(100)), "the retry ran before its backoff");
        Assert.Equal(1, _probe.Calls);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        var second = await _runner.NextAsync();
        Assert.Equal(retryAt, second.StartedAt);
        second.Complete(0);
    }

    [Fact]
    public async Task An_early_retry_that_fails_again_leaves_the_grown_backoff_to_decide()
    {
        var worker = Start();
        var call = await FirstRunAsync(worker);
        call.Complete(10);
        await RetryScheduledAsync(worker);
        await ProbeAsync(worker);
        _probe.Answers = true;
        var probedAt = await ProbeAsync(worker);
        var early = await _runner.NextAsync();
        Assert.Equal(probedAt, early.StartedAt);

        // Back, but the run fails (the daemon answers yet refuses the transfer): the second backoff step stands.
        early.Complete(12);
        await RetryScheduledAsync(worker);
        var retryAt = worker.RetryAt!.Value;
        Assert.InRange((retryAt - _time.GetUtcNow()).TotalSeconds, 1.6, 2.4);
        await ProbeAsync(worker, expectNext: false);
        Assert.False(await _runner.AnyWithinAsync(TimeSpan.FromMilliseconds(100)), "an answer with no failed probe before it in this outage started a run");
        _time.Advance(retryAt - _time.GetUtcNow());
        var third = await _runner.NextAsync();
        Assert.Equal(retryAt, third.StartedAt);
        third.Complete(0);
        await Eventually.TrueAsync(() => worker.State == TargetState.InSync, Deadline, "the target to be in sync", TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task A_fatal_failure_is_not_probed()
    {
        var worker = Start();
        var first = await FirstRunAsync(worker);
        first.Complete(5); // auth, unknown module: the daemon answers anyway
        await RetryScheduledAsync(worker);
        Assert.Null(worker.ProbeDue);
        _time.Advance(RetryPolicy.FatalRetryInterval);
        var second = await _runner.NextAsync();
        Assert.Equal(first.StartedAt + RetryPolicy.FatalRetryInterval, second.StartedAt);
        Assert.Equal(0, _probe.Calls);
        second.Complete(0);
    }

    [Fact]
    public async Task A_probe_that_hangs_is_not_joined_by_another_and_the_backoff_still_runs()
    {
        _probe.Hangs = true;
        var worker = Start();
        var first = await FirstRunAsync(worker);
        first.Complete(10);
        await RetryScheduledAsync(worker);
        var retryAt = worker.RetryAt!.Value;
        await ProbeAsync(worker, expectNext: false);
        while (_time.GetUtcNow() + TargetWorker.ProbeInterval < retryAt)
        {
            _time.Advance(TargetWorker.ProbeInterval);
            Assert.False(await _runner.AnyWithinAsync(TimeSpan.FromMilliseconds(20)));
        }

        Assert.Equal(1, _probe.Calls);
        _time.Advance(retryAt - _time.GetUtcNow());
        var second = await _runner.NextAsync();
        Assert.Equal(retryAt, second.StartedAt);
        second.Complete(0);
    }

    private async Task<ScriptedRunner.Call> FirstRunAsync(TargetWorker worker)
    {
        worker.Enqueue(new FileChange(ChangeKind.Upsert, RelativePath.FromString("a"), false), 1);
        await Eventually.TrueAsync(() => worker.BatchTimerDue is not null, Deadline, "the worker to arm its batch timer", TestContext.Current.CancellationToken);
        _time.Advance(TimeSpan.FromMilliseconds(10));
        return await _runner.NextAsync();
    }

    private static Task RetryScheduledAsync(TargetWorker worker) =>
        Eventually.TrueAsync(() => worker.RetryAt is not null, Deadline, "the worker to schedule a retry", TestContext.Current.CancellationToken);

    /// <summary>Moves the clock to the armed probe timer; unless the probe answers or hangs, waits until the next
    /// one is armed. Returns when the probe ran.</summary>
    private async Task<DateTimeOffset> ProbeAsync(TargetWorker worker, bool expectNext = true)
    {
        await Eventually.TrueAsync(() => worker.ProbeDue is not null, Deadline, "the worker to arm its probe timer", TestContext.Current.CancellationToken);
        var due = worker.ProbeDue!.Value;
        var calls = _probe.Calls;
        _time.Advance(due - _time.GetUtcNow());
        await Eventually.TrueAsync(() => _probe.Calls == calls + 1, Deadline, "the probe to run", TestContext.Current.CancellationToken);
        if (expectNext && !_probe.Answers)
        {
            await Eventually.TrueAsync(() => worker.ProbeDue == due + TargetWorker.ProbeInterval, Deadline, "the next probe to be armed", TestContext.Current.CancellationToken);
        }

        return due;
    }

    private TargetWorker Start()
    {
        var remote = new RemoteConfig(RemoteKind.LocalDirectory, null, null, _temp.Sub("dst"), 1);
        var target = new SyncTarget(_root, remote, RsyncConfig.Stock, Delete: true);
        _worker = new TargetWorker(
            new TargetBatchBuilder(target, new PathFilter(), _temp.Path),
            _runner,
            new SemaphoreSlim(4),
            null,
            BatchPolicy.Default,
            new RetryPolicy(new Random(42)),
            _time,
            NullLogger<TargetWorker>.Instance)
        {
            Probe = _probe,
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

    private sealed class FakeProbe : IReachabilityProbe
    {
        private int _calls;
        private volatile bool _answers;

        public string Endpoint => "fake:1";

        public bool Answers
        {
            get => _answers;
            set => _answers = value;
        }

        public bool Hangs { get; set; }

        public int Calls => Volatile.Read(ref _calls);

        public Task<bool> AnswersAsync(CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _calls);
            return Hangs ? new TaskCompletionSource<bool>().Task : Task.FromResult(_answers);
        }
    }
}
