using Microsoft.Extensions.Logging;

namespace SerSync.Scheduling;

public sealed partial class FailLogReplayScheduler
{
    [LoggerMessage(EventId = 4030, Level = LogLevel.Error, Message = "Fail log {Path}: replay failed; next try in {Minutes} min")]
    private static partial void ReplayFailed(ILogger logger, string? path, double minutes, Exception exception);
}
