using SerSync.Configuration;
using SerSync.Rsync;

namespace SerSync.Targets;

/// <summary>What an operator is told a target is doing (the status command's <c>state</c>).</summary>
public enum ReportedState
{
    /// <summary>Nothing pending: the target has every change.</summary>
    InSync,

    /// <summary>Changes are pending or a batch is running, and the last attempt did not fail.</summary>
    Syncing,

    /// <summary>The last batch failed transiently; it is kept and retried with backoff.</summary>
    Retrying,

    /// <summary>The last batch failed fatally (auth, module, options); retried at a slow fixed pace.</summary>
    Failed,
}

/// <summary>The last failed rsync run of a target.</summary>
/// <param name="Message">What rsync's exit code means, then its last line of output.</param>
public sealed record TargetError(DateTimeOffset At, int ExitCode, string Message);

/// <summary>One finished rsync run of a live batch, a fail-log replay excepted.</summary>
public readonly record struct TargetRun(string TargetId, FailureClass Result, TimeSpan Duration, int Paths, bool FullSync);

/// <summary>A target's state at one moment, read under the worker's lock (no I/O), for status and metrics.</summary>
/// <param name="Pending">Paths waiting or in the running batch (a full sync counts as one).</param>
/// <param name="OldestPending">When the oldest change the target does not have yet arrived; null when it has all.</param>
/// <param name="FailingSince">When the outage began (the first of the failures in a row); null when not failing.</param>
/// <param name="HeldFullPush">The full-push deletes the delete guard holds for this target; null when none.</param>
/// <param name="Runs">rsync runs of live batches by <see cref="FailureClass"/> (index), since the pipeline started.</param>
public sealed record TargetSnapshot(
    string Id,
    string Label,
    RemoteKind Kind,
    ReportedState State,
    int Pending,
    DateTimeOffset? OldestPending,
    DateTimeOffset? LastSuccess,
    bool? LastAttemptSucceeded,
    TargetError? LastError,
    long FailuresTotal,
    DateTimeOffset? FailingSince,
    IReadOnlyList<long> Runs,
    FullPushHold? HeldFullPush = null)
{
    /// <summary>True while a full sync is owed because the journal (or the pending set) collapsed what the target
    /// was owed while it was away.</summary>
    public bool FullSyncOwedByCollapse { get; init; }

    /// <summary>The age of the oldest change not yet on the target; zero when it has everything.</summary>
    public TimeSpan LagAt(DateTimeOffset now) => OldestPending is { } oldest && now > oldest ? now - oldest : TimeSpan.Zero;
}
