// Implementation notes. rsync -H links two names only when both are in the same run's file list; a live batch
// lists only what changed (--files-from), so a name whose inode has st_nlink > 1 must bring its other names along.
// inotify says nothing of the other names (`ln a b` reports b only; a write through a reports a only), and nothing
// in the tree maps an inode to its names, so this class keeps such a map: a cache of the groups (dev, ino) ->
// names that batches have met, holding multiply-linked non-directories only. A group met for the first time is
// searched for on disk, nearest first (the name's directory, then its parent's: `ln a b`, `mkdir d; ln a d/b`),
// then the whole tree, stopping once st_nlink names are found. The search reads directories only: getdents'
// d_ino is compared, and only a matching name is stat'ed (its device and inode). Once searched, a group is
// complete: a name made later is a change of its own, in a later batch, which adds it. Every name is checked
// again (lstat) when its group is used, so a stale one (deleted, renamed, its inode reused) simply drops out.
using SerSync.Filtering;
using SerSync.Paths;

namespace SerSync.Targets;

/// <summary>
/// The hard-link groups one <c>-H</c> target's batches have met (see the notes above). Not thread-safe: the target's
/// worker builds one batch at a time.
/// </summary>
public sealed class LinkGroups(string root, PathFilter? filter = null)
{
    private readonly byte[] _rootBytes = FileSystemBytes.RootBytes(root);
    private readonly Dictionary<(ulong Device, ulong Inode), List<RelativePath>> _groups = [];
    private readonly Dictionary<RelativePath, (ulong Device, ulong Inode)> _byPath = [];

    /// <summary>Names held, over all groups.</summary>
    public int Names => _byPath.Count;

    public int Groups => _groups.Count;

    /// <summary>Searches on disk so far (each may cover many groups), and the directories they read.</summary>
    public long Searches { get; private set; }

    public long DirectoriesRead { get; private set; }

    /// <summary>Forgets everything: after a full sync (which may follow lost events) nothing can be trusted.</summary>
    public void Clear()
    {
        _groups.Clear();
        _byPath.Clear();
    }

    /// <summary>A name that is gone or no longer linked (a file): it leaves its group. A dictionary look-up.</summary>
    public void ForgetName(RelativePath name)
    {
        if (_byPath.TryGetValue(name, out var key))
        {
            Remove(name, key);
        }
    }

    /// <summary>A directory the source no longer has: every name held below it leaves its group (a pass over the
    /// names held, which are only multiply-linked files).</summary>
    public void Forget(RelativePath gone)
    {
        if (_byPath.Count == 0)
        {
            return;
        }

        if (_byPath.TryGetValue(gone, out var key))
        {
            Remove(gone, key);
            return;
        }

        List<RelativePath>? below = null;
        foreach (var path in _byPath.Keys)
        {
            if (path.IsAtOrBelow(gone))
            {
                (below ??= []).Add(path);
            }
        }

        foreach (var path in below ?? [])
        {
            Remove(path, _byPath[path]);
        }
    }

    /// <summary>
    /// The other names, in the tree now, of the multiply-linked non-directories a batch lists (each with its lstat);
    /// names listed already are not returned. Groups met for the first time are searched for.
    /// </summary>
    public List<RelativePath> OtherNames(IReadOnlyList<(RelativePath Path, FileStatus Status)> linked)
    {
        ArgumentNullException.ThrowIfNull(linked);
        var listed = new HashSet<RelativePath>(linked.Select(l => l.Path));
        var used = new Dictionary<(ulong, ulong), uint>(); // group -> st_nlink
        var sought = new Dictionary<(ulong Device, ulong Inode), uint>();
        foreach (var (path, status) in linked)
        {
            var key = (status.Device, status.Inode);
            if (used.ContainsKey(key))
            {
                Add(path, key);
                continue;
            }

            var known = _groups.ContainsKey(key);
            Verify(key);
            Add(path, key);
            used[key] = status.LinkCount;
            if (!known && _groups[key].Count < status.LinkCount)
            {
                sought[key] = status.LinkCount;
            }
        }

        if (sought.Count > 0)
        {
            Search(sought, linked.Select(l => l.Path));
        }

        var others = new List<RelativePath>();
        foreach (var (key, links) in used)
        {
            if (!_groups.TryGetValue(key, out var names))
            {
                continue;
            }

            others.AddRange(names.Where(n => !listed.Contains(n)));
            if (links <= 1 && names.Count <= 1)
            {
                Remove(names[0], key); // not linked any more: nothing to keep
            }
        }

        return others;
    }

