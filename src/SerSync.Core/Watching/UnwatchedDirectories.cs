using SerSync.Paths;

namespace SerSync.Watching;

/// <summary>
/// The directories a watcher could not watch because max_user_watches was used up (and could not be raised): the
/// top of each unwatched subtree (its parent is watched, so its own creation, deletion and renames are still seen).
/// Each is rescanned every <see cref="Interval"/> until its watch can be placed. Per directory: its path and one
/// fingerprint of the subtree (null: not yet compared, so the next rescan syncs it).
/// </summary>
/// <remarks>The watcher's reader thread changes the set; status readers on other threads read
/// <see cref="Count"/> and <see cref="Sample"/>, so the set is under a leaf lock (never held across I/O).</remarks>
public sealed class UnwatchedDirectories(TimeProvider time)
{
    /// <summary>The rescan interval unless set otherwise: within the 2-10 s the README promises.</summary>
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(5);

    private readonly Lock _lock = new();
    private readonly Dictionary<RelativePath, ulong?> _entries = [];
    private long _nextDue;
    private int _count;

    /// <summary>How often the unwatched directories are rescanned (and their watches tried again).</summary>
    public TimeSpan Interval { get; set; } = DefaultInterval;

    /// <summary>Directories unwatched now.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Directories that became unwatched since this set was made (a directory counted once per episode).</summary>
    public long Total { get; private set; }

    /// <summary>Adds a directory; true when it was not in the set. The first one starts the rescan clock.</summary>
    public bool Add(RelativePath path)
    {
        lock (_lock)
        {
            if (!_entries.TryAdd(path, null))
            {
                return false;
            }

            if (_entries.Count == 1)
            {
                _nextDue = time.GetTimestamp() + ToTicks(Interval);
            }

            Total++;
            Volatile.Write(ref _count, _entries.Count);
            return true;
        }
    }

    /// <summary>Removes a directory (watched at last, or gone); true when it was in the set.</summary>
    public bool Remove(RelativePath path)
    {
        lock (_lock)
        {
            var removed = _entries.Remove(path);
            Volatile.Write(ref _count, _entries.Count);
            return removed;
        }
    }

    public bool Contains(RelativePath path)
    {
        lock (_lock)
        {
            return _entries.ContainsKey(path);
        }
    }

    /// <summary>The fingerprint last recorded for <paramref name="path"/> (null: none yet, or not in the set).</summary>
    public ulong? FingerprintOf(RelativePath path)
    {
        lock (_lock)
        {
            return _entries.TryGetValue(path, out var f) ? f : null;
        }
    }

    /// <summary>Records a subtree's fingerprint; ignored when the path left the set.</summary>
    public void SetFingerprint(RelativePath path, ulong? fingerprint)
    {
        lock (_lock)
        {
            if (_entries.ContainsKey(path))
            {
                _entries[path] = fingerprint;
            }
        }
    }

    /// <summary>The paths in the set now, in byte order (a copy: the rescan changes the set as it goes).</summary>
    public List<RelativePath> Paths()
    {
        lock (_lock)
        {
            var paths = _entries.Keys.ToList();
            paths.Sort();
            return paths;
        }
    }

    /// <summary>The first <paramref name="max"/> paths in byte order, for status.</summary>
    public IReadOnlyList<RelativePath> Sample(int max)
    {
        lock (_lock)
        {
            if (_entries.Count == 0)
            {
                return [];
            }

            var paths = _entries.Keys.ToList();
            paths.Sort();
            return paths.Count <= max ? paths : paths.GetRange(0, max);
        }
    }

    /// <summary>How long until the next rescan is due (zero when due); null when the set is empty.</summary>
    public TimeSpan? DueIn()
    {
        lock (_lock)
        {
            if (_entries.Count == 0)
            {
                return null;
            }

            var left = _nextDue - time.GetTimestamp();
            return left <= 0 ? TimeSpan.Zero : TimeSpan.FromSeconds((double)left / time.TimestampFrequency);
        }
    }

    /// <summary>True when the set is not empty and its rescan is due.</summary>
    public bool IsDue() => DueIn() == TimeSpan.Zero;

    /// <summary>A rescan ended: the next is one interval from now (not from when it was due, so a slow rescan never
    /// runs back to back).</summary>
    public void Rescanned()
    {
        lock (_lock)
        {
            _nextDue = time.GetTimestamp() + ToTicks(Interval);
        }
    }

    /// <summary>Forgets every entry (the watcher stopped, or its tree was rebuilt).</summary>
    public void Clear()
    {
        lock (_lock)
        {
            _entries.Clear();
            Volatile.Write(ref _count, 0);
        }
    }

    private long ToTicks(TimeSpan span) => (long)(span.TotalSeconds * time.TimestampFrequency);
}
