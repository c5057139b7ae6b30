// Implementation notes.
// - The portable and polling backends: the tree is read whole at Start (as inotify places its watches), kept in a
//   TreeScanner, and compared again by one thread of ours. Polling compares the whole tree every scan interval.
//   The portable backend adds System.IO.FileSystemWatcher (FSEvents on macOS, ReadDirectoryChangesW on Windows,
//   inotify on Linux) as hints: a hint names an entry, which is compared alone, a few milliseconds later with the
//   other hints of that moment. Hints are never trusted as facts (a comparison decides) and can be lost: every
//   FileSystemWatcher Error (a buffer overflow) is a comparison of the whole tree, and so is every scan interval.
// - A directory new to the scans is read whole; FileSystemWatcher places its own watch on it only after it saw the
//   directory, so what is made in it meanwhile has no hint. Such a directory is compared once more a second later.
// - FileSystemWatcher can also go quiet for good (seen on .NET 10 on Linux after directories were moved out of the
//   tree). While no hint arrives for a while, a probe file is made in the root; if its hint does not come, the
//   FileSystemWatcher is made again and the tree compared whole, and that is logged as a lost-events repair.
// - The barrier (SyncAsync) is a whole-tree comparison begun after the call: what was on the disk before it is then
//   in the channel. Cookie and probe names start with ".#", editor noise to every rsync run and to the filter.
// - The thread owns the TreeScanner and every channel write; hints and barriers reach it through a lock-free queue
//   and a lock (_lock) held only to swap lists, never around I/O or a callback.
using System.Collections.Concurrent;
using System.Text;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SerSync.Configuration;
using SerSync.Filtering;
using SerSync.Paths;
using SerSync.Targets;

namespace SerSync.Watching;

/// <summary>
/// Watches a tree by comparing it with what the last scan saw: with FileSystemWatcher hints
/// (<see cref="WatcherKind.Portable"/>) or by scans alone (<see cref="WatcherKind.Poll"/>). Reports the same
/// <see cref="FileChange"/>s as <see cref="InotifyWatcher"/> (renames paired by inode), never a full sync: the
/// comparison itself finds every difference.
/// </summary>
public sealed partial class ScanningWatcher : IChangeWatcher
{
    /// <summary>How long hints gather before they are compared (a burst of them is one pass).</summary>
    internal static readonly TimeSpan HintGather = TimeSpan.FromMilliseconds(15);

    /// <summary>A new directory is compared once more after this, for what was made in it before its hints began.</summary>
    internal static readonly TimeSpan SettleAfterNewDirectory = TimeSpan.FromSeconds(1);

    /// <summary>After this long without a hint the portable backend checks, with a probe file, that hints still come.</summary>
    internal static readonly TimeSpan DefaultProbeAfterQuiet = TimeSpan.FromSeconds(10);

    /// <summary>How long the probe file's hint may take before FileSystemWatcher is taken for dead.</summary>
    internal static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(3);

    /// <summary>The test hook: with it set to 1, every FileSystemWatcher hint is dropped, so only the scans see changes.</summary>
    public const string DropEventsVariable = "SERSYNCD_TEST_DROP_EVENTS";

    internal const string ProbePrefix = ".#sersyncd-probe-";

    /// <summary>How often the count of directories read is reported while starting (systemd's STATUS= line).</summary>
    internal static readonly TimeSpan ProgressInterval = TimeSpan.FromMilliseconds(500);

    private static readonly byte[] OwnPrefix = Encoding.ASCII.GetBytes(".#sersyncd-");
    private static readonly TimeSpan HeartbeatFallback = TimeSpan.FromSeconds(1);
    private static long _probeCounter;

