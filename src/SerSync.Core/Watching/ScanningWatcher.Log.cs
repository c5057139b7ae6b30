using Microsoft.Extensions.Logging;

namespace SerSync.Watching;

public sealed partial class ScanningWatcher
{
    [LoggerMessage(EventId = 1100, Level = LogLevel.Warning, Message = "watching {Root} with the {Backend} backend: {Directories} directories, {Entries} entries; {Caveat}")]
    private static partial void ScanningStarted(ILogger logger, string root, string backend, int directories, long entries, string caveat);

    [LoggerMessage(EventId = 1101, Level = LogLevel.Error, Message = "the scans of {Root} failed; changes are no longer seen")]
    private static partial void ScanFailed(ILogger logger, Exception exception, string root);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Warning, Message = "FileSystemWatcher on {Root} lost events ({Reason}): the whole tree is compared now")]
    private static partial void HintsLost(ILogger logger, string root, string reason);

    [LoggerMessage(EventId = 1103, Level = LogLevel.Warning, Message = "FileSystemWatcher on {Root} stopped reporting (a probe file's event did not come within {Seconds} s): it is made again and the whole tree compared")]
    private static partial void HintsStopped(ILogger logger, string root, double seconds);

    [LoggerMessage(EventId = 1104, Level = LogLevel.Error, Message = "watched root {Root} is gone or no longer a directory")]
    private static partial void RootGone(ILogger logger, string root);

    [LoggerMessage(EventId = 1105, Level = LogLevel.Warning, Message = "{Variable}=1: every FileSystemWatcher event on {Root} is dropped (a test hook); only the scans see changes")]
    private static partial void HintsDropped(ILogger logger, string root, string variable);

    [LoggerMessage(EventId = 1107, Level = LogLevel.Warning, Message = "{Root}: cannot list {Directory}: {Reason}; it is kept as the last scan saw it and tried again at every scan (logged once)")]
    private static partial void Unreadable(ILogger logger, string root, string directory, string reason);
}
