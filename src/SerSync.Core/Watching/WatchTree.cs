// Implementation notes. The kernel identifies a watch by its wd and a watch follows its inode: after a rename the
// same wd keeps reporting events for the directory at its new place, and inotify_add_watch on an inode already
// watched returns the existing wd. So the map is keyed by wd, each node knows only its parent and its own name, and
// a path is built on demand by walking up: moving a directory re-links one node and its whole subtree follows.
// wds are allocated cyclically (idr_alloc_cyclic), so a stale wd is not reused soon after it dies.
//
// Storage. A tree of a million directories must cost tens of bytes per directory, not an object graph, so there is
// no object per node: a node is an index into one struct array (Node), names are slices of one shared byte arena,
// and the two lookups are hash chains threaded through the nodes themselves (buckets int[] + a next index per
// node): wd → node, and (parent, name) → child. Children of a node form a doubly linked sibling list so a subtree
// can be walked and one child unlinked in O(1). Removed nodes go to a free list and their ids are reused; a removed
// or renamed node's name bytes become garbage in the arena, which is compacted once garbage outweighs live bytes.
// A node id is only meaningful while its node lives: a caller that keeps one across tree changes checks it with
// IsLive(id, wd).
using System.Runtime.InteropServices;
using SerSync.Paths;

namespace SerSync.Watching;

/// <summary>wd → directory map with parent links. Not thread-safe: only the watcher's thread touches it. Nodes are
/// ints (<see cref="None"/> for none).</summary>
internal sealed class WatchTree
{
    public const int None = -1;

    private const int FreeWd = int.MinValue;
    private const int InitialCapacity = 16;
    private const int MaxChain = 2; // nodes per bucket, on average, before the buckets double
    private const int MinGarbageToCompact = 64 * 1024;

    private Node[] _nodes = new Node[InitialCapacity];
    private int[] _wdBuckets = NewBuckets(InitialCapacity);
    private int[] _childBuckets = NewBuckets(InitialCapacity);
    private byte[] _names = new byte[256];
    private int _namesUsed;
    private int _namesGarbage;
    private int _highWater; // nodes[0.._highWater) have been used at least once
    private int _freeHead = None;

    public int Root { get; private set; } = None;

    /// <summary>Live nodes (= watches).</summary>
    public int Count { get; private set; }

    /// <summary>For tests: bytes of the name arena in use (live names plus garbage not yet compacted).</summary>
    internal int NameBytesUsed => _namesUsed;

    /// <summary>For tests: bytes of removed or replaced names not yet compacted away.</summary>
    internal int NameGarbage => _namesGarbage;

    /// <summary>For tests: node slots ever used (live ones plus the free list).</summary>
    internal int NodeSlots => _highWater;

    /// <summary>The wds of every live node (allocates; for the rare full rescan).</summary>
    public List<int> CopyWds()
    {
        var wds = new List<int>(Count);
        for (var i = 0; i < _highWater; i++)
        {
            if (_nodes[i].Wd != FreeWd)
            {
                wds.Add(_nodes[i].Wd);
            }
        }

        return wds;
    }

    public int Get(int wd)
    {
        for (var n = _wdBuckets[WdBucket(wd, _wdBuckets.Length)]; n != None; n = _nodes[n].WdNext)
        {
            if (_nodes[n].Wd == wd)
            {
                return n;
            }
        }

        return None;
    }

    /// <summary>True when <paramref name="node"/> is still the live node of <paramref name="wd"/>.</summary>
    public bool IsLive(int node, int wd) => node >= 0 && node < _highWater && _nodes[node].Wd == wd && wd != FreeWd;

    public int WdOf(int node) => _nodes[node].Wd;

    public int ParentOf(int node) => _nodes[node].Parent;

    /// <summary>The directory's own name (empty for the root). Valid until the tree next changes.</summary>
    public ReadOnlySpan<byte> NameOf(int node) => _names.AsSpan(_nodes[node].NameOffset, _nodes[node].NameLength);

    public int FirstChildOf(int node) => _nodes[node].FirstChild;

    public int NextSiblingOf(int node) => _nodes[node].NextSibling;

    public int FindChild(int parent, ReadOnlySpan<byte> name) => FindChild(parent, name, ChildHash(parent, name));