    private readonly ChannelWriter<FileChange> _changes;
    private readonly ILogger _logger;
    private readonly IProgress<int>? _progress;
    private readonly TimeProvider _time;
    private readonly TreeScanner _scanner;
    private readonly InotifyConfig _config;
    private bool _dropHints;
    private readonly ConcurrentQueue<Hint> _hints = new();
    private readonly SemaphoreSlim _wake = new(0, int.MaxValue);
    private readonly Lock _lock = new();
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<(DateTimeOffset Due, RelativePath Dir)> _settle = [];
    private List<TaskCompletionSource<bool>> _barriers = [];
    private FileSystemWatcher? _fsw;
    private Thread? _thread;
    private volatile bool _stopping;
    private int _disposed;
    private int _started;
    private int _watchCount;
    private long _overflows;
    private long _lastHint;
    private string? _probeName;
    private long _probeSent;
    private long _lastProgress;

    /// <param name="kind"><see cref="WatcherKind.Portable"/> (hints) or <see cref="WatcherKind.Poll"/>.</param>
    /// <param name="scanInterval">How often the whole tree is compared.</param>
    public ScanningWatcher(
        WatcherKind kind,
        string root,
        InotifyConfig config,
        PathFilter filter,
        ChannelWriter<FileChange> changes,
        TimeSpan scanInterval,
        ILogger? logger = null,
        IProgress<int>? progress = null,
        TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentNullException.ThrowIfNull(changes);
        if (kind is not (WatcherKind.Portable or WatcherKind.Poll))
        {
            throw new ArgumentOutOfRangeException(nameof(kind), kind, "a scanning watcher is portable or poll");
        }

        if (scanInterval <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(scanInterval), scanInterval, "the scan interval must be positive");
        }

