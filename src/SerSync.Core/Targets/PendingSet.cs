using SerSync.Paths;

namespace SerSync.Targets;

/// <summary>How much of the tree at a pending path must be brought in line.</summary>
public enum Reach
{
    /// <summary>The entry itself: a file's content, a symlink, a directory's own attributes, or its absence.</summary>
    Self,

    /// <summary>A directory's immediate entries, deleting on the target what the source no longer has.</summary>
    Contents,

    /// <summary>The whole subtree (a directory created, moved in or deleted).</summary>
    Tree,
}

/// <summary>
/// A batch taken from a <see cref="PendingSet"/>: either a full sync of the root, or the paths to bring in line,
/// each as it is when rsync runs (or deleted on the target if it no longer exists).
/// </summary>
public sealed record Batch(bool FullSync, IReadOnlyList<(RelativePath Path, Reach Reach)> Entries, DateTimeOffset OldestChange, long Sequence)
{
    public int Count => FullSync ? 1 : Entries.Count;

    public IEnumerable<RelativePath> Paths => Entries.Select(e => e.Path);
}

/// <summary>
/// One target's pending changes, coalesced by path. rsync sends each listed path as it is when it runs (and deletes it
/// on the target when it is gone), so every change kind reduces to "this path is dirty" with a reach: a directory
/// that is created, moved in or deleted covers its whole subtree, so it swallows its descendants' pending entries
/// and absorbs later ones. A lost-events signal turns the set into one full sync. Not thread-safe: the owner
/// serialises access.
/// </summary>
public sealed class PendingSet
{
    private readonly Dictionary<RelativePath, Reach> _paths = [];
    private bool _fullSync;
    private long _sequence;

    public bool IsEmpty => !_fullSync && _paths.Count == 0;

    /// <summary>True when what is pending is a full sync of the root.</summary>
    public bool IsFullSync => _fullSync;

    public int Count => _fullSync ? 1 : _paths.Count;

    /// <summary>When the oldest change still waiting arrived.</summary>
    public DateTimeOffset? OldestChange { get; private set; }

    /// <summary>When the newest change arrived (coalesced or not): the quiet period runs from here.</summary>
    public DateTimeOffset? NewestChange { get; private set; }

    public static Reach ReachOf(FileChange change) => change.Kind switch
    {
        ChangeKind.UpsertTree => Reach.Tree,
        ChangeKind.Delete when change.IsDirectory => Reach.Tree,
        ChangeKind.UpsertContents => Reach.Contents,
        _ => Reach.Self,
    };

    /// <param name="sequence">The journal sequence of this change (0 when not journaled); a taken batch carries the
    /// highest, so a success acknowledges everything up to it.</param>
    public void Add(FileChange change, DateTimeOffset now, long sequence = 0)
    {
        OldestChange ??= now;
        NewestChange = now;
        _sequence = Math.Max(_sequence, sequence);
        if (change.Kind == ChangeKind.Rescan)
        {
            _fullSync = true;
            _paths.Clear();
            return;
        }

        Mark(change.Path, ReachOf(change));
    }

    /// <summary>Takes everything pending and leaves the set empty.</summary>
    public Batch Take()
    {
        var batch = new Batch(
            _fullSync,
            _fullSync ? [] : [.. _paths.OrderBy(p => p.Key).Select(p => (p.Key, p.Value))],
            OldestChange ?? DateTimeOffset.MinValue,
            _sequence);
        _fullSync = false;
        _paths.Clear();
        OldestChange = null;
        NewestChange = null;
        return batch;
    }

    /// <summary>Puts a batch that did not complete back, merged with whatever arrived meanwhile.</summary>
    public void Requeue(Batch batch, DateTimeOffset now)
    {
        OldestChange = OldestChange is { } o && o < batch.OldestChange ? o : batch.OldestChange;
        NewestChange ??= now;
        _sequence = Math.Max(_sequence, batch.Sequence);
        if (batch.FullSync)
        {
            _fullSync = true;
            _paths.Clear();
            return;
        }

        foreach (var (path, reach) in batch.Entries)
        {
            Mark(path, reach);
        }
    }

    /// <summary>
    /// Whether what is pending will bring <paramref name="path"/> in line: a full sync; the path itself; an ancestor
    /// whose whole tree is pending; its parent's entries; or anything below it (rsync <c>-R</c> sends a listed path's
    /// directories too, so a directory whose time moved because an entry changed is set right by that entry's batch).
    /// </summary>
    public bool Covers(RelativePath path)
    {
        if (_fullSync || _paths.ContainsKey(path) || CoveredByAncestor(path))
        {
            return true;
        }

        if (!path.IsRoot && _paths.TryGetValue(path.Parent, out var parent) && parent == Reach.Contents)
        {
            return true;
        }

        foreach (var pending in _paths.Keys)
        {
            if (pending.IsAtOrBelow(path))
            {
                return true;
            }
        }

        return false;
    }

    private void Mark(RelativePath path, Reach reach)
    {
        if (_fullSync || CoveredByAncestor(path))
        {
            return;
        }

        if (reach == Reach.Tree)
        {
            List<RelativePath>? below = null;
            foreach (var existing in _paths.Keys)
            {
                if (existing != path && existing.IsAtOrBelow(path))
                {
                    (below ??= []).Add(existing);
                }
            }

            below?.ForEach(p => _paths.Remove(p));
        }

        _paths[path] = _paths.TryGetValue(path, out var old) && old > reach ? old : reach;
    }

    private bool CoveredByAncestor(RelativePath path)
    {
        for (var p = path; ;)
        {
            if (_paths.TryGetValue(p, out var reach) && reach == Reach.Tree)
            {
                return true;
            }

            if (p.IsRoot)
            {
                return false;
            }

            p = p.Parent;
        }
    }
}
