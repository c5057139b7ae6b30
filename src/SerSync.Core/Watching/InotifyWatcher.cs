// Implementation notes.
// - One inotify instance (IN_NONBLOCK|IN_CLOEXEC) and one watch per directory. Each watch is placed with
//   IN_ONLYDIR (a name that became a file fails with ENOTDIR instead of watching a file), IN_DONT_FOLLOW (a symlink
//   to a directory is synced as a link, never entered; the root alone may be a symlink) and IN_EXCL_UNLINK (no
//   events for files already unlinked but still open).
// - The kernel mask always holds what keeps the tree right (CREATE, DELETE, MOVED_FROM/TO, DELETE_SELF, MOVE_SELF);
//   the <inotify> switches add CLOSE_WRITE/MODIFY/ATTRIB and decide which changes are reported, never which
//   directories are watched.
// - Threading. A dedicated thread (the reader) poll()s the inotify fd and an eventfd; Dispose writes the eventfd so
//   the reader returns without waiting for file activity. The watch tree, the move pairing and every channel write
//   belong to the reader alone (or to the caller of Start before the reader exists), so they need no lock.
//   SyncAsync runs on its caller's thread and shares exactly one thing with the reader: the table of pending
//   cookies (_cookies and _cookiesClosed), guarded by _cookieLock. That lock is a leaf: nothing else is taken while
//   it is held, no channel write, callback or kernel call happens under it, and cookie tasks are completed after it
//   is released (their continuations run asynchronously anyway). There is no other lock, so there is no lock order
//   to break. Dispose may run on any thread, including the reader's (from a RootLost/Faulted handler); it only sets
//   flags, wakes and joins the reader (unless it is the reader), closes the fds and fails pending barriers.
// - Cookie barrier (as watchman's cookie files). SyncAsync registers a unique name, creates that file in the root
//   (allowed once the watches are placed) and waits for the reader to handle its IN_CREATE. The kernel queues one instance's events in order, so by then
//   every event queued before it has been translated and written to the channel. Cookie names start with ".#",
//   editor noise that every rsync run excludes, so a cookie alive during a full push is never sent; the watcher
//   drops every event of such a name in the root before the filter is consulted. A queue overflow loses events,
//   possibly the cookie's own IN_CREATE: the Rescan it causes covers everything before it, so cookies already
//   created are released by the Rescan instead.
// - The kernel queues a rename's IN_MOVED_FROM and IN_MOVED_TO back to back with one cookie. A read can still end
//   between them, so a batch ending in IN_MOVED_FROM waits a few milliseconds for more input before an unpaired
//   IN_MOVED_FROM is taken as "moved out".
// - When the queue fills (max_queued_events) the kernel drops events and queues one IN_Q_OVERFLOW (wd -1, no name);
//   the watch set is then rebuilt from the disk and a Rescan is reported.
using System.Runtime.InteropServices;
using System.Text;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SerSync.Configuration;
using SerSync.Filtering;
using SerSync.Interop;
using SerSync.Paths;
using SerSync.Targets;

namespace SerSync.Watching;

