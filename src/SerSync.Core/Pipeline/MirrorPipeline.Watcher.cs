using Microsoft.Extensions.Logging;
using SerSync.Configuration;

namespace SerSync.Pipeline;

public sealed partial class MirrorPipeline
{
    /// <summary>STATUS=: " (portable watcher: FileSystemWatcher hints, a full scan every 60 s ...)" when a root is
    /// not watched with inotify, which is the only backend that sees every change as it happens.</summary>
    private static string WatcherNote(PipelineSnapshot snapshot)
    {
        var others = snapshot.Roots.Where(r => r.Watcher is { } k && k != WatcherKind.Inotify).ToList();
        if (others.Count == 0)
        {
            return snapshot.Roots.Count > 0 ? " (inotify)" : "";
        }

        var first = others[0];
        return $" ({WatcherConfig.Name(first.Watcher!.Value)} watcher{(others.Count < snapshot.Roots.Count ? " on " + first.Path : "")}: {first.WatcherCaveat})";
    }

    [LoggerMessage(EventId = 1106, Level = LogLevel.Warning, Message = "{Root}: watcher=\"auto\" chose the {Backend} backend: {Why}")]
    private partial void WatcherChosen(string root, string backend, string why);
}
