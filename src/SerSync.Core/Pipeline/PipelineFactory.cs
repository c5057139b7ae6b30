using Microsoft.Extensions.Logging;
using SerSync.Configuration;
using SerSync.FailLog;
using SerSync.Filtering;
using SerSync.Paths;
using SerSync.Plugins;
using SerSync.Processes;
using SerSync.Rsync;

namespace SerSync.Pipeline;

/// <summary>The parts a full push needs, built from a config.</summary>
public sealed record FullPushParts(FullPush Push, IReadOnlyList<SyncTarget> Targets, Func<RelativePath, bool, bool>? IsExcluded)
{
    /// <summary>The delete guard of each target's push, in the order of <see cref="Targets"/> (empty: unguarded).</summary>
    public IReadOnlyList<FullPushGuard> Guards { get; init; } = [];
}

/// <summary>Builds the pipeline's parts from a loaded config, in one place for the daemon and <c>--once</c>.</summary>
public static class PipelineFactory
{
    public static PathFilter CreateFilter(SerSyncConfig config) => new(config.Filter, dropEditorNoise: true);

    public static FailLogWriter? CreateFailLog(SerSyncConfig config) => config.FailLog.Path is { } path ? new FailLogWriter(path, RsyncExitCodes.Describe) : null;

    /// <summary>The transport of one enabled plugin.</summary>
    public static IHookPlugin CreatePlugin(PluginConfig settings, TimeProvider time, ILoggerFactory loggers) => settings switch
    {
        CommandPluginConfig command => new CommandHook(command, loggers.CreateLogger<CommandHook>(), time),
        SocketPluginConfig socket => new SocketHook(socket, time, loggers.CreateLogger<SocketHook>()),
        CdnPluginConfig cdn => new CdnHook(cdn, time, loggers.CreateLogger<CdnHook>()),
        HttpPluginConfig http => new HttpHook(http, time, loggers.CreateLogger<HttpHook>()),
        _ => throw new ArgumentOutOfRangeException(nameof(settings), settings.Name, "no such plugin"),
    };

    public static FullPushParts CreateFullPush(SerSyncConfig config, int workers, TimeProvider time, ILogger logger) =>
        CreateFullPush(config, new SemaphoreSlim(workers), time, logger);

    /// <summary>A full push (<c>--once</c>) under each root's delete guard: a hold is kept in memory only, since no
    /// daemon is there to release it; the caller reads <see cref="FullPushParts.Guards"/> after the push.</summary>
    public static FullPushParts CreateFullPush(SerSyncConfig config, SemaphoreSlim slots, TimeProvider time, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(config);
        var targets = SyncTarget.FromConfig(config);
        List<FullPushGuard> guards = [.. targets.Select(t => new FullPushGuard(t, config.Watches.First(w => w.Path == t.WatchRoot).DeleteGuard, null, time, logger))];
        var push = new FullPush(new ProcessRunner(logger), slots, CreateFailLog(config), time, logger) { Guards = t => guards.Find(g => ReferenceEquals(g.Target, t)) };
        return new FullPushParts(push, targets, CreateFilter(config).RulesOrNull) { Guards = guards };
    }
}
