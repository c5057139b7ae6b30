namespace SerSync.Pipeline;

public sealed partial record RootSnapshot
{
    /// <summary>Directories that could not be watched (max_user_watches used up) and are rescanned instead.</summary>
    public int Unwatched { get; init; }

    /// <summary>The first few of them (<see cref="MirrorPipeline.UnwatchedShown"/>), relative to the root, in byte
    /// order; a name that is not UTF-8 is shown escaped.</summary>
    public IReadOnlyList<string> UnwatchedPaths { get; init; } = [];
}
