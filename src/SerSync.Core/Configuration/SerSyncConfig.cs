using System.Text.RegularExpressions;

namespace SerSync.Configuration;

/// <summary>
/// Everything a confxml.xml says, after validation. Names follow sersync 2.5's elements; additions are marked.
/// </summary>
public sealed record SerSyncConfig
{
    /// <summary>Absolute path of the file this was read from.</summary>
    public required string SourceFile { get; init; }

    /// <summary><c>&lt;host hostip port&gt;</c>: read and kept; sersync never used it either.</summary>
    public HostConfig Host { get; init; } = new("localhost", 8008);

    /// <summary><c>&lt;status&gt;</c>: the status socket and the monitoring listener.</summary>
    public StatusConfig Status { get; init; } = StatusConfig.Default;

    /// <summary><c>&lt;debug start&gt;</c>: debug logging and rsync's own output.</summary>
    public bool Debug { get; init; }

    /// <summary><c>&lt;fileSystem xfs&gt;</c>: sersync needed it for DT_UNKNOWN file systems; sersyncd always falls back
    /// to stat when d_type is unknown, so it is accepted and has no further effect.</summary>
    public bool Xfs { get; init; }

    /// <summary><c>&lt;fileSystem watcher scanInterval&gt;</c> (addition): the watcher backend.</summary>
    public WatcherConfig Watcher { get; init; } = WatcherConfig.Default;

    public FilterConfig Filter { get; init; } = FilterConfig.Disabled;

    public InotifyConfig Inotify { get; init; } = InotifyConfig.Stock;

    /// <summary>Every <c>&lt;localpath&gt;</c> under <c>&lt;sersync&gt;</c> (sersync used only the first).</summary>
    public required IReadOnlyList<WatchConfig> Watches { get; init; }

    public RsyncConfig Rsync { get; init; } = RsyncConfig.Stock;

    public FailLogConfig FailLog { get; init; } = FailLogConfig.Absent;

    public CrontabConfig Crontab { get; init; } = CrontabConfig.Disabled;

    /// <summary>Addition: <c>&lt;audit start schedule repair&gt;</c> under <c>&lt;sersync&gt;</c>, the scheduled drift audit.</summary>
    public AuditConfig Audit { get; init; } = AuditConfig.Disabled;

    /// <summary>The plugins switched on by <c>&lt;sersync&gt;&lt;plugin start="true" name&gt;</c> (sersync had one
    /// such element; sersyncd takes one per plugin), in file order.</summary>
    public IReadOnlyList<string> EnabledPlugins { get; init; } = [];

    /// <summary>The top-level <c>&lt;plugin name=...&gt;</c> sections, read and checked whether or not enabled.</summary>
    public PluginSettings Plugins { get; init; } = PluginSettings.None;

    /// <summary>Addition: <c>&lt;state dir="..."/&gt;</c> under <c>&lt;sersync&gt;</c>; null means the default.</summary>
    public string? StateDirectory { get; init; }

    /// <summary>
    /// sersync's plugin-only mode (<c>-m NAME</c>): the plugin's own directory is the one watched (the command plugin,
    /// which has none, watches the sync roots), there are no targets and no crontab, and only that plugin runs,
    /// whether or not its switch is on, and no fail log (the same file's sync instance owns it). Null when the file
    /// has no section for it.
    /// </summary>
    public SerSyncConfig? ForPluginAlone(string name)
    {
        var sections = Plugins; // (a bare "Plugins." would read as the Plugins folder to the layer check)
        if (sections.Get(name) is not { } plugin)
        {
            return null;
        }

        return this with
        {
            Watches = plugin.Watch is { } dir ? [new WatchConfig(dir, [], plugin.Line)] : [.. Watches.Select(w => w with { Remotes = [] })],
            EnabledPlugins = [name],
            Crontab = CrontabConfig.Disabled,
            Audit = AuditConfig.Disabled,
            FailLog = FailLogConfig.Absent, // the sync instance owns (and replays) that file
        };
    }
}

public sealed record HostConfig(string HostIp, int Port);

/// <summary><c>&lt;status socket group listen unhealthyAfter&gt;</c> (sersyncd's): where the running daemon answers
/// <c>sersyncd status</c>, and the optional HTTP listener for monitoring.</summary>
/// <param name="Socket">The unix socket's path; null for the default, <c>/run/sersyncd/NAME.sock</c>.</param>
/// <param name="Group">A group that may use the socket too (mode 0660 instead of 0600); null for root alone.</param>
/// <param name="GroupId">That group's id, resolved when the file is loaded.</param>
/// <param name="Listen">Where <c>/metrics</c>, <c>/status</c> and <c>/healthz</c> are served; null: no HTTP.</param>
/// <param name="UnhealthyAfter">How long a target may be retrying before <c>/healthz</c> answers 503.</param>
public sealed record StatusConfig(string? Socket, string? Group, uint? GroupId, System.Net.IPEndPoint? Listen, TimeSpan UnhealthyAfter)
{
    public static readonly TimeSpan DefaultUnhealthyAfter = TimeSpan.FromMinutes(5);

