using Microsoft.Extensions.Logging;

namespace SerSync.Pipeline;

public sealed partial class MirrorPipeline
{
    [LoggerMessage(EventId = 8030, Level = LogLevel.Warning, Message = "{Root}: the journal reached {Bytes} bytes (bound {Bound}) while {Target} holds it back (away, or far behind): its {Skipped} unsynced change(s) are collapsed into one full sync; journal now {After} bytes")]
    private partial void TargetCollapsed(string root, string target, long bytes, long bound, long skipped, long after);

    [LoggerMessage(EventId = 8031, Level = LogLevel.Warning, Message = "{Root}: the journal reached {Bytes} bytes (bound {Bound}) and plugin {Plugin} had not delivered {Skipped} change(s): this run still delivers them from memory, but the journal no longer keeps them, so a restart before then skips them; journal now {After} bytes")]
    private partial void HookCollapsed(string root, string plugin, long bytes, long bound, long skipped, long after);
}
