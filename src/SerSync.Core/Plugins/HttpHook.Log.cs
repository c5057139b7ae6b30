using Microsoft.Extensions.Logging;

namespace SerSync.Plugins;

public sealed partial class HttpHook
{
    [LoggerMessage(EventId = 10400, Level = LogLevel.Debug, Message = "{Label}: delivered {Count} changes ({Status})")]
    private static partial void LogDelivered(ILogger logger, string label, int count, string status);

    [LoggerMessage(EventId = 10401, Level = LogLevel.Debug, Message = "{Label}: {Count} changes not delivered: {Reason}")]
    private static partial void LogFailed(ILogger logger, string label, int count, string reason);
}
