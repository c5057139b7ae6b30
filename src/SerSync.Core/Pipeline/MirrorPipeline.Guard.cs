using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using SerSync.Journal;
using SerSync.Paths;
using SerSync.Rsync;

namespace SerSync.Pipeline;

public sealed partial class MirrorPipeline
{
    /// <summary>
    /// <c>sersyncd release [--keep]</c>: every root's held deletes (the live path's delete guard) are journaled again
    /// and queued (only those whose path is still gone on the source), or with <paramref name="keep"/> dropped (the
    /// targets keep those files); then the same for the deletes the targets' full pushes held. Called from the status
    /// socket's thread; safe while the pipeline runs.
    /// </summary>
    public async Task<ReleaseResult> ReleaseHeldDeletesAsync(bool keep, CancellationToken cancellationToken)
    {
        var roots = new List<RootRelease>();
        foreach (var root in _roots)
        {
            if (root.Dispatcher is { } dispatcher)
            {
                roots.Add(dispatcher.ReleaseHeld(keep) is { } r ? new RootRelease(root.Watch.Path, r.Released, r.Cleared, r.Files) : new RootRelease(root.Watch.Path, 0, 0, 0));
            }
        }

        var targets = await ReleaseHeldFullPushDeletesAsync(keep, cancellationToken);
        return new ReleaseResult(keep, roots, targets);
    }

    /// <summary>What the live guard of <paramref name="target"/>'s root holds or is judging (none before the root's
    /// dispatcher exists, or without a guard).</summary>
    private ProtectedPaths ProtectedFor(SyncTarget target)
    {
        foreach (var root in _roots)
        {
            if (root.Workers.Any(w => w.Target == target))
            {
                return root.Dispatcher?.Guard?.Protected() ?? ProtectedPaths.None;
            }
        }

        return ProtectedPaths.None;
    }

    /// <summary>The root's delete guard, or null when <c>&lt;deleteGuard start="false"/&gt;</c> (nothing changes then).</summary>
    private DeleteGuard? NewGuard(Root root) => root.Watch.DeleteGuard.Enabled
        ? new DeleteGuard(root.Watch.Path, root.Watch.DeleteGuard, root.Journal?.Directory, _filter, _time, _loggers.CreateLogger<DeleteGuard>())
        {
            JournalSequence = () => root.Journal?.LastSequence ?? 0,
        }
        : null;

    /// <summary>STATUS=: "; HOLDING 4000 delete(s) under /www (sersyncd release)", first of all when it holds.</summary>
    private static void AppendHeld(StringBuilder line, PipelineSnapshot snapshot)
    {
        foreach (var root in snapshot.Roots)
        {
            if (root.Guard is { Held: > 0 } g)
            {
                line.Append(CultureInfo.InvariantCulture, $"; HOLDING {g.Held} delete(s) under {root.Path} (sersyncd release [--keep])");
            }
        }
    }
}
