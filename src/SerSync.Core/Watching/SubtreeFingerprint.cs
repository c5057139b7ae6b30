// A change in an unwatched subtree is found by comparing a fingerprint of it between rescans: every entry's name,
// type, size, inode and ctime (ctime moves with every write, chmod, chown, link and rename, and a directory's with
// every entry added or removed). Entries are combined by a sum, so the listing order does not matter. ctime comes
// from the kernel's coarse clock (a few ms): a change within the same tick as the scan may leave it unchanged, so a
// scan that sees an entry changed within the last second reports "unsettled" and the next rescan syncs again.
using SerSync.Filtering;
using SerSync.Paths;

namespace SerSync.Watching;

/// <summary>The fingerprint of one directory's subtree (lstat of every entry, the excluded left out).</summary>
public static class SubtreeFingerprint
{
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(1);

    /// <summary>The fingerprint of <paramref name="directory"/> under <paramref name="rootBytes"/>; null when it is
    /// gone or not a directory. <paramref name="unsettled"/>: an entry changed within a second of
    /// <paramref name="now"/>, so an equal fingerprint next time proves nothing.</summary>
    public static ulong? Compute(ReadOnlySpan<byte> rootBytes, RelativePath directory, PathFilter filter, DateTimeOffset now, out bool unsettled)
    {
        ArgumentNullException.ThrowIfNull(filter);
        unsettled = false;
        var top = Stat(FileSystemBytes.Combine(rootBytes, directory));
        if (top is not { Type: EntryType.Directory } topStatus)
        {
            return null;
        }

        ulong sum = Mix(directory.Bytes, topStatus);
        unsettled |= topStatus.ChangeTime >= now - Settle;
        var stack = new Stack<RelativePath>();
        stack.Push(directory);
        while (stack.Count > 0)
        {
            var dir = stack.Pop();
            var entries = FileSystemBytes.ListDirectory(FileSystemBytes.Combine(rootBytes, dir));
            if (entries is null)
            {
                continue;
            }

            foreach (var entry in entries)
            {
                var child = dir.Append(entry.Name);
                var status = Stat(FileSystemBytes.Combine(rootBytes, child));
                if (status is not { } st || filter.IsExcludedBelowIncluded(child, st.Type == EntryType.Directory))
                {
                    continue;
                }

                sum += Mix(child.Bytes, st);
                unsettled |= st.ChangeTime >= now - Settle;
                if (st.Type == EntryType.Directory)
                {
                    stack.Push(child);
                }
            }
        }

        return sum;
    }

    private static FileStatus? Stat(byte[] path)
    {
        try
        {
            return FileSystemBytes.Stat(path);
        }
        catch (IOException)
        {
            return null; // unreadable (EACCES): left out, as rsync would fail on it too
        }
    }

    /// <summary>FNV-1a over the path, then the metadata folded in (a sum of these is order-independent).</summary>
    private static ulong Mix(ReadOnlySpan<byte> path, FileStatus st)
    {
        const ulong prime = 1099511628211;
        var h = 14695981039346656037;
        foreach (var b in path)
        {
            h = (h ^ b) * prime;
        }

        h = (h ^ (ulong)st.ChangeTime.UtcTicks) * prime;
        h = (h ^ (ulong)st.Size) * prime;
        h = (h ^ st.Inode) * prime;
        h = (h ^ st.Mode) * prime;
        return h ^ (h >> 29);
    }
}
