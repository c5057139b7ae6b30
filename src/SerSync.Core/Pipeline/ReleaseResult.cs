namespace SerSync.Pipeline;

/// <summary>What <c>sersyncd release [--keep]</c> did: per root (the live path's held deletes) and per target (a full
/// push's held deletes).</summary>
/// <param name="Keep">True for <c>--keep</c>: the held deletes were dropped and the targets keep those files.</param>
public sealed record ReleaseResult(bool Keep, IReadOnlyList<RootRelease> Roots, IReadOnlyList<TargetRelease> Targets)
{
    /// <summary>Deletes sent (or, with <see cref="Keep"/>, dropped) over every root and target.</summary>
    public long Total => Roots.Sum(r => (long)r.Released) + Targets.Sum(t => (long)t.Deletes);
}

/// <summary>One root's held deletes at release.</summary>
/// <param name="Released">Deletes queued to the targets again (with keep: dropped, the targets keep the files).</param>
/// <param name="Cleared">Held deletes whose path exists again on the source: dropped, they no longer apply.</param>
/// <param name="Files">The files those deletes removed (or, with keep, left) on each target, as the census counts them.</param>
public sealed record RootRelease(string Root, int Released, int Cleared, long Files);

/// <summary>One target's deletes held by a full push (the full-push side of the guard fills these).</summary>
/// <param name="Deletes">Paths deleted on the target by the release (with keep: left there).</param>
public sealed record TargetRelease(string Root, string Target, int Deletes);
