using Microsoft.Extensions.Logging;

namespace SerSync.Plugins;

public sealed partial class SocketHook
{
    [LoggerMessage(EventId = 10200, Level = LogLevel.Debug, Message = "{Label}: delivered {Count} changes")]
    private static partial void LogDelivered(ILogger logger, string label, int count);

    [LoggerMessage(EventId = 10201, Level = LogLevel.Debug, Message = "{Label}: {Count} changes not delivered: {Reason}")]
    private static partial void LogFailed(ILogger logger, string label, int count, string reason);
}
