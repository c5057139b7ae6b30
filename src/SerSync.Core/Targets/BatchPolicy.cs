namespace SerSync.Targets;

/// <summary>
/// When a target's pending changes leave ("group commit"): an isolated change goes after <see cref="Quiet"/> without
/// further changes; a stream of changes goes at the latest <see cref="MaxWait"/> after the oldest one, so a file that
/// never stops changing still ships; changes that piled up while the previous rsync ran go as soon as it ends.
/// </summary>
public sealed record BatchPolicy(TimeSpan Quiet, TimeSpan MaxWait)
{
    public static BatchPolicy Default { get; } = new(TimeSpan.FromMilliseconds(5), TimeSpan.FromMilliseconds(1000));

    /// <summary>When the pending set should leave, given when its oldest and newest changes arrived.</summary>
    public DateTimeOffset DueAt(DateTimeOffset oldest, DateTimeOffset newest, DateTimeOffset? previousRunEnded)
    {
        if (previousRunEnded is { } ended && oldest <= ended)
        {
            return ended; // it already waited out a whole rsync run
        }

        var quiet = newest + Quiet;
        var cap = oldest + MaxWait;
        return quiet < cap ? quiet : cap;
    }
}
