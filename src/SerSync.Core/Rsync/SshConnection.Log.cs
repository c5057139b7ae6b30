using Microsoft.Extensions.Logging;

namespace SerSync.Rsync;

public sealed partial class SshConnection
{
    [LoggerMessage(EventId = 12101, Level = LogLevel.Information, Message = "{Target}: ssh connection kept open by master pid {Pid} (socket {Socket})")]
    private static partial void MasterStarted(ILogger logger, string target, int pid, string socket);

    [LoggerMessage(EventId = 12102, Level = LogLevel.Warning, Message = "{Target}: the kept ssh connection (master pid {Pid}) ended with exit {Code}: {Output}; rsync connects directly until a new one is up")]
    private static partial void MasterExited(ILogger logger, string target, int pid, int code, string output);

    [LoggerMessage(EventId = 12103, Level = LogLevel.Warning, Message = "{Target}: cannot start the kept ssh connection: {Reason}; rsync connects directly")]
    private static partial void MasterNotStarted(ILogger logger, string target, string reason);

    [LoggerMessage(EventId = 12105, Level = LogLevel.Debug, Message = "{Target}: the ssh master (pid {Pid}) did not get a connection, exit {Code}: {Output}; rsync connects directly, the next batch tries again")]
    private static partial void MasterFailed(ILogger logger, string target, int pid, int code, string output);

    [LoggerMessage(EventId = 12106, Level = LogLevel.Information, Message = "{Target}: back after an outage: the kept ssh connection (master pid {Pid}) that lived through it is ended; rsync connects directly and a new one starts")]
    private static partial void MasterDiscarded(ILogger logger, string target, int pid);

    [LoggerMessage(EventId = 12104, Level = LogLevel.Debug, Message = "{Target}: kept ssh connection (master pid {Pid}) closed")]
    private static partial void MasterStopped(ILogger logger, string target, int pid);
}
