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

    [LoggerMessage(
        EventId = 10105,
        Level = LogLevel.Warning,
        Message = "{Label} ran for {Run}, but its exit status was taken by another reaper (sersyncd is pid 1 or was started with SIGCHLD ignored); counted as delivered")]
    private static partial void StatusLost(ILogger logger, string label, string run);

    [LoggerMessage(
        EventId = 10106,
        Level = LogLevel.Warning,
        Message = "command plugin: sersyncd is pid 1, so the .NET runtime reaps every child and a command's exit status may be lost (such a run counts as delivered); run it under an init (docker run --init, tini)")]
    private static partial void RunningAsPidOne(ILogger logger);
}
