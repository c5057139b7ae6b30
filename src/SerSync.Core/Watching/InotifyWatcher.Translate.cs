// Implementation notes (translation of raw events into changes).
// - Events are historical, the disk is current: a directory may be gone by the time its IN_CREATE is handled. A
//   vanished path (ENOENT/ENOTDIR/ELOOP from inotify_add_watch, or a listing that finds nothing) is normal; the
//   event that removed it follows in the queue.
// - A new or moved-in directory is watched first (then its subdirectories, found by listing), and only then
//   reported as UpsertTree: anything created in it before its watch existed is inside the tree the syncer sends,
//   anything after raises events on the new watch.
// - Self events (len 0) of subdirectories duplicate what the parent's watch reports, so only the root's count.
// - After inotify_rm_watch the kernel still queues IN_IGNORED, and events already queued for that wd arrive too;
//   a wd no longer in the tree is skipped.
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using SerSync.Interop;
using SerSync.Paths;

namespace SerSync.Watching;

public sealed partial class InotifyWatcher
{
    /// <summary>Handles one batch. False when the watcher must stop (the root is gone).</summary>
    internal bool ProcessBatch(List<RawInotifyEvent> events)
    {
        var overflow = false;
        // Reused from batch to batch: the common batch (no rename) touches neither.
        var movedTo = _movedTo;
        var paired = _paired;
        movedTo.Clear();
        paired.Clear();
        for (var i = 0; i < events.Count; i++)
        {
            // A cookie never pairs: a rename to a cookie name is a move out of the tree, one from it a move in.
            if (events[i].Has(InotifyMask.MovedTo) && !IsCookie(_tree.Get(events[i].Wd), events[i].Name.Span))
            {
                movedTo.TryAdd(events[i].Cookie, i);
            }
        }

        for (var i = 0; i < events.Count && !_stopping; i++)
        {
            if (paired.Count > 0 && paired.Contains(i))
            {
                continue;
            }

            var e = events[i];

            if (e.Has(InotifyMask.QueueOverflow))
            {
                overflow = true;
                continue;
            }

            var node = _tree.Get(e.Wd);
            if (node == WatchTree.None)
            {
                continue;
            }

            if (IsCookie(node, e.Name.Span))
            {
                // Whatever the filter says: a cookie is the watcher's own, never a change.
                if (e.Has(InotifyMask.Create))
                {
                    ReleaseCookie(e.Name.Span);
                }

                continue;
            }

            if (node == _tree.Root && e.Name.Length == 0)
            {
                RootLostReason? lost = e.Mask switch
                {
                    _ when e.Has(InotifyMask.DeleteSelf) => RootLostReason.Deleted,
                    _ when e.Has(InotifyMask.MoveSelf) => RootLostReason.Moved,
                    _ when e.Has(InotifyMask.Unmount) => RootLostReason.Unmounted,
                    _ when e.Has(InotifyMask.Ignored) => RootLostReason.WatchLost,
                    _ => null,
                };
                if (lost is { } reason)
                {
                    LoseRoot(reason);
                    return false;
                }
            }

            if (e.Has(InotifyMask.Ignored))
            {
                // The kernel dropped this watch (directory deleted, or unmounted): forget it and anything left below.
                _displaced.Clear();
                _tree.RemoveSubtree(node, _displaced);
                _displaced.Remove(e.Wd);
                RemoveWatches(_displaced);
                continue;
            }

            if (e.Has(InotifyMask.Unmount))
            {
                // A file system mounted below the root went away: the mount point shows what was under it.
                var mountPoint = _tree.GetPath(node);
                var parent = _tree.ParentOf(node);
                var name = _tree.NameOf(node).ToArray(); // the arena may be compacted by what follows
                ForgetSubtree(node);
                if (parent != WatchTree.None && PlaceTree(parent, name) != WatchTree.None)
                {
                    Emit(ChangeKind.UpsertTree, mountPoint, true, ChangeEvent.Modify);
                }

                continue;
            }

            if (e.Name.Length == 0)
            {
                if (e.Has(InotifyMask.Attrib) && Config.Attrib && node == _tree.Root)
                {
                    Emit(ChangeKind.Upsert, RelativePath.Root, true, ChangeEvent.Attrib);
                }

                continue;
            }

            if (e.Has(InotifyMask.MovedFrom))
            {
                if (movedTo.Count > 0 && movedTo.TryGetValue(e.Cookie, out var j) && j > i)
                {
                    paired.Add(j);
                    OnMove(node, e, events[j]);
                }
                else
                {
                    OnMovedOut(node, e);
                }
            }
            else if (e.Has(InotifyMask.MovedTo))
            {
                OnMovedIn(node, e);
            }
            else if (e.Has(InotifyMask.Create))
            {
                OnCreate(node, e);
            }
            else if (e.Has(InotifyMask.Delete))
            {
                OnDelete(node, e);
            }
            else if ((e.Has(InotifyMask.CloseWrite) && Config.CloseWrite)
                || (e.Has(InotifyMask.Modify) && Config.Modify)
                || (e.Has(InotifyMask.Attrib) && Config.Attrib))
            {
                // sersync treated IN_ATTRIB as a delete and unwatched directories; here it is a plain upsert.
                var what = e.Has(InotifyMask.CloseWrite) && Config.CloseWrite ? ChangeEvent.CloseWrite
                    : e.Has(InotifyMask.Modify) && Config.Modify ? ChangeEvent.Modify : ChangeEvent.Attrib;
                var changed = _tree.GetPath(node, e.Name.Span);
                if (!Filter.IsExcludedBelowIncluded(changed, e.IsDirectory))
                {
                    Emit(ChangeKind.Upsert, changed, e.IsDirectory, what, fresh: !e.IsDirectory && TakeFresh(changed));
                }
            }
        }

        if (overflow && !_stopping)
        {
            return Rescan();
        }

        return true;
    }

