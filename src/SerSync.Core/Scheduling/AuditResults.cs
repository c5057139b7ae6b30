using System.Collections.Concurrent;
using SerSync.Rsync;

namespace SerSync.Scheduling;

/// <summary>What the last scheduled audit of one target found.</summary>
/// <param name="DriftPaths">Paths that differed (0 when in sync; 0 too when the audit failed: see <see cref="Error"/>).</param>
/// <param name="Queued">Changes queued for repair (0 without <c>repair="true"</c>).</param>
/// <param name="Error">Why the audit could not finish (rsync's exit and meaning), or null.</param>
public sealed record AuditSummary(DateTimeOffset At, int DriftPaths, int Missing, int Differs, int OnlyOnTarget, int Queued, string? Error)
{
    public bool Succeeded => Error is null;
}

/// <summary>The last audit result per target (by <see cref="SyncTarget.Id"/>), for status and metrics
/// (<c>sersyncd_target_drift_paths</c>). Written by the audit schedule, read from anywhere.</summary>
public sealed class AuditResults
{
    private readonly ConcurrentDictionary<string, AuditSummary> _last = new(StringComparer.Ordinal);

    /// <summary>The last audit of the target with this id, or null when none has run yet.</summary>
    public AuditSummary? For(string targetId) => _last.TryGetValue(targetId, out var summary) ? summary : null;

    public AuditSummary? For(SyncTarget target)
    {
        ArgumentNullException.ThrowIfNull(target);
        return For(target.Id);
    }

    public void Record(SyncTarget target, AuditSummary summary)
    {
        ArgumentNullException.ThrowIfNull(target);
        _last[target.Id] = summary;
    }
}
