using SerSync.Paths;

namespace SerSync.Journal;

public sealed partial class DeleteGuard
{
    // Rebuilt on demand after the held or settling deletes changed (null: stale).
    private ProtectedPaths? _protected;

    /// <summary>The paths whose deletes are held or settling: what a batch or a full push must not delete on the
    /// targets now (rsync deletes by itself when it syncs a directory with deletion).</summary>
    public ProtectedPaths Protected()
    {
        if (!Enabled)
        {
            return ProtectedPaths.None;
        }

        lock (_lock)
        {
            return _protected ??= _held.Count == 0 && _burst.Count == 0
                ? ProtectedPaths.None
                : new ProtectedPaths(_held.Keys.Concat(_burst.Select(b => b.Change.Path)));
        }
    }

    /// <summary>Under <c>_lock</c>, after <c>_held</c> or <c>_burst</c> changed.</summary>
    private void ProtectedChanged() => _protected = null;
}
