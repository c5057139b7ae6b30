using SerSync.Paths;

namespace SerSync.Rsync;

/// <summary>How a path differs between a watched root and one target.</summary>
public enum DriftKind
{
    /// <summary>The source has it, the target does not.</summary>
    Missing,

    /// <summary>Both have it; its content or metadata differs (what, in <see cref="DriftEntry.Detail"/>).</summary>
    Differs,

    /// <summary>The target has it, the source does not (reported only where the target deletes).</summary>
    OnlyOnTarget,
}

/// <param name="Detail">For <see cref="DriftKind.Differs"/> what differs ("size, time"); otherwise the entry's type
/// ("file", "directory", "symlink", ...).</param>
public sealed record DriftEntry(DriftKind Kind, RelativePath Path, bool IsDirectory, string Detail)
{
    /// <summary>The kind as the operator reads it: <c>missing</c>, <c>differs</c>, <c>only on target</c>.</summary>
    public static string Describe(DriftKind kind) => kind switch
    {
        DriftKind.Missing => "missing",
        DriftKind.Differs => "differs",
        _ => "only on target",
    };
}

/// <summary>What one audit of one target found.</summary>
/// <param name="DeletesChecked">False when the target does not delete (<c>&lt;delete start="false"/&gt;</c>): paths
/// only on the target are then not drift, and not looked for.</param>
/// <param name="Failure">rsync's exit code and output when the dry run failed (the entries are then incomplete).</param>
public sealed record DriftReport(
    SyncTarget Target,
    DateTimeOffset At,
    TimeSpan Duration,
    bool Checksum,
    bool DeletesChecked,
    IReadOnlyList<DriftEntry> Entries,
    DriftFailure? Failure)
{
    public bool Succeeded => Failure is null;

    public bool InSync => Succeeded && Entries.Count == 0;

    public int Count(DriftKind kind) => Entries.Count(e => e.Kind == kind);
}

/// <summary>Why an audit could not finish: rsync's exit code, what it means, and the tail of its output.</summary>
public sealed record DriftFailure(int ExitCode, string Meaning, string Output, bool TimedOut);
