// Implementation notes. The kernel identifies a watch by its wd and a watch follows its inode: after a rename the
// same wd keeps reporting events for the directory at its new place, and inotify_add_watch on an inode already
// watched returns the existing wd. So the map is keyed by wd, each node knows only its parent and its own name, and
// a path is built on demand by walking up: moving a directory re-links one node and its whole subtree follows.
// wds are allocated cyclically (idr_alloc_cyclic), so a stale wd is not reused soon after it dies.

using SerSync.Paths;

namespace SerSync.Watching;

/// <summary>A watched directory.</summary>
internal sealed class WatchNode
{
    internal WatchNode(int wd, WatchNode? parent, byte[] name)
    {
        Wd = wd;
        Parent = parent;
        Name = name;
    }

    public int Wd { get; }

    public WatchNode? Parent { get; internal set; }

    /// <summary>The directory's own name (empty for the root).</summary>
    public byte[] Name { get; internal set; }

    internal Dictionary<byte[], WatchNode> Children { get; } = new(ByteArrayComparer.Instance);

    public IReadOnlyCollection<WatchNode> ChildNodes => Children.Values;
}

/// <summary>wd → directory map with parent links. Not thread-safe: only the watcher's thread touches it.</summary>
internal sealed class WatchTree
{
    private readonly Dictionary<int, WatchNode> _byWd = [];

    public WatchNode? Root { get; private set; }

    public int Count => _byWd.Count;

    public IEnumerable<int> Wds => _byWd.Keys;

    public WatchNode? Get(int wd) => _byWd.GetValueOrDefault(wd);

    public static WatchNode? FindChild(WatchNode parent, byte[] name) => parent.Children.GetValueOrDefault(name);

    /// <summary>
    /// Records that <paramref name="wd"/> watches <paramref name="name"/> under <paramref name="parent"/> (null: the
    /// root). A wd already known elsewhere is moved here with its subtree (the kernel says it is the same inode). A
    /// different node already at this place is stale: it is dropped with its subtree and its wds are added to
    /// <paramref name="displaced"/> so the caller can remove those watches.
    /// </summary>
    public WatchNode AddOrUpdate(int wd, WatchNode? parent, byte[] name, List<int> displaced)
    {
        if (parent is null)
        {
            if (Root is not null && Root.Wd != wd)
            {
                RemoveSubtree(Root, displaced);
            }

            var root = Get(wd) ?? new WatchNode(wd, null, []);
            Detach(root);
            root.Parent = null;
            root.Name = [];
            _byWd[wd] = root;
            Root = root;
            return root;
        }

        var existing = Get(wd);
        if (existing is not null)
        {
            Move(existing, parent, name, displaced);
            return existing;
        }

        if (parent.Children.TryGetValue(name, out var occupant))
        {
            RemoveSubtree(occupant, displaced);
        }

        var node = new WatchNode(wd, parent, name);
        parent.Children[name] = node;
        _byWd[wd] = node;
        return node;
    }

    /// <summary>Re-links <paramref name="node"/> (and so its whole subtree) as <paramref name="newName"/> under
    /// <paramref name="newParent"/>. A different node already there is dropped (a rename replaced it).</summary>
    public void Move(WatchNode node, WatchNode newParent, byte[] newName, List<int> displaced)
    {
        if (ReferenceEquals(node, Root))
        {
            throw new InvalidOperationException("the root cannot be moved inside its own tree");
        }

        for (var a = newParent; a is not null; a = a.Parent)
        {
            if (ReferenceEquals(a, node))
            {
                throw new InvalidOperationException("a directory cannot be moved below itself");
            }
        }

        if (newParent.Children.TryGetValue(newName, out var occupant) && !ReferenceEquals(occupant, node))
        {
            RemoveSubtree(occupant, displaced);
        }

        Detach(node);
        node.Parent = newParent;
        node.Name = newName;
        newParent.Children[newName] = node;
    }

    /// <summary>Forgets <paramref name="node"/> and everything below it; their wds go to <paramref name="removed"/>.</summary>
    public void RemoveSubtree(WatchNode node, List<int> removed)
    {
        Detach(node);
        if (ReferenceEquals(node, Root))
        {
            Root = null;
        }

        var stack = new Stack<WatchNode>();
        stack.Push(node);
        while (stack.Count > 0)
        {
            var n = stack.Pop();
            if (_byWd.TryGetValue(n.Wd, out var mapped) && ReferenceEquals(mapped, n))
            {
                _byWd.Remove(n.Wd);
                removed.Add(n.Wd);
            }

            foreach (var child in n.Children.Values)
            {
                stack.Push(child);
            }

            n.Children.Clear();
            n.Parent = null;
        }
    }

    public void Clear()
    {
        _byWd.Clear();
        Root = null;
    }

    /// <summary>The node's path relative to the root, built by walking the parent links.</summary>
    public static RelativePath GetPath(WatchNode node)
    {
        if (node.Parent is null)
        {
            return RelativePath.Root;
        }

        var parts = new List<byte[]>();
        var length = -1;
        for (var n = node; n.Parent is not null; n = n.Parent)
        {
            parts.Add(n.Name);
            length += n.Name.Length + 1;
        }

        var result = new byte[length];
        var pos = 0;
        for (var i = parts.Count - 1; i >= 0; i--)
        {
            parts[i].CopyTo(result, pos);
            pos += parts[i].Length;
            if (i > 0)
            {
                result[pos++] = (byte)'/';
            }
        }

        return new RelativePath(result);
    }

    private static void Detach(WatchNode node)
    {
        if (node.Parent is { } p && p.Children.TryGetValue(node.Name, out var current) && ReferenceEquals(current, node))
        {
            p.Children.Remove(node.Name);
        }
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
