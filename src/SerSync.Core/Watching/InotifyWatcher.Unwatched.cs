// Implementation notes (running out of watches while running).
// - inotify_add_watch fails with ENOSPC once this uid holds max_user_watches watches. At start that still stops the
//   watcher (WatchLimitException: the pipeline raises the limit as root, else the daemon exits 71, the operator's
//   sizing problem). Once running, a new directory whose watch cannot be placed must not stop the mirror:
//   as root the limit is raised (RaisedWatchLimit: doubled, never lowered) and the watch placed at once;
//   otherwise the directory joins Unwatched, and its subtree is found again by a rescan every Interval.
// - Only the top of an unwatched subtree is kept: its parent is watched, so its own create, delete and rename are
//   still seen, and nothing below it is tried (each would fail the same way).
// - A rescan first tries the watch again (a directory deleted elsewhere, or the admin raised the limit); when it is
//   placed, the subtree is sent once more (UpsertTree) after the watch exists, so nothing made in between is lost.
//   Otherwise the subtree's fingerprint (SubtreeFingerprint: lstat of every entry) is compared with the last one and
//   a change is sent as UpsertTree (rsync's quick check then sends only what differs). Cost per rescan: one lstat
//   per entry of the unwatched subtrees, and an rsync of the subtree only when something changed.
// - All of it runs on the reader thread, between reads: the tree stays the reader's alone.
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using SerSync.Interop;
using SerSync.Paths;

namespace SerSync.Watching;

public sealed partial class InotifyWatcher
{
    /// <summary>How many newly unwatched directories are named one by one before the summary takes over.</summary>
    private const int NamedPerEpisode = 10;

    private bool _raiseRefused;
    private int _namedThisEpisode;
    private int _lastSummaryCount;

    /// <summary>The directories this watcher could not watch (out of watches, not raisable): rescanned on a timer.
    /// Readable from any thread.</summary>
    public UnwatchedDirectories Unwatched { get; }

    /// <summary>False: behave as a non-root process would (tests of the degraded path run as root).</summary>
    internal bool MayRaiseWatchLimit { get; set; } = true;

    /// <summary>Used up max_user_watches while running: true when the limit was raised so the caller can try again.
    /// A refused raise (not root, or the write failed) is not tried again until the next rescan.</summary>
    private bool TryRaiseWatchLimit()
    {
        if (_raiseRefused || !MayRaiseWatchLimit || !Environment.IsPrivilegedProcess)
        {
            return false;
        }

        var current = InotifyLimits.Read(InotifyLimits.MaxUserWatchesFile);
        if (current is not { } before)
        {
            _raiseRefused = true;
            return false;
        }

        var wanted = InotifyLimits.RaisedWatchLimit(before, _tree.Count);
        if (wanted <= before || !InotifyLimits.TryRaise(InotifyLimits.MaxUserWatchesFile, wanted, out _))
        {
            _raiseRefused = true;
            WatchLimitNotRaised(_logger, Root, InotifyLimits.MaxUserWatchesFile, before);
            return false;
        }

        WatchLimitRaisedLive(_logger, InotifyLimits.MaxUserWatchesFile, before, wanted, Root, _tree.Count);
        return true;
    }

    /// <summary>A directory whose watch cannot be placed (out of watches): kept for the rescans, said once.</summary>
    private void MarkUnwatched(RelativePath path)
    {
        if (!Unwatched.Add(path))
        {
            return;
        }

        if (_namedThisEpisode++ < NamedPerEpisode)
        {
            DirectoryUnwatched(_logger, path, Root, InotifyLimits.MaxUserWatchesFile, Unwatched.Interval.TotalSeconds);
        }
    }

    /// <summary>The poll timeout: the heartbeat's, shortened to the next rescan when directories are unwatched.</summary>
    private int PollTimeoutWithRescans(int heartbeatTimeout)
    {
        if (Unwatched.DueIn() is not { } due)
        {
            return heartbeatTimeout;
        }

        var ms = (int)Math.Ceiling(Math.Min(due.TotalMilliseconds, int.MaxValue));
        return heartbeatTimeout < 0 ? ms : Math.Min(ms, heartbeatTimeout);
    }

    /// <summary>Between reads: when the unwatched directories are due, tries their watches again and sends what
    /// changed in those still unwatched.</summary>
    private void RescanUnwatchedIfDue()
    {
        if (Unwatched.Count == 0 || !Unwatched.IsDue())
        {
            return;
        }

        _raiseRefused = false;
        var now = _time.GetUtcNow();
        foreach (var path in Unwatched.Paths())
        {
            if (_stopping)
            {
                return;
            }

            Heartbeat.Beat();
            RescanOne(path, now);
        }

        Unwatched.Rescanned();
        SummarizeUnwatched();
    }