    private void OnCreate(int parent, RawInotifyEvent e)
    {
        var name = e.Name.Span;
        var path = _tree.GetPath(parent, name);
        if (Filter.IsExcludedBelowIncluded(path, e.IsDirectory))
        {
            return;
        }

        if (e.IsDirectory)
        {
            // Watched whatever createFolder says: otherwise nothing below it would ever be seen.
            PlaceTree(parent, name);
            if (Config.CreateFolder)
            {
                Emit(ChangeKind.UpsertTree, path, true, ChangeEvent.Create);
            }

            return;
        }

        if (Config.CreateFile || IsCreatedWhole(parent, name))
        {
            Emit(ChangeKind.Upsert, path, false, ChangeEvent.Create);
        }
        else
        {
            NoteFresh(path); // reported at its IN_CLOSE_WRITE, marked new there
        }
    }

    /// <summary>
    /// A created non-directory that will never be followed by IN_CLOSE_WRITE: a symlink, a device, fifo or socket
    /// (lstat), or a hard link (a regular file that already has more than one link: open(O_CREAT) gives one).
    /// </summary>
    private unsafe bool IsCreatedWhole(int parent, ReadOnlySpan<byte> name)
    {
        BuildFullPath(parent, name);
        Libc.Statx st;
        fixed (byte* p = _pathBuffer)
        {
            // Gone already, or not stat-able: not reported here (its other events, if any, follow).
            if (Libc.statx(Libc.AT_FDCWD, p, Libc.AT_SYMLINK_NOFOLLOW, Libc.STATX_BASIC_STATS, &st) != 0)
            {
                return false;
            }
        }

        return (st.Mode & Libc.S_IFMT) != Libc.S_IFREG || st.Nlink > 1;
    }

