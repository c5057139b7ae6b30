using SerSync.Paths;

namespace SerSync.Targets;

/// <summary>The bound on what a target that is away holds in memory: past <see cref="MaxPendingPaths"/> coalesced
/// paths its pending set becomes one full sync (which covers every change before it). A reachable target in a
/// storm of changes is not away: only four times the bound turns its set into a full sync.</summary>
public sealed partial class TargetWorker
{
    private const int ReachableFactor = 4;
    private int _maxPendingPaths = int.MaxValue;
    private long _collapseOwed; // under _gate: the sequence of the full sync a collapse queued, 0 when none is owed

    /// <summary>The bound on pending paths while the target is away (<see cref="Configuration.JournalConfig.MaxPendingPaths"/>).</summary>
    public int MaxPendingPaths
    {
        get
        {
            lock (_gate)
            {
                return _maxPendingPaths;
            }
        }

        set
        {
            lock (_gate)
            {
                _maxPendingPaths = value;
            }
        }
    }

    /// <summary>True while the target is away: its last attempt failed and none has succeeded since (a retry that is
    /// running counts as away until it succeeds).</summary>
    public bool IsAway
    {
        get
        {
            lock (_gate)
            {
                return _failingSince is not null;
            }
        }
    }

    /// <summary>The journal collapsed what this target was owed into the full sync at <paramref name="sequence"/>
    /// (already queued): status shows the target owes a full sync until one at or after it succeeds.</summary>
    public void NoteJournalCollapsed(long sequence)
    {
        lock (_gate)
        {
            _collapseOwed = Math.Max(_collapseOwed, sequence);
        }
    }

    /// <summary>Under _gate, after an add took the set past the bound: true when it turned into a full sync.</summary>
    private bool CollapsePending(long sequence)
    {
        if (_pending.IsFullSync || (_failingSince is null && _pending.Count <= (long)_maxPendingPaths * ReachableFactor))
        {
            return false;
        }

        _pending.Add(new FileChange(ChangeKind.Rescan, RelativePath.Root, true), _time.GetUtcNow());
        _collapseOwed = Math.Max(_collapseOwed, Math.Max(sequence, 1));
        return true;
    }

    private void NoteSynced(Batch batch)
    {
        lock (_gate)
        {
            if (batch.FullSync && _collapseOwed > 0 && batch.Sequence >= _collapseOwed)
            {
                _collapseOwed = 0;
            }
        }
    }
}
