using SerSync.Journal;
using SerSync.Scheduling;
using SerSync.Targets;

namespace SerSync.Pipeline;

/// <summary>A pipeline's state at one moment: what <c>sersyncd status</c>, <c>/status</c> and <c>/metrics</c> show.
/// Counters count from when this pipeline was built (a SIGHUP builds a new one).</summary>
public sealed record PipelineSnapshot(DateTimeOffset At, IReadOnlyList<RootSnapshot> Roots);

/// <param name="ChangesTotal">Changes the root's dispatcher has journaled and queued.</param>
/// <param name="JournalBytes">The size of the root's journal file (0 without a state directory).</param>
/// <param name="Audits">The last scheduled audit of each target that had one, by target id.</param>
/// <param name="JournalMaxBytes">The journal's bound (<c>&lt;journal maxSize&gt;</c>).</param>
/// <param name="JournalCollapses">How many times the journal collapsed a target that was away, since the pipeline started.</param>
public sealed partial record RootSnapshot(
    string Path,
    int Watches,
    long Overflows,
    long ChangesTotal,
    long JournalBytes,
    IReadOnlyList<TargetSnapshot> Targets,
    IReadOnlyList<HookSnapshot> Hooks,
    IReadOnlyDictionary<string, AuditSummary>? Audits = null,
    long JournalMaxBytes = 0,
    long JournalCollapses = 0)
{
    /// <summary>The root's delete guard (held deletes, census); null without one.</summary>
    public DeleteGuardSnapshot? Guard { get; init; }

    public AuditSummary? AuditOf(TargetSnapshot target) => Audits is not null && Audits.TryGetValue(target.Id, out var audit) ? audit : null;
}

/// <summary>A plugin on one root: how many changes wait for the targets or for a delivery.</summary>
public sealed record HookSnapshot(string Plugin, int Pending);
