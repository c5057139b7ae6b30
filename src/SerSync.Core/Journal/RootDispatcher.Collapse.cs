using SerSync.Paths;

namespace SerSync.Journal;

public sealed partial class RootDispatcher
{
    /// <summary>What the journal may do with each consumer when it is over its bound (a target away: a full sync; a
    /// hook: skip); by default nothing (every consumer is kept).</summary>
    public Func<string, CollapseKind> CollapseKindOf { get; init; } = _ => CollapseKind.Keep;

    /// <summary>Called (under the dispatcher's lock, after the full syncs are queued) when the journal collapsed.</summary>
    public Action<JournalCollapse>? Collapsed { get; init; }

    /// <summary>Collapses the journal, then queues each collapsed target's full sync on it (the journal holds the
    /// record already, so a crash from here on gives it that full sync at the next start).</summary>
    private void CollapseJournal(ChangeJournal journal)
    {
        if (journal.Collapse(CollapseKindOf) is not { } collapse)
        {
            return;
        }

        foreach (var consumer in collapse.Consumers)
        {
            if (consumer.FullSyncSequence > 0 && queues.FirstOrDefault(q => q.Id == consumer.Id) is { } queue)
            {
                queue.Enqueue(new FileChange(ChangeKind.Rescan, RelativePath.Root, true), consumer.FullSyncSequence);
            }
        }

        Collapsed?.Invoke(collapse);
    }
}