    private void OnDelete(int parent, RawInotifyEvent e)
    {
        if (e.IsDirectory && _tree.FindChild(parent, e.Name.Span) is var child && child != WatchTree.None)
        {
            ForgetSubtree(child);
        }

        var path = _tree.GetPath(parent, e.Name.Span);
        var fresh = !e.IsDirectory && TakeFresh(path);
        if (Config.Delete && !Filter.IsExcludedBelowIncluded(path, e.IsDirectory))
        {
            Emit(ChangeKind.Delete, path, e.IsDirectory, ChangeEvent.Delete, fresh: fresh);
        }
    }

    private void OnMovedOut(int parent, RawInotifyEvent e)
    {
        if (e.IsDirectory && _tree.FindChild(parent, e.Name.Span) is var child && child != WatchTree.None)
        {
            ForgetSubtree(child);
        }

        var path = _tree.GetPath(parent, e.Name.Span);
        var fresh = !e.IsDirectory && TakeFresh(path);
        if (Config.MoveFrom && !Filter.IsExcludedBelowIncluded(path, e.IsDirectory))
        {
            Emit(ChangeKind.Delete, path, e.IsDirectory, ChangeEvent.MoveFrom, fresh: fresh);
        }
    }

    private void OnMovedIn(int parent, RawInotifyEvent e)
    {
        var path = _tree.GetPath(parent, e.Name.Span);
        if (Filter.IsExcludedBelowIncluded(path, e.IsDirectory))
        {
            return;
        }

        if (e.IsDirectory)
        {
            PlaceTree(parent, e.Name.Span);
        }

        if (Config.MoveTo)
        {
            Emit(e.IsDirectory ? ChangeKind.UpsertTree : ChangeKind.Upsert, path, e.IsDirectory, ChangeEvent.MoveTo);
        }
    }

    private void OnMove(int fromParent, RawInotifyEvent from, RawInotifyEvent to)
    {
        var toParent = _tree.Get(to.Wd);
        if (toParent == WatchTree.None)
        {
            OnMovedOut(fromParent, from);
            return;
        }

        var isDir = from.IsDirectory;
        var oldPath = _tree.GetPath(fromParent, from.Name.Span);
        var newPath = _tree.GetPath(toParent, to.Name.Span);
        var newExcluded = Filter.IsExcludedBelowIncluded(newPath, isDir);
        if (isDir)
        {
            var moved = _tree.FindChild(fromParent, from.Name.Span);
            if (newExcluded)
            {
                if (moved != WatchTree.None)
                {
                    ForgetSubtree(moved);
                }
            }
            else if (moved != WatchTree.None)
            {
                // The watches follow the inode: re-link the node and every path below it follows.
                _displaced.Clear();
                _tree.Move(moved, toParent, to.Name.Span, _displaced);
                RemoveWatches(_displaced);
                if (Filter.HasRules)
                {
                    // Regexes see whole paths, so what is excluded below may differ at the new place.
                    PruneExcluded(moved);
                    PlaceTree(toParent, to.Name.Span, relist: true);
                }
            }
            else
            {
                PlaceTree(toParent, to.Name.Span);
            }
        }

        var deleted = Config.MoveFrom && !Filter.IsExcludedBelowIncluded(oldPath, isDir);
        if (deleted)
        {
            Emit(ChangeKind.Delete, oldPath, isDir, ChangeEvent.MoveFrom, moveToFollows: Config.MoveTo && !newExcluded);
        }

        if (Config.MoveTo && !newExcluded)
        {
            // Both halves reported: the targets may rename oldPath instead of sending newPath again.
            Emit(isDir ? ChangeKind.UpsertTree : ChangeKind.Upsert, newPath, isDir, ChangeEvent.MoveTo, deleted ? oldPath : null);
        }
    }

