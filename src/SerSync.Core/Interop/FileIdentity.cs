using System.Net.Sockets;
using System.Runtime.Versioning;
using System.Text;

namespace SerSync.Interop;

/// <summary>Which file a path names right now (its inode), without following a symlink: lets a daemon remove its own
/// socket at stop without removing one that another process put at the same path since.</summary>
/// <remarks>Off Linux (no statx) the managed APIs stand in, and say less: see each member.</remarks>
public static class FileIdentity
{
    /// <summary>The inode at <paramref name="path"/>; null when nothing is there (or it cannot be read). Off Linux the
    /// birth time's ticks stand in for it (another file made at the same path later has another one).</summary>
    public static ulong? InodeOf(string path) => OperatingSystem.IsLinux() ? Stat(path)?.Inode : PortableInodeOf(path);

    /// <summary>Whether <paramref name="path"/> is a unix socket; null when nothing is there. Off Linux the managed
    /// APIs do not tell a socket from a file: an empty non-directory that a connect reaches, or refuses, counts as one
    /// (so an empty regular file there is taken for a stale socket).</summary>
    public static bool? IsSocket(string path) =>
        OperatingSystem.IsLinux() ? Stat(path) is { } st ? (st.Mode & Libc.S_IFMT) == SocketTypeBits : null : PortableIsSocket(path);

    /// <summary>Whether <paramref name="path"/> is a directory itself (not a symlink to one) owned by the effective
    /// user: a directory somebody else made (in /tmp, say) is not private to us even after a chmod. Off Linux the
    /// owner cannot be read: a directory that is not a symlink and that only its owner may enter counts (the caller
    /// has just made it 0700 or found it so).</summary>
    public static bool IsOwnDirectory(string path) =>
        OperatingSystem.IsLinux()
            ? Stat(path) is { } st && (st.Mode & Libc.S_IFMT) == Libc.S_IFDIR && st.Uid == Posix.geteuid()
            : PortableEntry(path) is DirectoryInfo dir && (OperatingSystem.IsWindows() || (dir.UnixFileMode & (UnixFileMode)0x3F) == 0);

    private const ushort SocketTypeBits = 0xC000; // S_IFSOCK

    /// <summary>The (device, inode, birth time) of the directory at <paramref name="path"/>, following a symlink (as a
    /// watch on the path does); null when no directory is there. Another filesystem mounted there, the mount gone (the
    /// underlying mount point), or the directory replaced: each is another triple. The birth time (nanoseconds since
    /// the epoch; 0 where the file system keeps none) tells a new directory apart from one whose inode number it
    /// reuses (a directory deleted and made again at once).</summary>
    /// <remarks>Off Linux: device and inode are 0 (unknown) and the birth time is the managed creation time, so a
    /// directory replaced by another is still told apart (a new birth time), but another file system mounted over
    /// the same directory is not.</remarks>
    public static (ulong Device, ulong Inode, long Birth)? DirectoryIdentityOf(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return OperatingSystem.IsLinux() ? LinuxDirectoryIdentityOf(path) : PortableDirectoryIdentityOf(path);
    }

    /// <summary>Off Linux (internal for the tests, which run it on Linux). .NET's creation time is the birth time on
    /// macOS and the BSDs (st_birthtime); on Linux it is not (the older of mtime and ctime, which any change in the
    /// directory moves), which is one reason Linux never takes this path.</summary>
    internal static (ulong Device, ulong Inode, long Birth)? PortableDirectoryIdentityOf(string path)
    {
        var dir = new DirectoryInfo(path);
        return dir.Exists ? (0UL, 0UL, (dir.CreationTimeUtc - DateTime.UnixEpoch).Ticks * 100) : null;
    }

    /// <summary>Off Linux: the birth time's ticks stand in for the inode.</summary>
    internal static ulong? PortableInodeOf(string path) => PortableEntry(path) is { } info ? (ulong)info.CreationTimeUtc.Ticks : null;

    [SupportedOSPlatform("linux")]
    private static unsafe (ulong Device, ulong Inode, long Birth)? LinuxDirectoryIdentityOf(string path)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(path) + 1];
        Encoding.UTF8.GetBytes(path, bytes);
        Libc.Statx st;
        fixed (byte* p = bytes)
        {
            if (Libc.statx(Libc.AT_FDCWD, p, 0, Libc.STATX_BASIC_STATS | StatxBirthTime, &st) != 0 || (st.Mode & Libc.S_IFMT) != Libc.S_IFDIR)
            {
                return null;
            }

            var birth = (st.Mask & StatxBirthTime) != 0 ? (st.Btime.Seconds * 1_000_000_000) + st.Btime.Nanoseconds : 0;
            return (((ulong)st.DevMajor << 32) | st.DevMinor, st.Ino, birth);
        }
    }

    private const uint StatxBirthTime = 0x800; // STATX_BTIME

    /// <summary>The entry at <paramref name="path"/> itself (a symlink not followed); null when nothing is there.</summary>
    private static FileSystemInfo? PortableEntry(string path)
    {
        FileSystemInfo info = new FileInfo(path);
        if (info.LinkTarget is not null)
        {
            return info;
        }

        if (!info.Exists)
        {
            info = new DirectoryInfo(path);
        }

        return info.Exists ? info : null;
    }

    /// <summary>Off Linux (internal for the tests).</summary>
    internal static bool? PortableIsSocket(string path)
    {
        if (PortableEntry(path) is not { } info)
        {
            return null;
        }

        if (info is not FileInfo { Length: 0, LinkTarget: null })
        {
            return false;
        }

        try
        {
            using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            probe.Connect(new UnixDomainSocketEndPoint(path));
            return true;
        }
        catch (SocketException ex)
        {
            return ex.SocketErrorCode == SocketError.ConnectionRefused; // a socket nobody listens on
        }
    }

    [SupportedOSPlatform("linux")]
    private static unsafe (ulong Inode, ushort Mode, uint Uid)? Stat(string path)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(path) + 1];
        Encoding.UTF8.GetBytes(path, bytes);
        Libc.Statx st;
        fixed (byte* p = bytes)
        {
            return Libc.statx(Libc.AT_FDCWD, p, Libc.AT_SYMLINK_NOFOLLOW, Libc.STATX_BASIC_STATS, &st) == 0 ? (st.Ino, st.Mode, st.Uid) : null;
        }
    }
}
