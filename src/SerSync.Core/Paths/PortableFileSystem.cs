// Implementation notes. FileSystemBytes off Linux: the same calls on .NET's file APIs, which take and return names
// as strings. A byte path is decoded as strict UTF-8 (a path that is not UTF-8 fails with an IOException instead of
// turning into U+FFFD, which names another file), and a listed name is encoded back the same way; where the file
// system enforces UTF-8 names (macOS APFS and HFS+) that round trip is lossless. What the managed APIs cannot say is
// filled with values that keep the callers correct, listed on FileStatus. Errors are returned as errno values where
// FileSystemBytes returns one: ENOENT (2), EEXIST (17) and EIO (5) are the same on every Unix; anything else is the
// errno .NET put in the IOException (HResult is the platform's raw errno there).
using System.Text;

namespace SerSync.Paths;

/// <summary>
/// <see cref="FileSystemBytes"/> on managed APIs, for platforms where the glibc calls are not available. Callable on
/// Linux too (the unit tests compare it with the native one).
/// </summary>
internal static class PortableFileSystem
{
    private const int ENOENT = 2;
    private const int EIO = 5;
    private const int EEXIST = 17;

    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static readonly EnumerationOptions Listing = new()
    {
        RecurseSubdirectories = false,
        ReturnSpecialDirectories = false,
        IgnoreInaccessible = false,
        AttributesToSkip = 0,
        MatchType = MatchType.Simple,
    };

    /// <summary>As <see cref="FileSystemBytes.ListDirectory"/>; a symlink to a directory is listed (as opendir does).
    /// <see cref="DirectoryEntry.Inode"/> is 0 (unknown).</summary>
    public static List<DirectoryEntry>? ListDirectory(ReadOnlySpan<byte> path)
    {
        var text = Decode(path);
        try
        {
            var dir = new DirectoryInfo(text);
            if (!dir.Exists)
            {
                return null; // gone, or not a directory (ENOENT, ENOTDIR)
            }

            var entries = new List<DirectoryEntry>();
            foreach (var info in dir.EnumerateFileSystemInfos("*", Listing))
            {
                entries.Add(new DirectoryEntry(Strict.GetBytes(info.Name), TypeOf(info)));
            }

            return entries;
        }
        catch (DirectoryNotFoundException)
        {
            return null; // removed while listed
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new IOException($"cannot list {Describe(path)}: {ex.Message}", ex);
        }
    }

    /// <summary>As <see cref="FileSystemBytes.Stat"/> (the last symlink not followed), with the fields the managed
    /// APIs cannot give filled as <see cref="FileStatus"/> says.</summary>
    public static FileStatus? Stat(ReadOnlySpan<byte> path)
    {
        var text = Decode(path);
        try
        {
            FileSystemInfo info = new FileInfo(text);
            if (info.LinkTarget is null && !info.Exists)
            {
                info = new DirectoryInfo(text);
                if (!info.Exists)
                {
                    return null;
                }
            }

            var type = TypeOf(info);
            var mtime = new DateTimeOffset(info.LastWriteTimeUtc);
            var created = new DateTimeOffset(info.CreationTimeUtc);
            var size = type switch
            {
                EntryType.File => ((FileInfo)info).Length,
                EntryType.Symlink => Strict.GetByteCount(info.LinkTarget!), // lstat's st_size: the target's length
                _ => 0,
            };
            var mode = TypeBits(type) | PermissionBits(info, type);
            return new FileStatus(type, mode, 0, 0, size, 0, 0, mtime > created ? mtime : created) { LinkCount = 1, ModifyTime = mtime };
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new IOException($"cannot stat {Describe(path)}: {ex.Message}", ex);
        }
    }

