using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using Microsoft.Win32.SafeHandles;
using SerSync.Interop;

namespace SerSync.Paths;

public enum EntryType
{
    Unknown,
    Directory,
    File,
    Symlink,
    Other,
}

/// <summary>One directory entry: its raw name bytes and what it is.</summary>
public readonly record struct DirectoryEntry(byte[] Name, EntryType Type)
{
    /// <summary>d_ino: the inode number the directory holds for the name (st_ino on the usual file systems; a
    /// mount point's is the covered directory's). Free with the listing, so a search for a hard link's other
    /// names reads directories, not one stat per file.</summary>
    public ulong Inode { get; init; }
}

/// <summary>What <c>lstat</c> says of a path (through statx, which never follows the last symlink here).</summary>
/// <remarks>Off Linux (<see cref="PortableFileSystem"/>, .NET's managed APIs) some fields cannot be read and hold
/// stand-ins chosen so that callers stay correct, losing only what each says:
/// <list type="bullet">
/// <item><see cref="Inode"/> and <see cref="Device"/> are 0, "unknown": hard links are not grouped (see also
/// <see cref="LinkCount"/>), a subtree fingerprint does not see a file replaced by one alike in size, times and
/// mode.</item>
/// <item><see cref="LinkCount"/> is 1: every file is its only name, so rsync gets no hard-link group.</item>
/// <item><see cref="ChangeTime"/> is the later of the modification time and the creation (birth) time: a rename or
/// a chmod does not move it, so the catch-up scan misses those while the daemon was down.</item>
/// <item><see cref="Uid"/> and <see cref="Gid"/> are 0: the password file's owner check passes (rsync checks it
/// again itself).</item>
/// <item><see cref="Mode"/> has real permission bits; its type bits say directory, symlink or regular file, a FIFO,
/// socket or device being reported as a regular file.</item>
/// <item><see cref="Size"/> of a directory is 0.</item>
/// </list></remarks>
public readonly record struct FileStatus(EntryType Type, uint Mode, uint Uid, uint Gid, long Size, ulong Inode, ulong Device, DateTimeOffset ChangeTime)
{
    /// <summary>Hard links to the inode (st_nlink).</summary>
    public uint LinkCount { get; init; }

    /// <summary>st_mtime: set by writes, and by anyone (touch -d, rsync -t) to any value, so it proves less than
    /// <see cref="ChangeTime"/>; the polling watcher compares both.</summary>
    public DateTimeOffset ModifyTime { get; init; }
}

/// <summary>
/// File-system calls on byte paths (absolute, or relative to the working directory). Names are never decoded, so a
/// name that is not UTF-8 can still be listed, stat'ed and opened. That is the Linux implementation (glibc); on other
/// systems each call goes to <see cref="PortableFileSystem"/>, where names are UTF-8.
/// </summary>
public static class FileSystemBytes
{
    /// <summary>Lists a directory without following it if it is a symlink. Null when it vanished or is not a
    /// directory (a race with the writer is normal, not an error); other failures throw.</summary>
    public static List<DirectoryEntry>? ListDirectory(ReadOnlySpan<byte> path) =>
        OperatingSystem.IsLinux() ? LinuxListDirectory(path) : PortableFileSystem.ListDirectory(path);

    [SupportedOSPlatform("linux")]
    private static unsafe List<DirectoryEntry>? LinuxListDirectory(ReadOnlySpan<byte> path)
    {
        var cpath = Libc.ToCString(path);
        nint dir;
        fixed (byte* p = cpath)
        {
            dir = Libc.opendir(p);
        }

        if (dir == 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno is Libc.ENOENT or Libc.ENOTDIR)
            {
                return null;
            }

            throw new IOException($"cannot list {Describe(path)}: {Marshal.GetPInvokeErrorMessage(errno)}");
        }

