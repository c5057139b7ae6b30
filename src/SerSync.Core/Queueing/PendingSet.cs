using SerSync.Paths;
using SerSync.Watching;

namespace SerSync.Queueing;

/// <summary>
/// A batch taken from a <see cref="PendingSet"/>: either a full sync of the root, or the paths to bring in line
/// (each path is sent as it is at run time, or deleted on the target if it no longer exists).
/// </summary>
/// <param name="Entries">Each path, and whether it covers its subtree (a created, moved-in or deleted directory).</param>
public sealed record Batch(bool FullSync, IReadOnlyList<(RelativePath Path, bool CoversSubtree)> Entries, DateTimeOffset OldestChange)
{
    public int Count => FullSync ? 1 : Entries.Count;

    public IEnumerable<RelativePath> Paths => Entries.Select(e => e.Path);
}

/// <summary>
/// One target's pending changes, coalesced by path. Since rsync sends each listed path as it is when it runs (and
/// deletes it on the target when it is gone), every change kind reduces to "this path is dirty"; what differs is
/// reach: a dirty directory that is created, moved in or deleted covers its whole subtree, so it swallows its
/// descendants' pending entries and absorbs later ones. A lost-events signal turns the set into one full sync.
/// Not thread-safe: the owner serialises access.
/// </summary>
public sealed class PendingSet
{
    private readonly Dictionary<RelativePath, bool> _paths = []; // value: covers the subtree
    private bool _fullSync;

    public bool IsEmpty => !_fullSync && _paths.Count == 0;

    public int Count => _fullSync ? 1 : _paths.Count;

    /// <summary>When the oldest change still waiting arrived.</summary>
    public DateTimeOffset? OldestChange { get; private set; }

    /// <summary>When the newest change arrived (coalesced or not): the quiet period runs from here.</summary>
    public DateTimeOffset? NewestChange { get; private set; }

    public void Add(FileChange change, DateTimeOffset now)
    {
        OldestChange ??= now;
        NewestChange = now;
        if (change.Kind == ChangeKind.Rescan)
        {
            _fullSync = true;
            _paths.Clear();
            return;
        }

        var recursive = change.Kind == ChangeKind.UpsertTree || (change.Kind == ChangeKind.Delete && change.IsDirectory);
        Mark(change.Path, recursive);
    }

    /// <summary>Takes everything pending and leaves the set empty.</summary>
    public Batch Take()
    {
        var batch = new Batch(
            _fullSync,
            _fullSync ? [] : [.. _paths.OrderBy(p => p.Key).Select(p => (p.Key, p.Value))],
            OldestChange ?? DateTimeOffset.MinValue);
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
        if (batch.FullSync)
        {
            _fullSync = true;
            _paths.Clear();
            return;
        }

        foreach (var (path, coversSubtree) in batch.Entries)
        {
            Mark(path, coversSubtree);
        }
    }

    private void Mark(RelativePath path, bool recursive)
    {
        if (_fullSync || CoveredByAncestor(path))
        {
            return;
        }

        if (recursive)
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
            _paths[path] = true;
        }
        else
        {
            _paths.TryAdd(path, false);
        }
    }

    private bool CoveredByAncestor(RelativePath path)
    {
        for (var p = path; ;)
        {
            if (_paths.TryGetValue(p, out var covers) && covers)
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