    public static StatusConfig Default { get; } = new(null, null, null, null, DefaultUnhealthyAfter);
}

/// <param name="Enabled"><c>&lt;filter start&gt;</c>.</param>
/// <param name="Excludes">The <c>&lt;exclude expression&gt;</c> regexes, in file order.</param>
public sealed record FilterConfig(bool Enabled, IReadOnlyList<ExcludeRule> Excludes)
{
    public static FilterConfig Disabled { get; } = new(false, []);
}

/// <summary>
/// One exclude regex. It is matched against the whole path relative to the watched root, '/'-separated, with no
/// leading or trailing slash (so <c>a/b/c.gz</c>, never <c>/a/b/c.gz</c> or <c>a/b/</c>), the same at every depth.
/// A directory that matches is excluded with everything below it.
/// </summary>
public sealed record ExcludeRule(string Expression, Regex Regex, int Line);

/// <summary>The <c>&lt;inotify&gt;</c> switches (sersync 2.5 meaning). <see cref="Stock"/> is sersync's stock file.</summary>
public sealed record InotifyConfig(
    bool Delete,
    bool CreateFolder,
    bool CreateFile,
    bool CloseWrite,
    bool MoveFrom,
    bool MoveTo,
    bool Attrib,
    bool Modify)
{
    public static InotifyConfig Stock { get; } = new(
        Delete: true, CreateFolder: true, CreateFile: false, CloseWrite: true,
        MoveFrom: true, MoveTo: true, Attrib: false, Modify: false);
}

/// <summary>One <c>&lt;localpath watch&gt;</c> and its targets.</summary>
public sealed record WatchConfig(string Path, IReadOnlyList<RemoteConfig> Remotes, int Line)
{
    /// <summary>Addition: <c>&lt;deleteGuard&gt;</c> for this root: its own under the <c>&lt;localpath&gt;</c>, else the one
    /// under <c>&lt;sersync&gt;</c>, else the defaults.</summary>
    public DeleteGuardConfig DeleteGuard { get; init; } = DeleteGuardConfig.Default;

    /// <summary>Addition: <c>&lt;journal maxSize&gt;</c> for this root: its own, else the shared one, else 64 MiB.</summary>
    public JournalConfig Journal { get; init; } = JournalConfig.Default;
}

/// <summary>
/// Addition: <c>&lt;deleteGuard start percent minFiles&gt;</c>. Deletes that would remove more than
/// <paramref name="Percent"/> % of the files the targets hold for a root of at least <paramref name="MinFiles"/>
/// files, or would leave the root empty, are held until the operator releases them (<c>sersyncd release</c>).
/// </summary>
/// <param name="Enabled"><c>start</c>, true by default.</param>
/// <param name="Percent">The share of the root's files, 1 to 100; 50 by default.</param>
/// <param name="MinFiles">The share applies to roots of at least this many files (1,000 by default); smaller roots are
/// guarded only against being emptied.</param>
/// <param name="Line">The element's line, or 0 for the defaults.</param>
public sealed record DeleteGuardConfig(bool Enabled, int Percent, int MinFiles, int Line)
{
    public const int DefaultPercent = 50;
    public const int DefaultMinFiles = 1000;

    public static DeleteGuardConfig Default { get; } = new(true, DefaultPercent, DefaultMinFiles, 0);

    public static DeleteGuardConfig Off { get; } = new(false, DefaultPercent, DefaultMinFiles, 0);

    /// <summary>Whether deleting <paramref name="deletes"/> of the <paramref name="held"/> files the targets hold
    /// passes the share: false when it must be held. The root-empty rule is the caller's (it needs the disk).</summary>
    public bool AllowsShare(long deletes, long held) =>
        !Enabled || deletes <= 0 || held < MinFiles || deletes * 100 <= held * (long)Percent;
}

public enum RemoteKind
{
    /// <summary><c>&lt;remote ip name&gt;</c> without ssh: <c>[user@]ip::name</c>.</summary>
    RsyncDaemon,

    /// <summary><c>&lt;remote ip name&gt;</c> with <c>&lt;ssh start="true"&gt;</c>: <c>[user@]ip:name</c>.</summary>
    Ssh,

    /// <summary>Addition: <c>&lt;remote path="/abs/dir"/&gt;</c>, a local directory.</summary>
    LocalDirectory,
}

/// <param name="Ip">Host (rsync daemon or ssh); null for a local directory.</param>
/// <param name="Name">Module (daemon) or remote directory (ssh); null for a local directory.</param>
/// <param name="Path">Local directory target; null otherwise.</param>
public sealed record RemoteConfig(RemoteKind Kind, string? Ip, string? Name, string? Path, int Line)
{
    /// <summary>Addition: the ssh login from <c>ip="user@host"</c> (ssh targets only); null when not given.</summary>
    public string? User { get; init; }