    /// <summary>True when <paramref name="candidate"/> is <paramref name="node"/> or one of its ancestors.</summary>
    public bool IsAncestorOrSelf(int candidate, int node)
    {
        for (var n = node; n != None; n = _nodes[n].Parent)
        {
            if (n == candidate)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Records that <paramref name="wd"/> watches <paramref name="name"/> under <paramref name="parent"/>
    /// (<see cref="None"/>: the root). A wd already known elsewhere is moved here with its subtree (the kernel says
    /// it is the same inode). A different node already at this place is stale: it is dropped with its subtree and
    /// its wds are added to <paramref name="displaced"/> so the caller can remove those watches.
    /// </summary>
    public int AddOrUpdate(int wd, int parent, ReadOnlySpan<byte> name, List<int> displaced)
    {
        if (parent == None)
        {
            if (Root != None && _nodes[Root].Wd == wd)
            {
                return Root;
            }

            if (Root != None)
            {
                RemoveSubtree(Root, displaced);
            }

            // Every live node hangs below the root, so none is left: the new root is a new node.
            Root = NewNode(wd, None, [], 0);
            return Root;
        }

        var existing = Get(wd);
        if (existing != None)
        {
            Move(existing, parent, name, displaced);
            return existing;
        }

        var hash = ChildHash(parent, name);
        var occupant = FindChild(parent, name, hash);
        if (occupant != None)
        {
            RemoveSubtree(occupant, displaced);
        }

        return NewNode(wd, parent, name, hash);
    }

    /// <summary>Re-links <paramref name="node"/> (and so its whole subtree) as <paramref name="newName"/> under
    /// <paramref name="newParent"/>. A different node already there is dropped (a rename replaced it).</summary>
    public void Move(int node, int newParent, ReadOnlySpan<byte> newName, List<int> displaced)
    {
        if (node == Root)
        {
            throw new InvalidOperationException("the root cannot be moved inside its own tree");
        }

        if (IsAncestorOrSelf(node, newParent))
        {
            throw new InvalidOperationException("a directory cannot be moved below itself");
        }

        var hash = ChildHash(newParent, newName);
        var occupant = FindChild(newParent, newName, hash);
        // Detached first: the node it replaces may be its own ancestor (it then survives it with its subtree).
        Detach(node);
        if (occupant != None && occupant != node)
        {
            RemoveSubtree(occupant, displaced);
        }

        if (!NameOf(node).SequenceEqual(newName))
        {
            SetName(node, newName);
        }

        Attach(node, newParent, hash);
    }

    /// <summary>Forgets <paramref name="node"/> and everything below it; their wds go to <paramref name="removed"/>.</summary>
    public void RemoveSubtree(int node, List<int> removed)
    {
        Detach(node);
        if (node == Root)
        {
            Root = None;
        }

        // Depth-first through the sibling links, always into the first child and freeing on the way back: no stack,
        // no allocation.
        var n = node;
        while (true)
        {
            while (_nodes[n].FirstChild != None)
            {
                n = _nodes[n].FirstChild;
            }

            removed.Add(_nodes[n].Wd);
            if (n == node)
            {
                Free(n);
                break;
            }

            var parent = _nodes[n].Parent;
            var next = _nodes[n].NextSibling;
            Free(n);
            _nodes[parent].FirstChild = next;
            n = next != None ? next : parent;
        }

        CompactNamesIfWorthIt();
    }

    public void Clear()
    {
        _nodes = new Node[InitialCapacity];
        _wdBuckets = NewBuckets(InitialCapacity);
        _childBuckets = NewBuckets(InitialCapacity);
        _names = new byte[256];
        _namesUsed = 0;
        _namesGarbage = 0;
        _highWater = 0;
        _freeHead = None;
        Root = None;
        Count = 0;
    }

    /// <summary>The node's path relative to the root, built by walking the parent links.</summary>
    public RelativePath GetPath(int node) => GetPath(node, []);

    /// <summary>The path of <paramref name="child"/> under <paramref name="node"/> (empty: the node itself), in one
    /// allocation.</summary>
    public RelativePath GetPath(int node, ReadOnlySpan<byte> child)
    {
        var length = PathLength(node);
        if (child.Length > 0)
        {
            length += length == 0 ? child.Length : child.Length + 1;
        }

        if (length == 0)
        {
            return RelativePath.Root;
        }

        var result = new byte[length];
        WritePath(node, result, child);
        return new RelativePath(result);
    }

    /// <summary>Bytes of <paramref name="node"/>'s relative path (0 for the root).</summary>
    public int PathLength(int node)
    {
        var length = -1;
        for (var n = node; _nodes[n].Parent != None; n = _nodes[n].Parent)
        {
            length += _nodes[n].NameLength + 1;
        }

        return length < 0 ? 0 : length;
    }

    /// <summary>Writes <paramref name="node"/>'s relative path, then '/' and <paramref name="child"/> if any, to the
    /// start of <paramref name="destination"/> (which must be large enough); returns the bytes written.</summary>
    public int WritePath(int node, Span<byte> destination, ReadOnlySpan<byte> child)
    {
        var own = PathLength(node);
        var total = own;
        if (child.Length > 0)
        {
            if (own > 0)
            {
                destination[own] = (byte)'/';
                total++;
            }

            child.CopyTo(destination[total..]);
            total += child.Length;
        }

        // Filled from the end of the node's own path backwards while walking up.
        var end = own;
        for (var n = node; _nodes[n].Parent != None; n = _nodes[n].Parent)
        {
            ref var nd = ref _nodes[n];
            end -= nd.NameLength;
            _names.AsSpan(nd.NameOffset, nd.NameLength).CopyTo(destination[end..]);
            if (end > 0)
            {
                destination[--end] = (byte)'/';
            }
        }

        return total;
    }

    private int FindChild(int parent, ReadOnlySpan<byte> name, int hash)
    {
        for (var n = _childBuckets[hash & (_childBuckets.Length - 1)]; n != None; n = _nodes[n].ChildNext)
        {
            ref var nd = ref _nodes[n];
            if (nd.Parent == parent && _names.AsSpan(nd.NameOffset, nd.NameLength).SequenceEqual(name))
            {
                return n;
            }
        }

        return None;
    }

    private int NewNode(int wd, int parent, ReadOnlySpan<byte> name, int hash)
    {
        int id;
        if (_freeHead != None)
        {
            id = _freeHead;
            _freeHead = _nodes[id].NextSibling;
        }
        else
        {
            if (_highWater == _nodes.Length)
            {
                // By half, not double: at a million directories every slot is 36 bytes of resident memory.
                Array.Resize(ref _nodes, _nodes.Length + (_nodes.Length / 2));
            }

            id = _highWater++;
        }

        _nodes[id] = new Node
        {
            Wd = wd,
            Parent = None,
            FirstChild = None,
            NextSibling = None,
            PrevSibling = None,
            ChildNext = None,
            WdNext = None,
        };
        SetName(id, name);
        Count++;
        var wb = WdBucket(wd, _wdBuckets.Length);
        _nodes[id].WdNext = _wdBuckets[wb];
        _wdBuckets[wb] = id;
        if (parent != None)
        {
            Attach(id, parent, hash);
        }

        if (Count > MaxChain * _wdBuckets.Length)
        {
            GrowBuckets(); // after linking: the hash given is for the buckets as they were
        }

        return id;
    }

    private void Free(int n)
    {
        ref var nd = ref _nodes[n];
        UnlinkWd(n, nd.Wd);
        if (nd.Parent != None)
        {
            UnlinkChildHash(n);
        }

        _namesGarbage += nd.NameLength;
        nd = new Node { Wd = FreeWd, Parent = None, FirstChild = None, NextSibling = _freeHead, PrevSibling = None, ChildNext = None, WdNext = None };
        _freeHead = n;
        Count--;
    }

    private void UnlinkWd(int n, int wd)
    {
        ref var head = ref _wdBuckets[WdBucket(wd, _wdBuckets.Length)];
        if (head == n)
        {
            head = _nodes[n].WdNext;
            return;
        }

        for (var p = head; p != None; p = _nodes[p].WdNext)
        {
            if (_nodes[p].WdNext == n)
            {
                _nodes[p].WdNext = _nodes[n].WdNext;
                return;
            }
        }
    }

    /// <summary>Links a node with no parent under <paramref name="parent"/>: sibling list and child hash.</summary>
    private void Attach(int n, int parent, int hash)
    {
        ref var nd = ref _nodes[n];
        nd.Parent = parent;
        nd.PrevSibling = None;
        nd.NextSibling = _nodes[parent].FirstChild;
        if (nd.NextSibling != None)
        {
            _nodes[nd.NextSibling].PrevSibling = n;
        }

        _nodes[parent].FirstChild = n;
        ref var bucket = ref _childBuckets[hash & (_childBuckets.Length - 1)];
        nd.ChildNext = bucket;
        bucket = n;
    }

    /// <summary>Unlinks a node from its parent (its subtree stays with it).</summary>
    private void Detach(int n)
    {
        ref var nd = ref _nodes[n];
        if (nd.Parent == None)
        {
            return;
        }

        if (nd.PrevSibling != None)
        {
            _nodes[nd.PrevSibling].NextSibling = nd.NextSibling;
        }
        else
        {
            _nodes[nd.Parent].FirstChild = nd.NextSibling;
        }

        if (nd.NextSibling != None)
        {
            _nodes[nd.NextSibling].PrevSibling = nd.PrevSibling;
        }

        UnlinkChildHash(n);
        nd.Parent = None;
        nd.NextSibling = None;
        nd.PrevSibling = None;
        nd.ChildNext = None;
    }

    private void UnlinkChildHash(int n)
    {
        ref var head = ref _childBuckets[ChildHash(_nodes[n].Parent, NameOf(n)) & (_childBuckets.Length - 1)];
        if (head == n)
        {
            head = _nodes[n].ChildNext;
            return;
        }

        for (var p = head; p != None; p = _nodes[p].ChildNext)
        {
            if (_nodes[p].ChildNext == n)
            {
                _nodes[p].ChildNext = _nodes[n].ChildNext;
                return;
            }
        }
    }

    private void SetName(int n, ReadOnlySpan<byte> name)
    {
        ref var nd = ref _nodes[n];
        _namesGarbage += nd.NameLength;
        nd.NameLength = 0;
        if (_namesUsed + name.Length > _names.Length)
        {
            // The name may be a slice of the arena (another node's name): copy it out before the arena moves.
            var copy = name.Overlaps(_names) ? name.ToArray() : null;
            MakeRoom(name.Length);
            (copy is null ? name : copy).CopyTo(_names.AsSpan(_namesUsed));
        }
        else
        {
            name.CopyTo(_names.AsSpan(_namesUsed));
        }

        _nodes[n].NameOffset = _namesUsed;
        _nodes[n].NameLength = name.Length;
        _namesUsed += name.Length;
    }

    private void MakeRoom(int needed)
    {
        var live = _namesUsed - _namesGarbage;
        if (_namesGarbage >= MinGarbageToCompact && _namesGarbage > live)
        {
            CompactNames(Math.Max(_names.Length, (live + needed) * 2));
            if (_namesUsed + needed <= _names.Length)
            {
                return;
            }
        }

        var size = _names.Length;
        while (size < _namesUsed + needed)
        {
            size *= 2;
        }

        Array.Resize(ref _names, size);
    }

    private void CompactNamesIfWorthIt()
    {
        var live = _namesUsed - _namesGarbage;
        if (_namesGarbage >= MinGarbageToCompact && _namesGarbage > live)
        {
            // Shrinks too: a tree that lost most of its directories gives the memory back.
            CompactNames(Math.Max(256, live * 2));
        }
    }

    /// <summary>Copies every live name into a fresh arena of <paramref name="size"/> bytes, in node order.</summary>
    private void CompactNames(int size)
    {
        var fresh = new byte[size];
        var used = 0;
        for (var i = 0; i < _highWater; i++)
        {
            ref var nd = ref _nodes[i];
            if (nd.Wd == FreeWd || nd.NameLength == 0)
            {
                continue;
            }

            _names.AsSpan(nd.NameOffset, nd.NameLength).CopyTo(fresh.AsSpan(used));
            nd.NameOffset = used;
            used += nd.NameLength;
        }

        _names = fresh;
        _namesUsed = used;
        _namesGarbage = 0;
    }

    /// <summary>Doubles both bucket arrays and re-threads the hash chains (names are hashed again: keeping each
    /// node's hash would cost 4 bytes a directory for a step that happens a few times in the tree's life).</summary>
    private void GrowBuckets()
    {
        var size = _wdBuckets.Length * 2;
        _wdBuckets = NewBuckets(size);
        _childBuckets = NewBuckets(size);
        for (var i = 0; i < _highWater; i++)
        {
            ref var nd = ref _nodes[i];
            if (nd.Wd == FreeWd)
            {
                continue;
            }

            var wb = WdBucket(nd.Wd, size);
            nd.WdNext = _wdBuckets[wb];
            _wdBuckets[wb] = i;
            if (nd.Parent != None)
            {
                ref var cb = ref _childBuckets[ChildHash(nd.Parent, NameOf(i)) & (size - 1)];
                nd.ChildNext = cb;
                cb = i;
            }
        }
    }

    private static int[] NewBuckets(int capacity)
    {
        var buckets = new int[capacity];
        buckets.AsSpan().Fill(None);
        return buckets;
    }

    // wds are small consecutive integers, so the low bits spread them perfectly.
    private static int WdBucket(int wd, int capacity) => wd & (capacity - 1);

    // Seeded per process (HashCode), so names chosen to collide cannot be prepared in advance.
    private static int ChildHash(int parent, ReadOnlySpan<byte> name)
    {
        var hash = new HashCode();
        hash.Add(parent);
        hash.AddBytes(name);
        return hash.ToHashCode();
    }

    /// <summary>One directory: 36 bytes, no object.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct Node
    {
        public int Wd; // FreeWd while on the free list
        public int Parent;
        public int FirstChild;
        public int NextSibling; // the free list's link while free
        public int PrevSibling;
        public int NameOffset;
        public int NameLength;
        public int ChildNext; // chain of the (parent, name) bucket
        public int WdNext; // chain of the wd bucket
    }
}

internal sealed class ByteArrayComparer : IEqualityComparer<byte[]>
{
    public static ByteArrayComparer Instance { get; } = new();

    public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

    public int GetHashCode(byte[] obj)
    {
        var hash = new HashCode();
        hash.AddBytes(obj);
        return hash.ToHashCode();
    }
}
