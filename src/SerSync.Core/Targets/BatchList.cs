using SerSync.Filtering;
using SerSync.Paths;
using SerSync.Rsync;

namespace SerSync.Targets;

/// <summary>What one live rsync run reads: the NUL-separated path list for stdin, and anchored excludes (or null).</summary>
public sealed record BatchList(byte[] Paths, byte[]? Excludes, int Count);

/// <summary>
/// Turns a batch into rsync's <c>--files-from</c> list, reading the tree as it is now. rsync runs with
/// <c>--no-r -d</c>, so each entry says exactly how far it reaches: <c>p</c> is the entry itself (or, when gone,
/// its deletion with everything below, through <c>--delete-missing-args</c>); <c>d/</c> is a directory's immediate
/// entries with deletion of what the source no longer has. Entries are written <c>./p</c>. A whole new tree is listed as <c>d/</c> for each of its
/// directories, walked here with the filter, so excluded directories are skipped and excluded entries inside listed
/// directories go into the exclude list (which also keeps them on the target). With <paramref name="links"/> (a
/// <c>-H</c> target) every listed non-directory with more than one link brings its other names in the tree along,
/// so rsync sees the whole group in one file list and links them on the target (<see cref="LinkGroups"/>). With
/// <paramref name="keep"/> (what the delete guard holds or has not judged yet) a listed directory's protected
/// children that the source no longer has go into the exclude list, so its deletion-aware sync leaves them on the
/// target, and a gone path that leads to one is not listed at all (its deletes go through the guard).
/// </summary>
public static class BatchListBuilder
{
    public static BatchList Build(string root, Batch batch, PathFilter? filter, LinkGroups? links = null, ProtectedPaths? keep = null)
    {
        keep ??= ProtectedPaths.None;
        using var paths = new MemoryStream();
        var rootBytes = FileSystemBytes.RootBytes(root); // encoded once, not per stat
        var excluded = new List<RelativePath>();
        var count = 0;
        var useRules = filter is { HasRules: true };
        var linked = links is null ? null : new List<(RelativePath Path, FileStatus Status)>();
        var listedContents = links is null ? null : new HashSet<RelativePath>();

        void Add(RelativePath path, bool contents)
        {
            // Every entry starts with "./": rsync reads a --files-from line starting with '#' or ';' as a comment,
            // even with --from0, so a root-level "#hash" would silently never be sent. "./" is also -R's marker.
            paths.Write("."u8);
            if (!path.IsRoot)
            {
                paths.WriteByte((byte)'/');
                paths.Write(path.Bytes);
            }

            if (contents)
            {
                paths.WriteByte((byte)'/');
            }

            paths.WriteByte(0);
            count++;
        }

        // Lists a directory's immediate entries for deletion-aware sync; returns its subdirectories to descend into.
        List<RelativePath> AddContents(RelativePath dir)
        {
            Add(dir, contents: true);
            var subdirs = new List<RelativePath>();
            var entries = FileSystemBytes.ListDirectory(FileSystemBytes.Combine(rootBytes, dir));
            var kept = keep.ChildrenOf(dir);
            var present = kept.Count == 0 ? null : new Dictionary<RelativePath, bool>(); // is a directory
            foreach (var entry in entries ?? [])
            {
                var child = dir.Append(entry.Name);
                var type = entry.Type == EntryType.Unknown ? FileSystemBytes.Stat(FileSystemBytes.Combine(rootBytes, child))?.Type ?? EntryType.Other : entry.Type;
                var isDir = type == EntryType.Directory;
                present?.Add(child, isDir);
                if (useRules && filter!.IsExcluded(child, isDir))
                {
                    excluded.Add(child);
                }
                else if (isDir)
                {
                    subdirs.Add(child);
                }
                else if (linked is not null && FileSystemBytes.Stat(FileSystemBytes.Combine(rootBytes, child)) is { LinkCount: > 1 } st
                    && st.Type != EntryType.Directory)
                {
                    linked.Add((child, st));
                }
            }

            if (present is not null)
            {
                // Gone from the source, its delete held or settling (or a file where a directory with such entries
                // was): rsync would delete it here, past the guard.
                excluded.AddRange(kept.Where(k => !present.TryGetValue(k, out var isDir) || (!isDir && keep.ChildrenOf(k).Count > 0)));
            }

            listedContents?.Add(dir);
            return subdirs;
        }

        var gone = new HashSet<RelativePath>();
        foreach (var (path, reach) in batch.Entries)
        {
            var status = FileSystemBytes.Stat(FileSystemBytes.Combine(rootBytes, path));
            if (status is null)
            {
                // Gone: list the highest ancestor that is gone too. rsync -R cannot delete a path whose parent is
                // absent from the source (exit 24 on every try); deleting the gone ancestor covers it.
                var top = path;
                while (!top.Parent.IsRoot && FileSystemBytes.Stat(FileSystemBytes.Combine(rootBytes, top.Parent)) is null)
                {
                    top = top.Parent;
                }

                if (keep.Covers(path) || keep.Reaches(top))
                {
                    continue; // the guard holds (or judges) deletes there: they go with it, not past it
                }

                if (gone.Add(top))
                {
                    Add(top, contents: false);
                    if (top != path || reach == Reach.Tree)
                    {
                        links?.Forget(top); // a directory: the names held below it go too
                    }
                    else
                    {
                        links?.ForgetName(top);
                    }
                }

                continue;
            }

            if (reach == Reach.Self || status.Value.Type != EntryType.Directory)
            {
                Add(path, contents: false);
                if (linked is not null && status.Value.Type != EntryType.Directory)
                {
                    if (status.Value.LinkCount > 1)
                    {
                        linked.Add((path, status.Value));
                    }
                    else
                    {
                        links!.ForgetName(path); // its other names are gone: no group to keep
                    }
                }

                continue;
            }

            if (reach == Reach.Contents)
            {
                AddContents(path);
                continue;
            }

            var pending = new Stack<RelativePath>();
            pending.Push(path);
            while (pending.Count > 0)
            {
                foreach (var sub in AddContents(pending.Pop()))
                {
                    pending.Push(sub);
                }
            }
        }

        if (linked is { Count: > 0 })
        {
            // A name inside a directory listed for its contents is in rsync's list already.
            foreach (var other in links!.OtherNames(linked).Distinct().Order())
            {
                if (!listedContents!.Contains(other.Parent))
                {
                    Add(other, contents: false);
                }
            }
        }

        return new BatchList(paths.ToArray(), excluded.Count > 0 ? ExcludeList.Encode(excluded) : null, count);
    }
}
