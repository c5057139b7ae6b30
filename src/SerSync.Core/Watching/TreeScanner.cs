// Implementation notes.
// - The scanning backends keep what the last scan saw of every entry (type, size, mtime, ctime, inode, mode, owner)
//   and compare a new listing with it. ctime is what proves a change: the kernel moves it on every write, chmod,
//   chown, link and rename, and nobody can set it back (mtime can be, by touch -d or rsync -t). On a file system
//   with coarse timestamps a second write within the same tick and of the same size looks unchanged until something
//   else moves ctime; that is one of the caveats the backends state.
// - A name gone and a name new in the same pass with the same inode (and, for a file, the same size and mtime) is
//   a rename: it is reported as the two halves inotify gives (a Delete with MoveToFollows, then the Upsert with
//   MovedFrom), so the targets can rename instead of sending again. A name whose inode changed in place (an atomic
//   save, a swap) is a change of that name, never a half of a rename: renaming across a swap would need an order
//   the scan cannot know.
// - Names are bytes throughout (listings come from FileSystemBytes), so a name that is not UTF-8 is scanned and
//   reported like any other.
using System.Runtime.InteropServices;
using SerSync.Configuration;
using SerSync.Filtering;
using SerSync.Paths;
using SerSync.Targets;

namespace SerSync.Watching;

/// <summary>What one scan saw of one entry.</summary>
internal struct ScanEntry
{
    public EntryType Type;
    public uint Mode;
    public uint Uid;
    public uint Gid;
    public long Size;
    public long ModifyTicks;
    public long ChangeTicks;
    public ulong Inode;

    /// <summary>The entries below, for a directory.</summary>
    public ScanDirectory? Directory;

    public static ScanEntry From(in FileStatus st) => new()
    {
        Type = st.Type,
        Mode = st.Mode,
        Uid = st.Uid,
        Gid = st.Gid,
        Size = st.Type == EntryType.Directory ? 0 : st.Size, // a directory's size moves with its entries
        ModifyTicks = st.ModifyTime.UtcTicks,
        ChangeTicks = st.ChangeTime.UtcTicks,
        Inode = st.Inode,
    };
}

/// <summary>One directory's entries as the last scan saw them, by name bytes.</summary>
internal sealed class ScanDirectory
{
    public Dictionary<byte[], ScanEntry> Entries { get; } = new(ByteArrayComparer.Instance);
}

/// <summary>
/// The tree as the last scans saw it, and the comparisons that find what changed since: a whole subtree, one
/// directory's entries, or one entry. What differs is collected in a <see cref="ScanPass"/>, which turns it into
/// <see cref="FileChange"/>s once the pass is complete (renames need both halves). Used by one thread only.
/// </summary>
internal sealed class TreeScanner(byte[] rootBytes, PathFilter filter)
{
    private ScanDirectory? _root;

    /// <summary>Directories tracked, the root included.</summary>
    public int DirectoryCount { get; private set; }

    /// <summary>Entries tracked (files, links, directories).</summary>
    public long EntryCount { get; private set; }

    /// <summary>Beaten once per directory listed.</summary>
    public Heartbeat Heartbeat { get; set; } = Heartbeat.None;

    /// <summary>Called after every directory listed while <see cref="Build"/> runs (the directories so far).</summary>
    public Action<int>? Progress { get; set; }

    /// <summary>Called when a directory cannot be listed (EACCES, EIO): it is left as the last scan saw it, never
    /// taken for empty (that would delete what it holds on the targets).</summary>
    public Action<RelativePath, IOException>? ListFailed { get; set; }

    /// <summary>Names in the root that are the watcher's own (cookie and probe files): never tracked.</summary>
    public Func<ReadOnlySpan<byte>, bool> IsOwnName { get; set; } = _ => false;

    /// <summary>Reads the whole tree; false when the root is missing or not a directory.</summary>
    public bool Build()
    {
        if (FileSystemBytes.Stat(rootBytes) is not { Type: EntryType.Directory })
        {
            return false;
        }

        _root = new ScanDirectory();
        DirectoryCount = 1;
        EntryCount = 0;
        Fill(RelativePath.Root, _root);
        return true;
    }

    /// <summary>Whether the root is still a directory (a missing root is the daemon's to decide, never a delete).</summary>
    public bool RootExists() => FileSystemBytes.Stat(rootBytes) is { Type: EntryType.Directory };

