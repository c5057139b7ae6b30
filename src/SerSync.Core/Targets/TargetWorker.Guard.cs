using SerSync.Rsync;

namespace SerSync.Targets;

public sealed partial class TargetWorker
{
    /// <summary>The delete guard of this target's full syncs (an overflow's, a first start's, the journal's, a root
    /// come back); null: unguarded. Set before the worker runs.</summary>
    public FullPushGuard? FullPushGuard { get; set; }

    /// <summary>The operator's word on this target's held full-push deletes (<c>sersyncd release [--keep]</c>):
    /// released, the next full sync deletes once (one is queued here through <paramref name="requestFullSync"/>);
    /// kept, they are forgotten. Returns the hold acted on, or null when none was held.</summary>
    public FullPushHold? ReleaseFullPushHold(bool keep, Action? requestFullSync)
    {
        if (FullPushGuard?.Release(keep) is not { } was)
        {
            return null;
        }

        if (!keep)
        {
            requestFullSync?.Invoke();
        }

        return was;
    }
}
