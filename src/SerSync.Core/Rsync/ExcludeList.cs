using SerSync.Paths;

namespace SerSync.Rsync;

/// <summary>
/// Turns paths the config's regexes exclude into rsync exclude rules for the full push. rsync cannot evaluate
/// regexes, so the source tree is walked here, and each excluded path becomes one rule anchored at the transfer
/// root (<c>/a/b</c>). rsync reads a backslash as an escape only in a pattern that has a wildcard, so names with
/// <c>*?[</c> get every <c>*?[\</c> escaped and others go verbatim. Rules are NUL-terminated for <c>--from0</c>.
/// </summary>
public static class ExcludeList
{
    public static byte[] Encode(IEnumerable<RelativePath> excluded)
    {
        using var buffer = new MemoryStream();
        foreach (var path in excluded)
        {
            buffer.WriteByte((byte)'/');
            var bytes = path.Bytes;
            var wild = bytes.IndexOfAny("*?["u8) >= 0;
            foreach (var b in bytes)
            {
                if (wild && b is (byte)'*' or (byte)'?' or (byte)'[' or (byte)'\\')
                {
                    buffer.WriteByte((byte)'\\');
                }

                buffer.WriteByte(b);
            }

            buffer.WriteByte(0);
        }

        return buffer.ToArray();
    }

    /// <summary>
    /// Walks <paramref name="root"/> and returns every path <paramref name="isExcluded"/> rejects, without descending
    /// into excluded directories. Entries that vanish during the walk are skipped.
    /// </summary>
    public static List<RelativePath> Collect(string root, Func<RelativePath, bool, bool> isExcluded)
    {
        var rootBytes = FileSystemBytes.RootBytes(root); // encoded once, not per stat
        var result = new List<RelativePath>();
        var pending = new Stack<RelativePath>();
        pending.Push(RelativePath.Root);
        while (pending.Count > 0)
        {
            var dir = pending.Pop();
            var entries = FileSystemBytes.ListDirectory(FileSystemBytes.Combine(rootBytes, dir));
            if (entries is null)
            {
                continue;
            }

            foreach (var entry in entries)
            {
                var path = dir.Append(entry.Name);
                var type = entry.Type;
                if (type == EntryType.Unknown)
                {
                    type = FileSystemBytes.Stat(FileSystemBytes.Combine(rootBytes, path))?.Type ?? EntryType.Other;
                }

                var isDir = type == EntryType.Directory;
                if (isExcluded(path, isDir))
                {
                    result.Add(path);
                }
                else if (isDir)
                {
                    pending.Push(path);
                }
            }
        }

        return result;
    }
}
