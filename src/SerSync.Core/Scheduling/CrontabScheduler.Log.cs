using Microsoft.Extensions.Logging;

namespace SerSync.Scheduling;

public sealed partial class CrontabScheduler
{
    [LoggerMessage(EventId = 4010, Level = LogLevel.Information, Message = "crontab: a full push every {Minutes} min, first at {Due:u}{Filter}")]
    private static partial void Started(ILogger logger, int minutes, DateTimeOffset due, string filter);

    [LoggerMessage(EventId = 4011, Level = LogLevel.Information, Message = "crontab run {Run}: no targets")]
    private static partial void NoTargets(ILogger logger, int run);

    [LoggerMessage(EventId = 4012, Level = LogLevel.Information, Message = "crontab run {Run}: full push of {Count} target(s)")]
    private static partial void RunStarted(ILogger logger, int run, int count);

    [LoggerMessage(EventId = 4013, Level = LogLevel.Error, Message = "crontab run {Run}: the full push failed")]
    private static partial void PushFailed(ILogger logger, int run, Exception exception);

    [LoggerMessage(
        EventId = 4014,
        Level = LogLevel.Warning,
        Message = "crontab run {Run}: {Target} is behind: rsync exit {Code} ({Meaning}); it waits for a catch-up or the next run")]
    private static partial void TargetBehind(ILogger logger, int run, string target, int code, string meaning);

    [LoggerMessage(EventId = 4015, Level = LogLevel.Error, Message = "crontab run {Run}: reporting {Target} as behind failed")]
    private static partial void ReportingBehindFailed(ILogger logger, int run, string target, Exception exception);

    [LoggerMessage(EventId = 4016, Level = LogLevel.Information, Message = "crontab run {Run}: done in {Seconds:F1} s, {Ok} target(s) in sync, {Failed} behind")]
    private static partial void RunDone(ILogger logger, int run, double seconds, int ok, int failed);
}
