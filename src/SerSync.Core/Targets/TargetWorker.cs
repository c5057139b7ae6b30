// Implementation notes. Threads: Enqueue runs on the dispatcher's task, RunAsync is one long-running task, and
// status readers (PendingCount, State, HasWorkToDrain) come from anywhere; all three share _pending and _state
// under _gate, and nothing else is done under it (no I/O, no awaiting). _exclusive is held around each rsync run,
// and by HoldAsync callers (a crontab push, a fail-log replay) so that two rsyncs never write this target at once;
// it is never taken while _gate is held. Lock order, where both are held: a hold (_exclusive) first, then the
// shared slots (the -n cap), never the reverse. Timers: a TimeProvider arms a timer for a span computed from one
// reading of the clock, so a clock moved between the reading and the arming (a test's FakeTimeProvider) leaves the
// timer late by the jump. So a wait is only made visible (RetryAt, BatchTimerDue) once its timer exists, and the
// batch wait only when no wake is queued behind it (wakes clear it under _gate): whoever sees it and moves the
// clock then moves a timer that is already armed, for a wait that is still current.
using System.Text;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using SerSync.FailLog;
using SerSync.Paths;
using SerSync.Processes;
using SerSync.Rsync;

namespace SerSync.Targets;

/// <summary>
/// One target's queue and worker: coalesces changes (<see cref="PendingSet"/>), waits per <see cref="BatchPolicy"/>,
/// runs one rsync per batch (<see cref="TargetBatchBuilder"/>) and, on failure, puts the batch back and waits as
/// <see cref="RetryPolicy"/> says. Each target has its own worker, so a slow or dead target never delays the
/// others; batches for one target run one at a time, so changes to one path reach it in order. The shared slots
/// cap rsync processes across targets (<c>-n</c>).
/// </summary>
public sealed partial class TargetWorker : IChangeSink, IDisposable
{
    /// <summary>A live batch's bound on its life; rsync's own I/O timeout catches a stuck peer well before.</summary>
    public static readonly TimeSpan BatchLifetime = TimeSpan.FromHours(1);

    private readonly TargetBatchBuilder _builder;
    private readonly IProcessRunner _runner;
    private readonly SemaphoreSlim _slots;
    private readonly FailLogWriter? _failLog;
    private readonly BatchPolicy _batching;
    private readonly RetryPolicy _retry;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly SemaphoreSlim _exclusive = new(1, 1);
    private readonly PendingSet _pending = new();
    private readonly IMoveStage? _moves;
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private TargetState _state = TargetState.InSync;
    private DateTimeOffset? _lastRunEnded;
    private DateTimeOffset? _retryAt;
    private DateTimeOffset? _batchTimerDue;
    private volatile bool _draining;

    // Statistics, under _gate: the batch being sent (still pending as far as an operator is concerned), the outcome
    // of the last attempts, and the run counts by FailureClass.
    private Batch? _inFlight;
    private DateTimeOffset? _lastSuccess;
    private bool? _lastAttemptSucceeded;
    private TargetError? _lastError;
    private long _failuresTotal;
    private DateTimeOffset? _failingSince;
    private TargetState _failureState = TargetState.Retrying;
    private readonly long[] _runs = new long[4];

    // The log (worker's task only): when the last "still failing" reminder went out.
    private readonly BatchLogLimiter _batchLog;
    private DateTimeOffset? _lastReminder;

    /// <summary>How often a target that keeps failing is reminded of at warning level; the attempts in between are
    /// debug lines (a target down for an hour retries about 120 times).</summary>
    public static readonly TimeSpan FailureReminderInterval = TimeSpan.FromMinutes(10);

    /// <summary>For tests only, ignored unless set: <c>SERSYNCD_TEST_BLOCK_ON=NAME</c> makes a worker block its thread
    /// for good, synchronously, when it takes a batch with a path whose last name is NAME (a hung pipeline, for the
    /// watchdog's test).</summary>
    internal static readonly byte[]? TestBlockOn = Environment.GetEnvironmentVariable("SERSYNCD_TEST_BLOCK_ON") is { Length: > 0 } name
        ? System.Text.Encoding.UTF8.GetBytes(name)
        : null;