    /// <summary>Addition: this target's settings when the <c>&lt;remote&gt;</c> holds its own <c>&lt;rsync&gt;</c>
    /// (its children over the shared ones); null: the shared <c>&lt;rsync&gt;</c> applies.</summary>
    public RsyncConfig? Rsync { get; init; }

    /// <summary>A short label for logs and STATUS lines, without any password.</summary>
    public string Label => Kind switch
    {
        RemoteKind.RsyncDaemon => $"{Ip}::{Name}",
        RemoteKind.Ssh => User is null ? $"{Ip}:{Name}" : $"{User}@{Ip}:{Name}",
        _ => Path!,
    };
}

/// <param name="CommonParams"><c>&lt;commonParams params&gt;</c>, split into words by the loader (never by a shell).</param>
public sealed record RsyncConfig(
    IReadOnlyList<string> CommonParams,
    AuthConfig Auth,
    SwitchedNumber Port,
    SwitchedNumber Timeout,
    bool Ssh)
{
    public static RsyncConfig Stock { get; } = new(
        ["-artuz"],
        new AuthConfig(false, "root", "/etc/rsync.pas"),
        new SwitchedNumber(false, 874),
        new SwitchedNumber(false, 100),
        false);

    /// <summary>Addition: <c>&lt;ssh command&gt;</c>, the remote shell given to rsync <c>-e</c> when <see cref="Ssh"/>
    /// is on (rsync splits it into words itself).</summary>
    public string SshCommand { get; init; } = "ssh";

    /// <summary>Addition: <c>&lt;ssh user&gt;</c>, given to ssh as <c>-l</c>; null: ssh's own default.</summary>
    public string? SshUser { get; init; }

    /// <summary>Addition: <c>&lt;ssh port&gt;</c>, given to ssh as <c>-p</c>; null: ssh's own default.</summary>
    public int? SshPort { get; init; }

    /// <summary>Addition: <c>&lt;ssh identity&gt;</c>, a private key given to ssh as <c>-i</c>; null: ssh's own.</summary>
    public string? SshIdentity { get; init; }

    /// <summary>Addition: <c>&lt;ssh keepOpen&gt;</c> (default true): one ssh connection per target, kept open by
    /// the daemon and shared by every rsync and remote command to it (OpenSSH ControlMaster).</summary>
    public bool SshKeepOpen { get; init; } = true;
}

public sealed record AuthConfig(bool Enabled, string Users, string PasswordFile);

/// <summary>An element with <c>start</c> and a number (<c>userDefinedPort@port</c>, <c>timeout@time</c>).</summary>
public sealed record SwitchedNumber(bool Enabled, int Value);

/// <param name="Path"><c>failLog@path</c>; null when the element is absent (sersync then persisted nothing).</param>
/// <param name="TimeToExecuteMinutes"><c>failLog@timeToExecute</c>.</param>
public sealed record FailLogConfig(string? Path, int TimeToExecuteMinutes)
{
    public static FailLogConfig Absent { get; } = new(null, 120);
}

/// <param name="Excludes"><c>crontabfilter/exclude@expression</c>: rsync patterns (not regexes), as in sersync.</param>
public sealed record CrontabConfig(bool Enabled, int ScheduleMinutes, bool FilterEnabled, IReadOnlyList<string> Excludes)
{
    public static CrontabConfig Disabled { get; } = new(false, 600, false, []);
}

/// <summary>The scheduled drift audit (<c>&lt;audit start="true" schedule="MIN" repair="true|false"/&gt;</c>).</summary>
/// <param name="ScheduleMinutes">Minutes between audits, fractions allowed (0.5 is 30 s); at least
/// <see cref="MinimumScheduleMinutes"/>.</param>
/// <param name="Repair">Queue the paths found through the journal, like any change.</param>
public sealed record AuditConfig(bool Enabled, double ScheduleMinutes, bool Repair)
{
    /// <summary>3 s: small enough for a test, large enough that audits cannot run back to back by mistake.</summary>
    public const double MinimumScheduleMinutes = 0.05;

    public static AuditConfig Disabled { get; } = new(false, 60, false);

    public TimeSpan Period => TimeSpan.FromMinutes(ScheduleMinutes);
}

/// <summary>The plugin sections present in the file (null when absent).</summary>
public sealed record PluginSettings(CommandPluginConfig? Command, SocketPluginConfig? Socket, CdnPluginConfig? RefreshCdn, HttpPluginConfig? Http)
{
    public static PluginSettings None { get; } = new(null, null, null, null);

    /// <summary>The section of plugin <paramref name="name"/> (sersync's spelling), or null.</summary>
    public PluginConfig? Get(string name) => name switch
    {
        "command" => Command,
        "socket" => Socket,
        "refreshCDN" => RefreshCdn,
        "http" => Http,
        _ => null,
    };

    public IEnumerable<PluginConfig> All => new PluginConfig?[] { Command, Socket, RefreshCdn, Http }.OfType<PluginConfig>();
}