        Kind = kind;
        Root = root;
        ScanInterval = scanInterval;
        _config = config;
        _changes = changes;
        _logger = logger ?? NullLogger.Instance;
        _progress = progress;
        _time = timeProvider ?? TimeProvider.System;
        _scanner = new TreeScanner(FileSystemBytes.RootBytes(root), filter) { IsOwnName = IsOwnName, ListFailed = OnListFailed };
        _dropHints = kind == WatcherKind.Portable && Environment.GetEnvironmentVariable(DropEventsVariable) == "1";
    }

    public WatcherKind Kind { get; }

    public string Root { get; }

    public TimeSpan ScanInterval { get; }

    /// <summary>After this long without a hint the portable backend checks that hints still come (shorter in tests).</summary>
    internal TimeSpan ProbeAfterQuiet { get; init; } = DefaultProbeAfterQuiet;

    /// <summary>Drops every FileSystemWatcher hint (the test hook, also read from <see cref="DropEventsVariable"/>).</summary>
    internal bool DropHints { get => _dropHints; init => _dropHints = value; }

    public string Caveat => Describe(Kind, ScanInterval);

    public Heartbeat Heartbeat { get; set; } = Heartbeat.None;

    public int WatchCount => Volatile.Read(ref _watchCount);

    public long Overflows => Interlocked.Read(ref _overflows);

    /// <summary>Entries the scans track (the memory this backend holds grows with it).</summary>
    public long EntryCount => _scanner.EntryCount;

    public UnwatchedDirectories Unwatched { get; } = new(TimeProvider.System);

    public Task Completion => _completion.Task;

    public event EventHandler<RootLostEventArgs>? RootLost;

    public event EventHandler<WatcherFaultedEventArgs>? Faulted;

    /// <summary>What a backend does not guarantee, said at start, in status and in STATUS=.</summary>
    public static string Describe(WatcherKind kind, TimeSpan interval)
    {
        var every = interval.TotalSeconds.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture) + " s";
        return kind switch
        {
            WatcherKind.Portable => $"FileSystemWatcher hints, a full scan every {every}: a change whose event is lost is found up to {every} late; a file may be sent while still being written (no close_write), and sent again once it settles",
            WatcherKind.Poll => $"no notifications, a full scan every {every}: every change is found up to {every} late; a change undone within one interval is never seen; a file may be sent while still being written; each scan reads every directory",
            _ => "",
        };
    }

    /// <summary>Reads the whole tree (synchronously: when this returns every directory is known), then starts the
    /// hints and the thread.</summary>
    /// <exception cref="DirectoryNotFoundException">The root does not exist or is not a directory.</exception>
    public void Start()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            throw new InvalidOperationException("the watcher is already started");
        }

        Heartbeat.Start();
        try
        {
            if (Kind == WatcherKind.Portable)
            {
                // Before the first scan: a change made while it reads is then a hint compared right after it.
                StartHints();
            }

            _lastProgress = _time.GetTimestamp();
            _scanner.Heartbeat = Heartbeat;
            _scanner.Progress = ReportProgress;
            if (!_scanner.Build())
            {
                throw new DirectoryNotFoundException($"watched root {Root} does not exist or is not a directory");
            }

            _scanner.Progress = null;
        }
        catch
        {
            StopHints();
            Heartbeat.Stop();
            throw;
        }

        Volatile.Write(ref _watchCount, _scanner.DirectoryCount);
        _progress?.Report(WatchCount);
        ScanningStarted(_logger, Root, WatcherConfig.Name(Kind), WatchCount, _scanner.EntryCount, Caveat);
        if (_dropHints)
        {
            HintsDropped(_logger, Root, DropEventsVariable);
        }

        Interlocked.Exchange(ref _lastHint, _time.GetTimestamp());
        _thread = new Thread(Loop) { IsBackground = true, Name = Kind == WatcherKind.Poll ? "poll scanner" : "portable watcher" };
        _thread.Start();
    }

    public Task<bool> SyncAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var barrier = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            if (_stopping || _thread is null)
            {
                return Task.FromResult(false);
            }

            _barriers.Add(barrier);
        }

        _wake.Release();
        return WaitAsync(barrier.Task, timeout, cancellationToken);
    }

    private async Task<bool> WaitAsync(Task<bool> passed, TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            return await passed.WaitAsync(timeout, _time, cancellationToken);
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _stopping = true;
        Heartbeat.Stop();
        _wake.Release();
        if (_thread is not null && _thread != Thread.CurrentThread)
        {
            _thread.Join();
        }

        StopHints();
        FailBarriers();
        _completion.TrySetResult();
    }

    private void FailBarriers()
    {
        List<TaskCompletionSource<bool>> pending;
        lock (_lock)
        {
            pending = _barriers;
            _barriers = [];
        }

        pending.ForEach(b => b.TrySetResult(false));
    }

    private void ReportProgress(int directories)
    {
        if (_progress is not null && _time.GetElapsedTime(_lastProgress) >= ProgressInterval)
        {
            _lastProgress = _time.GetTimestamp();
            _progress.Report(directories);
        }
    }

    private static bool IsOwnName(ReadOnlySpan<byte> name) => name.StartsWith(OwnPrefix);

    private readonly HashSet<RelativePath> _unreadable = [];

    private void OnListFailed(RelativePath dir, IOException ex)
    {
        if (_unreadable.Count < 1000 && _unreadable.Add(dir))
        {
            Unreadable(_logger, Root, dir.ToString(), ex.Message);
        }
    }

    private void Loop()
    {
        var nextFull = _time.GetUtcNow() + ScanInterval;
        try
        {
            while (!_stopping)
            {
                var now = _time.GetUtcNow();
                var wait = nextFull - now;
                lock (_lock)
                {
                    if (_barriers.Count > 0)
                    {
                        wait = TimeSpan.Zero;
                    }
                }

                foreach (var (due, _) in _settle)
                {
                    wait = due - now < wait ? due - now : wait;
                }

                if (Kind == WatcherKind.Portable && !_dropHints)
                {
                    wait = TimeSpan.FromTicks(Math.Min(wait.Ticks, TimeSpan.FromSeconds(1).Ticks)); // the probe's clock
                }

                var beat = Heartbeat.IsWatched ? Heartbeat.Period : HeartbeatFallback;
                wait = wait < TimeSpan.Zero ? TimeSpan.Zero : wait > beat ? beat : wait;
                if (_hints.IsEmpty)
                {
                    _wake.Wait(wait);
                }

                while (_wake.CurrentCount > 0 && _wake.Wait(0))
                {
                    // One release per hint: this pass takes them all, so the count must not wake empty passes.
                }

                Heartbeat.Beat();
                if (_stopping)
                {
                    break;
                }

                if (!_hints.IsEmpty)
                {
                    Thread.Sleep(HintGather); // a burst of hints becomes one pass
                }

                now = _time.GetUtcNow();
                List<TaskCompletionSource<bool>> barriers;
                lock (_lock)
                {
                    barriers = _barriers;
                    _barriers = [];
                }

                var pass = new ScanPass(_config);
                var full = TakeHints(pass, out var hinted) || barriers.Count > 0 || now >= nextFull;
                if (full)
                {
                    _scanner.Rescan(RelativePath.Root, recursive: true, pass);
                    nextFull = _time.GetUtcNow() + ScanInterval;
                    _settle.Clear();
                }
                else
                {
                    foreach (var (path, gone) in hinted)
                    {
                        _scanner.Recheck(path, pass, gone);
                    }

                    foreach (var dir in pass.ToRecompare.ToList())
                    {
                        _scanner.Rescan(dir, recursive: false, pass);
                    }

                    for (var i = _settle.Count - 1; i >= 0; i--)
                    {
                        if (_settle[i].Due <= now)
                        {
                            _scanner.Rescan(_settle[i].Dir, recursive: true, pass);
                            _settle.RemoveAt(i);
                        }
                    }
                }

                if (!_scanner.RootExists())
                {
                    LoseRoot();
                    barriers.ForEach(b => b.TrySetResult(false));
                    return;
                }

                Emit(pass, now);
                Volatile.Write(ref _watchCount, _scanner.DirectoryCount);
                barriers.ForEach(b => b.TrySetResult(true));
                if (Kind == WatcherKind.Portable)
                {
                    CheckHintsAlive();
                }
            }
        }
        catch (Exception ex) when (!_stopping)
        {
            ScanFailed(_logger, ex, Root);
            _completion.TrySetException(ex);
            FailBarriers();
            Faulted?.Invoke(this, new WatcherFaultedEventArgs(ex));
        }
    }

    private void Emit(ScanPass pass, DateTimeOffset now)
    {
        if (pass.IsEmpty)
        {
            return;
        }

        if (_time.GetUtcNow() - _deletedSince > DeletedMemory)
        {
            (_deletedBefore, _deleted) = (_deleted, _deletedBefore);
            _deleted.Clear();
            _deletedSince = _time.GetUtcNow();
        }

        foreach (var change in pass.Drain(p => _deleted.Contains(p) || _deletedBefore.Contains(p)))
        {
            if (change.Kind == ChangeKind.Delete && _deleted.Count < MaxDeletedRemembered)
            {
                _deleted.Add(change.Path);
            }

            if (Kind == WatcherKind.Portable && change.Kind == ChangeKind.UpsertTree)
            {
                _settle.Add((now + SettleAfterNewDirectory, change.Path));
            }

            // The channel is unbounded, so TryWrite fails only once its owner completed it: nobody reads any more.
            if (!_changes.TryWrite(change) && !_stopping)
            {
                _stopping = true;
            }
        }
    }

    // The deletes reported in the last DeletedMemory (two generations): a hint that a name was deleted, arriving
    // after a comparison found it gone, must not report it twice (the delete guard would count it twice).
    private static readonly TimeSpan DeletedMemory = TimeSpan.FromSeconds(10);
    private const int MaxDeletedRemembered = 1 << 16;
    private HashSet<RelativePath> _deleted = [];
    private HashSet<RelativePath> _deletedBefore = [];
    private DateTimeOffset _deletedSince;

    private void LoseRoot()
    {
        RootGone(_logger, Root);
        var reason = RootLostReason.Deleted;
        _completion.TrySetException(new RootLostException(Root, reason));
        _stopping = true;
        RootLost?.Invoke(this, new RootLostEventArgs(Root, reason));
    }

    private readonly record struct Hint(RelativePath? Path, bool Everything, bool Gone = false);
}
