using SerSync.Filtering;
using SerSync.Paths;
using SerSync.Targets;

namespace SerSync.Journal;

/// <summary>
/// Finds what changed under a root since a point in time, for changes nobody journaled (made while the daemon was
/// down, or still in the kernel's inotify queue when it died). It relies on ctime, which the kernel sets on every
/// content, attribute or name change and which no user can set back: a file whose ctime is recent is sent; a
/// directory whose ctime is recent had entries added, removed or renamed, so its immediate entries are brought in
/// line with deletion (<see cref="ChangeKind.UpsertContents"/>). Nothing is sent whole, so this is no full push.
/// </summary>
public static class CatchUpScan
{
    public static List<FileChange> Find(string root, DateTimeOffset since, PathFilter filter) =>
        [.. FindWithTimes(root, since, filter).Select(f => f.Change)];

    /// <summary>As <see cref="Find"/>, with the ctime that made each path count.</summary>
    /// <param name="heartbeat">Beaten once per directory: a scan of a big tree is work that progresses.</param>
    public static List<(FileChange Change, DateTimeOffset ChangeTime)> FindWithTimes(string root, DateTimeOffset since, PathFilter filter, Heartbeat? heartbeat = null)
    {
        var changes = new List<(FileChange, DateTimeOffset)>();
        var rootBytes = FileSystemBytes.RootBytes(root); // encoded once, not per stat
        var pending = new Stack<RelativePath>();
        pending.Push(RelativePath.Root);
        while (pending.Count > 0)
        {
            var dir = pending.Pop();
            heartbeat?.Beat();
            var self = FileSystemBytes.Stat(FileSystemBytes.Combine(rootBytes, dir));
            if (self is not { Type: EntryType.Directory })
            {
                continue;
            }

            if (self.Value.ChangeTime >= since)
            {
                changes.Add((new FileChange(ChangeKind.UpsertContents, dir, true), self.Value.ChangeTime));
            }

            foreach (var entry in FileSystemBytes.ListDirectory(FileSystemBytes.Combine(rootBytes, dir)) ?? [])
            {
                var path = dir.Append(entry.Name);
                if (entry.Type == EntryType.Directory)
                {
                    if (!filter.IsExcluded(path, isDirectory: true))
                    {
                        pending.Push(path);
                    }

                    continue;
                }

                var status = FileSystemBytes.Stat(FileSystemBytes.Combine(rootBytes, path));
                if (status is null)
                {
                    continue; // vanished meanwhile: the watcher reports it
                }

                if (status.Value.Type == EntryType.Directory)
                {
                    if (!filter.IsExcluded(path, isDirectory: true))
                    {
                        pending.Push(path);
                    }
                }
                else if (status.Value.ChangeTime >= since && !filter.IsExcluded(path, isDirectory: false))
                {
                    changes.Add((new FileChange(ChangeKind.Upsert, path, false), status.Value.ChangeTime));
                }
            }
        }

        return changes;
    }
}