    public TargetWorker(
        TargetBatchBuilder builder,
        IProcessRunner runner,
        SemaphoreSlim slots,
        FailLogWriter? failLog,
        BatchPolicy batching,
        RetryPolicy retry,
        TimeProvider time,
        ILogger<TargetWorker> logger)
    {
        _builder = builder;
        _runner = runner;
        _slots = slots;
        _failLog = failLog;
        _batching = batching;
        _retry = retry;
        _time = time;
        _logger = logger;
        _batchLog = new BatchLogLimiter(BatchLogLimiter.DefaultWindow, time, LogBatch, LogSummary);
        _moves = MoveStages.For(builder.Target, logger);
    }

    /// <summary>The worker loop's proof that it turns, for the watchdog; <see cref="Heartbeat.None"/> unless watched.</summary>
    public Heartbeat Heartbeat { get; set; } = Heartbeat.None;

    public SyncTarget Target => _builder.Target;

    public string Id => Target.Id;

    /// <summary>Called with a batch's highest journal sequence once the target has it (the journal's acknowledgement).</summary>
    public Action<long>? Synced { get; set; }

    /// <summary>Called after each rsync run of a live batch, on the worker's task (metrics: keep it cheap).</summary>
    public Action<TargetRun>? RunCompleted { get; set; }

    /// <summary>The target's state for status and metrics; a lock held for a few field reads, never across I/O.</summary>
    public TargetSnapshot Snapshot()
    {
        lock (_gate)
        {
            var pending = _pending.Count + (_inFlight?.Count ?? 0);
            DateTimeOffset? oldest = _pending.OldestChange;
            if (_inFlight is { } running && (oldest is null || running.OldestChange < oldest))
            {
                oldest = running.OldestChange;
            }

            var state = _failingSince is not null
                ? (_failureState == TargetState.Failed ? ReportedState.Failed : ReportedState.Retrying)
                : pending > 0 || _state == TargetState.Syncing ? ReportedState.Syncing : ReportedState.InSync;
            return new TargetSnapshot(
                Id, Target.Label, Target.Remote.Kind, state, pending, pending > 0 ? oldest : null, _lastSuccess,
                _lastAttemptSucceeded, _lastError, _failuresTotal, _failingSince, [.. _runs], FullPushGuard?.Current)
            {
                FullSyncOwedByCollapse = _collapseOwed > 0,
            };
        }
    }

    public TargetState State
    {
        get
        {
            lock (_gate)
            {
                return _state;
            }
        }
    }

    /// <summary>When the batch that failed last is tried again; null unless the worker is waiting to retry.</summary>
    public DateTimeOffset? RetryAt
    {
        get
        {
            lock (_gate)
            {
                return _retryAt;
            }
        }
    }

    public int PendingCount
    {
        get
        {
            lock (_gate)
            {
                return _pending.Count;
            }
        }
    }

    /// <summary>For tests: when the armed timer of the wait for a batch to be due goes off, while nothing newer has
    /// woken the worker; null otherwise. A fake clock moved once this is set moves a timer that exists.</summary>
    internal DateTimeOffset? BatchTimerDue
    {
        get
        {
            lock (_gate)
            {
                return _batchTimerDue;
            }
        }
    }

    /// <summary>For tests: a full sync is waiting in the pending set.</summary>
    internal bool FullSyncPending
    {
        get
        {
            lock (_gate)
            {
                return _pending.IsFullSync;
            }
        }
    }

    /// <summary>True while a drain should wait for this target: a batch is running, or changes are pending on a
    /// target that is not failing (a failing target's changes stay in the journal instead).</summary>
    public bool HasWorkToDrain
    {
        get
        {
            lock (_gate)
            {
                return _state == TargetState.Syncing || (!_pending.IsEmpty && _state == TargetState.InSync);
            }
        }
    }