    /// <summary>Compares <paramref name="dir"/>'s entries (and with <paramref name="recursive"/> everything below)
    /// with the last scan. A directory the scans do not know yet is compared from its nearest known ancestor.</summary>
    public void Rescan(RelativePath dir, bool recursive, ScanPass pass)
    {
        var (node, at) = Nearest(dir);
        if (node is null)
        {
            return;
        }

        Compare(at, node, recursive || at != dir, pass);
    }

    /// <summary>Compares the one entry at <paramref name="path"/> with the last scan (a hint named it).
    /// <paramref name="gone"/>: the hint said it was deleted or renamed away. Such a name the scans never saw (made
    /// and removed between two of them) is still reported deleted: a directory sync running meanwhile may have
    /// copied it to a target, and nothing else would ever take it away there.</summary>
    public void Recheck(RelativePath path, ScanPass pass, bool gone = false)
    {
        if (path.IsRoot)
        {
            return;
        }

        var (parent, at) = Nearest(path.Parent);
        if (parent is null)
        {
            return;
        }

        if (at != path.Parent)
        {
            Compare(at, parent, recursive: false, pass); // the parent is new to the scans: found from above
            return;
        }

        var name = path.Name;
        if (at.IsRoot && IsOwnName(name))
        {
            return;
        }

        var st = FileSystemBytes.Stat(FileSystemBytes.Combine(rootBytes, path));
        var key = name.ToArray();
        ref var old = ref CollectionsMarshal.GetValueRefOrNullRef(parent.Entries, key);
        var known = !System.Runtime.CompilerServices.Unsafe.IsNullRef(ref old);
        if (st is not { } status || filter.IsExcludedBelowIncluded(path, status.Type == EntryType.Directory))
        {
            if (known)
            {
                Remove(parent, key, path, pass);
            }
            else if (gone && st is null && !filter.IsExcludedBelowIncluded(path, isDirectory: false))
            {
                pass.Vanished(path);
            }

            return;
        }

        if (!known)
        {
            Add(parent, key, path, status, pass);
        }
        else
        {
            CompareEntry(parent, key, ref old, path, status, recursive: false, pass);
        }
    }

    private List<DirectoryEntry>? List(RelativePath dir)
    {
        try
        {
            return FileSystemBytes.ListDirectory(FileSystemBytes.Combine(rootBytes, dir));
        }
        catch (IOException ex)
        {
            ListFailed?.Invoke(dir, ex);
            return null;
        }
    }

    private (ScanDirectory? Node, RelativePath At) Nearest(RelativePath dir)
    {
        if (_root is null)
        {
            return (null, RelativePath.Root);
        }

        var node = _root;
        var at = RelativePath.Root;
        var bytes = dir.Bytes;
        var start = 0;
        while (start < bytes.Length)
        {
            var slash = bytes[start..].IndexOf((byte)'/');
            var end = slash < 0 ? bytes.Length : start + slash;
            if (!node.Entries.TryGetValue(bytes[start..end].ToArray(), out var entry) || entry.Directory is null)
            {
                return (node, at);
            }

            node = entry.Directory;
            at = new RelativePath(bytes[..end].ToArray());
            start = end + 1;
        }

        return (node, at);
    }

    private void Compare(RelativePath dir, ScanDirectory node, bool recursive, ScanPass pass)
    {
        Heartbeat.Beat();
        var listing = List(dir);
        if (listing is null)
        {
            return; // gone meanwhile (its parent's comparison removes it), or unreadable (kept as it was)
        }

        var seen = new HashSet<byte[]>(listing.Count, ByteArrayComparer.Instance);
        foreach (var e in listing)
        {
            if (dir.IsRoot && IsOwnName(e.Name))
            {
                continue;
            }

            var path = dir.Append(e.Name);
            if (FileSystemBytes.Stat(FileSystemBytes.Combine(rootBytes, path)) is not { } st
                || filter.IsExcludedBelowIncluded(path, st.Type == EntryType.Directory))
            {
                continue; // vanished between the listing and the stat, or excluded: not there for the targets
            }

            seen.Add(e.Name);
            ref var old = ref CollectionsMarshal.GetValueRefOrNullRef(node.Entries, e.Name);
            if (System.Runtime.CompilerServices.Unsafe.IsNullRef(ref old))
            {
                Add(node, e.Name, path, st, pass);
            }
            else
            {
                CompareEntry(node, e.Name, ref old, path, st, recursive, pass);
            }
        }

        if (seen.Count < node.Entries.Count)
        {
            foreach (var name in node.Entries.Keys.Where(k => !seen.Contains(k)).ToList())
            {
                Remove(node, name, dir.Append(name), pass);
            }
        }
    }

