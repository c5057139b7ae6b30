using Microsoft.Extensions.Logging;
using SerSync.Paths;

namespace SerSync.Watching;

public sealed partial class InotifyWatcher
{
    [LoggerMessage(EventId = 1000, Level = LogLevel.Information, Message = "watching {Root}: {Count} directories")]
    private static partial void WatchingStarted(ILogger logger, string root, int count);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Error, Message = "inotify reader for {Root} failed; changes are no longer seen")]
    private static partial void ReaderFailed(ILogger logger, Exception exception, string root);

    /// <summary>sersync's debug line ("inotify wd:N name:X mask:M"), with the watched directory and the cookie.</summary>
    [LoggerMessage(EventId = 1002, Level = LogLevel.Debug, Message = "inotify wd:{Wd} ({Directory}) name:{Name} mask:{Mask} cookie:{Cookie}")]
    private static partial void RawEvent(ILogger logger, int wd, string directory, string name, string mask, uint cookie);

    /// <summary>One debug line per raw event of a read, before it is handled (so the watch's path is still known).</summary>
    private void LogRawEvents(List<RawInotifyEvent> events)
    {
        foreach (var e in events)
        {
            var node = _tree.Get(e.Wd);
            var path = node == WatchTree.None ? RelativePath.Root : _tree.GetPath(node);
            var directory = node == WatchTree.None ? "?" : path.IsRoot ? Root : Root + "/" + path;
            RawEvent(_logger, e.Wd, directory, e.Name.IsEmpty ? "" : new RelativePath(e.Name.ToArray()).ToString(), MaskNames(e.Mask), e.Cookie);
        }
    }

    private static readonly (InotifyMask Flag, string Name)[] EventNames =
    [
        (InotifyMask.Access, "IN_ACCESS"), (InotifyMask.Modify, "IN_MODIFY"), (InotifyMask.Attrib, "IN_ATTRIB"),
        (InotifyMask.CloseWrite, "IN_CLOSE_WRITE"), (InotifyMask.CloseNoWrite, "IN_CLOSE_NOWRITE"), (InotifyMask.Open, "IN_OPEN"),
        (InotifyMask.MovedFrom, "IN_MOVED_FROM"), (InotifyMask.MovedTo, "IN_MOVED_TO"), (InotifyMask.Create, "IN_CREATE"),
        (InotifyMask.Delete, "IN_DELETE"), (InotifyMask.DeleteSelf, "IN_DELETE_SELF"), (InotifyMask.MoveSelf, "IN_MOVE_SELF"),
        (InotifyMask.Unmount, "IN_UNMOUNT"), (InotifyMask.QueueOverflow, "IN_Q_OVERFLOW"), (InotifyMask.Ignored, "IN_IGNORED"),
        (InotifyMask.IsDir, "IN_ISDIR"),
    ];

    /// <summary>The kernel's names of the bits set, "IN_CREATE|IN_ISDIR"; unknown bits in hex.</summary>
    internal static string MaskNames(InotifyMask mask)
    {
        var names = new List<string>();
        var rest = (uint)mask;
        foreach (var (flag, name) in EventNames)
        {
            if ((mask & flag) != 0)
            {
                names.Add(name);
                rest &= ~(uint)flag;
            }
        }

        if (rest != 0 || names.Count == 0)
        {
            names.Add($"0x{rest:x}");
        }

        return string.Join('|', names);
    }

    [LoggerMessage(EventId = 1003, Level = LogLevel.Warning,
        Message = "inotify event queue overflowed for {Root} ({File}): events were lost; re-scanning and requesting a full sync")]
    private static partial void QueueOverflowed(ILogger logger, string root, string file);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Error, Message = "watched root {Root} was lost ({Reason}): nothing under it is watched any more")]
    private static partial void RootWasLost(ILogger logger, string root, RootLostReason reason);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Warning,
        Message = "cannot list {Path} under {Root} ({Message}): directories below it are not watched")]
    private static partial void CannotList(ILogger logger, Exception exception, RelativePath path, string root, string message);

    [LoggerMessage(EventId = 1006, Level = LogLevel.Warning,
        Message = "cannot watch {Path} under {Root}: {Message}; changes below it are seen only by full syncs")]
    private static partial void CannotWatch(ILogger logger, RelativePath path, string root, string message);

    [LoggerMessage(EventId = 1007, Level = LogLevel.Warning,
        Message = "{Path} under {Root} is a directory already watched above it (a bind mount?); not watched twice")]
    private static partial void WatchLoop(ILogger logger, RelativePath path, string root);

    [LoggerMessage(EventId = 1008, Level = LogLevel.Debug, Message = "sync barrier for {Root} passed ({Cookie})")]
    private static partial void SyncPassed(ILogger logger, string root, string cookie);

    [LoggerMessage(EventId = 1009, Level = LogLevel.Warning,
        Message = "cannot create the sync cookie {Cookie} in {Root} ({Message}): changes made just before now are not known to be read")]
    private static partial void CookieNotCreated(ILogger logger, string cookie, string root, string? message);

    [LoggerMessage(EventId = 1010, Level = LogLevel.Warning, Message = "sync barrier for {Root} timed out after {Timeout} ({Cookie})")]
    private static partial void SyncTimedOut(ILogger logger, string root, TimeSpan timeout, string cookie);

    [LoggerMessage(EventId = 1011, Level = LogLevel.Debug, Message = "sync barrier for {Root} refused: the watcher is not running")]
    private static partial void SyncRefused(ILogger logger, string root);

    [LoggerMessage(EventId = 1012, Level = LogLevel.Debug, Message = "the change channel for {Root} was completed; the watcher stops reading")]
    private static partial void ChannelCompleted(ILogger logger, string root);

    [LoggerMessage(EventId = 1013, Level = LogLevel.Debug, Message = "sync barrier for {Root} ended by the watcher stopping ({Cookie})")]
    private static partial void SyncEndedByStop(ILogger logger, string root, string cookie);
}