    /// <summary>As <see cref="FileSystemBytes.OpenRead"/>: a symlink is refused (checked just before the open: a link
    /// put in its place in between is followed, which O_NOFOLLOW would have refused).</summary>
    public static Microsoft.Win32.SafeHandles.SafeFileHandle OpenRead(ReadOnlySpan<byte> path)
    {
        var text = Decode(path);
        try
        {
            if (new FileInfo(text).LinkTarget is not null)
            {
                throw new IOException($"cannot open {Describe(path)}: it is a symbolic link");
            }

            return File.OpenHandle(text, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new IOException($"cannot open {Describe(path)}: {ex.Message}", ex);
        }
    }

    /// <summary>As <see cref="FileSystemBytes.ReadLink"/>.</summary>
    public static byte[] ReadLink(ReadOnlySpan<byte> path)
    {
        var text = Decode(path);
        string? target;
        try
        {
            target = new FileInfo(text).LinkTarget;
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new IOException($"cannot read link {Describe(path)}: {ex.Message}", ex);
        }

        return target is null ? throw new IOException($"cannot read link {Describe(path)}: not a symbolic link") : Strict.GetBytes(target);
    }

    /// <summary>As <see cref="FileSystemBytes.TryCreateNew"/>.</summary>
    public static bool TryCreateNew(ReadOnlySpan<byte> path, int mode, out string? error)
    {
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = (UnixFileMode)(mode & 0xFFF);
            }

            using (new FileStream(Decode(path), options))
            {
            }

            error = null;
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            error = ex.Message;
            return false;
        }
    }

    /// <summary>As <see cref="FileSystemBytes.TryDelete"/>: a file or a symlink, never a directory.</summary>
    public static bool TryDelete(ReadOnlySpan<byte> path)
    {
        try
        {
            var info = new FileInfo(Decode(path));
            if (info.LinkTarget is null && !info.Exists)
            {
                return false; // gone, or a directory (unlink says EISDIR)
            }

            info.Delete();
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>As <see cref="FileSystemBytes.TryRename"/>, with two differences: a directory replaces an empty one
    /// at <paramref name="to"/> in two steps (removed, then moved: not atomic), and a file moved across file systems
    /// is copied and deleted by .NET instead of failing with EXDEV.</summary>
    public static int TryRename(ReadOnlySpan<byte> from, ReadOnlySpan<byte> to)
    {
        try
        {
            var source = Decode(from);
            var target = Decode(to);
            var status = Stat(from);
            if (status is null)
            {
                return ENOENT;
            }

            if (status.Value.Type == EntryType.Directory)
            {
                if (Directory.Exists(target) && new FileInfo(target).LinkTarget is null && !Directory.EnumerateFileSystemEntries(target).Any())
                {
                    Directory.Delete(target);
                }

                Directory.Move(source, target);
            }
            else
            {
                File.Move(source, target, overwrite: true);
            }

            return 0;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return ErrnoOf(ex);
        }
    }

    /// <summary>As <see cref="FileSystemBytes.TryCreateDirectory"/>: EEXIST when something is there already, ENOENT
    /// when the parent is missing (Directory.CreateDirectory would make both quietly).</summary>
    public static int TryCreateDirectory(ReadOnlySpan<byte> path, int mode)
    {
        try
        {
            if (Stat(path) is not null)
            {
                return EEXIST;
            }

            var text = Decode(path);
            var parent = Path.GetDirectoryName(text.TrimEnd('/'));
            if (parent is { Length: > 0 } && !Directory.Exists(parent))
            {
                return ENOENT;
            }

            if (OperatingSystem.IsWindows())
            {
                Directory.CreateDirectory(text);
            }
            else
            {
                Directory.CreateDirectory(text, (UnixFileMode)(mode & 0xFFF));
            }

            return 0;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return ErrnoOf(ex);
        }
    }

    private static EntryType TypeOf(FileSystemInfo info) =>
        info.LinkTarget is not null || info.Attributes.HasFlag(FileAttributes.ReparsePoint) ? EntryType.Symlink
        : info is DirectoryInfo || info.Attributes.HasFlag(FileAttributes.Directory) ? EntryType.Directory
        : EntryType.File; // a FIFO, socket or device too: the managed APIs do not tell them from files

    private static uint TypeBits(EntryType type) => type switch
    {
        EntryType.Directory => 0x4000, // S_IFDIR
        EntryType.Symlink => 0xA000, // S_IFLNK
        _ => 0x8000, // S_IFREG
    };

    private static uint PermissionBits(FileSystemInfo info, EntryType type)
    {
        if (type == EntryType.Symlink)
        {
            return 0x1FF; // 0777, as every symlink's lstat says on Linux and macOS
        }

        if (OperatingSystem.IsWindows())
        {
            var write = info.Attributes.HasFlag(FileAttributes.ReadOnly) ? 0u : 0x80u;
            return 0x124 | write | (type == EntryType.Directory ? 0x49u : 0u); // r--r--r-- (+w for the owner, +x for directories)
        }

        return (uint)info.UnixFileMode;
    }

    private static int ErrnoOf(Exception ex) => ex switch
    {
        FileNotFoundException or DirectoryNotFoundException => ENOENT,
        UnauthorizedAccessException => 13, // EACCES
        IOException { HResult: > 0 and < 4096 } io => io.HResult,
        _ => EIO,
    };

    /// <summary>The path as the managed APIs take it; a path that is not UTF-8 cannot be named through them.</summary>
    private static string Decode(ReadOnlySpan<byte> path)
    {
        try
        {
            return Strict.GetString(path);
        }
        catch (DecoderFallbackException ex)
        {
            throw new IOException($"{Describe(path)} is not UTF-8: file names on this platform go through .NET's string APIs", ex);
        }
    }

    private static string Describe(ReadOnlySpan<byte> path) => new RelativePath(path.ToArray()).ToString();
}
