using Microsoft.Extensions.Logging;

namespace SerSync.Pipeline;

public sealed partial class MirrorPipeline
{
    [LoggerMessage(EventId = 8007, Level = LogLevel.Information, Message = "{Root}: no state in {StateDirectory} (a first start, or the state was deleted): a full push to {Targets} target(s) is queued")]
    private partial void FirstStart(string root, string stateDirectory, int targets);

    [LoggerMessage(EventId = 8008, Level = LogLevel.Information, Message = "{Target}: no record in the state of {Root} of what it holds; a full push is queued")]
    private partial void TargetUnknown(string target, string root);

    [LoggerMessage(EventId = 8002, Level = LogLevel.Warning, Message = "{Message}")]
    private partial void WatchLimitRaised(string message);

    [LoggerMessage(EventId = 8003, Level = LogLevel.Warning, Message = "journal of {Root} ended in a damaged record (a crash while writing); it was cut there and the catch-up scan covers what followed")]
    private partial void JournalTornTail(string root);

    [LoggerMessage(EventId = 8004, Level = LogLevel.Information, Message = "{Root}: {Recovered} unsynced change(s) recovered from the journal, {Found} path(s) changed since {Since:u} found by the catch-up scan")]
    private partial void Recovered(string root, int recovered, int found, DateTimeOffset? since);

    [LoggerMessage(EventId = 8005, Level = LogLevel.Warning, Message = "{Count} change(s) not yet sent; they stay in the journal for the next start")]
    private partial void NotAllSent(int count);

    [LoggerMessage(EventId = 8006, Level = LogLevel.Warning, Message = "{Root}: the stop barrier (a cookie file in the root) did not come back within {Seconds:F0} s; events still in the kernel's queue may be missed and are left to the next start's catch-up scan")]
    private partial void BarrierMissed(string root, double seconds);

    [LoggerMessage(EventId = 8009, Level = LogLevel.Information, Message = "{Plugin} is new to {Root} (or its acknowledgement was lost): it fires for changes from now on")]
    private partial void HookStartsNow(string plugin, string root);

    [LoggerMessage(EventId = 8010, Level = LogLevel.Warning, Message = "{Count} plugin change(s) not yet delivered; they stay in the journal for the next start")]
    private partial void HooksNotAllDelivered(int count);

    [LoggerMessage(EventId = 8020, Level = LogLevel.Critical, Message = "{What} ended with an error; the daemon stops (exit 70) so that it is started again from the journal")]
    private partial void LoopCrashed(string what, Exception error);
}
