using SerSync.Configuration;
using SerSync.Targets;

namespace SerSync.Watching;

/// <summary>
/// What the pipeline needs of a watcher backend: it writes a root's changes to the channel it was given, places or
/// builds what it watches with in <see cref="Start"/>, says when the root is lost, and gives the stop a barrier.
/// inotify (<see cref="InotifyWatcher"/>) is one backend; <see cref="ScanningWatcher"/> with or without
/// FileSystemWatcher hints is the other two.
/// </summary>
public interface IChangeWatcher : IDisposable
{
    /// <summary>Which backend this is (never <see cref="WatcherKind.Auto"/>).</summary>
    WatcherKind Kind { get; }

    /// <summary>What this backend does not guarantee, one sentence for the log, status and STATUS=; empty for inotify,
    /// whose limits (overflow, watch limits) are repaired and reported on their own.</summary>
    string Caveat { get; }

    string Root { get; }

    /// <summary>Beaten by the watcher's own thread, for the systemd watchdog.</summary>
    Heartbeat Heartbeat { get; set; }

    /// <summary>Directories watched (inotify) or tracked by the scans.</summary>
    int WatchCount { get; }

    /// <summary>Lost-event repairs since the start: inotify queue overflows, FileSystemWatcher errors.</summary>
    long Overflows { get; }

    /// <summary>Directories left out for lack of watches (inotify only; empty elsewhere).</summary>
    UnwatchedDirectories Unwatched { get; }

    /// <summary>Completes when the watcher stops: faulted with <see cref="RootLostException"/> when the root went.</summary>
    Task Completion { get; }

    event EventHandler<RootLostEventArgs>? RootLost;

    event EventHandler<WatcherFaultedEventArgs>? Faulted;

    /// <summary>Watches (or scans) the whole tree before it returns, then follows it on its own thread.</summary>
    void Start();

    /// <summary>True once every change made before the call is in the channel; false after the timeout.</summary>
    Task<bool> SyncAsync(TimeSpan timeout, CancellationToken cancellationToken = default);
}
