using Microsoft.Extensions.Logging;
using SerSync.Configuration;
using SerSync.Filtering;
using SerSync.Paths;
using SerSync.Rsync;

namespace SerSync.Scheduling;

/// <summary>
/// <c>&lt;audit start="true" schedule="MIN" repair="..."/&gt;</c>: every MIN minutes, a <see cref="DriftAudit"/> of every
/// target, each while holding that target's worker (so the dry run does not race a live batch and report a path
/// half-sent). Each target's result is kept in <see cref="AuditResults"/>. With repair, the paths found are handed to
/// <c>repair</c> as changes (the pipeline journals and queues them like any change, never a full push): what is
/// missing or differs as an upsert, what is only on the target as a delete (the batch list turns a path the source
/// does not have into a deletion). They are <see cref="ChangeEvent.Recheck"/>, so no plugin fires for a repair.
/// </summary>
public sealed partial class AuditScheduler
{
    /// <summary>How many paths a warning names before "and N more".</summary>
    public const int PathsLogged = 5;

    private readonly AuditConfig _config;
    private readonly Func<IReadOnlyList<SyncTarget>> _targets;
    private readonly PathFilter _filter;
    private readonly DriftAudit _audit;
    private readonly HoldCall _hold;
    private readonly Func<SyncTarget, IReadOnlyList<FileChange>, int> _repair;
    private readonly AuditResults _results;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly PeriodicSchedule? _schedule;
    private readonly SemaphoreSlim? _slots;
    private readonly Func<SyncTarget, RelativePath, bool>? _pending;
    private int _runs;

    /// <summary>Holds a target's batches until disposed (<c>TargetWorker.HoldAsync</c>).</summary>
    public delegate Task<IDisposable> HoldCall(SyncTarget target, CancellationToken cancellationToken);

    /// <param name="targets">The targets to audit, asked at every run.</param>
    /// <param name="repair">Queues changes on the target's root; returns how many were queued.</param>
    /// <param name="slots">The shared cap on rsync processes (<c>-n</c>), taken after the hold as a batch takes it; null: none.</param>
    /// <param name="pending">Whether a change already queued on the target will bring a path in line
    /// (<c>TargetWorker.IsPending</c>): such a path is on its way, not drift, and is neither counted nor queued again.</param>
    public AuditScheduler(
        AuditConfig config,
        Func<IReadOnlyList<SyncTarget>> targets,
        PathFilter filter,
        DriftAudit audit,
        HoldCall hold,
        Func<SyncTarget, IReadOnlyList<FileChange>, int> repair,
        AuditResults results,
        TimeProvider time,
        ILogger logger,
        SemaphoreSlim? slots = null,
        Func<SyncTarget, RelativePath, bool>? pending = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        _config = config;
        _slots = slots;
        _pending = pending;
        _targets = targets;
        _filter = filter;
        _audit = audit;
        _hold = hold;
        _repair = repair;
        _results = results;
        _time = time;
        _logger = logger;
        if (config.Enabled)
        {
            _schedule = new PeriodicSchedule("audit", config.Period, RunOnceAsync, time, logger);
        }
    }

    /// <summary>Runs started so far.</summary>
    public int Runs => Volatile.Read(ref _runs);

    /// <summary>When the next run is due while the scheduler waits for it (for tests moving a fake clock).</summary>
    public DateTimeOffset? NextRunDue => _schedule?.NextDue;

    /// <summary>The changes that bring a target in line with what an audit found.</summary>
    public static List<FileChange> RepairChanges(IEnumerable<DriftEntry> entries) =>
    [
        .. entries.Select(e => new FileChange(
            e.Kind == DriftKind.OnlyOnTarget ? ChangeKind.Delete : ChangeKind.Upsert,
            e.Path,
            e.IsDirectory,
            ChangeEvent.Recheck)),
    ];