    private void CompareEntry(ScanDirectory parent, byte[] name, ref ScanEntry old, RelativePath path, in FileStatus st, bool recursive, ScanPass pass)
    {
        if (old.Type != st.Type || old.Inode != st.Inode)
        {
            if (old.Type == EntryType.Directory || st.Type == EntryType.Directory)
            {
                // Another directory (or no directory any more) at this name: what was below is gone with it.
                Remove(parent, name, path, pass);
                Add(parent, name, path, st, pass);
                return;
            }

            var replaced = ScanEntry.From(st);
            pass.Replaced(path, old, replaced);
            old = replaced;
            return;
        }

        var now = ScanEntry.From(st);
        if (st.Type == EntryType.Directory)
        {
            var sub = old.Directory!;
            var listingMoved = now.ModifyTicks != old.ModifyTicks || now.ChangeTicks != old.ChangeTicks;
            if (now.Mode != old.Mode || now.Uid != old.Uid || now.Gid != old.Gid)
            {
                pass.Changed(path, isDirectory: true, content: false);
            }

            now.Directory = sub;
            old = now;
            if (recursive)
            {
                Compare(path, sub, recursive: true, pass);
            }
            else if (listingMoved)
            {
                // Entries were added, removed or renamed in it since the last scan (a hint may have named only one).
                pass.Recompare(path);
            }

            return;
        }

        var content = now.Size != old.Size || now.ModifyTicks != old.ModifyTicks;
        if (content || now.ChangeTicks != old.ChangeTicks || now.Mode != old.Mode || now.Uid != old.Uid || now.Gid != old.Gid)
        {
            old = now;
            pass.Changed(path, isDirectory: false, content);
        }
    }

    private void Add(ScanDirectory parent, byte[] name, RelativePath path, in FileStatus st, ScanPass pass)
    {
        var entry = ScanEntry.From(st);
        if (st.Type == EntryType.Directory)
        {
            entry.Directory = new ScanDirectory();
            DirectoryCount++;
            parent.Entries[name] = entry;
            EntryCount++;
            Fill(path, entry.Directory);
        }
        else
        {
            parent.Entries[name] = entry;
            EntryCount++;
        }

        pass.Added(path, entry);
    }

    private void Remove(ScanDirectory parent, byte[] name, RelativePath path, ScanPass pass)
    {
        if (!parent.Entries.Remove(name, out var entry))
        {
            return;
        }

        EntryCount--;
        if (entry.Directory is { } sub)
        {
            Forget(sub);
            DirectoryCount--;
        }

        pass.Removed(path, entry);
    }

    private void Forget(ScanDirectory node)
    {
        foreach (var child in node.Entries.Values)
        {
            EntryCount--;
            if (child.Directory is { } sub)
            {
                DirectoryCount--;
                Forget(sub);
            }
        }
    }

    /// <summary>Reads a directory new to the scans and everything below it, reporting nothing (its parent's
    /// entry is the report).</summary>
    private void Fill(RelativePath top, ScanDirectory topNode)
    {
        var stack = new Stack<(RelativePath Path, ScanDirectory Node)>();
        stack.Push((top, topNode));
        while (stack.Count > 0)
        {
            var (dir, node) = stack.Pop();
            Heartbeat.Beat();
            Progress?.Invoke(DirectoryCount);
            foreach (var e in List(dir) ?? [])
            {
                if (dir.IsRoot && IsOwnName(e.Name))
                {
                    continue;
                }

                var path = dir.Append(e.Name);
                if (FileSystemBytes.Stat(FileSystemBytes.Combine(rootBytes, path)) is not { } st
                    || filter.IsExcludedBelowIncluded(path, st.Type == EntryType.Directory))
                {
                    continue;
                }

                var entry = ScanEntry.From(st);
                if (st.Type == EntryType.Directory)
                {
                    entry.Directory = new ScanDirectory();
                    DirectoryCount++;
                    stack.Push((path, entry.Directory));
                }

                node.Entries[e.Name] = entry;
                EntryCount++;
            }
        }
    }
}