        try
        {
            var entries = new List<DirectoryEntry>();
            while (true)
            {
                Marshal.SetLastPInvokeError(0);
                var ent = Libc.readdir(dir);
                if (ent == 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    if (errno != 0)
                    {
                        throw new IOException($"cannot list {Describe(path)}: {Marshal.GetPInvokeErrorMessage(errno)}");
                    }

                    return entries;
                }

                // glibc's 64-bit struct dirent: d_ino(8) d_off(8) d_reclen(2) d_type(1) d_name[].
                var dtype = *((byte*)ent + 18);
                var name = MemoryMarshal.CreateReadOnlySpanFromNullTerminated((byte*)ent + 19);
                if (name.SequenceEqual("."u8) || name.SequenceEqual(".."u8))
                {
                    continue;
                }

                var type = dtype switch
                {
                    Libc.DT_DIR => EntryType.Directory,
                    Libc.DT_REG => EntryType.File,
                    Libc.DT_LNK => EntryType.Symlink,
                    Libc.DT_UNKNOWN => EntryType.Unknown,
                    _ => EntryType.Other,
                };
                entries.Add(new DirectoryEntry(name.ToArray(), type) { Inode = *(ulong*)ent });
            }
        }
        finally
        {
            _ = Libc.closedir(dir);
        }
    }

    /// <summary>lstat; null when the path does not exist.</summary>
    public static FileStatus? Stat(ReadOnlySpan<byte> path) =>
        OperatingSystem.IsLinux() ? LinuxStat(path) : PortableFileSystem.Stat(path);

    [SupportedOSPlatform("linux")]
    private static unsafe FileStatus? LinuxStat(ReadOnlySpan<byte> path)
    {
        var cpath = Libc.ToCString(path);
        Libc.Statx st;
        int rc;
        fixed (byte* p = cpath)
        {
            rc = Libc.statx(Libc.AT_FDCWD, p, Libc.AT_SYMLINK_NOFOLLOW, Libc.STATX_BASIC_STATS, &st);
        }

        if (rc != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno is Libc.ENOENT or Libc.ENOTDIR)
            {
                return null;
            }

            throw new IOException($"cannot stat {Describe(path)}: {Marshal.GetPInvokeErrorMessage(errno)}");
        }

        var type = (st.Mode & Libc.S_IFMT) switch
        {
            Libc.S_IFDIR => EntryType.Directory,
            Libc.S_IFREG => EntryType.File,
            Libc.S_IFLNK => EntryType.Symlink,
            _ => EntryType.Other,
        };
        var device = ((ulong)st.DevMajor << 32) | st.DevMinor;
        var ctime = DateTimeOffset.FromUnixTimeSeconds(st.Ctime.Seconds).AddTicks(st.Ctime.Nanoseconds / 100);
        var mtime = DateTimeOffset.FromUnixTimeSeconds(st.Mtime.Seconds).AddTicks(st.Mtime.Nanoseconds / 100);
        return new FileStatus(type, st.Mode, st.Uid, st.Gid, (long)st.Size, st.Ino, device, ctime) { LinkCount = st.Nlink, ModifyTime = mtime };
    }

    /// <summary>Opens a regular file for reading without following a final symlink.</summary>
    public static SafeFileHandle OpenRead(ReadOnlySpan<byte> path) =>
        OperatingSystem.IsLinux() ? LinuxOpenRead(path) : PortableFileSystem.OpenRead(path);

    [SupportedOSPlatform("linux")]
    private static unsafe SafeFileHandle LinuxOpenRead(ReadOnlySpan<byte> path)
    {
        var cpath = Libc.ToCString(path);
        int fd;
        fixed (byte* p = cpath)
        {
            fd = Libc.open(p, Libc.O_RDONLY | Libc.O_CLOEXEC | Libc.O_NOFOLLOW, 0);
        }

        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new IOException($"cannot open {Describe(path)}: {Marshal.GetPInvokeErrorMessage(errno)}");
        }

        return new SafeFileHandle(fd, ownsHandle: true);
    }

    /// <summary>The target bytes of a symlink.</summary>
    public static byte[] ReadLink(ReadOnlySpan<byte> path) =>
        OperatingSystem.IsLinux() ? LinuxReadLink(path) : PortableFileSystem.ReadLink(path);

    [SupportedOSPlatform("linux")]
    private static unsafe byte[] LinuxReadLink(ReadOnlySpan<byte> path)
    {
        var cpath = Libc.ToCString(path);
        var buf = new byte[4096];
        nint n;
        fixed (byte* p = cpath)
        fixed (byte* b = buf)
        {
            n = Libc.readlink(p, b, buf.Length);
        }

        if (n < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new IOException($"cannot read link {Describe(path)}: {Marshal.GetPInvokeErrorMessage(errno)}");
        }

        return buf.AsSpan(0, (int)n).ToArray();
    }

    /// <summary>
    /// Creates a new empty regular file (O_CREAT|O_EXCL|O_CLOEXEC, never following or reusing what is there) and
    /// closes it. False, with the reason in <paramref name="error"/>, when it cannot be created.
    /// </summary>
    public static bool TryCreateNew(ReadOnlySpan<byte> path, int mode, out string? error) =>
        OperatingSystem.IsLinux() ? LinuxTryCreateNew(path, mode, out error) : PortableFileSystem.TryCreateNew(path, mode, out error);

    [SupportedOSPlatform("linux")]
    private static unsafe bool LinuxTryCreateNew(ReadOnlySpan<byte> path, int mode, out string? error)
    {
        var cpath = Libc.ToCString(path);
        int fd;
        fixed (byte* p = cpath)
        {
            fd = Libc.open(p, Libc.O_WRONLY | Libc.O_CREAT | Libc.O_EXCL | Libc.O_CLOEXEC, mode);
        }

        if (fd < 0)
        {
            error = Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError());
            return false;
        }

        _ = Libc.close(fd);
        error = null;
        return true;
    }

    /// <summary>unlink(); false when it failed (already gone, or not permitted).</summary>
    public static bool TryDelete(ReadOnlySpan<byte> path) =>
        OperatingSystem.IsLinux() ? LinuxTryDelete(path) : PortableFileSystem.TryDelete(path);

    [SupportedOSPlatform("linux")]
    private static unsafe bool LinuxTryDelete(ReadOnlySpan<byte> path)
    {
        var cpath = Libc.ToCString(path);
        fixed (byte* p = cpath)
        {
            return Libc.unlink(p) == 0;
        }
    }

    /// <summary>rename(2) of one byte path to another; 0 when done, else the errno (EXDEV across file systems,
    /// ENOTEMPTY over a non-empty directory, ...).</summary>
    public static int TryRename(ReadOnlySpan<byte> from, ReadOnlySpan<byte> to) =>
        OperatingSystem.IsLinux() ? LinuxTryRename(from, to) : PortableFileSystem.TryRename(from, to);

    [SupportedOSPlatform("linux")]
    private static unsafe int LinuxTryRename(ReadOnlySpan<byte> from, ReadOnlySpan<byte> to)
    {
        var cfrom = Libc.ToCString(from);
        var cto = Libc.ToCString(to);
        fixed (byte* f = cfrom)
        fixed (byte* t = cto)
        {
            return Libc.rename(f, t) == 0 ? 0 : Marshal.GetLastPInvokeError();
        }
    }

    /// <summary>mkdir(2) with <paramref name="mode"/> (less the umask); 0 when done, else the errno.</summary>
    public static int TryCreateDirectory(ReadOnlySpan<byte> path, int mode) =>
        OperatingSystem.IsLinux() ? LinuxTryCreateDirectory(path, mode) : PortableFileSystem.TryCreateDirectory(path, mode);

    [SupportedOSPlatform("linux")]
    private static unsafe int LinuxTryCreateDirectory(ReadOnlySpan<byte> path, int mode)
    {
        var cpath = Libc.ToCString(path);
        fixed (byte* p = cpath)
        {
            return Libc.mkdir(p, mode) == 0 ? 0 : Marshal.GetLastPInvokeError();
        }
    }

    /// <summary>An absolute root as the bytes <see cref="Combine(ReadOnlySpan{byte}, RelativePath)"/> takes: UTF-8,
    /// without a trailing '/' (so "/" becomes empty). Computed once per root, not per path.</summary>
    public static byte[] RootBytes(string root)
    {
        ArgumentNullException.ThrowIfNull(root);
        return System.Text.Encoding.UTF8.GetBytes(root.TrimEnd('/'));
    }

    /// <summary>Joins an absolute root (as UTF-8 bytes) and a relative path.</summary>
    public static byte[] Combine(string root, RelativePath relative) => Combine(RootBytes(root), relative);

    /// <summary>Joins a root from <see cref="RootBytes"/> and a relative path.</summary>
    public static byte[] Combine(ReadOnlySpan<byte> rootBytes, RelativePath relative)
    {
        if (relative.IsRoot)
        {
            return rootBytes.Length == 0 ? "/"u8.ToArray() : rootBytes.ToArray();
        }

        var result = new byte[rootBytes.Length + 1 + relative.Bytes.Length];
        rootBytes.CopyTo(result);
        result[rootBytes.Length] = (byte)'/';
        relative.Bytes.CopyTo(result.AsSpan(rootBytes.Length + 1));
        return result;
    }

    private static string Describe(ReadOnlySpan<byte> path) => new RelativePath(path.ToArray()).ToString();
}