    /// <summary>Set when the pipeline stops: pending changes leave at once instead of after the quiet period.</summary>
    public bool Draining
    {
        get => _draining;
        set
        {
            _draining = value;
            Wake();
        }
    }

    /// <summary>
    /// Holds off this target's batches until the result is disposed (waiting for a running one to end), for work
    /// that writes the same target from outside the worker: a scheduled full push, a fail-log replay. Two rsyncs
    /// to one target at once could finish out of order and leave an older copy of a file.
    /// </summary>
    public async Task<IDisposable> HoldAsync(CancellationToken cancellationToken)
    {
        await _exclusive.WaitAsync(cancellationToken);
        return new Releaser(_exclusive);
    }

    /// <summary>Whether a pending change will bring <paramref name="path"/> in line (see <see cref="PendingSet.Covers"/>):
    /// the audit does not count such a path as drift.</summary>
    public bool IsPending(RelativePath path)
    {
        lock (_gate)
        {
            return _pending.Covers(path);
        }
    }

    public void Enqueue(FileChange change, long sequence)
    {
        bool collapsed;
        lock (_gate)
        {
            _pending.Add(change, _time.GetUtcNow(), sequence);
            collapsed = _pending.Count > _maxPendingPaths && CollapsePending(sequence); // TargetWorker.Bound.cs
        }

        if (collapsed)
        {
            PendingCollapsed(Target.Label, MaxPendingPaths);
        }

        Wake();
    }

    /// <summary>Wakes the worker; the timer it waits on is no longer the whole story until it has looked again.</summary>
    private void Wake()
    {
        lock (_gate)
        {
            _wake.Writer.TryWrite(true);
            _batchTimerDue = null;
        }
    }

    public async Task RunAsync(CancellationToken stoppingToken)
    {
        Heartbeat.Start();
        try
        {
            await LoopAsync(stoppingToken);
            Heartbeat.Stop(); // ended on purpose; a loop that died stays counted, so the watchdog sees it stop
        }
        catch (OperationCanceledException)
        {
            Heartbeat.Stop();
            throw;
        }
        finally
        {
            _batchLog.Flush();
        }
    }

    private async Task LoopAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            Heartbeat.Beat();
            var batch = await WaitForBatchAsync(stoppingToken);
            if (batch is null)
            {
                return;
            }

            if (TestBlockOn is { } blockOn && batch.Paths.Any(p => p.Name.SequenceEqual(blockOn)))
            {
                TestHookBlocks(Target.Label, Encoding.UTF8.GetString(blockOn));
                Thread.Sleep(Timeout.Infinite);
            }

            ProcessResult result;
            RsyncStats stats;
            // A crontab push or a fail-log replay may hold the target for a while; both are bounded by their runs.
            await Heartbeat.AwaitAsync(_exclusive.WaitAsync(CancellationToken.None));
            try
            {
                (result, stats, batch) = await SendAsync(batch, stoppingToken);
            }
            finally
            {
                _exclusive.Release();
            }

            var ended = _time.GetUtcNow();
            _lastRunEnded = ended;
            if (batch.FullSync)
            {
                _retry.OnFullSyncEnded(ended);
            }

            if (stoppingToken.IsCancellationRequested && !result.Succeeded)
            {
                lock (_gate)
                {
                    _pending.Requeue(batch, ended);
                    _inFlight = null;
                    _state = TargetState.InSync;
                }

                return;
            }

            var outageBegan = Record(batch, result, ended);