/// <summary>
/// What one pass of comparisons found, turned into <see cref="FileChange"/>s by <see cref="Drain"/> with the
/// <c>&lt;inotify&gt;</c> switches applied as the inotify backend applies them.
/// </summary>
internal sealed class ScanPass(InotifyConfig config)
{
    private readonly List<(RelativePath Path, ScanEntry Entry)> _removed = [];
    private readonly List<(RelativePath Path, ScanEntry Entry)> _added = [];
    private readonly List<(RelativePath Path, bool IsDirectory, bool Content)> _changed = [];
    private readonly List<RelativePath> _recompare = [];
    private readonly List<RelativePath> _vanished = [];
    private readonly List<(RelativePath Path, ScanEntry Old, ScanEntry New)> _replaced = [];

    public bool IsEmpty => _removed.Count == 0 && _added.Count == 0 && _changed.Count == 0 && _vanished.Count == 0 && _replaced.Count == 0;

    /// <summary>Directories whose listing moved although only an entry was compared: the watcher compares them
    /// next (once a hint pass ends) so a name the hints missed is found without waiting for the full scan.</summary>
    public IReadOnlyList<RelativePath> ToRecompare => _recompare;

    public void Added(RelativePath path, in ScanEntry entry) => _added.Add((path, entry));

    public void Removed(RelativePath path, in ScanEntry entry) => _removed.Add((path, entry));

    public void Changed(RelativePath path, bool isDirectory, bool content) => _changed.Add((path, isDirectory, content));

    public void Recompare(RelativePath dir) => _recompare.Add(dir);

    /// <summary>A file whose name now holds another inode (a rename over it, a swap, an atomic save).</summary>
    public void Replaced(RelativePath path, in ScanEntry old, in ScanEntry now) => _replaced.Add((path, old, now));

    /// <summary>A name a hint said was deleted, which the scans never saw: reported as a delete (last).</summary>
    public void Vanished(RelativePath path) => _vanished.Add(path);

