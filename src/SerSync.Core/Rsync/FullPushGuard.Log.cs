using Microsoft.Extensions.Logging;

namespace SerSync.Rsync;

public sealed partial class FullPushGuard
{
    [LoggerMessage(EventId = 13100, Level = LogLevel.Critical, Message = "Delete guard: the full push to {Target} would delete {Deletes} of the {Held} files it holds ({Percent:F0} %, {Why}); it runs WITHOUT deleting and those deletes are held since {Since:u}. Check the source (an unmounted or emptied root?); `sersyncd release` lets the next full push delete, `sersyncd release --keep` forgets them")]
    private static partial void HeldDeletes(ILogger logger, string target, long deletes, long held, double percent, string why, DateTimeOffset since);

    [LoggerMessage(EventId = 13101, Level = LogLevel.Warning, Message = "Delete guard: the {Deletes} full-push deletes held for {Target} are cleared ({Why})")]
    private static partial void HoldCleared(ILogger logger, string target, long deletes, string why);

    [LoggerMessage(EventId = 13102, Level = LogLevel.Warning, Message = "Delete guard: the {Deletes} full-push deletes held for {Target} are released: its next full push deletes")]
    private static partial void HoldReleased(ILogger logger, string target, long deletes);

    [LoggerMessage(EventId = 13103, Level = LogLevel.Warning, Message = "Delete guard: the {Deletes} full-push deletes held for {Target} are dropped (--keep): the target keeps those files")]
    private static partial void HoldKept(ILogger logger, string target, long deletes);

    [LoggerMessage(EventId = 13104, Level = LogLevel.Information, Message = "Delete guard: the full push to {Target} holds {Held} files and would delete {Deletes} (source empty: {SourceEmpty}); dry run {Seconds:F1} s")]
    private static partial void DryRunCounted(ILogger logger, string target, long held, long deletes, bool sourceEmpty, double seconds);

    [LoggerMessage(EventId = 13105, Level = LogLevel.Warning, Message = "Delete guard: the full push to {Target} stopped deleting at the {Entries} entries its dry run judged (rsync --max-delete, exit 25): the source lost more between the dry run and the push. The push counts as failed; its retry runs a new dry run and judges again")]
    private static partial void DeleteLimitReached(ILogger logger, string target, long entries);

    [LoggerMessage(EventId = 13106, Level = LogLevel.Warning, Message = "Delete guard: the released full push to {Target} stopped deleting at the {Entries} entries it was released for (rsync --max-delete, exit 25): the source lost more since the hold. The release is spent; the retry judges what is left and holds it again if it must (then `sersyncd release` again)")]
    private static partial void ReleasedLimitReached(ILogger logger, string target, long entries);
}
