using Microsoft.Extensions.Logging;
using SerSync.Paths;

namespace SerSync.Watching;

public sealed partial class InotifyWatcher
{
    [LoggerMessage(EventId = 1000, Level = LogLevel.Information, Message = "watching {Root}: {Count} directories")]
    private static partial void WatchingStarted(ILogger logger, string root, int count);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Error, Message = "inotify reader for {Root} failed; changes are no longer seen")]
    private static partial void ReaderFailed(ILogger logger, Exception exception, string root);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Trace, Message = "inotify {RawEvent}")]
    private static partial void RawEvent(ILogger logger, RawInotifyEvent rawEvent);

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