    private void RescanOne(RelativePath path, DateTimeOffset now)
    {
        var parent = FindNode(path.Parent);
        if (parent == WatchTree.None)
        {
            // Its parent is no longer watched (deleted, moved away, or itself unwatched after an overflow's rebuild,
            // which then holds it): whatever happened to it was reported through the parent.
            Unwatched.Remove(path);
            return;
        }

        var node = PlaceTree(parent, path.Name);
        if (node != WatchTree.None)
        {
            // Watched from now on; everything made before the watch existed goes in this one sync.
            Unwatched.Remove(path);
            DirectoryWatchedAgain(_logger, path, Root);
            Emit(ChangeKind.UpsertTree, path, true, ChangeEvent.Unknown);
            return;
        }

        if (_lastAddErrno != Libc.ENOSPC)
        {
            Unwatched.Remove(path); // gone (its delete came through the parent), or not watchable for another reason
            return;
        }

        var last = Unwatched.FingerprintOf(path);
        var fingerprint = SubtreeFingerprint.Compute(_rootBytes, path, Filter, now, out var unsettled);
        if (fingerprint is null)
        {
            Unwatched.Remove(path);
            return;
        }

        if (last is null || last != fingerprint)
        {
            Emit(ChangeKind.UpsertTree, path, true, ChangeEvent.Unknown);
        }

        // Unsettled: a change within the kernel's clock tick of this scan may not show next time, so sync again.
        Unwatched.SetFingerprint(path, unsettled ? null : fingerprint);
    }

    private void SummarizeUnwatched()
    {
        var count = Unwatched.Count;
        if (count == _lastSummaryCount)
        {
            return;
        }

        if (count == 0)
        {
            AllWatchedAgain(_logger, Root, WatchCount);
        }
        else
        {
            UnwatchedSummary(_logger, Root, count, InotifyLimits.MaxUserWatchesFile, Unwatched.Interval.TotalSeconds);
        }

        _lastSummaryCount = count;
        _namedThisEpisode = 0;
    }

    /// <summary>The node of a directory by its path, walking from the root; None when a part is not watched.</summary>
    private int FindNode(RelativePath path)
    {
        var node = _tree.Root;
        var rest = path.Bytes;
        while (node != WatchTree.None && rest.Length > 0)
        {
            var slash = rest.IndexOf((byte)'/');
            var name = slash < 0 ? rest : rest[..slash];
            rest = slash < 0 ? [] : rest[(slash + 1)..];
            node = _tree.FindChild(node, name);
        }

        return node;
    }

    /// <summary>inotify_add_watch on the path already in <see cref="_pathBuffer"/>; the errno on failure.</summary>
    private unsafe int AddWatchAtBuffer(uint mask, out int errno)
    {
        int wd;
        fixed (byte* p = _pathBuffer)
        {
            wd = Libc.inotify_add_watch(_inotify!, p, mask);
        }

        errno = wd < 0 ? Marshal.GetLastPInvokeError() : 0;
        _lastAddErrno = errno;
        return wd;
    }

    private int _lastAddErrno;

    [LoggerMessage(EventId = 1040, Level = LogLevel.Warning, Message = "out of inotify watches: raised {LimitFile} from {Before} to {After} for {Root} ({Watched} watches placed); set fs.inotify.max_user_watches in /etc/sysctl.d to keep it after a reboot")]
    private static partial void WatchLimitRaisedLive(ILogger logger, string limitFile, long before, long after, string root, int watched);

    [LoggerMessage(EventId = 1041, Level = LogLevel.Warning, Message = "out of inotify watches in {Root}: {LimitFile} is {Limit} and could not be raised (not root, or the write was refused); new directories are synced whole and rescanned instead of watched")]
    private static partial void WatchLimitNotRaised(ILogger logger, string root, string limitFile, long limit);

    [LoggerMessage(EventId = 1042, Level = LogLevel.Warning, Message = "{Path} in {Root} is not watched ({LimitFile} used up): it is synced whole and rescanned every {Seconds} s until its watch can be placed")]
    private static partial void DirectoryUnwatched(ILogger logger, RelativePath path, string root, string limitFile, double seconds);

    [LoggerMessage(EventId = 1043, Level = LogLevel.Warning, Message = "{Root}: {Count} director(y/ies) not watched ({LimitFile} used up), rescanned every {Seconds} s; raise the limit or exclude directories")]
    private static partial void UnwatchedSummary(ILogger logger, string root, int count, string limitFile, double seconds);

    [LoggerMessage(EventId = 1044, Level = LogLevel.Information, Message = "{Path} in {Root} is watched again; it is synced once more")]
    private static partial void DirectoryWatchedAgain(ILogger logger, RelativePath path, string root);

    [LoggerMessage(EventId = 1045, Level = LogLevel.Warning, Message = "{Root}: every directory is watched again ({Watches} watches); the degradation has ended")]
    private static partial void AllWatchedAgain(ILogger logger, string root, int watches);
}
