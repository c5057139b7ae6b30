using Microsoft.Extensions.Logging;

namespace SerSync.Processes;

public sealed partial class ProcessRunner
{
    [LoggerMessage(EventId = 7000, Level = LogLevel.Debug, Message = "{Program} output: {Output}")]
    private static partial void LogOutput(ILogger logger, string program, string output);
}
