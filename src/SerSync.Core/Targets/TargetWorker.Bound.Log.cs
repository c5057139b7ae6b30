using Microsoft.Extensions.Logging;

namespace SerSync.Targets;

public sealed partial class TargetWorker
{
    [LoggerMessage(EventId = 3070, Level = LogLevel.Warning, Message = "{Target}: more than {Bound} path(s) pending while the target is away: they are collapsed into one full sync when it returns")]
    private partial void PendingCollapsed(string target, int bound);
}
