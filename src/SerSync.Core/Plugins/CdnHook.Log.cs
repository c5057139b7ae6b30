using Microsoft.Extensions.Logging;

namespace SerSync.Plugins;

public sealed partial class CdnHook
{
    [LoggerMessage(EventId = 10300, Level = LogLevel.Debug, Message = "{Label}: delivered {Count} changes")]
    private static partial void LogDelivered(ILogger logger, string label, int count);

    [LoggerMessage(EventId = 10301, Level = LogLevel.Debug, Message = "{Label}: {Count} changes not delivered: {Reason}")]
    private static partial void LogFailed(ILogger logger, string label, int count, string reason);

    [LoggerMessage(EventId = 10302, Level = LogLevel.Debug, Message = "{Label} replied: {Line}")]
    private static partial void LogChinaCacheReply(ILogger logger, string label, string line);
}