    private void PruneExcluded(int top)
    {
        var stack = new Stack<int>();
        for (var c = _tree.FirstChildOf(top); c != WatchTree.None; c = _tree.NextSiblingOf(c))
        {
            stack.Push(c);
        }

        var drop = new List<int>();
        while (stack.Count > 0)
        {
            var n = stack.Pop();
            if (Filter.IsExcludedBelowIncluded(_tree.GetPath(n), true))
            {
                drop.Add(n);
                continue;
            }

            for (var c = _tree.FirstChildOf(n); c != WatchTree.None; c = _tree.NextSiblingOf(c))
            {
                stack.Push(c);
            }
        }

        // None of them lies below another (the walk stopped at each), so every id is still live here.
        foreach (var n in drop)
        {
            ForgetSubtree(n);
        }
    }

    /// <summary>Rebuilds the watch set from the disk after lost events, then reports a Rescan of the root.</summary>
    private bool Rescan()
    {
        QueueOverflowed(_logger, Root, InotifyLimits.MaxQueuedEventsFile);
        Interlocked.Increment(ref _overflows);
        _fresh.Clear(); // events were lost: what was created and reported since is unknown
        var before = new HashSet<int>(_tree.CopyWds());
        _tree.Clear();
        Volatile.Write(ref _watchCount, 0);
        var root = PlaceTree(WatchTree.None, []);
        before.ExceptWith(_tree.CopyWds());
        RemoveWatches([.. before]);
        if (root == WatchTree.None)
        {
            LoseRoot(RootLostReason.WatchLost);
            return false;
        }

        Emit(ChangeKind.Rescan, RelativePath.Root, true);
        ReleaseCreatedCookies();
        return true;
    }

    private void LoseRoot(RootLostReason reason)
    {
        RootWasLost(_logger, Root, reason);
        _stopping = true;
        _completion.TrySetException(new RootLostException(Root, reason));
        RootLost?.Invoke(this, new RootLostEventArgs(Root, reason));
    }

    private void EmitUnlessExcluded(ChangeKind kind, RelativePath path, bool isDirectory, ChangeEvent what)
    {
        if (!Filter.IsExcludedBelowIncluded(path, isDirectory))
        {
            Emit(kind, path, isDirectory, what);
        }
    }

    private void ForgetSubtree(int node)
    {
        _displaced.Clear();
        _tree.RemoveSubtree(node, _displaced);
        RemoveWatches(_displaced);
    }

    private void RemoveWatches(List<int> wds)
    {
        foreach (var wd in wds)
        {
            // EINVAL when the kernel already dropped it (deleted directory): nothing to do.
            _ = Libc.inotify_rm_watch(_inotify!, wd);
        }

        Volatile.Write(ref _watchCount, _tree.Count);
    }

    /// <summary>
    /// Watches the directory <paramref name="name"/> under <paramref name="parent"/> (<see cref="WatchTree.None"/>:
    /// the root) and every directory below it that is not excluded. Returns its node, or None when it vanished or
    /// cannot be watched. A directory already watched at this very place was listed after its watch existed, so
    /// (unless <paramref name="relist"/>) it is not listed again: `cp -r` queues an IN_CREATE per level that the first
    /// scan of the top directory already covered.
    /// </summary>
    private int PlaceTree(int parent, ReadOnlySpan<byte> name, bool relist = false)
    {
        var known = parent == WatchTree.None ? WatchTree.None : _tree.FindChild(parent, name);
        var top = AddWatch(parent, name);
        if (top == WatchTree.None || (!relist && known == top))
        {
            return top;
        }

        // Each directory is watched before it is listed, so nothing created in it in between is missed. Pending
        // entries carry their wd: a node dropped meanwhile (its id possibly reused) is skipped.
        var pending = _pendingDirectories;
        pending.Clear();
        pending.Push((top, _tree.WdOf(top)));
        while (pending.Count > 0 && !_stopping)
        {
            var (node, wd) = pending.Pop();
            if (_tree.IsLive(node, wd))
            {
                WatchChildren(node, wd, pending);
            }
        }

        pending.Clear();
        if (_pendingPeak > 4096)
        {
            pending.TrimExcess(); // a wide walk: give its stack back (a small one keeps it, for the next new directory)
            _pendingPeak = 0;
        }

        return top;
    }

