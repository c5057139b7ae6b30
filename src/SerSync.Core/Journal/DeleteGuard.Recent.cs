using SerSync.Paths;

namespace SerSync.Journal;

public sealed partial class DeleteGuard
{
    /// <summary>At most this many recent names are kept; past it, new names are not (their deletes are judged).</summary>
    public const int MaxRecent = 1 << 16;

    // Names made (created or moved in) within the trailing window: a storm's or a build's churn. Their deletes
    // remove nothing the targets held before, so they pass unjudged (and never join a hold).
    private readonly Dictionary<RelativePath, DateTimeOffset> _recent = [];
    private readonly Queue<(RelativePath Path, DateTimeOffset At)> _recentOrder = new();

    /// <summary>Before the start-up replay: names the journal says were made shortly before the last stop or crash
    /// (<see cref="ChangeJournal.MadeRecently"/>), so a replayed delete of one is churn as it was live.</summary>
    public void NoteMadeBeforeStart(IEnumerable<RelativePath> paths)
    {
        if (!Enabled)
        {
            return;
        }

        lock (_lock)
        {
            var now = _time.GetUtcNow();
            foreach (var path in paths)
            {
                NoteMade(path, now);
            }
        }
    }

    /// <summary>Under <c>_lock</c>.</summary>
    private void NoteMade(RelativePath path, DateTimeOffset now)
    {
        if (_recent.Count >= MaxRecent)
        {
            return;
        }

        _recent[path] = now;
        _recentOrder.Enqueue((path, now));
    }

    /// <summary>Under <c>_lock</c>: the path, or a directory above it, was made within the trailing window.</summary>
    private bool MadeRecently(RelativePath path)
    {
        if (_recent.Count == 0)
        {
            return false;
        }

        for (var p = path; !p.IsRoot; p = p.Parent)
        {
            if (_recent.ContainsKey(p))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Under <c>_lock</c>.</summary>
    private void ExpireRecent(DateTimeOffset now)
    {
        while (_recentOrder.TryPeek(out var e) && now - e.At > Trailing)
        {
            _recentOrder.Dequeue();
            if (_recent.TryGetValue(e.Path, out var at) && at == e.At)
            {
                _recent.Remove(e.Path);
            }
        }
    }
}
