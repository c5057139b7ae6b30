using Microsoft.Extensions.Logging;

namespace SerSync.Targets;

public sealed partial class TargetWorker
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Debug, Message = "{Target}: exec {Program} {Arguments} ({Count} entries on stdin)")]
    private partial void Exec(string target, string program, string arguments, int count);

    /// <summary>One line per batch, at most one a second per target (see <see cref="BatchLogLimiter"/>).</summary>
    [LoggerMessage(EventId = 3002, Level = LogLevel.Information, Message = "{Target}: synced {Count} path(s) ({Paths}), {Bytes} bytes of files, {Sent} bytes sent, in {Duration}")]
    private partial void BatchSynced(string target, int count, string paths, long bytes, long sent, string duration);

    [LoggerMessage(EventId = 3008, Level = LogLevel.Information, Message = "{Target}: synced {Count} path(s) ({Paths}) in {Duration}")]
    private partial void BatchSyncedNoStats(string target, int count, string paths, string duration);

    [LoggerMessage(EventId = 3010, Level = LogLevel.Information, Message = "{Target}: synced the whole root (a full sync) in {Duration}")]
    private partial void FullSyncDone(string target, string duration);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Information, Message = "{Target}: synced {Batches} more batch(es) in the last second: {Count} path(s), {Bytes} bytes of files, {Sent} bytes sent, in {Duration} of rsync")]
    private partial void BatchesSummed(string target, int batches, long count, long bytes, long sent, string duration);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Information, Message = "{Target}: back in sync after an outage of {Outage} ({Failures} failed attempt(s))")]
    private partial void BackInSync(string target, string outage, int failures);

    /// <summary>In sync to retrying (a warning), or to failed (an error): the first failure, with rsync's output.</summary>
    [LoggerMessage(EventId = 3004, Message = "{Target}: {State}: rsync exit {Code} ({Meaning}); {Count} path(s) kept, next attempt in {Seconds:F1} s: {Output}")]
    private partial void StateChanged(LogLevel level, string target, string state, int code, string meaning, int count, double seconds, string output);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Debug, Message = "{Target}: attempt {Attempt} failed: rsync exit {Code} ({Meaning}); next in {Seconds:F1} s: {Output}")]
    private partial void RetryFailed(string target, int code, string meaning, int attempt, double seconds, string output);

    [LoggerMessage(EventId = 3007, Message = "{Target}: still failing after {Outage} ({Attempt} failed attempt(s)), {Pending} path(s) waiting: rsync exit {Code} ({Meaning}); next attempt in {Seconds:F1} s: {Output}")]
    private partial void StillFailing(LogLevel level, string target, string outage, int attempt, int code, string meaning, int pending, double seconds, string output);

    [LoggerMessage(EventId = 3009, Level = LogLevel.Warning, Message = "{Target}: SERSYNCD_TEST_BLOCK_ON={Name}: the worker blocks for good (a test of the watchdog)")]
    private partial void TestHookBlocks(string target, string name);

    [LoggerMessage(EventId = 3020, Level = LogLevel.Information, Message = "{Target}: {Endpoint} answers again: retrying now, {Seconds:F1} s before the backoff's next attempt")]
    private partial void ProbeAnswered(string target, string endpoint, double seconds);

    [LoggerMessage(EventId = 3060, Level = LogLevel.Debug, Message = "{Target}: renamed {Count} path(s) on the target instead of sending them again ({First}...)")]
    private partial void MovesDone(string target, int count, string first);

    [LoggerMessage(EventId = 3061, Level = LogLevel.Debug, Message = "{Target}: {Count} rename(s) from {First} not done on the target ({Why}): {What}")]
    private partial void MovesLeftToRsync(string target, int count, string first, string why, string what);
}
