using Microsoft.Extensions.Logging;
using SerSync.Configuration;
using SerSync.Rsync;
using SerSync.Targets;

namespace SerSync.Pipeline;

public sealed partial class MirrorPipeline
{
    /// <summary>Gives each target of a root the delete guard of its full pushes, its hold kept in the root's state
    /// directory (in memory without one).</summary>
    private void GuardFullPushes(WatchConfig watch, List<TargetWorker> workers)
    {
        foreach (var worker in workers)
        {
            var file = _options.StateDirectory is { } state ? FullPushGuard.StateFileFor(state, worker.Target) : null;
            worker.FullPushGuard = new FullPushGuard(worker.Target, watch.DeleteGuard, file, _time, _loggers.CreateLogger<FullPushGuard>());
        }
    }

    /// <summary>
    /// The full-push half of <c>sersyncd release [--keep]</c>: for every target whose full-push deletes are held,
    /// <paramref name="keep"/> forgets them (the target keeps the files); otherwise a full sync is queued for that
    /// target that deletes once, unchecked (the operator allowed it). Call after <see cref="Start"/>. Returns the
    /// targets acted on with what they held.
    /// </summary>
    public IReadOnlyList<(SyncTarget Target, FullPushHold Hold)> ReleaseFullPushHolds(bool keep)
    {
        var acted = new List<(SyncTarget, FullPushHold)>();
        foreach (var worker in _workers)
        {
            if (worker.ReleaseFullPushHold(keep, () => RequestFullSync(worker.Target)) is { } hold)
            {
                acted.Add((worker.Target, hold));
            }
        }

        return acted;
    }

    /// <summary>After a <c>-r</c> push that held deletes: what the journal and the catch-up scan queued for the target
    /// before it (a directory's contents brought in line deletes what the push held) is replaced by one full sync,
    /// which the guard runs without deleting again while the source stays as it is.</summary>
    private static void StandInForPendingIfHeld(Root root, TargetWorker worker)
    {
        if (worker.FullPushGuard?.Current is { ReleaseOnce: false } && worker.PendingCount > 0)
        {
            root.Dispatcher!.RequestFullSync(worker);
        }
    }

    /// <summary>How many targets have full-push deletes held (for <c>STATUS=</c>).</summary>
    private int FullPushHoldCount => _workers.Count(w => w.FullPushGuard?.Current is { ReleaseOnce: false });
}