    private void Add(RelativePath path, (ulong, ulong) key)
    {
        if (_byPath.TryGetValue(path, out var old))
        {
            if (old == key)
            {
                return;
            }

            Remove(path, old); // the name now holds another inode
        }

        if (!_groups.TryGetValue(key, out var names))
        {
            _groups[key] = names = [];
        }

        names.Add(path);
        _byPath[path] = key;
    }

    private void Remove(RelativePath path, (ulong, ulong) key)
    {
        _byPath.Remove(path);
        if (_groups.TryGetValue(key, out var names))
        {
            names.Remove(path);
            if (names.Count == 0)
            {
                _groups.Remove(key);
            }
        }
    }

    /// <summary>Drops the names of a group that no longer hold its inode.</summary>
    private void Verify((ulong Device, ulong Inode) key)
    {
        if (!_groups.TryGetValue(key, out var names))
        {
            return;
        }

        foreach (var name in names.ToArray())
        {
            if (FileSystemBytes.Stat(FileSystemBytes.Combine(_rootBytes, name)) is not { } st
                || st.Device != key.Device || st.Inode != key.Inode)
            {
                Remove(name, key);
            }
        }
    }

    /// <summary>Finds the names of the sought groups: the listed names' directories first, then their parents', then
    /// the whole tree; stops once every group has its st_nlink names (links from outside the root never are).</summary>
    private void Search(Dictionary<(ulong Device, ulong Inode), uint> sought, IEnumerable<RelativePath> near)
    {
        Searches++;
        var byInode = new Dictionary<ulong, List<(ulong Device, ulong Inode)>>();
        foreach (var key in sought.Keys)
        {
            if (!byInode.TryGetValue(key.Inode, out var keys))
            {
                byInode[key.Inode] = keys = [];
            }

            keys.Add(key);
        }

        var open = sought.Count;
        var read = new Dictionary<RelativePath, List<RelativePath>>(); // directory -> its subdirectories

        List<RelativePath> Read(RelativePath dir)
        {
            if (read.TryGetValue(dir, out var known))
            {
                return known;
            }

            var subdirs = new List<RelativePath>();
            read[dir] = subdirs;
            DirectoriesRead++;
            List<DirectoryEntry>? entries;
            try
            {
                entries = FileSystemBytes.ListDirectory(FileSystemBytes.Combine(_rootBytes, dir));
            }
            catch (IOException)
            {
                return subdirs; // unreadable: its names cannot be sent anyway
            }

            foreach (var entry in entries ?? [])
            {
                var child = dir.Append(entry.Name);
                var isDir = entry.Type == EntryType.Directory
                    || (entry.Type == EntryType.Unknown && FileSystemBytes.Stat(FileSystemBytes.Combine(_rootBytes, child))?.Type == EntryType.Directory);
                if (filter is { HasRules: true } f && f.IsExcluded(child, isDir))
                {
                    continue;
                }

                if (isDir)
                {
                    subdirs.Add(child);
                    continue;
                }

                if (!byInode.TryGetValue(entry.Inode, out var keys)
                    || (_byPath.TryGetValue(child, out var held) && keys.Contains(held)))
                {
                    continue;
                }

                if (FileSystemBytes.Stat(FileSystemBytes.Combine(_rootBytes, child)) is not { } st)
                {
                    continue;
                }

                var key = (st.Device, st.Inode);
                if (keys.Contains(key))
                {
                    Add(child, key);
                    if (_groups[key].Count == sought[key])
                    {
                        open--;
                    }
                }
            }

            return subdirs;
        }

        var nearDirs = near.Select(p => p.Parent).Distinct().ToList();
        var stages = nearDirs.Concat(nearDirs.Where(d => !d.IsRoot).Select(d => d.Parent).Distinct());
        foreach (var dir in stages)
        {
            if (open == 0)
            {
                return;
            }

            Read(dir);
        }

        var pending = new Stack<RelativePath>();
        pending.Push(RelativePath.Root);
        while (open > 0 && pending.Count > 0)
        {
            foreach (var sub in Read(pending.Pop()))
            {
                pending.Push(sub);
            }
        }
    }
}
