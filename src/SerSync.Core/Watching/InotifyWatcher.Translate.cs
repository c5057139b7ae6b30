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
        Dictionary<uint, int>? movedTo = null;
        HashSet<int>? paired = null;
        for (var i = 0; i < events.Count; i++)
        {
            // A cookie never pairs: a rename to a cookie name is a move out of the tree, one from it a move in.
            if (events[i].Has(InotifyMask.MovedTo) && !IsCookie(_tree.Get(events[i].Wd), events[i].Name))
            {
                movedTo ??= [];
                movedTo.TryAdd(events[i].Cookie, i);
            }
        }

        for (var i = 0; i < events.Count && !_stopping; i++)
        {
            if (paired is not null && paired.Contains(i))
            {
                continue;
            }

            var e = events[i];
            RawEvent(_logger, e);

            if (e.Has(InotifyMask.QueueOverflow))
            {
                overflow = true;
                continue;
            }

            var node = _tree.Get(e.Wd);
            if (node is null)
            {
                continue;
            }

            if (IsCookie(node, e.Name))
            {
                // Whatever the filter says: a cookie is the watcher's own, never a change.
                if (e.Has(InotifyMask.Create))
                {
                    ReleaseCookie(e.Name);
                }

                continue;
            }

            if (ReferenceEquals(node, _tree.Root) && e.Name.Length == 0)
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
                _displaced.Remove(node.Wd);
                RemoveWatches(_displaced);
                continue;
            }

            if (e.Has(InotifyMask.Unmount))
            {
                // A file system mounted below the root went away: the mount point shows what was under it.
                var mountPoint = WatchTree.GetPath(node);
                var parent = node.Parent;
                var name = node.Name;
                ForgetSubtree(node);
                if (parent is not null && PlaceTree(parent, name, mountPoint) is not null)
                {
                    Emit(ChangeKind.UpsertTree, mountPoint, true);
                }

                continue;
            }

            if (e.Name.Length == 0)
            {
                if (e.Has(InotifyMask.Attrib) && Config.Attrib && ReferenceEquals(node, _tree.Root))
                {
                    Emit(ChangeKind.Upsert, RelativePath.Root, true);
                }

                continue;
            }

            if (e.Has(InotifyMask.MovedFrom))
            {
                if (movedTo is not null && movedTo.TryGetValue(e.Cookie, out var j) && j > i)
                {
                    (paired ??= []).Add(j);
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
                EmitUnlessExcluded(ChangeKind.Upsert, WatchTree.GetPath(node).Append(e.Name), e.IsDirectory);
            }
        }

        if (overflow && !_stopping)
        {
            return Rescan();
        }

        return true;
    }

    private void OnCreate(WatchNode parent, RawInotifyEvent e)
    {
        var path = WatchTree.GetPath(parent).Append(e.Name);
        if (Filter.IsExcludedBelowIncluded(path, e.IsDirectory))
        {
            return;
        }

        if (e.IsDirectory)
        {
            // Watched whatever createFolder says: otherwise nothing below it would ever be seen.
            PlaceTree(parent, e.Name, path);
            if (Config.CreateFolder)
            {
                Emit(ChangeKind.UpsertTree, path, true);
            }

            return;
        }

        if (Config.CreateFile || IsCreatedWhole(path))
        {
            Emit(ChangeKind.Upsert, path, false);
        }
    }

    /// <summary>
    /// A created non-directory that will never be followed by IN_CLOSE_WRITE: a symlink, a device, fifo or socket
    /// (lstat), or a hard link (a regular file that already has more than one link: open(O_CREAT) gives one).
    /// </summary>
    private bool IsCreatedWhole(RelativePath path)
    {
        FileStatus? status;
        try
        {
            status = FileSystemBytes.Stat(FullPath(path));
        }
        catch (IOException)
        {
            return false;
        }

        return status is { } st && (st.Type != EntryType.File || st.LinkCount > 1);
    }

    private void OnDelete(WatchNode parent, RawInotifyEvent e)
    {
        if (e.IsDirectory && WatchTree.FindChild(parent, e.Name) is { } child)
        {
            ForgetSubtree(child);
        }

        if (Config.Delete)
        {
            EmitUnlessExcluded(ChangeKind.Delete, WatchTree.GetPath(parent).Append(e.Name), e.IsDirectory);
        }
    }

    private void OnMovedOut(WatchNode parent, RawInotifyEvent e)
    {
        if (e.IsDirectory && WatchTree.FindChild(parent, e.Name) is { } child)
        {
            ForgetSubtree(child);
        }

        if (Config.MoveFrom)
        {
            EmitUnlessExcluded(ChangeKind.Delete, WatchTree.GetPath(parent).Append(e.Name), e.IsDirectory);
        }
    }

    private void OnMovedIn(WatchNode parent, RawInotifyEvent e)
    {
        var path = WatchTree.GetPath(parent).Append(e.Name);
        if (Filter.IsExcludedBelowIncluded(path, e.IsDirectory))
        {
            return;
        }

        if (e.IsDirectory)
        {
            PlaceTree(parent, e.Name, path);
        }

        if (Config.MoveTo)
        {
            Emit(e.IsDirectory ? ChangeKind.UpsertTree : ChangeKind.Upsert, path, e.IsDirectory);
        }
    }

    private void OnMove(WatchNode fromParent, RawInotifyEvent from, RawInotifyEvent to)
    {
        if (_tree.Get(to.Wd) is not { } toParent)
        {
            OnMovedOut(fromParent, from);
            return;
        }

        var isDir = from.IsDirectory;
        var oldPath = WatchTree.GetPath(fromParent).Append(from.Name);
        var newPath = WatchTree.GetPath(toParent).Append(to.Name);
        var newExcluded = Filter.IsExcludedBelowIncluded(newPath, isDir);
        if (isDir)
        {
            var moved = WatchTree.FindChild(fromParent, from.Name);
            if (newExcluded)
            {
                if (moved is not null)
                {
                    ForgetSubtree(moved);
                }
            }
            else if (moved is not null)
            {
                // The watches follow the inode: re-link the node and every path below it follows.
                _displaced.Clear();
                _tree.Move(moved, toParent, to.Name, _displaced);
                RemoveWatches(_displaced);
                if (Filter.HasRules)
                {
                    // Regexes see whole paths, so what is excluded below may differ at the new place.
                    PruneExcluded(moved);
                    PlaceTree(toParent, to.Name, newPath, relist: true);
                }
            }
            else
            {
                PlaceTree(toParent, to.Name, newPath);
            }
        }

        if (Config.MoveFrom && !Filter.IsExcludedBelowIncluded(oldPath, isDir))
        {
            Emit(ChangeKind.Delete, oldPath, isDir);
        }

        if (Config.MoveTo && !newExcluded)
        {
            Emit(isDir ? ChangeKind.UpsertTree : ChangeKind.Upsert, newPath, isDir);
        }
    }

    private void PruneExcluded(WatchNode top)
    {
        var stack = new Stack<WatchNode>(top.ChildNodes);
        var drop = new List<WatchNode>();
        while (stack.Count > 0)
        {
            var n = stack.Pop();
            if (Filter.IsExcludedBelowIncluded(WatchTree.GetPath(n), true))
            {
                drop.Add(n);
                continue;
            }

            foreach (var c in n.ChildNodes)
            {
                stack.Push(c);
            }
        }

        foreach (var n in drop)
        {
            ForgetSubtree(n);
        }
    }

    /// <summary>Rebuilds the watch set from the disk after lost events, then reports a Rescan of the root.</summary>
    private bool Rescan()
    {
        QueueOverflowed(_logger, Root, InotifyLimits.MaxQueuedEventsFile);
        var before = new HashSet<int>(_tree.Wds);
        _tree.Clear();
        Volatile.Write(ref _watchCount, 0);
        var root = PlaceTree(null, [], RelativePath.Root);
        before.ExceptWith(_tree.Wds);
        RemoveWatches([.. before]);
        if (root is null)
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

    private void EmitUnlessExcluded(ChangeKind kind, RelativePath path, bool isDirectory)
    {
        if (!Filter.IsExcludedBelowIncluded(path, isDirectory))
        {
            Emit(kind, path, isDirectory);
        }
    }

    private void ForgetSubtree(WatchNode node)
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
    /// Watches the directory <paramref name="name"/> under <paramref name="parent"/> (null: the root) and every
    /// directory below it that is not excluded. Returns its node, or null when it vanished or cannot be watched.
    /// A directory already watched at this very place was listed after its watch existed, so (unless
    /// <paramref name="relist"/>) it is not listed again: `cp -r` queues an IN_CREATE per level that the first scan
    /// of the top directory already covered.
    /// </summary>
    private WatchNode? PlaceTree(WatchNode? parent, byte[] name, RelativePath path, bool relist = false)
    {
        var known = parent is null ? null : WatchTree.FindChild(parent, name);
        var top = AddWatch(parent, name, path);
        if (top is null || (!relist && ReferenceEquals(known, top)))
        {
            return top;
        }

        var stack = new Stack<(WatchNode Node, RelativePath Path)>();
        stack.Push((top, path));
        while (stack.Count > 0 && !_stopping)
        {
            var (node, dir) = stack.Pop();
            List<DirectoryEntry>? entries;
            try
            {
                entries = FileSystemBytes.ListDirectory(FullPath(dir));
            }
            catch (IOException ex)
            {
                CannotList(_logger, ex, dir, Root, ex.Message);
                continue;
            }

            if (entries is null)
            {
                continue;
            }

            foreach (var entry in entries)
            {
                var child = dir.Append(entry.Name);
                var isDir = entry.Type == EntryType.Directory
                    || (entry.Type == EntryType.Unknown && FileSystemBytes.Stat(FullPath(child))?.Type == EntryType.Directory);
                if (!isDir || Filter.IsExcludedBelowIncluded(child, true))
                {
                    continue;
                }

                if (AddWatch(node, entry.Name, child) is { } childNode)
                {
                    stack.Push((childNode, child));
                }
            }
        }

        return top;
    }

    private unsafe WatchNode? AddWatch(WatchNode? parent, byte[] name, RelativePath path)
    {
        var cpath = Libc.ToCString(FullPath(path));
        int wd;
        fixed (byte* p = cpath)
        {
            wd = Libc.inotify_add_watch(_inotify!, p, parent is null ? _rootMask : _directoryMask);
        }

        if (wd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            switch (errno)
            {
                case Libc.ENOENT or Libc.ENOTDIR or Libc.ELOOP:
                    return null;
                case Libc.ENOSPC:
                    var current = InotifyLimits.Read(InotifyLimits.MaxUserWatchesFile);
                    var needed = InotifyLimits.CountDirectories(Root, Filter);
                    throw new WatchLimitException(InotifyLimits.WatchesExhaustedMessage(Root, current, needed), InotifyLimits.MaxUserWatchesFile, current, needed);
                default:
                    CannotWatch(_logger, path, Root, Marshal.GetPInvokeErrorMessage(errno));
                    return null;
            }
        }

        if (parent is not null && _tree.Get(wd) is { } known && IsAncestorOrSelf(known, parent))
        {
            // The same directory seen again below itself: a bind mount loop. Do not descend forever.
            WatchLoop(_logger, path, Root);
            return null;
        }

        _displaced.Clear();
        var node = _tree.AddOrUpdate(wd, parent, name, _displaced);
        if (_displaced.Count > 0)
        {
            RemoveWatches(_displaced);
        }

        var count = _tree.Count;
        Volatile.Write(ref _watchCount, count);
        if (_progress is not null && count - _lastProgress >= ProgressEvery)
        {
            _lastProgress = count;
            _progress.Report(count);
        }

        return node;
    }

    private static bool IsAncestorOrSelf(WatchNode candidate, WatchNode node)
    {
        for (var n = node; n is not null; n = n.Parent)
        {
            if (ReferenceEquals(n, candidate))
            {
                return true;
            }
        }

        return false;
    }
}