/// <summary>
/// Watches a directory tree with inotify and writes what changed to a channel as <see cref="FileChange"/>s. New and
/// moved-in directories are watched before they are reported (as <see cref="ChangeKind.UpsertTree"/>), so nothing
/// created in them is missed; moves inside the tree keep their watches; an event-queue overflow is repaired and
/// reported as <see cref="ChangeKind.Rescan"/>; losing the root raises <see cref="RootLost"/>.
/// </summary>
/// <remarks>
/// What each kernel event becomes (the <c>&lt;inotify&gt;</c> switch that gates the report in brackets; the watch
/// tree is maintained whatever the switches say):
/// <list type="bullet">
/// <item>IN_CLOSE_WRITE [closeWrite], IN_MODIFY [modify]: Upsert of the file.</item>
/// <item>IN_ATTRIB [attrib]: Upsert of the file or directory (a directory is not re-sent whole and keeps its
/// watches; sersync turned it into a delete and unwatched the subtree).</item>
/// <item>IN_CREATE of a directory: watched at once with its subdirectories; UpsertTree [createFolder]. With
/// createFolder off, files written into it before its watch existed are not reported.</item>
/// <item>IN_CREATE of a file [createFile]: with createFile off a regular file is not reported at creation, because
/// its IN_CLOSE_WRITE will be. Symlinks, fifos, sockets, devices (lstat says so) and hard links (a regular file that
/// already has more than one link) never get an IN_CLOSE_WRITE, so they are always reported as Upsert.</item>
/// <item>IN_DELETE [delete]: Delete (a directory's watches are dropped).</item>
/// <item>IN_MOVED_FROM + IN_MOVED_TO with one cookie: Delete(old) [moveFrom] + Upsert/UpsertTree(new) [moveTo];
/// a directory keeps its watches and its subtree's paths follow. Unpaired IN_MOVED_FROM (moved out): Delete
/// [moveFrom], watches removed. Unpaired IN_MOVED_TO (moved in): like a create [moveTo].</item>
/// <item>IN_Q_OVERFLOW: the watch set is rebuilt from the disk, then Rescan of the root (always reported).</item>
/// <item>IN_DELETE_SELF, IN_MOVE_SELF, IN_UNMOUNT or IN_IGNORED on the root: <see cref="RootLost"/> is raised,
/// <see cref="Completion"/> faults with <see cref="RootLostException"/> and the watcher stops reading. This is not a
/// change in the channel: a sync of a root that is gone would empty the targets, so the daemon must decide.</item>
/// </list>
/// Excluded paths (<see cref="PathFilter"/>) are never reported and excluded directories are never watched.
/// </remarks>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed partial class InotifyWatcher : IChangeWatcher
{
    private const int ReadBufferSize = 64 * 1024;
    private const int MaxReadsPerBatch = 64;
    private const int MinReadRoom = 4096; // well above one record (16 + NAME_MAX + 1): read() fails with EINVAL below it
    private const int MovePairWaitMilliseconds = 10;
    private const int CookieMode = 0x180; // 0600

    /// <summary>The prefix of cookie files (see <see cref="SyncAsync"/>): ".#" is editor noise to every rsync run.</summary>
    internal const string CookiePrefix = ".#sersyncd-cookie-";

    private static readonly byte[] CookiePrefixBytes = Encoding.ASCII.GetBytes(CookiePrefix);

    /// <summary>How often the count of watches placed is reported while starting (systemd's STATUS= line).</summary>
    internal static readonly TimeSpan ProgressInterval = TimeSpan.FromMilliseconds(500);
    private static long _cookieCounter;

    private const InotifyMask AlwaysWatched = InotifyMask.Create | InotifyMask.Delete | InotifyMask.MovedFrom
        | InotifyMask.MovedTo | InotifyMask.DeleteSelf | InotifyMask.MoveSelf;

    private readonly ChannelWriter<FileChange> _changes;
    private readonly ILogger _logger;
    private readonly IProgress<int>? _progress;
    private readonly uint _directoryMask;
    private readonly uint _rootMask;
    private readonly TimeProvider _time;
    private readonly byte[] _rootBytes;
    private readonly WatchTree _tree = new();
    private readonly List<int> _displaced = [];
    private readonly Dictionary<uint, int> _movedTo = [];
    private readonly HashSet<int> _paired = [];
    private readonly Stack<(int Node, int Wd)> _pendingDirectories = new();
    private readonly byte[] _direntBuffer = new byte[32 * 1024];
    private byte[] _pathBuffer = new byte[1024];
    private byte[] _readBuffer = new byte[ReadBufferSize];
    private int _readUsed;
    private int _pendingPeak;
    private readonly Lock _cookieLock = new();
    private readonly Dictionary<byte[], Cookie> _cookies = new(ByteArrayComparer.Instance);
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private SafeInotifyHandle? _inotify;
    private SafeInotifyHandle? _wakeup;
    private Thread? _thread;
    private volatile bool _stopping;
    private volatile bool _watching;
    private int _started;
    private int _disposed;
    private int _watchCount;
    private long _overflows;
    private long _lastProgress;
    private bool _cookiesClosed;

    /// <param name="root">The directory to watch (absolute). It may be a symlink to a directory.</param>
    /// <param name="config">The <c>&lt;inotify&gt;</c> switches: which changes are reported.</param>
    /// <param name="filter">Excluded directories are never watched; excluded paths are never reported.</param>
    /// <param name="changes">Where changes go: an unbounded channel (the reader never waits for room; once the
    /// channel is completed the watcher stops reading). Never completed by the watcher (several may share it).</param>
    /// <param name="logger">Optional.</param>
    /// <param name="progress">Optional: the number of watches placed, every <see cref="ProgressInterval"/> while
    /// starting and once at the end.</param>
    /// <param name="timeProvider">Times <see cref="SyncAsync"/>'s timeout and the progress reports; the system clock
    /// by default.</param>
    public InotifyWatcher(
        string root,
        InotifyConfig config,
        PathFilter filter,
        ChannelWriter<FileChange> changes,
        ILogger? logger = null,
        IProgress<int>? progress = null,
        TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentNullException.ThrowIfNull(changes);
        Root = root.Length > 1 ? root.TrimEnd('/') : root;
        _rootBytes = FileSystemBytes.RootBytes(Root);
        _time = timeProvider ?? TimeProvider.System;
        Config = config;
        Filter = filter;
        _changes = changes;
        _logger = logger ?? NullLogger.Instance;
        _progress = progress;
        Unwatched = new UnwatchedDirectories(_time);

        var mask = AlwaysWatched;
        if (config.CloseWrite)
        {
            mask |= InotifyMask.CloseWrite;
        }

        if (config.Modify)
        {
            mask |= InotifyMask.Modify;
        }

        if (config.Attrib)
        {
            mask |= InotifyMask.Attrib;
        }

        _rootMask = (uint)(mask | InotifyMask.OnlyDir | InotifyMask.ExclUnlink);
        _directoryMask = _rootMask | (uint)InotifyMask.DontFollow;
    }

    /// <summary>Raised on the watcher's thread when the root is deleted, moved or unmounted. The watcher has stopped
    /// reading; <see cref="Completion"/> faults with a <see cref="RootLostException"/> too.</summary>
    public event EventHandler<RootLostEventArgs>? RootLost;

    /// <summary>Raised on the watcher's thread when reading fails (for example <see cref="WatchLimitException"/> for
    /// a new directory); the watcher has stopped. <see cref="Completion"/> faults with the same exception.</summary>
    public event EventHandler<WatcherFaultedEventArgs>? Faulted;

    public string Root { get; }

    public WatcherKind Kind => WatcherKind.Inotify;

    public string Caveat => "";

    public InotifyConfig Config { get; }

    public PathFilter Filter { get; }

    /// <summary>The reader's proof that it turns, for the watchdog: beaten for every watch placed (at start and in a
    /// rescan) and each time round the read loop, which then polls with <see cref="Heartbeat.Period"/> as its
    /// timeout so an idle root still beats. <see cref="Heartbeat.None"/> (poll blocks) unless watched. Set before
    /// <see cref="Start"/>.</summary>
    public Heartbeat Heartbeat { get; set; } = Heartbeat.None;

    /// <summary>Watches currently placed (one per watched directory).</summary>
    public int WatchCount => Volatile.Read(ref _watchCount);

    /// <summary>Event-queue overflows (each repaired by a rescan and a full sync) since this watcher started.</summary>
    public long Overflows => Interlocked.Read(ref _overflows);

    /// <summary>Completes when the reader stops: successfully after <see cref="Dispose"/>, faulted with
    /// <see cref="RootLostException"/> or the reader's error otherwise.</summary>
    public Task Completion => _completion.Task;

    /// <summary>Places every watch (synchronously: when this returns the whole tree is watched), then starts the
    /// reader thread.</summary>
    /// <exception cref="WatchLimitException">max_user_watches or max_user_instances is exhausted.</exception>
    /// <exception cref="DirectoryNotFoundException">The root does not exist or is not a directory.</exception>
    public void Start()
    {
        PlaceInitialWatches();
        StartReader();
    }

    /// <summary>First half of <see cref="Start"/>: the kernel queues events from here on. Separate for tests.</summary>
    internal void PlaceInitialWatches()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            throw new InvalidOperationException("the watcher is already started");
        }

        _lastProgress = _time.GetTimestamp();
        Heartbeat.Start();
        try
        {
            OpenAndPlace();
        }
        catch
        {
            // Nothing else will close them: the reader never starts and Dispose may come only at finalization.
            CloseHandles();
            Heartbeat.Stop();
            throw;
        }

        _watching = true;
        _progress?.Report(WatchCount);
        WatchingStarted(_logger, Root, WatchCount);
    }

    private void OpenAndPlace()
    {
        var fd = Libc.inotify_init1(Libc.IN_NONBLOCK | Libc.IN_CLOEXEC);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno == Libc.EMFILE)
            {
                var current = InotifyLimits.Read(InotifyLimits.MaxUserInstancesFile);
                throw new WatchLimitException(InotifyLimits.InstancesExhaustedMessage(current), InotifyLimits.MaxUserInstancesFile, current, null);
            }

            throw new IOException($"inotify_init1 failed: {Marshal.GetPInvokeErrorMessage(errno)}");
        }

        _inotify = new SafeInotifyHandle(fd);
        InotifyFd = fd;
        var efd = Libc.eventfd(0, Libc.EFD_NONBLOCK | Libc.EFD_CLOEXEC);
        if (efd < 0)
        {
            throw new IOException($"eventfd failed: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        }

        _wakeup = new SafeInotifyHandle(efd);
        WakeupFd = efd;

        if (PlaceTree(WatchTree.None, []) == WatchTree.None)
        {
            throw new DirectoryNotFoundException($"watched root {Root} does not exist or is not a directory");
        }
    }

    /// <summary>For tests: the fd numbers of the inotify instance and the eventfd last opened (-1 before).</summary>
    internal int InotifyFd { get; private set; } = -1;

    /// <inheritdoc cref="InotifyFd"/>
    internal int WakeupFd { get; private set; } = -1;

    private void CloseHandles()
    {
        _tree.Clear();
        Volatile.Write(ref _watchCount, 0);
        _inotify?.Dispose();
        _wakeup?.Dispose();
        _inotify = null;
        _wakeup = null;
    }

    /// <summary>Second half of <see cref="Start"/>.</summary>
    internal void StartReader()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (_inotify is null || _thread is not null)
        {
            throw new InvalidOperationException("watches are not placed, or the reader already runs");
        }

        // Assigned before it runs: a RootLost handler on the reader that disposes must see it is the reader.
        _thread = new Thread(ReadLoop) { IsBackground = true, Name = "inotify reader" };
        _thread.Start();
    }

    /// <summary>Stops the reader (promptly: it is woken through an eventfd) and removes every watch.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _stopping = true;
        Heartbeat.Stop();
        Wake();
        if (_thread is not null && _thread != Thread.CurrentThread)
        {
            _thread.Join();
        }

        // The reader holds its own references on the handles, so closing here is safe even from inside an event
        // handler on the reader thread: the fds close when it lets go.
        _inotify?.Dispose();
        _wakeup?.Dispose();
        CloseCookies();
        _completion.TrySetResult();
    }

    private unsafe void Wake()
    {
        var wakeup = _wakeup;
        if (wakeup is null)
        {
            return;
        }

        var added = false;
        try
        {
            wakeup.DangerousAddRef(ref added);
            ulong one = 1;
            _ = Libc.write(wakeup.Fd, (byte*)&one, sizeof(ulong));
        }
        catch (ObjectDisposedException)
        {
        }
        finally
        {
            if (added)
            {
                wakeup.DangerousRelease();
            }
        }
    }

    private void ReadLoop()
    {
        var inotifyAdded = false;
        var wakeupAdded = false;
        try
        {
            _inotify!.DangerousAddRef(ref inotifyAdded);
            _wakeup!.DangerousAddRef(ref wakeupAdded);
            var events = new List<RawInotifyEvent>();
            var pollTimeout = Heartbeat.PollTimeoutMilliseconds;
            while (!_stopping)
            {
                Heartbeat.Beat();
                RescanUnwatchedIfDue();
                if (!WaitReadable(PollTimeoutWithRescans(pollTimeout)))
                {
                    continue;
                }

                events.Clear();
                _readUsed = 0;
                Drain(events);
                // A rename whose IN_MOVED_TO has not been read yet: give it a moment so it pairs.
                for (var tries = 0; tries < 3 && events.Count > 0 && events[^1].Has(InotifyMask.MovedFrom) && !_stopping; tries++)
                {
                    if (!WaitReadable(MovePairWaitMilliseconds))
                    {
                        break;
                    }

                    Drain(events);
                }

                if (_stopping)
                {
                    break;
                }

                if (_logger.IsEnabled(LogLevel.Debug))
                {
                    LogRawEvents(events); // <debug start="true"/>: checked once per read, not per event
                }

                if (!ProcessBatch(events))
                {
                    return;
                }
            }

            _completion.TrySetResult();
        }
        catch (Exception e) when (!_stopping)
        {
            ReaderFailed(_logger, e, Root);
            _completion.TrySetException(e);
            Faulted?.Invoke(this, new WatcherFaultedEventArgs(e));
        }
        catch (Exception)
        {
            _completion.TrySetResult();
        }
        finally
        {
            CloseCookies();
            if (inotifyAdded)
            {
                _inotify!.DangerousRelease();
            }

            if (wakeupAdded)
            {
                _wakeup!.DangerousRelease();
            }
        }
    }

    /// <summary>Waits until the inotify fd is readable (true), the timeout passes or a wake-up arrives (false).</summary>
    private unsafe bool WaitReadable(int timeoutMilliseconds)
    {
        var fds = stackalloc Libc.PollFd[2];
        fds[0] = new Libc.PollFd { Fd = _inotify!.Fd, Events = Libc.POLLIN };
        fds[1] = new Libc.PollFd { Fd = _wakeup!.Fd, Events = Libc.POLLIN };
        var rc = Libc.poll(fds, 2, timeoutMilliseconds);
        if (rc < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno == Libc.EINTR)
            {
                return false;
            }

            throw new IOException($"poll on inotify failed: {Marshal.GetPInvokeErrorMessage(errno)}");
        }

        if (fds[1].Revents != 0)
        {
            _stopping = true;
            return false;
        }

        return rc > 0 && fds[0].Revents != 0;
    }

    /// <summary>Reads until the fd is empty (or a batch is big enough) and parses what came. Events' names are
    /// slices of <see cref="_readBuffer"/>, so a batch appends to it and never overwrites what it already read; a
    /// full buffer is left to the events that point into it and reading goes on in a new one. A batch that fits
    /// (the usual case) allocates nothing.</summary>
    private unsafe void Drain(List<RawInotifyEvent> events)
    {
        for (var reads = 0; reads < MaxReadsPerBatch; reads++)
        {
            if (_readBuffer.Length - _readUsed < MinReadRoom)
            {
                _readBuffer = new byte[ReadBufferSize];
                _readUsed = 0;
            }

            nint n;
            fixed (byte* b = _readBuffer)
            {
                n = Libc.read(_inotify!.Fd, b + _readUsed, _readBuffer.Length - _readUsed);
            }

            if (n < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                if (errno == Libc.EINTR)
                {
                    continue;
                }

                if (errno == Libc.EAGAIN)
                {
                    return;
                }

                throw new IOException($"reading inotify events failed: {Marshal.GetPInvokeErrorMessage(errno)}");
            }

            if (n == 0)
            {
                return;
            }

            InotifyEventParser.Parse(_readBuffer.AsMemory(_readUsed, (int)n), events);
            _readUsed += (int)n;
        }
    }

    private void Emit(ChangeKind kind, RelativePath path, bool isDirectory, ChangeEvent what = ChangeEvent.Unknown, RelativePath? movedFrom = null, bool moveToFollows = false, bool fresh = false)
    {
        // The channel is unbounded, so TryWrite fails only once its owner completed it: nobody reads any more.
        if (!_changes.TryWrite(new FileChange(kind, path, isDirectory, what, movedFrom) { MoveToFollows = moveToFollows, Fresh = fresh }) && !_stopping)
        {
            _stopping = true;
            ChannelCompleted(_logger, Root);
        }
    }
}
