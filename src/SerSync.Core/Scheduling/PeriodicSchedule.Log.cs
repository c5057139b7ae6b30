using Microsoft.Extensions.Logging;

namespace SerSync.Scheduling;

public sealed partial class PeriodicSchedule
{
    [LoggerMessage(EventId = 4000, Level = LogLevel.Error, Message = "{Schedule}: the run failed; the schedule goes on")]
    private static partial void RunFailed(ILogger logger, string schedule, Exception exception);

    [LoggerMessage(
        EventId = 4001,
        Level = LogLevel.Warning,
        Message = "{Schedule}: the run took {Minutes:F1} min, longer than the {Period:F1} min period; {Skipped} run(s) skipped, the next is due at {Due:u}")]
    private static partial void TicksSkipped(ILogger logger, string schedule, double minutes, double period, long skipped, DateTimeOffset due);
}