            await HandleResultAsync(batch, result, stats, outageBegan, stoppingToken);
        }
    }

    /// <summary>Waits until there is something pending and the policies say it is due, then takes it.</summary>
    private async Task<Batch?> WaitForBatchAsync(CancellationToken token)
    {
        while (true)
        {
            DateTimeOffset? due = null;
            lock (_gate)
            {
                if (!_pending.IsEmpty)
                {
                    var now = _time.GetUtcNow();
                    due = Draining ? now : _batching.DueAt(_pending.OldestChange!.Value, _pending.NewestChange!.Value, _lastRunEnded);
                    if (_pending.IsFullSync && !Draining && _retry.FullSyncNotBefore is { } spaced && spaced > due)
                    {
                        due = spaced; // overflow after overflow: full syncs back off instead of looping
                    }

                    if (_pending.AwaitsMoveTo && !Draining && _pending.NewestChange!.Value + MovePairWait > due)
                    {
                        due = _pending.NewestChange!.Value + MovePairWait; // a rename's second half is on its way
                    }

                    if (due <= now)
                    {
                        // Busy from the moment the batch leaves the set, so a drain never sees an idle gap.
                        _state = TargetState.Syncing;
                        _inFlight = _pending.Take();
                        return _inFlight;
                    }
                }
            }

            try
            {
                var wake = _wake.Reader.WaitToReadAsync(token).AsTask();
                if (due is { } d)
                {
                    using var delayCancel = CancellationTokenSource.CreateLinkedTokenSource(token);
                    var wait = d - _time.GetUtcNow();
                    var delay = Task.Delay(wait > TimeSpan.Zero ? wait : TimeSpan.Zero, _time, delayCancel.Token);
                    lock (_gate)
                    {
                        // Armed now; not shown if a wake came in since the pending set was read (it is looked at again).
                        _batchTimerDue = _wake.Reader.Count == 0 ? d : null;
                    }

                    await Heartbeat.AwaitAsync(Task.WhenAny(wake, delay));
                    await delayCancel.CancelAsync();
                    lock (_gate)
                    {
                        _batchTimerDue = null;
                    }
                }
                else
                {
                    await Heartbeat.AwaitAsync(wake);
                }

                _wake.Reader.TryRead(out _);
            }
            catch (OperationCanceledException)
            {
                return null;
            }

            if (token.IsCancellationRequested)
            {
                return null;
            }
        }
    }

    /// <returns>The run's result, and the batch as it is to be put back should it have failed: without the moves
    /// that the target was reached for (each done, or left to this rsync).</returns>
    private async Task<(ProcessResult Result, RsyncStats Stats, Batch Batch)> SendAsync(Batch batch, CancellationToken token)
    {
        using var prepared = _builder.Build(batch);
        var invocation = prepared.Invocation;
        var stats = new RsyncStats();
        ProcessResult result;
        try
        {
            // Other targets' runs hold the slots (-n); each is bounded by its own lifetime.
            await Heartbeat.AwaitAsync(_slots.WaitAsync(token));
        }
        catch (OperationCanceledException)
        {
            return (new ProcessResult(-1, "stopped before it started", TimeSpan.Zero, false), stats, batch);
        }

        try
        {
            (batch, var unreachable) = await ReplayMovesAsync(batch, token);
            if (unreachable is not null)
            {
                // The renames could not reach the target (ssh could not connect, the directory is missing): neither
                // would rsync, and a partial rsync before them would change what they rename. They wait, in order.
                return (new ProcessResult(RsyncExitCodes.RemoteShellFailed, unreachable, TimeSpan.Zero, false), stats, batch);
            }

            Exec(Target.Label, _runner.Program, string.Join(' ', invocation.Arguments), prepared.Count);
            if (prepared.FullSync)
            {
                (invocation, result) = await Heartbeat.AwaitAsync(FullPush.RunGuardedAsync(_runner, invocation, _builder.FullSyncExclusion, FullPushGuard, _logger, token));
            }
            else
            {
                // --stats for the log's byte counts, on the run alone: the fail log keeps the argv as configured.
                // Its lines are on stdout, read apart from the output that errors are read from (stderr).
                result = await Heartbeat.AwaitAsync(_runner.RunAsync(WithStats(invocation), BatchLifetime, token, stats.Read));
            }
        }
        finally
        {
            _slots.Release();
        }

        if (!result.Succeeded && _failLog is not null && _retry.NextFailureGoesToFailLog && !token.IsCancellationRequested)
        {
            _failLog.Append(result.ExitCode, _runner.Program, batch.FullSync ? FullPushGuard.ForFailLog(invocation) : invocation, FailLogWriter.SplitNul(invocation.Stdin), Target.Label, _time.GetLocalNow(), prepared.FailLogExtra);
        }

        return (result, stats, batch);
    }

    /// <summary>The invocation with <c>--stats</c> among the options (before the source and destination).</summary>
    private static ProcessInvocation WithStats(ProcessInvocation invocation)
    {
        var args = invocation.Arguments;
        return args.Count < 2 ? invocation : invocation with { Arguments = [.. args.Take(args.Count - 2), RsyncStats.Option, args[^2], args[^1]] };
    }

    private async Task HandleResultAsync(Batch batch, ProcessResult result, RsyncStats stats, DateTimeOffset? outageBegan, CancellationToken token)
    {
        var failure = RsyncExitCodes.Classify(result.ExitCode);
        if (failure == FailureClass.Success)
        {
            if (batch.Sequence > 0)
            {
                Synced?.Invoke(batch.Sequence);
            }

            NoteSynced(batch); // TargetWorker.Bound.cs

            var failedBefore = _retry.OnSuccess();
            if (failedBefore > 0)
            {
                var outage = outageBegan is { } began ? _time.GetUtcNow() - began : TimeSpan.Zero;
                BackInSync(Target.Label, Duration(outage), failedBefore);
                _lastReminder = null;
            }

            lock (_gate)
            {
                _state = _pending.IsEmpty ? TargetState.InSync : TargetState.Syncing;
                _inFlight = null;
            }

            _batchLog.Add(new BatchLogEntry(batch.Count, FirstPaths(batch), stats.TransferredBytes, stats.SentBytes, result.Duration, batch.FullSync));
            return;
        }

        var decision = _retry.OnFailure(failure);
        DateTimeOffset retryAt;
        TargetState before;
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            _pending.Requeue(batch, now);
            _inFlight = null;
            before = decision.Attempt == 1 ? TargetState.InSync : _failureState;
            _state = decision.State;
            _failureState = decision.State;
            retryAt = now + decision.Wait;
        }

        LogFailure(batch, result, failure, decision, before, outageBegan);
        await WaitToRetryAsync(retryAt, decision, failure == FailureClass.Transient, token);
    }

    /// <summary>
    /// A failed run, told so that an outage of an hour does not flood the log: the change of state (in sync to
    /// retrying, or to failed, or back) at warning or error with the error; the attempts after it at debug, with a
    /// warning reminder every <see cref="FailureReminderInterval"/>.
    /// </summary>
    private void LogFailure(Batch batch, ProcessResult result, FailureClass failure, RetryDecision decision, TargetState before, DateTimeOffset? outageBegan)
    {
        var meaning = RsyncExitCodes.Describe(result.ExitCode);
        var now = _time.GetUtcNow();
        var level = failure == FailureClass.Fatal ? LogLevel.Error : LogLevel.Warning;
        if (before != decision.State)
        {
            var state = decision.State == TargetState.Failed ? "failed (fatal: retried every " + Duration(decision.Wait) + ")" : "retrying";
            StateChanged(level, Target.Label, state, result.ExitCode, meaning, batch.Count, decision.Wait.TotalSeconds, result.Output);
            _lastReminder = now;
            return;
        }

        var outage = outageBegan is { } began ? now - began : TimeSpan.Zero;
        if (_lastReminder is { } last && now - last < FailureReminderInterval)
        {
            RetryFailed(Target.Label, result.ExitCode, meaning, decision.Attempt, decision.Wait.TotalSeconds, result.Output);
            return;
        }

        _lastReminder = now;
        int pending;
        lock (_gate)
        {
            pending = _pending.Count;
        }

        StillFailing(level, Target.Label, Duration(outage), decision.Attempt, result.ExitCode, meaning, pending, decision.Wait.TotalSeconds, result.Output);
    }

    /// <summary>The first path or two of a batch, escaped for the log, and how many more.</summary>
    internal static string FirstPaths(Batch batch)
    {
        if (batch.FullSync)
        {
            return "full sync";
        }

        var shown = batch.Entries.Take(2).Select(e => e.Path.IsRoot ? "." : e.Path.ToString());
        var text = string.Join(", ", shown);
        return batch.Entries.Count > 2 ? $"{text} and {batch.Entries.Count - 2} more" : text;
    }

    /// <summary>A span for a person: "850 ms", "12 s", "4 min 10 s", "2 h 5 min".</summary>
    internal static string Duration(TimeSpan span) => span switch
    {
        _ when span < TimeSpan.FromSeconds(1) => $"{(int)span.TotalMilliseconds} ms",
        _ when span < TimeSpan.FromMinutes(1) => $"{span.TotalSeconds:0.#} s",
        _ when span < TimeSpan.FromHours(1) => span.Seconds == 0 ? $"{(int)span.TotalMinutes} min" : $"{(int)span.TotalMinutes} min {span.Seconds} s",
        _ => span.Minutes == 0 ? $"{(int)span.TotalHours} h" : $"{(int)span.TotalHours} h {span.Minutes} min",
    };

    private void LogBatch(BatchLogEntry entry)
    {
        if (entry.FullSync)
        {
            FullSyncDone(Target.Label, Duration(entry.Duration));
        }
        else if (entry.Bytes is { } bytes)
        {
            BatchSynced(Target.Label, entry.Paths, entry.FirstPaths, bytes, entry.SentBytes ?? 0, Duration(entry.Duration));
        }
        else
        {
            BatchSyncedNoStats(Target.Label, entry.Paths, entry.FirstPaths, Duration(entry.Duration));
        }
    }

    private void LogSummary(BatchLogSummary summary) =>
        BatchesSummed(Target.Label, summary.Batches, summary.Paths, summary.Bytes ?? 0, summary.SentBytes ?? 0, Duration(summary.Duration));

    /// <summary>Counts a finished run and keeps what status reports of it: the last success, the last error and when
    /// the outage began.</summary>
    /// <returns>When the outage that this run ended or continues began (null when none was going on).</returns>
    private DateTimeOffset? Record(Batch batch, ProcessResult result, DateTimeOffset ended)
    {
        var failure = RsyncExitCodes.Classify(result.ExitCode);
        DateTimeOffset? outageBegan;
        lock (_gate)
        {
            outageBegan = _failingSince;
            _runs[(int)failure]++;
            _lastAttemptSucceeded = failure == FailureClass.Success;
            if (failure == FailureClass.Success)
            {
                _lastSuccess = ended;
                _failingSince = null;
            }
            else
            {
                _failuresTotal++;
                _failingSince ??= ended;
                _lastError = new TargetError(ended, result.ExitCode, ErrorMessage(result));
            }
        }

        RunCompleted?.Invoke(new TargetRun(Id, failure, result.Duration, batch.Count, batch.FullSync));
        return outageBegan;
    }

    /// <summary>The meaning of the exit code and rsync's last line of output, kept short: it is shown in a table.</summary>
    private static string ErrorMessage(ProcessResult result)
    {
        var meaning = RsyncExitCodes.Describe(result.ExitCode);
        // rsync's last line is its summary ("rsync error: ... (code 10) at clientserver.c(...)"); the cause is the line
        // before, from rsync itself ("rsync: failed to connect to ...") or from the daemon ("@ERROR: auth failed ...").
        var lines = result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var last = lines.LastOrDefault(l => l.StartsWith("rsync:", StringComparison.Ordinal) || l.StartsWith("@ERROR", StringComparison.Ordinal)) ?? lines.LastOrDefault();
        var message = string.IsNullOrEmpty(last) ? meaning : meaning + ": " + last;
        return message.Length > 300 ? message[..300] + "..." : message;
    }

    public void Dispose()
    {
        _batchLog.Dispose();
        _exclusive.Dispose();
    }

    private sealed class Releaser(SemaphoreSlim semaphore) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                semaphore.Release();
            }
        }
    }
}
