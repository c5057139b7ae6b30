using SerSync.Paths;

namespace SerSync.Testing;

/// <summary>How <see cref="TreeComparer"/> compares.</summary>
public sealed class TreeCompareOptions
{
    /// <summary>Also compare permission bits (mode &amp; 07777) of files and directories, the roots included.</summary>
    public bool ComparePermissions { get; init; }

    /// <summary>Paths (relative to the roots) to skip on both sides; a skipped directory is skipped whole.</summary>
    public Func<RelativePath, bool>? Ignore { get; init; }

    /// <summary>Options that skip exactly these relative paths ('/'-separated, as UTF-8).</summary>
    public static TreeCompareOptions Ignoring(params IEnumerable<string> paths)
    {
        var set = paths.Select(RelativePath.FromString).ToHashSet();
        return new TreeCompareOptions { Ignore = set.Contains };
    }
}

/// <summary>
/// Compares two directory trees byte for byte through <see cref="FileSystemBytes"/>: names as raw bytes, entry types,
/// file contents, symlink targets and optionally permission bits. Symlinks are compared, never followed.
/// </summary>
public static class TreeComparer
{
    private const int BufferSize = 64 * 1024;

    /// <summary>Every difference as a readable line (names escaped by <see cref="RelativePath.ToString"/>); empty
    /// when the trees are equal.</summary>
    public static IReadOnlyList<string> Compare(string source, string destination, TreeCompareOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(destination);
        options ??= new TreeCompareOptions();
        var differences = new List<string>();
        var srcRoot = FileSystemBytes.Stat(FileSystemBytes.Combine(source, RelativePath.Root));
        var dstRoot = FileSystemBytes.Stat(FileSystemBytes.Combine(destination, RelativePath.Root));
        if (srcRoot?.Type != EntryType.Directory)
        {
            throw new ArgumentException($"source {source} is not a directory", nameof(source));
        }

        if (dstRoot?.Type != EntryType.Directory)
        {
            differences.Add($"destination root {destination} is {(dstRoot is null ? "missing" : dstRoot.Value.Type.ToString())}");
            return differences;
        }

        if (options.ComparePermissions)
        {
            ComparePermissions(RelativePath.Root, srcRoot.Value, dstRoot.Value, differences);
        }

        CompareDirectory(source, destination, RelativePath.Root, options, differences);
        return differences;
    }

