using Microsoft.Extensions.Logging;

namespace SerSync.Scheduling;

public sealed partial class AuditScheduler
{
    [LoggerMessage(EventId = 4040, Level = LogLevel.Information, Message = "audit: every {Minutes} min, first at {Due:u}; {Mode}")]
    private static partial void Started(ILogger logger, double minutes, DateTimeOffset due, string mode);

    [LoggerMessage(EventId = 4041, Level = LogLevel.Information, Message = "audit {Root} -> {Target}: in sync ({Seconds:F1} s){Note}")]
    private static partial void InSync(ILogger logger, string root, string target, double seconds, string note);

    [LoggerMessage(
        EventId = 4042,
        Level = LogLevel.Warning,
        Message = "audit {Root} -> {Target}: {Count} path(s) drifted ({Missing} missing, {Differs} differ, {OnlyOnTarget} only on target): {Paths}{Action}")]
    private static partial void Drift(ILogger logger, string root, string target, int count, int missing, int differs, int onlyOnTarget, string paths, string action);

    [LoggerMessage(EventId = 4043, Level = LogLevel.Warning, Message = "audit {Root} -> {Target} failed: rsync exit {Code} ({Meaning}): {Output}")]
    private static partial void AuditFailed(ILogger logger, string root, string target, int code, string meaning, string output);

    [LoggerMessage(EventId = 4044, Level = LogLevel.Error, Message = "audit {Root} -> {Target} failed")]
    private static partial void AuditCrashed(ILogger logger, string root, string target, Exception exception);

    [LoggerMessage(
        EventId = 4045,
        Level = LogLevel.Warning,
        Message = "audit: commonParams hold -u (--update), so a repair cannot overwrite a target file newer than the source (an edit made on the target); the audit keeps reporting it. Drop u from commonParams to let repairs fix it")]
    private static partial void RepairKeepsNewer(ILogger logger);

    [LoggerMessage(EventId = 4046, Level = LogLevel.Debug, Message = "audit {Root} -> {Target}: {Count} path(s) differ but have changes queued; not counted as drift")]
    private static partial void PendingNotCounted(ILogger logger, string root, string target, int count);
}
