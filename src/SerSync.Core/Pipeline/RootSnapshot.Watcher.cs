using SerSync.Configuration;

namespace SerSync.Pipeline;

public sealed partial record RootSnapshot
{
    /// <summary>The backend watching the root (null before its watcher started).</summary>
    public WatcherKind? Watcher { get; init; }

    /// <summary>What that backend does not guarantee (empty for inotify).</summary>
    public string WatcherCaveat { get; init; } = "";
}