    /// <summary>
    /// <see cref="Compare"/> for trees something is still writing to (rsync replacing a file as we read it, a
    /// directory vanishing): an I/O error retries the whole comparison, up to three times, and then is reported as a
    /// difference rather than thrown.
    /// </summary>
    public static IReadOnlyList<string> CompareRetrying(string source, string destination, TreeCompareOptions? options = null)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return Compare(source, destination, options);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                if (attempt == 3)
                {
                    return [$"comparison raced with a change: {e.Message}"];
                }
            }
        }
    }

    /// <summary>Fails the test listing the first differences when the trees differ.</summary>
    public static void AssertEqual(string source, string destination, TreeCompareOptions? options = null)
    {
        var differences = Compare(source, destination, options);
        if (differences.Count == 0)
        {
            return;
        }

        const int shown = 20;
        var lines = differences.Take(shown).Select(d => "  " + d);
        var more = differences.Count > shown ? $"\n  ... and {differences.Count - shown} more" : string.Empty;
        Assert.Fail($"{source} and {destination} differ in {differences.Count} place(s):\n{string.Join('\n', lines)}{more}");
    }

    private static void CompareDirectory(string source, string destination, RelativePath dir, TreeCompareOptions options, List<string> differences)
    {
        var srcEntries = List(source, dir);
        var dstEntries = List(destination, dir);
        var names = new SortedSet<RelativePath>();
        foreach (var name in srcEntries.Concat(dstEntries))
        {
            names.Add(dir.Append(name));
        }

        foreach (var path in names)
        {
            if (options.Ignore?.Invoke(path) == true)
            {
                continue;
            }

            var src = FileSystemBytes.Stat(FileSystemBytes.Combine(source, path));
            var dst = FileSystemBytes.Stat(FileSystemBytes.Combine(destination, path));
            if (src is null && dst is null)
            {
                continue; // vanished from both while we looked
            }

            if (dst is null)
            {
                differences.Add($"missing in destination: {path} ({Describe(src!.Value.Type)})");
                continue;
            }

            if (src is null)
            {
                differences.Add($"extra in destination: {path} ({Describe(dst.Value.Type)})");
                continue;
            }

            if (src.Value.Type != dst.Value.Type)
            {
                differences.Add($"type differs: {path}: source is {Describe(src.Value.Type)}, destination is {Describe(dst.Value.Type)}");
                continue;
            }

            switch (src.Value.Type)
            {
                case EntryType.File:
                    CompareContents(source, destination, path, src.Value, dst.Value, differences);
                    if (options.ComparePermissions)
                    {
                        ComparePermissions(path, src.Value, dst.Value, differences);
                    }

                    break;
                case EntryType.Symlink:
                    var srcTarget = FileSystemBytes.ReadLink(FileSystemBytes.Combine(source, path));
                    var dstTarget = FileSystemBytes.ReadLink(FileSystemBytes.Combine(destination, path));
                    if (!srcTarget.AsSpan().SequenceEqual(dstTarget))
                    {
                        differences.Add($"symlink target differs: {path}: source -> {new RelativePath(srcTarget)}, destination -> {new RelativePath(dstTarget)}");
                    }

                    break;
                case EntryType.Directory:
                    if (options.ComparePermissions)
                    {
                        ComparePermissions(path, src.Value, dst.Value, differences);
                    }

                    CompareDirectory(source, destination, path, options, differences);
                    break;
                default:
                    break; // fifos, sockets, devices: same type is all we check
            }
        }
    }

    private static List<byte[]> List(string root, RelativePath dir)
    {
        var entries = FileSystemBytes.ListDirectory(FileSystemBytes.Combine(root, dir));
        return entries is null ? [] : [.. entries.Select(e => e.Name)];
    }

    private static void CompareContents(string source, string destination, RelativePath path, FileStatus src, FileStatus dst, List<string> differences)
    {
        if (src.Size != dst.Size)
        {
            differences.Add($"size differs: {path}: source {src.Size} bytes, destination {dst.Size} bytes");
            return;
        }

        using var a = FileSystemBytes.OpenRead(FileSystemBytes.Combine(source, path));
        using var b = FileSystemBytes.OpenRead(FileSystemBytes.Combine(destination, path));
        var bufA = new byte[BufferSize];
        var bufB = new byte[BufferSize];
        long offset = 0;
        while (true)
        {
            var n = ReadFull(a, bufA, offset);
            var m = ReadFull(b, bufB, offset);
            var common = Math.Min(n, m);
            var mismatch = bufA.AsSpan(0, common).CommonPrefixLength(bufB.AsSpan(0, common));
            if (mismatch < common || n != m)
            {
                differences.Add($"content differs: {path}: first difference at byte {offset + mismatch}");
                return;
            }

            if (n == 0)
            {
                return;
            }

            offset += n;
        }
    }

    private static int ReadFull(Microsoft.Win32.SafeHandles.SafeFileHandle handle, byte[] buffer, long offset)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var n = RandomAccess.Read(handle, buffer.AsSpan(total), offset + total);
            if (n == 0)
            {
                break;
            }

            total += n;
        }

        return total;
    }

    private static void ComparePermissions(RelativePath path, FileStatus src, FileStatus dst, List<string> differences)
    {
        var a = src.Mode & 0xFFF;
        var b = dst.Mode & 0xFFF;
        if (a != b)
        {
            var name = path.IsRoot ? "(root)" : path.ToString();
            differences.Add($"permissions differ: {name}: source {Convert.ToString(a, 8)}, destination {Convert.ToString(b, 8)}");
        }
    }

    private static string Describe(EntryType type) => type switch
    {
        EntryType.File => "file",
        EntryType.Directory => "directory",
        EntryType.Symlink => "symlink",
        _ => "special file",
    };
}
