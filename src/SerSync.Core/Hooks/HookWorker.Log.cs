using Microsoft.Extensions.Logging;

namespace SerSync.Hooks;

public sealed partial class HookWorker
{
    [LoggerMessage(EventId = 10001, Level = LogLevel.Debug, Message = "{Plugin}: delivered {Count} change(s)")]
    private partial void BatchDelivered(string plugin, int count);

    [LoggerMessage(EventId = 10002, Level = LogLevel.Warning, Message = "{Plugin}: {Failed} of {Count} change(s) not delivered: {Reason}; attempt {Attempt}, trying again in {RetrySeconds:0.#} s")]
    private partial void BatchFailed(string plugin, int failed, int count, string reason, int attempt, double retrySeconds);

    [LoggerMessage(EventId = 10005, Level = LogLevel.Warning, Message = "{Plugin}: {Failed} of {Count} change(s) not done, exit status {ExitStatus}: {Reason}; attempt {Attempt}, trying again in {RetrySeconds:0.#} s")]
    private partial void RunFailed(string plugin, int failed, int count, int exitStatus, string reason, int attempt, double retrySeconds);

    [LoggerMessage(EventId = 10003, Level = LogLevel.Warning, Message = "{Plugin}: firing for changes that {Targets} still lack(s) after waiting {MaxDelaySeconds} s (plugin maxDelay)")]
    private partial void FiringWithoutTargets(string plugin, string targets, double maxDelaySeconds);

    [LoggerMessage(EventId = 10004, Level = LogLevel.Error, Message = "{Plugin}: cannot write the fail log {File}: {Reason}")]
    private partial void FailLogUnwritable(string plugin, string file, string reason);
}
