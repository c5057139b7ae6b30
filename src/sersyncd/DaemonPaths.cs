
using SerSync.Configuration;

namespace SerSync.Daemon;

/// <summary>
/// Per-instance file locations. Several instances run side by side, one per config, so each default is named after
/// the config file (<c>/etc/sersync.d/nginx.xml</c> → <c>nginx</c>). Every path is absolute: a detached daemon
/// changes its directory to /.
/// </summary>
/// <param name="StatusSocket">Where the instance answers <c>sersyncd status</c>: <c>&lt;status socket&gt;</c>, else
/// <c>/run/sersyncd/NAME.sock</c>; a plugin run alone gets <c>-PLUGIN</c> before the extension of either.</param>
public sealed record DaemonPaths(string InstanceName, string? LogFile, string? PidFile, string StateDirectory, string StatusSocket)
{
    /// <summary>The run-time directory: <c>/run/sersyncd</c> on Linux; <c>/var/run/sersyncd</c> elsewhere (macOS's
    /// sealed system volume has no /run, and the BSDs keep <c>/var/run</c>).</summary>
    public static string RunDirectory { get; } = OperatingSystem.IsLinux() ? "/run/sersyncd" : "/var/run/sersyncd";

    public static DaemonPaths For(CommandLine cl, SerSyncConfig config)
    {
        var file = Path.GetFileNameWithoutExtension(config.SourceFile);
        // A plugin run alone (-m) has its own log, PID file and journal beside the same file's sync instance.
        var name = cl.Plugin is { } alone ? $"{file}-{alone}" : file;
        var detaching = cl.Daemon && !Detachment.UnderSystemd;
        var logFile = cl.LogFile ?? (detaching ? $"/var/log/sersyncd/{name}.log" : null);
        var pidFile = cl.PidFile ?? (detaching ? $"{RunDirectory}/{name}.pid" : null);
        var state = cl.StateDirectory ?? config.StateDirectory ?? $"/var/lib/sersyncd/{file}";
        if (cl.Plugin is { } plugin)
        {
            state = Path.Combine(state, "plugin-" + plugin);
        }

        var socket = config.Status.Socket is { } configured
            ? (cl.Plugin is { } p ? Path.ChangeExtension(configured, null) + "-" + p + Path.GetExtension(configured) : configured)
            : $"{RunDirectory}/{name}.sock";
        return new DaemonPaths(
            name,
            logFile is null ? null : Path.GetFullPath(logFile),
            pidFile is null ? null : Path.GetFullPath(pidFile),
            Path.GetFullPath(state),
            socket);
    }
}
