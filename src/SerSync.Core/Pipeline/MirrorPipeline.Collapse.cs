using SerSync.Journal;

namespace SerSync.Pipeline;

/// <summary>The journal's bound: which consumers a collapse may take, and what it tells.</summary>
public sealed partial class MirrorPipeline
{
    /// <summary>A target that is away (retrying, failed) gets a full sync; one that is reachable is kept (a storm of
    /// changes is no outage); a plugin's hook stops holding the journal back (it cannot be given a full sync).</summary>
    private static Func<string, CollapseKind> CollapseKindOf(Root root) => id =>
    {
        if (root.Workers.Find(w => w.Id == id) is { } worker)
        {
            return worker.IsAway ? CollapseKind.FullSync : CollapseKind.Keep;
        }

        return root.Hooks.Exists(h => h.Id == id) ? CollapseKind.Skip : CollapseKind.FullSync; // no longer a consumer
    };

    private void JournalCollapsed(Root root, JournalCollapse collapse)
    {
        foreach (var consumer in collapse.Consumers)
        {
            if (root.Workers.Find(w => w.Id == consumer.Id) is { } worker)
            {
                worker.NoteJournalCollapsed(consumer.FullSyncSequence);
                TargetCollapsed(root.Watch.Path, worker.Target.Label, collapse.BytesBefore, root.Watch.Journal.MaxBytes, consumer.Skipped, collapse.BytesAfter);
            }
            else if (root.Hooks.Find(h => h.Id == consumer.Id) is { } hook)
            {
                HookCollapsed(root.Watch.Path, hook.Plugin.Label, collapse.BytesBefore, root.Watch.Journal.MaxBytes, consumer.Skipped, collapse.BytesAfter);
            }
        }
    }
}