    /// <summary>The pass's changes in a safe order (deletes, renames, then what is new or changed, then the deletes of
    /// names never seen), and empties it. <paramref name="deletedAlready"/> leaves out a never-seen name's delete
    /// that was just reported (its hint came after a comparison had found it gone).</summary>
    public List<FileChange> Drain(Func<RelativePath, bool>? deletedAlready = null)
    {
        var changes = new List<FileChange>();
        var addedPaths = new HashSet<RelativePath>(_added.Select(a => a.Path));
        var removedPaths = new HashSet<RelativePath>(_removed.Select(r => r.Path));

        // A rename: a name gone entirely and a name new entirely, with the same inode.
        var byInode = new Dictionary<(ulong, bool), int>();
        for (var i = 0; i < _added.Count; i++)
        {
            var (path, e) = _added[i];
            if (e.Inode != 0 && !removedPaths.Contains(path))
            {
                byInode.TryAdd((e.Inode, e.Type == EntryType.Directory), i);
            }
        }

        var pairedAdded = new HashSet<int>();
        var moves = new List<(RelativePath From, RelativePath To, bool IsDirectory)>();
        var plainDeletes = new List<(RelativePath Path, ScanEntry Entry)>();
        foreach (var (path, e) in _removed)
        {
            var isDir = e.Type == EntryType.Directory;
            if (e.Inode != 0 && !addedPaths.Contains(path) && byInode.Remove((e.Inode, isDir), out var i)
                && (isDir || (_added[i].Entry.Size == e.Size && _added[i].Entry.ModifyTicks == e.ModifyTicks && _added[i].Entry.Type == e.Type)))
            {
                pairedAdded.Add(i);
                moves.Add((path, _added[i].Path, isDir));
                continue;
            }

            plainDeletes.Add((path, e));
        }

        // A file renamed over another name (mv y x, a swap x <-> y): the name's new inode is the old inode of a name
        // gone or replaced in this pass. Sent as a plain change, rsync's quick check (size and mtime) can take the new
        // content for the old when both match, as in a swap of two files written in the same clock tick; a rename on
        // the target cannot. No name is both a rename's source and another's destination, so the renames can be
        // replayed in any order; the source of each is sent afterwards if it still exists.
        var oldInodes = new Dictionary<ulong, (RelativePath Path, ScanEntry Entry)>();
        foreach (var (path, e) in plainDeletes)
        {
            if (e.Type == EntryType.File && e.Inode != 0)
            {
                oldInodes.TryAdd(e.Inode, (path, e));
            }
        }

        foreach (var (path, old, _) in _replaced)
        {
            if (old.Inode != 0)
            {
                oldInodes.TryAdd(old.Inode, (path, old));
            }
        }

        var sources = new HashSet<RelativePath>();
        var destinations = new HashSet<RelativePath>();
        var renamesOver = new List<(RelativePath From, RelativePath To)>();
        foreach (var (path, _, now) in _replaced)
        {
            if (config.MoveFrom && config.MoveTo && now.Inode != 0 && oldInodes.TryGetValue(now.Inode, out var from) && from.Path != path
                && from.Entry.Size == now.Size && from.Entry.ModifyTicks == now.ModifyTicks
                && !destinations.Contains(from.Path) && !sources.Contains(path))
            {
                sources.Add(from.Path);
                destinations.Add(path);
                renamesOver.Add((from.Path, path));
            }
        }

        foreach (var (path, e) in plainDeletes)
        {
            if (config.Delete && !sources.Contains(path))
            {
                changes.Add(new FileChange(ChangeKind.Delete, path, e.Type == EntryType.Directory, ChangeEvent.Delete));
            }
        }

        foreach (var (from, to, isDir) in moves)
        {
            if (config.MoveFrom)
            {
                changes.Add(new FileChange(ChangeKind.Delete, from, isDir, ChangeEvent.MoveFrom) { MoveToFollows = config.MoveTo });
            }

            if (config.MoveTo)
            {
                changes.Add(new FileChange(isDir ? ChangeKind.UpsertTree : ChangeKind.Upsert, to, isDir, ChangeEvent.MoveTo, config.MoveFrom ? from : null));
            }
        }

        for (var i = 0; i < _added.Count; i++)
        {
            if (pairedAdded.Contains(i))
            {
                continue;
            }

            var (path, e) = _added[i];
            if (e.Type == EntryType.Directory)
            {
                if (config.CreateFolder)
                {
                    changes.Add(new FileChange(ChangeKind.UpsertTree, path, true, ChangeEvent.Create));
                }
            }
            else if (config.CreateFile || e.Type != EntryType.File)
            {
                changes.Add(new FileChange(ChangeKind.Upsert, path, false, ChangeEvent.Create));
            }
            else if (config.CloseWrite || config.Modify)
            {
                // As inotify with createFile off: reported as written, marked new for the delete guard's count.
                changes.Add(new FileChange(ChangeKind.Upsert, path, false, ChangeEvent.CloseWrite) { Fresh = true });
            }
        }

        foreach (var (from, to) in renamesOver)
        {
            changes.Add(new FileChange(ChangeKind.Delete, from, false, ChangeEvent.MoveFrom) { MoveToFollows = true });
            changes.Add(new FileChange(ChangeKind.Upsert, to, false, ChangeEvent.MoveTo, from));
        }

        foreach (var (path, _, _) in _replaced)
        {
            if (!destinations.Contains(path) && (config.CloseWrite || config.Modify || config.Attrib))
            {
                changes.Add(new FileChange(ChangeKind.Upsert, path, false, ChangeEvent.CloseWrite));
            }
        }

        foreach (var (path, isDir, content) in _changed)
        {
            if (content ? config.CloseWrite || config.Modify || config.Attrib : config.Attrib || (!isDir && (config.CloseWrite || config.Modify)))
            {
                changes.Add(new FileChange(ChangeKind.Upsert, path, isDir, content ? ChangeEvent.CloseWrite : ChangeEvent.Attrib));
            }
        }

        if (config.Delete)
        {
            foreach (var path in _vanished)
            {
                if (!addedPaths.Contains(path) && deletedAlready?.Invoke(path) != true)
                {
                    changes.Add(new FileChange(ChangeKind.Delete, path, false, ChangeEvent.Delete));
                }
            }
        }

        _vanished.Clear();
        _replaced.Clear();
        _removed.Clear();
        _added.Clear();
        _changed.Clear();
        _recompare.Clear();
        return changes;
    }
}
