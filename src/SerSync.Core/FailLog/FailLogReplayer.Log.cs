using Microsoft.Extensions.Logging;

namespace SerSync.FailLog;

public sealed partial class FailLogReplayer
{
    [LoggerMessage(EventId = 6000, Level = LogLevel.Information, Message = "Fail log {Path}: replaying {Count} entr{Plural}")]
    private static partial void Replaying(ILogger logger, string path, int count, string plural);

    [LoggerMessage(EventId = 6001, Level = LogLevel.Information, Message = "Fail log {Path}: replay done: {Succeeded} succeeded and removed, {Failed} failed again{NotRun}")]
    private static partial void ReplayDone(ILogger logger, string path, int succeeded, int failed, string notRun);

    [LoggerMessage(EventId = 6002, Level = LogLevel.Information, Message = "Fail log {Path}: entry {Number}/{Count} ({Entry}) replayed in {Seconds:F1} s: succeeded, removed")]
    private static partial void EntrySucceeded(ILogger logger, string path, int number, int count, string entry, double seconds);

    [LoggerMessage(
        EventId = 6003,
        Level = LogLevel.Warning,
        Message = "Fail log {Path}: entry {Number}/{Count} ({Entry}) failed again: exit {Code} ({Meaning}){TimedOut}, kept: {Output}")]
    private static partial void EntryFailedAgain(ILogger logger, string path, int number, int count, string entry, int code, string meaning, string timedOut, string output);

    [LoggerMessage(EventId = 6004, Level = LogLevel.Warning, Message = "Fail log {Path}: removed during the replay; not written back")]
    private static partial void RemovedDuringReplay(ILogger logger, string path);

    [LoggerMessage(
        EventId = 6005,
        Level = LogLevel.Warning,
        Message = "Fail log {Path}: changed by someone else during the replay; left as it is (its entries will be replayed again)")]
    private static partial void ChangedDuringReplay(ILogger logger, string path);

    [LoggerMessage(EventId = 6006, Level = LogLevel.Warning, Message = "Fail log replay: cannot remove {Dir}")]
    private static partial void CannotRemoveWorkDir(ILogger logger, string dir, Exception exception);
}
