using Microsoft.Extensions.Logging;

namespace SerSync.Plugins;

public sealed partial class CommandHook
{
    [LoggerMessage(EventId = 10100, Level = LogLevel.Warning, Message = "{Label} failed for {Run}: {Status}; output: {Output}")]
    private static partial void RunFailed(ILogger logger, string label, string run, string status, string output);

    [LoggerMessage(EventId = 10101, Level = LogLevel.Debug, Message = "{Label} failed for {Run} (ignoreError): {Status}; output: {Output}")]
    private static partial void RunFailedIgnored(ILogger logger, string label, string run, string status, string output);

    [LoggerMessage(EventId = 10102, Level = LogLevel.Debug, Message = "{Label} ran for {Run} in {Seconds:F2} s")]
    private static partial void RunSucceeded(ILogger logger, string label, string run, double seconds);

    [LoggerMessage(EventId = 10103, Level = LogLevel.Warning, Message = "command plugin: program {Program} not found in PATH; every run fails until it is installed")]
    private static partial void ProgramNotFound(ILogger logger, string program);

    [LoggerMessage(
        EventId = 10104,
        Level = LogLevel.Warning,
        Message = "command plugin: prefix \"{Prefix}\" executes each changed file as a shell script (sersync's stock setting): anyone who can write to the watched root can run commands as sersyncd")]
    private static partial void ExecutesChangedFile(ILogger logger, string prefix);
}