    /// <summary>Runs until cancelled; the first audit one period after the call.</summary>
    public Task RunAsync(CancellationToken cancellationToken)
    {
        if (_schedule is null)
        {
            return Task.CompletedTask;
        }

        Started(_logger, _config.ScheduleMinutes, _time.GetUtcNow() + _schedule.Period, _config.Repair ? "repairs what it finds" : "reports only");
        var targets = _targets();
        if (_config.Repair && targets.Any(t => DriftAudit.UsesUpdate(t.Rsync.CommonParams)))
        {
            RepairKeepsNewer(_logger);
        }

        return _schedule.RunAsync(cancellationToken);
    }

    /// <summary>Targets audited at once. Each audit holds its target's live batches for its dry run; without a bound,
    /// a run over twenty targets would hold all twenty while they queue for the shared rsync slots.</summary>
    public const int Concurrency = 2;

    /// <summary>One run: every target audited (at most <see cref="Concurrency"/> at once, each under its own hold),
    /// results recorded and logged.</summary>
    public async Task RunOnceAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _runs);
        using var turns = new SemaphoreSlim(Concurrency);
        await Task.WhenAll(_targets().Select(async t =>
        {
            // Taken before the hold, so the order stays hold, then slots, and no held worker waits for a turn.
            await turns.WaitAsync(cancellationToken);
            try
            {
                await AuditOneAsync(t, cancellationToken);
            }
            finally
            {
                turns.Release();
            }
        }));
    }

    private async Task AuditOneAsync(SyncTarget target, CancellationToken cancellationToken)
    {
        DriftReport report;
        try
        {
            using (await _hold(target, cancellationToken))
            {
                if (_slots is not null)
                {
                    await _slots.WaitAsync(cancellationToken);
                }

                try
                {
                    report = await _audit.RunAsync(target, _filter, checksum: false, cancellationToken);
                }
                finally
                {
                    _slots?.Release();
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            // One target's broken audit (its root unreadable, say) must not end the others' or the schedule.
            _results.Record(target, new AuditSummary(_time.GetUtcNow(), 0, 0, 0, 0, 0, ex.Message));
            AuditCrashed(_logger, target.WatchRoot, target.Label, ex);
            return;
        }

        if (report.Failure is { } failure)
        {
            _results.Record(target, new AuditSummary(report.At, 0, 0, 0, 0, 0, $"rsync exit {failure.ExitCode} ({failure.Meaning})"));
            AuditFailed(_logger, target.WatchRoot, target.Label, failure.ExitCode, failure.Meaning, failure.Output);
            return;
        }

        if (_pending is not null)
        {
            var drifted = report.Entries.Where(e => !_pending(target, e.Path)).ToList();
            if (drifted.Count < report.Entries.Count)
            {
                PendingNotCounted(_logger, target.WatchRoot, target.Label, report.Entries.Count - drifted.Count);
                report = report with { Entries = drifted };
            }
        }

        var queued = 0;
        if (_config.Repair && report.Entries.Count > 0)
        {
            queued = _repair(target, RepairChanges(report.Entries));
        }

        var missing = report.Count(DriftKind.Missing);
        var differs = report.Count(DriftKind.Differs);
        var onlyOnTarget = report.Count(DriftKind.OnlyOnTarget);
        _results.Record(target, new AuditSummary(report.At, report.Entries.Count, missing, differs, onlyOnTarget, queued, null));
        if (report.Entries.Count == 0)
        {
            InSync(_logger, target.WatchRoot, target.Label, report.Duration.TotalSeconds, report.DeletesChecked ? string.Empty : " (delete is off: paths only on the target are not checked)");
            return;
        }

        var named = string.Join(", ", report.Entries.Take(PathsLogged).Select(e => $"{DriftEntry.Describe(e.Kind)} {e.Path}"));
        var more = report.Entries.Count > PathsLogged ? $" and {report.Entries.Count - PathsLogged} more" : string.Empty;
        var action = _config.Repair ? $"; {queued} change(s) queued to repair it" : "; repair is off";
        Drift(_logger, target.WatchRoot, target.Label, report.Entries.Count, missing, differs, onlyOnTarget, named + more, action);
    }
}
