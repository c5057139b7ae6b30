// max_queued_events is copied into an inotify instance when it is created (inotify_init1), so it has to be raised
// before the watchers are made; the tree's size is known only after its watches are placed. So: before the first
// instance, raise it to sersync's 327,679 (what sersync 2.5 wrote at every start); after each root is placed, if
// its directory count calls for more, raise it again, which applies to the next start or reload. Never lowered.
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using SerSync.Watching;

namespace SerSync.Pipeline;

public sealed partial class MirrorPipeline
{
    /// <summary>How many unwatched directories a snapshot names (status, STATUS=); the count is always whole.</summary>
    public const int UnwatchedShown = 5;

    private void RaiseQueuedEventsBeforeWatching()
    {
        if (!_options.RaiseInotifyLimits)
        {
            return;
        }

        var file = InotifyLimits.MaxQueuedEventsFile;
        var wanted = InotifyLimits.WantedQueuedEvents(0);
        if (InotifyLimits.Read(file) is not { } before)
        {
            return;
        }

        if (before >= wanted)
        {
            QueuedEventsEnough(file, before);
        }
        else if (InotifyLimits.TryRaise(file, wanted, out _))
        {
            QueuedEventsRaised(file, before, wanted, "sersync's value, before the watches are placed");
        }
        else
        {
            QueuedEventsLeft(file, before, wanted);
        }
    }

    private void CheckQueuedEventsFor(string root, int directories)
    {
        var file = InotifyLimits.MaxQueuedEventsFile;
        var wanted = InotifyLimits.WantedQueuedEvents(directories);
        if (!_options.RaiseInotifyLimits || InotifyLimits.Read(file) is not { } before || before >= wanted)
        {
            return;
        }

        if (InotifyLimits.TryRaise(file, wanted, out _))
        {
            QueuedEventsRaised(file, before, wanted, $"{root} has {directories} directories; this applies from the next start or reload, the running instance keeps {before}");
        }
    }

#pragma warning disable CA1416 // the watcher seam decides
    private static IReadOnlyList<string> UnwatchedSample(InotifyWatcher? watcher) =>
        watcher is null || watcher.Unwatched.Count == 0 ? [] : [.. watcher.Unwatched.Sample(UnwatchedShown).Select(p => p.ToString())];
#pragma warning restore CA1416

    /// <summary>STATUS=: "; 3 directories unwatched (max_user_watches used up): a/b, c" after the targets.</summary>
    internal static void AppendUnwatched(StringBuilder line, PipelineSnapshot snapshot)
    {
        var count = snapshot.Roots.Sum(r => r.Unwatched);
        if (count == 0)
        {
            return;
        }

        line.Append(CultureInfo.InvariantCulture, $"; {count} director{(count == 1 ? "y" : "ies")} unwatched (max_user_watches used up, rescanned): ");
        line.AppendJoin(", ", snapshot.Roots.SelectMany(r => r.UnwatchedPaths).Take(StatusTargets));
        if (count > StatusTargets)
        {
            line.Append(" ...");
        }
    }

    [LoggerMessage(EventId = 8040, Level = LogLevel.Warning, Message = "raised {LimitFile} from {Before} to {After} ({Why}); set fs.inotify.max_queued_events in /etc/sysctl.d to keep it after a reboot")]
    private partial void QueuedEventsRaised(string limitFile, long before, long after, string why);

    [LoggerMessage(EventId = 8041, Level = LogLevel.Information, Message = "{LimitFile} is {Value} and is left as it is (not root, or the write was refused; sersync asked for {Wanted}); an overflow is repaired by a full sync of the root")]
    private partial void QueuedEventsLeft(string limitFile, long value, long wanted);

    [LoggerMessage(EventId = 8042, Level = LogLevel.Information, Message = "{LimitFile} is {Value}")]
    private partial void QueuedEventsEnough(string limitFile, long value);
}
