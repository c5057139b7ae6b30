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

/// <summary>A rename inside the tree that a target may replay (<c>rename(2)</c>, a remote <c>mv</c>) before rsync
/// runs over both paths.</summary>
public readonly record struct PathMove(RelativePath From, RelativePath To, bool IsDirectory);

/// <summary>
/// A batch taken from a <see cref="PendingSet"/>: either a full sync of the root, or the paths to bring in line,
/// each as it is when rsync runs (or deleted on the target if it no longer exists).
/// </summary>
/// <param name="Moves">Renames to replay on the target, in the order they happened, before rsync runs over
/// <paramref name="Entries"/> (which hold both paths of each, so a move not replayed is a delete and a send).</param>
public sealed record Batch(bool FullSync, IReadOnlyList<(RelativePath Path, Reach Reach)> Entries, DateTimeOffset OldestChange, long Sequence, IReadOnlyList<PathMove>? Moves = null)
{
    public IReadOnlyList<PathMove> MovesInOrder => Moves ?? [];

    public int Count => FullSync ? 1 : Entries.Count;

    public IEnumerable<RelativePath> Paths => Entries.Select(e => e.Path);
}

/// <summary>
/// One target's pending changes, coalesced by path. rsync sends each listed path as it is when it runs (and deletes it
/// on the target when it is gone), so every change kind reduces to "this path is dirty" with a reach: a directory
/// that is created, moved in or deleted covers its whole subtree, so it swallows its descendants' pending entries
/// and absorbs later ones. A lost-events signal turns the set into one full sync. Not thread-safe: the owner
/// serialises access.
/// Beside the dirty paths it keeps the renames (a <c>MoveTo</c> with <see cref="FileChange.MovedFrom"/>) in order,
/// but only those whose old path the target holds as the source had it before the move, as far as this set can
/// tell: the old path is not pending, or is pending only as the new path of an earlier kept move (a chain, a swap).
/// A path written or created and then renamed (the atomic-save pattern: the target never had the temporary file)
/// is a delete and a send, never a rename that would fail.
/// </summary>
public sealed class PendingSet
{
    private readonly Dictionary<RelativePath, Reach> _paths = [];
    private readonly List<PathMove> _moves = [];

    // New paths of kept moves not changed since: the target will hold them once the moves before are replayed.
    private readonly HashSet<RelativePath> _moveTargets = [];

    // Paths changed (other than by a kept move) while a kept move exists: those below a moved directory are not
    // in _paths (its tree covers them), yet the target does not hold them.
    private readonly HashSet<RelativePath> _changedSinceMoves = [];

    // The MoveFrom half just added, and whether its path was clean (see above) before that half marked it.
    private (RelativePath Path, bool Clean, bool Follows)? _lastMoveFrom;
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
            ForgetMoves();
            return;
        }

        var moveFrom = _lastMoveFrom;
        _lastMoveFrom = null;
        if (!_fullSync)
        {
            var kept = false;
            if (change is { Kind: ChangeKind.Delete, Event: ChangeEvent.MoveFrom })
            {
                _lastMoveFrom = (change.Path, IsClean(change.Path), change.MoveToFollows);
            }
            else if (change.MovedFrom is { } from && moveFrom is { Clean: true } f && f.Path == from
                && change.Kind is ChangeKind.Upsert or ChangeKind.UpsertTree && from != change.Path)
            {
                _moves.Add(new PathMove(from, change.Path, change.IsDirectory));
                kept = true;
            }

            // Whatever else happened at a path, an earlier move's result there is no longer what the source has.
            if (kept)
            {
                _moveTargets.Add(change.Path);
                _changedSinceMoves.Remove(change.Path);
            }
            else if (_moveTargets.Count > 0)
            {
                _moveTargets.Remove(change.Path);
                _changedSinceMoves.Add(change.Path); // below a moved directory it is not in _paths (covered)
            }
        }

        Mark(change.Path, ReachOf(change));
    }

    /// <summary>True while the last change is the first half of a rename whose second half comes next: taken now,
    /// the batch would send the delete alone and the rename could no longer be replayed.</summary>
    public bool AwaitsMoveTo => _lastMoveFrom is { Follows: true };

    /// <summary>The renames kept so far, in order (for tests and status).</summary>
    public IReadOnlyList<PathMove> Moves => _moves;

    /// <summary>Whether the target holds <paramref name="path"/> as the source had it, as far as this set can tell:
    /// nothing pending at it or over it, or only a kept move that put it there.</summary>
    private bool IsClean(RelativePath path)
    {
        if (_moveTargets.Contains(path))
        {
            return true; // the new path of a kept move, untouched since: a chain or a swap
        }

        if (_paths.ContainsKey(path) || _changedSinceMoves.Contains(path))
        {
            return false; // written, created or deleted and not sent: the target may not have it
        }

        for (var p = path; !p.IsRoot;)
        {
            p = p.Parent;
            if (_moveTargets.Contains(p))
            {
                return true; // below a moved directory, which took what was below its old path along
            }

            if (_paths.TryGetValue(p, out var reach) && reach == Reach.Tree)
            {
                return false; // below a directory created, deleted or moved in from outside
            }
        }

        return true;
    }

    private void ForgetMoves()
    {
        _moves.Clear();
        _moveTargets.Clear();
        _changedSinceMoves.Clear();
        _lastMoveFrom = null;
    }

    /// <summary>Takes everything pending and leaves the set empty.</summary>
    public Batch Take()
    {
        var batch = new Batch(
            _fullSync,
            _fullSync ? [] : [.. _paths.OrderBy(p => p.Key).Select(p => (p.Key, p.Value))],
            OldestChange ?? DateTimeOffset.MinValue,
            _sequence,
            _fullSync || _moves.Count == 0 ? null : [.. _moves]);
        _fullSync = false;
        _paths.Clear();
        ForgetMoves();
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
            ForgetMoves();
            return;
        }

        if (!_fullSync && batch.MovesInOrder.Count > 0)
        {
            // Moves not yet replayed happened before anything that arrived meanwhile: they go first. Their new paths
            // stay clean only where nothing newer touched them, which the set cannot tell now: not marked clean.
            _moves.InsertRange(0, batch.MovesInOrder);
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
