using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using SerSync.FailLog;
using SerSync.Filtering;
using SerSync.Journal;
using SerSync.Paths;
using SerSync.Pipeline;
using SerSync.Processes;
using SerSync.Rsync;

namespace SerSync.Targets;

public enum TargetState
{
    InSync,
    Syncing,
    Retrying,
    Failed,
}

/// <summary>
/// One target's queue and worker: coalesces changes (<see cref="PendingSet"/>), waits per <see cref="BatchPolicy"/>,
/// runs one rsync per batch with the list on stdin, and on failure puts the batch back and backs off. Each target
/// has its own worker, so a slow or dead target never delays the others; batches for one target run one at a time,
/// so changes to one path reach it in order. The shared slots cap rsync processes across targets (<c>-n</c>).
/// </summary>
public sealed class TargetWorker : IDisposable
{
    private const int FailLogAfterAttempts = 3;
    private static readonly TimeSpan BatchLifetime = TimeSpan.FromHours(1);

    private readonly SyncTarget _target;
    private readonly IProcessRunner _runner;
    private readonly SemaphoreSlim _slots;
    private readonly FailLogWriter? _failLog;
    private readonly BatchPolicy _policy;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly PathFilter _filter;
    private readonly Lock _gate = new();
    private readonly SemaphoreSlim _exclusive = new(1, 1);
    private readonly PendingSet _pending = new();
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly Backoff _transientBackoff = new(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30));
    private DateTimeOffset? _lastRunEnded;
    private int _consecutiveFailures;
    private bool _draining;
    private DateTimeOffset? _lastFullSyncEnded;
    private TimeSpan _fullSyncSpacing = TimeSpan.Zero;

    public TargetWorker(
        SyncTarget target,
        IProcessRunner runner,
        SemaphoreSlim slots,
        FailLogWriter? failLog,
        BatchPolicy policy,
        TimeProvider time,
        ILogger logger,
        PathFilter filter)
    {
        _target = target;
        _runner = runner;
        _slots = slots;
        _failLog = failLog;
        _policy = policy;
        _time = time;
        _logger = logger;
        _filter = filter;
    }

    public SyncTarget Target => _target;

    public TargetState State { get; private set; } = TargetState.InSync;

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

    /// <summary>Set when the daemon stops: pending changes leave at once instead of after the quiet period.</summary>
    public bool Draining
    {
        get => Volatile.Read(ref _draining);
        set
        {
            Volatile.Write(ref _draining, value);
            _wake.Writer.TryWrite(true);
        }
    }

    /// <summary>Completed batches (for tests and status).</summary>
    public long BatchesSent { get; private set; }

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

    /// <summary>The id this target acknowledges journal sequences under.</summary>
    public string JournalId => ChangeJournal.IdOf(_target.Remote.Kind + " " + _target.Label);

    /// <summary>Used by the dispatcher once, before <see cref="RunAsync"/>.</summary>
    public ChangeJournal? Journal { get; set; }

    public void Enqueue(FileChange change, long sequence = 0)
    {
        lock (_gate)
        {
            _pending.Add(change, _time.GetUtcNow(), sequence);
        }

        _wake.Writer.TryWrite(true);
    }

    public async Task RunAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var batch = await WaitForBatchAsync(stoppingToken);
            if (batch is null)
            {
                return;
            }

            ProcessResult result;
            await _exclusive.WaitAsync(CancellationToken.None);
            try
            {
                result = await SendAsync(batch, stoppingToken);
            }
            finally
            {
                _exclusive.Release();
            }

            _lastRunEnded = _time.GetUtcNow();
            if (batch.FullSync)
            {
                // A full sync soon after the previous one doubles the spacing; a quiet minute resets it.
                var soon = _lastFullSyncEnded is { } previous && _lastRunEnded - previous < TimeSpan.FromSeconds(60);
                _fullSyncSpacing = soon ? TimeSpan.FromSeconds(Math.Min(60, Math.Max(2, _fullSyncSpacing.TotalSeconds * 2))) : TimeSpan.Zero;
                _lastFullSyncEnded = _lastRunEnded;
            }

            if (stoppingToken.IsCancellationRequested && !result.Succeeded)
            {
                lock (_gate)
                {
                    _pending.Requeue(batch, _time.GetUtcNow());
                }

                return;
            }

            await HandleResultAsync(batch, result, stoppingToken);
        }
    }

    /// <summary>Waits until there is something pending and the batch policy says it is due, then takes it.</summary>
    private async Task<Batch?> WaitForBatchAsync(CancellationToken token)
    {
        while (true)
        {
            DateTimeOffset? due = null;
            lock (_gate)
            {
                if (!_pending.IsEmpty)
                {
                    due = Draining ? _time.GetUtcNow() : _policy.DueAt(_pending.OldestChange!.Value, _pending.NewestChange!.Value, _lastRunEnded);
                    if (_pending.IsFullSync && _lastFullSyncEnded is { } last && !Draining)
                    {
                        // Overflow after overflow: full syncs back off (2 s doubling to 60 s) instead of looping.
                        var spaced = last + _fullSyncSpacing;
                        due = spaced > due ? spaced : due;
                    }

                    if (due <= _time.GetUtcNow())
                    {
                        // Busy from the moment the batch leaves the set, so a drain never sees an idle gap.
                        State = TargetState.Syncing;
                        return _pending.Take();
                    }
                }
            }

            try
            {
                var wake = _wake.Reader.WaitToReadAsync(token).AsTask();
                if (due is { } d)
                {
                    using var delayCancel = CancellationTokenSource.CreateLinkedTokenSource(token);
                    var delay = Task.Delay(d - _time.GetUtcNow() is var wait && wait > TimeSpan.Zero ? wait : TimeSpan.Zero, _time, delayCancel.Token);
                    await Task.WhenAny(wake, delay);
                    await delayCancel.CancelAsync();
                }
                else
                {
                    await wake;
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

    private async Task<ProcessResult> SendAsync(Batch batch, CancellationToken token)
    {
        ProcessInvocation invocation;
        string? excludeFile = null;
        byte[]? excludes = null;
        if (batch.FullSync)
        {
            invocation = FullPush.Invocation(_target, FullPush.ExcludeListFor(_target.WatchRoot, PipelineFactory.FullPushExclusion(_filter)), []);
        }
        else
        {
            var list = BatchListBuilder.Build(_target.WatchRoot, batch, _filter);
            excludes = list.Excludes;
            if (excludes is not null)
            {
                excludeFile = Path.Combine(Path.GetTempPath(), $"sersyncd-{Environment.ProcessId}-{Guid.NewGuid():N}.exclude");
                File.WriteAllBytes(excludeFile, excludes);
            }

            invocation = new ProcessInvocation(_target.WatchRoot, RsyncArguments.Batch(_target, excludeFile), list.Paths);
        }

        try
        {
            await _slots.WaitAsync(token);
            ProcessResult result;
            try
            {
                _logger.LogDebug("{Target}: exec {Program} {Arguments} ({Count} entries on stdin)", _target.Label, _runner.Program, string.Join(' ', invocation.Arguments), batch.Count);

                if (batch.FullSync)
                {
                    (invocation, result) = await FullPush.RunProtectedAsync(_runner, invocation, PipelineFactory.FullPushExclusion(_filter), _logger, token);
                }
                else
                {
                    result = await _runner.RunAsync(invocation, BatchLifetime, token);
                }
            }
            finally
            {
                _slots.Release();
            }

            if (!result.Succeeded && _failLog is not null && _consecutiveFailures + 1 == FailLogAfterAttempts)
            {
                var extra = excludeFile is null ? null : new FailLogFile(excludeFile, FailLogWriter.SplitNul(excludes));
                _failLog.Append(result.ExitCode, _runner.Program, invocation, FailLogWriter.SplitNul(invocation.Stdin), _target.Label, _time.GetLocalNow(), extra);
            }

            return result;
        }
        finally
        {
            if (excludeFile is not null)
            {
                File.Delete(excludeFile);
            }
        }
    }

    private async Task HandleResultAsync(Batch batch, ProcessResult result, CancellationToken token)
    {
        var cls = RsyncExitCodes.Classify(result.ExitCode);
        if (cls == FailureClass.Success)
        {
            BatchesSent++;
            if (batch.Sequence > 0)
            {
                Journal?.Acknowledge(JournalId, batch.Sequence);
            }

            if (_consecutiveFailures > 0)
            {
                _logger.LogInformation("{Target}: back in sync after {Failures} failed attempt(s)", _target.Label, _consecutiveFailures);
            }

            _consecutiveFailures = 0;
            _transientBackoff.Reset();
            lock (_gate)
            {
                State = _pending.IsEmpty ? TargetState.InSync : TargetState.Syncing;
            }

            _logger.LogDebug("{Target}: {Count} path(s) synced in {Ms} ms", _target.Label, batch.Count, (int)result.Duration.TotalMilliseconds);

            return;
        }

        _consecutiveFailures++;
        lock (_gate)
        {
            _pending.Requeue(batch, _time.GetUtcNow());
        }

        var wait = cls == FailureClass.Fatal ? TimeSpan.FromSeconds(60) : _transientBackoff.Next();
        State = cls == FailureClass.Fatal ? TargetState.Failed : TargetState.Retrying;
        _logger.Log(
            cls == FailureClass.Fatal ? LogLevel.Error : LogLevel.Warning,
            "{Target}: rsync exit {Code} ({Meaning}, {Class}); {Count} path(s) kept, retry {Attempt} in {Seconds:F1} s: {Output}",
            _target.Label,
            result.ExitCode,
            RsyncExitCodes.Describe(result.ExitCode),
            cls,
            batch.Count,
            _consecutiveFailures,
            wait.TotalSeconds,
            result.Output);
        try
        {
            await Task.Delay(wait, _time, token);
        }
        catch (OperationCanceledException)
        {
        }
    }

    public void Dispose() => _exclusive.Dispose();

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
