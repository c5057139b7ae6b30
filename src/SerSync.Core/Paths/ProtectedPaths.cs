namespace SerSync.Paths;

/// <summary>
/// Paths whose deletion on the targets waits for the delete guard (held, or settling in a burst). rsync deletes on
/// its own whenever it syncs a directory with deletion (a batch's <c>d/</c> entry, a gone ancestor listed through
/// <c>--delete-missing-args</c>, a full push), so each of those must leave these paths, and what is below them,
/// alone: an exclude rule protects a receiver's entry from <c>--delete</c>. An immutable snapshot, shared by the
/// target workers.
/// </summary>
public sealed class ProtectedPaths
{
    public static readonly ProtectedPaths None = new([]);

    private readonly HashSet<RelativePath> _paths;

    // Each directory on the way to a protected path, with its children on that way.
    private readonly Dictionary<RelativePath, HashSet<RelativePath>> _ways = [];

    public ProtectedPaths(IEnumerable<RelativePath> paths)
    {
        _paths = [.. paths];
        foreach (var path in _paths)
        {
            for (var child = path; !child.IsRoot; child = child.Parent)
            {
                if (!_ways.TryGetValue(child.Parent, out var children))
                {
                    _ways[child.Parent] = children = [];
                }

                if (!children.Add(child))
                {
                    break; // the way above is recorded already
                }
            }
        }
    }

    public int Count => _paths.Count;

    public bool IsEmpty => _paths.Count == 0;

    /// <summary>The path or one of its ancestors is protected.</summary>
    public bool Covers(RelativePath path)
    {
        if (_paths.Count == 0)
        {
            return false;
        }

        for (var p = path; !p.IsRoot; p = p.Parent)
        {
            if (_paths.Contains(p))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>A protected path is <paramref name="path"/> or below it.</summary>
    public bool Reaches(RelativePath path) => _paths.Contains(path) || _ways.ContainsKey(path);

    /// <summary>The children of <paramref name="directory"/> that are protected or lead to a protected path.</summary>
    public IReadOnlyCollection<RelativePath> ChildrenOf(RelativePath directory) =>
        _ways.TryGetValue(directory, out var children) ? children : [];
}
