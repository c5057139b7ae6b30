
using SerSync.Configuration;
using SerSync.Paths;

namespace SerSync.Rsync;

/// <summary>
/// One destination resolved from a <c>&lt;remote&gt;</c> and the shared <c>&lt;rsync&gt;</c> settings: the destination
/// argument and the connection options rsync needs for it. Holds no password: auth is a password-file path.
/// </summary>
public sealed record SyncTarget(string WatchRoot, RemoteConfig Remote, RsyncConfig Rsync, bool Delete)
{
    public string Label => Remote.Label;

    /// <summary>The id this target acknowledges journal sequences under (stable across restarts and reloads).</summary>
    public string Id => StableId.Of(Remote.Kind + " " + Label);

    /// <summary>The destination argument: <c>[user@]ip::module</c>, <c>ip:dir</c> or <c>/abs/dir/</c>.</summary>
    public string Destination => Remote.Kind switch
    {
        RemoteKind.RsyncDaemon => (Rsync.Auth.Enabled ? Rsync.Auth.Users + "@" : string.Empty) + Remote.Ip + "::" + Remote.Name,
        RemoteKind.Ssh => Remote.Ip + ":" + Remote.Name,
        _ => Remote.Path!.TrimEnd('/') + "/",
    };

    public static IReadOnlyList<SyncTarget> FromConfig(SerSyncConfig config) =>
        [.. config.Watches.SelectMany(w => w.Remotes.Select(r => new SyncTarget(w.Path, r, config.Rsync, config.Inotify.Delete)))];
}
