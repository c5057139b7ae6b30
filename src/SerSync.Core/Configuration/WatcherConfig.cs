namespace SerSync.Configuration;

/// <summary>Which watcher backend a root is watched with (<c>&lt;fileSystem watcher&gt;</c>).</summary>
public enum WatcherKind
{
    /// <summary>inotify where it works (Linux, a kernel that allows it, a local file system); else the portable
    /// backend, or polling on a network file system where inotify sees nothing of other clients' changes.</summary>
    Auto,

    /// <summary>Linux inotify: every change as it happens, overflows repaired by a rescan.</summary>
    Inotify,

    /// <summary>System.IO.FileSystemWatcher for hints, a rescan on every error, and a full scan every interval.</summary>
    Portable,

    /// <summary>No notification at all: a full scan every interval, compared with the last.</summary>
    Poll,
}

/// <summary>
/// Addition: <c>&lt;fileSystem watcher="auto|inotify|portable|poll" scanInterval="SECONDS"/&gt;</c> under
/// <c>&lt;head&gt;</c>, beside sersync's <c>xfs</c>. The environment variables <c>SERSYNCD_WATCHER</c> (the same
/// words) and <c>SERSYNCD_SCAN_INTERVAL</c> override them, so a whole test suite can be run with one backend forced.
/// </summary>
/// <param name="Kind">The backend asked for.</param>
/// <param name="ScanInterval">The full scan's period for the portable and polling backends; null: the backend's
/// default (<see cref="DefaultPortableScan"/>, <see cref="DefaultPollScan"/>).</param>
public sealed record WatcherConfig(WatcherKind Kind, TimeSpan? ScanInterval)
{
    public const string EnvironmentVariable = "SERSYNCD_WATCHER";

    /// <summary>Overrides <c>scanInterval</c> (whole seconds), as <see cref="EnvironmentVariable"/> does the backend.</summary>
    public const string IntervalVariable = "SERSYNCD_SCAN_INTERVAL";

    /// <summary>The portable backend's safety net: its hints are mostly right, so a full scan a minute bounds what a
    /// lost event can cost at a minute, for a few hundred milliseconds of work per 50,000 directories.</summary>
    public static readonly TimeSpan DefaultPortableScan = TimeSpan.FromSeconds(60);

    /// <summary>Polling sees every change only at a scan: 5 s is the latency it gives, for a scan's work every 5 s.</summary>
    public static readonly TimeSpan DefaultPollScan = TimeSpan.FromSeconds(5);

    public const int MaxScanIntervalSeconds = 86_400;

    public static WatcherConfig Default { get; } = new(WatcherKind.Auto, null);

    /// <summary>The period of the full scan for <paramref name="kind"/> (an actual backend, not auto).</summary>
    public TimeSpan ScanIntervalFor(WatcherKind kind) => ScanInterval ?? (kind == WatcherKind.Poll ? DefaultPollScan : DefaultPortableScan);

    /// <summary>The word in the config, in the environment variable, in status.</summary>
    public static string Name(WatcherKind kind) => kind switch
    {
        WatcherKind.Inotify => "inotify",
        WatcherKind.Portable => "portable",
        WatcherKind.Poll => "poll",
        _ => "auto",
    };

    public static bool TryParse(string? text, out WatcherKind kind)
    {
        kind = text switch
        {
            "auto" => WatcherKind.Auto,
            "inotify" => WatcherKind.Inotify,
            "portable" => WatcherKind.Portable,
            "poll" => WatcherKind.Poll,
            _ => (WatcherKind)(-1),
        };
        return (int)kind >= 0;
    }
}
