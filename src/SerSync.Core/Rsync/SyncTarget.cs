
using SerSync.Configuration;
using SerSync.Paths;

namespace SerSync.Rsync;

/// <summary>
/// One destination resolved from a <c>&lt;remote&gt;</c> and its settings (its own <c>&lt;rsync&gt;</c> over the
/// shared one, see <see cref="SettingsOf"/>): the destination
/// argument and the connection options rsync needs for it. Holds no password: auth is a password-file path.
/// </summary>
public sealed record SyncTarget(string WatchRoot, RemoteConfig Remote, RsyncConfig Rsync, bool Delete)
{
    public string Label => Remote.Label;

    /// <summary>The kept ssh connection this target's rsync and remote commands join (ssh targets with
    /// <c>keepOpen</c>, in a running pipeline); null: each ssh makes its own connection.</summary>
    public SshConnection? Connection { get; init; }

    /// <summary>The id this target acknowledges journal sequences under (stable across restarts and reloads).</summary>
    public string Id => StableId.Of(Remote.Kind + " " + Label);

    /// <summary>The destination argument: <c>[user@]ip::module</c>, <c>ip:dir</c> or <c>/abs/dir/</c>.</summary>
    public string Destination => Remote.Kind switch
    {
        RemoteKind.RsyncDaemon => (Rsync.Auth.Enabled ? Rsync.Auth.Users + "@" : string.Empty) + Remote.Ip + "::" + Remote.Name,
        RemoteKind.Ssh => (Remote.User is null ? string.Empty : Remote.User + "@") + Remote.Ip + ":" + Remote.Name,
        _ => Remote.Path!.TrimEnd('/') + "/",
    };

    /// <summary>The settings a remote runs with: its own <c>&lt;rsync&gt;</c> (already merged over the shared one by
    /// the loader) or the shared one.</summary>
    public static RsyncConfig SettingsOf(RemoteConfig remote, SerSyncConfig config) => remote.Rsync ?? config.Rsync;

    public static IReadOnlyList<SyncTarget> FromConfig(SerSyncConfig config) =>
        [.. config.Watches.SelectMany(w => w.Remotes.Select(r => new SyncTarget(w.Path, r, SettingsOf(r, config), config.Inotify.Delete)))];
}
