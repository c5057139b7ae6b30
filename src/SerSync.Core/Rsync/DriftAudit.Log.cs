using Microsoft.Extensions.Logging;

namespace SerSync.Rsync;

public sealed partial class DriftAudit
{
    [LoggerMessage(EventId = 5020, Level = LogLevel.Debug, Message = "Audit of {Target}: exec {Program} {Arguments}")]
    private static partial void Exec(ILogger logger, string target, string program, string arguments);

    [LoggerMessage(EventId = 5021, Level = LogLevel.Debug, Message = "Audit {Root} -> {Target}: {Count} difference(s), {Excluded} excluded by the filter, rsync exit {Code}, {Seconds:F1} s")]
    private static partial void AuditRan(ILogger logger, string root, string target, int count, int excluded, int code, double seconds);
}
