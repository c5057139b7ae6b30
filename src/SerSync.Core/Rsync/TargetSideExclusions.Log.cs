using Microsoft.Extensions.Logging;

namespace SerSync.Rsync;

public static partial class TargetSideExclusions
{
    [LoggerMessage(EventId = 5010, Level = LogLevel.Debug, Message = "Full push of {Root}: the dry run found {Count} target-only path(s) the filter excludes; they are kept")]
    private static partial void DryRunDone(ILogger logger, string root, int count);

    [LoggerMessage(EventId = 5011, Level = LogLevel.Debug, Message = "Full push of {Root}: the dry run failed with rsync exit {Code}; the push is not run")]
    private static partial void DryRunFailed(ILogger logger, string root, int code);
}
