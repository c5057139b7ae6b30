using Microsoft.Extensions.Logging;
using SerSync.Configuration;

namespace SerSync.Pipeline;

public sealed partial class MirrorPipeline
{
    /// <summary>STATUS=: " (portable watcher: FileSystemWatcher hints, a full scan every 60 s ...)" when a root is
    /// not watched with inotify, which is the only backend that sees every change as it happens.</summary>
    internal static string WatcherNote(PipelineSnapshot snapshot)
    {
        var others = snapshot.Roots.Where(r => r.Watcher is { } k && k != WatcherKind.Inotify).ToList();
        if (others.Count == 0)
        {
            return snapshot.Roots.Count > 0 ? " (inotify)" : "";
        }

        // The caveat's first clause (what is late, and by how much): status and the start's log line have it whole.
        var first = others[0];
        var caveat = first.WatcherCaveat.Split(';')[0];
        return $" ({WatcherConfig.Name(first.Watcher!.Value)} watcher{(others.Count < snapshot.Roots.Count ? " on " + first.Path : "")}: {caveat})";
    }

    [LoggerMessage(EventId = 1106, Level = LogLevel.Warning, Message = "{Root}: watching with the {Backend} backend: {Why}")]
    private partial void WatcherChosen(string root, string backend, string why);
}
