using Microsoft.Extensions.Logging;
using SerSync.Rsync;

namespace SerSync.Targets;

public sealed partial class TargetWorker
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Debug, Message = "{Target}: exec {Program} {Arguments} ({Count} entries on stdin)")]
    private partial void Exec(string target, string program, string arguments, int count);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Debug, Message = "{Target}: {Count} path(s) synced in {Ms} ms")]
    private partial void BatchSynced(string target, int count, int ms);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Information, Message = "{Target}: back in sync after {Failures} failed attempt(s)")]
    private partial void BackInSync(string target, int failures);

    /// <summary>A warning for transient failures, an error for fatal ones.</summary>
    [LoggerMessage(EventId = 3004, Message = "{Target}: rsync exit {Code} ({Meaning}, {FailureClass}); {Count} path(s) kept, retry {Attempt} in {Seconds:F1} s: {Output}")]
    private partial void BatchFailed(LogLevel level, string target, int code, string meaning, FailureClass failureClass, int count, int attempt, double seconds, string output);
}