    /// <summary>Lists <paramref name="node"/> with getdents64 into a reused buffer and watches every subdirectory
    /// that is not excluded; the new nodes go to <paramref name="pending"/> to be listed in turn.</summary>
    private unsafe void WatchChildren(int node, int wd, Stack<(int Node, int Wd)> pending)
    {
        BuildFullPath(node, []);
        int fd;
        fixed (byte* p = _pathBuffer)
        {
            // The root may be a symlink to a directory; below it a name that turned into a symlink is not entered.
            var follow = node == _tree.Root ? 0 : Libc.O_NOFOLLOW;
            fd = Libc.open(p, Libc.O_RDONLY | Libc.O_DIRECTORY | Libc.O_CLOEXEC | follow, 0);
        }

        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno is not (Libc.ENOENT or Libc.ENOTDIR or Libc.ELOOP))
            {
                ListingFailed(node, errno);
            }

            return;
        }

        try
        {
            while (!_stopping)
            {
                nint n;
                fixed (byte* d = _direntBuffer)
                {
                    n = Libc.getdents64(fd, d, (nuint)_direntBuffer.Length);
                }

                if (n <= 0)
                {
                    if (n < 0 && Marshal.GetLastPInvokeError() is var errno && errno != Libc.ENOENT)
                    {
                        ListingFailed(node, errno);
                    }

                    return;
                }

                for (var off = 0; off < n;)
                {
                    var rec = _direntBuffer.AsSpan(off);
                    var reclen = MemoryMarshal.Read<ushort>(rec[16..]);
                    var type = rec[18];
                    var entry = rec[19..reclen];
                    var entryName = entry[..entry.IndexOf((byte)0)];
                    off += reclen;
                    if ((type != Libc.DT_DIR && type != Libc.DT_UNKNOWN)
                        || entryName.SequenceEqual("."u8) || entryName.SequenceEqual(".."u8)
                        || (type == Libc.DT_UNKNOWN && !IsDirectoryAt(fd, entry)))
                    {
                        continue;
                    }

                    if (Filter.HasRules && Filter.IsExcludedBelowIncluded(_tree.GetPath(node, entryName), true))
                    {
                        continue;
                    }

                    var child = AddWatch(node, entryName);
                    if (child != WatchTree.None)
                    {
                        pending.Push((child, _tree.WdOf(child)));
                        _pendingPeak = Math.Max(_pendingPeak, pending.Count);
                    }

                    if (!_tree.IsLive(node, wd))
                    {
                        return; // placing that watch dropped the directory being listed (it moved below itself)
                    }
                }
            }
        }
        finally
        {
            _ = Libc.close(fd);
        }
    }

    /// <summary>d_type was DT_UNKNOWN (some file systems): ask statx relative to the listed directory.</summary>
    private static unsafe bool IsDirectoryAt(int dirFd, ReadOnlySpan<byte> nulTerminatedName)
    {
        Libc.Statx st;
        fixed (byte* p = nulTerminatedName)
        {
            return Libc.statx(dirFd, p, Libc.AT_SYMLINK_NOFOLLOW, Libc.STATX_TYPE, &st) == 0
                && (st.Mode & Libc.S_IFMT) == Libc.S_IFDIR;
        }
    }

    private void ListingFailed(int node, int errno)
    {
        var message = Marshal.GetPInvokeErrorMessage(errno);
        var path = _tree.GetPath(node);
        CannotList(_logger, new IOException($"cannot list {path}: {message}"), path, Root, message);
    }

    /// <summary>Writes the absolute path of <paramref name="child"/> under <paramref name="node"/> (empty: the node
    /// itself; <see cref="WatchTree.None"/>: the root), NUL-terminated, to the reused <see cref="_pathBuffer"/>.</summary>
    private int BuildFullPath(int node, ReadOnlySpan<byte> child)
    {
        var relative = node == WatchTree.None ? 0 : _tree.PathLength(node);
        var needed = _rootBytes.Length + 1 + relative + 1 + child.Length + 1;
        if (_pathBuffer.Length < needed)
        {
            _pathBuffer = new byte[Math.Max(needed, _pathBuffer.Length * 2)];
        }

        var buffer = _pathBuffer.AsSpan();
        _rootBytes.CopyTo(buffer);
        var length = _rootBytes.Length;
        if (node != WatchTree.None && (relative > 0 || child.Length > 0))
        {
            buffer[length++] = (byte)'/';
            length += _tree.WritePath(node, buffer[length..], child);
        }
        else if (length == 0)
        {
            buffer[length++] = (byte)'/'; // the root is "/"
        }

        buffer[length] = 0;
        return length;
    }

    private int AddWatch(int parent, ReadOnlySpan<byte> name)
    {
        BuildFullPath(parent, name);
        var mask = parent == WatchTree.None ? _rootMask : _directoryMask;
        var wd = AddWatchAtBuffer(mask, out var errno);
        if (wd < 0 && errno == Libc.ENOSPC && _watching && TryRaiseWatchLimit())
        {
            wd = AddWatchAtBuffer(mask, out errno);
        }

        if (wd < 0)
        {
            switch (errno)
            {
                case Libc.ENOENT or Libc.ENOTDIR or Libc.ELOOP:
                    return WatchTree.None;
                case Libc.ENOSPC when _watching:
                    // Running: the mirror goes on; the directory is synced by its caller and rescanned (.Unwatched).
                    MarkUnwatched(PathOf(parent, name));
                    return WatchTree.None;
                case Libc.ENOSPC:
                    var current = InotifyLimits.Read(InotifyLimits.MaxUserWatchesFile);
                    var needed = InotifyLimits.CountDirectories(Root, Filter);
                    throw new WatchLimitException(InotifyLimits.WatchesExhaustedMessage(Root, current, needed), InotifyLimits.MaxUserWatchesFile, current, needed);
                default:
                    CannotWatch(_logger, PathOf(parent, name), Root, Marshal.GetPInvokeErrorMessage(errno));
                    return WatchTree.None;
            }
        }

        if (parent != WatchTree.None && _tree.Get(wd) is var known && known != WatchTree.None && _tree.IsAncestorOrSelf(known, parent))
        {
            // The same directory seen again below itself: a bind mount loop. Do not descend forever.
            WatchLoop(_logger, PathOf(parent, name), Root);
            return WatchTree.None;
        }

        _displaced.Clear();
        var node = _tree.AddOrUpdate(wd, parent, name, _displaced);
        if (_displaced.Count > 0)
        {
            RemoveWatches(_displaced);
        }

        Volatile.Write(ref _watchCount, _tree.Count);
        ReportProgressIfDue();
        return node;
    }

    private RelativePath PathOf(int parent, ReadOnlySpan<byte> name) =>
        parent == WatchTree.None ? RelativePath.Root : _tree.GetPath(parent, name);

    /// <summary>While the initial watches are placed: the count so far, once <see cref="ProgressInterval"/> has
    /// passed since the last report (by the clock, not by count, so a slow tree still reports steadily).</summary>
    private void ReportProgressIfDue()
    {
        Heartbeat.Beat(); // placing a million watches (at start, or after an overflow) is work that progresses
        if (_progress is null || _watching)
        {
            return;
        }

        var now = _time.GetTimestamp();
        if (_time.GetElapsedTime(_lastProgress, now) >= ProgressInterval)
        {
            _lastProgress = now;
            _progress.Report(_tree.Count);
        }
    }
}
