using Microsoft.Extensions.Logging;

namespace SerSync.Rsync;

public sealed partial class FullPush
{
    [LoggerMessage(EventId = 5000, Level = LogLevel.Information, Message = "Full push of {Root}: {Count} paths excluded by the filter")]
    private static partial void PathsExcluded(ILogger logger, string root, int count);

    [LoggerMessage(EventId = 5001, Level = LogLevel.Information, Message = "Full push {Root} -> {Target} started")]
    private static partial void PushStarted(ILogger logger, string root, string target);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Debug, Message = "exec {Program} {Arguments}")]
    private static partial void Exec(ILogger logger, string program, string arguments);

    [LoggerMessage(EventId = 5003, Level = LogLevel.Information, Message = "Full push {Root} -> {Target} done in {Seconds:F1} s")]
    private static partial void PushDone(ILogger logger, string root, string target, double seconds);

    [LoggerMessage(EventId = 5004, Level = LogLevel.Error, Message = "Full push {Root} -> {Target} failed: rsync exit {Code} ({Meaning}){TimedOut}: {Output}")]
    private static partial void PushFailed(ILogger logger, string root, string target, int code, string meaning, string timedOut, string output);
}
