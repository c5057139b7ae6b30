using System.Text;

namespace SerSync.Interop;

/// <summary>Which file a path names right now (its inode), without following a symlink: lets a daemon remove its own
/// socket at stop without removing one that another process put at the same path since.</summary>
public static class FileIdentity
{
    /// <summary>The inode at <paramref name="path"/>; null when nothing is there (or it cannot be read).</summary>
    public static ulong? InodeOf(string path) => Stat(path)?.Inode;

    /// <summary>Whether <paramref name="path"/> is a unix socket; null when nothing is there.</summary>
    public static bool? IsSocket(string path) => Stat(path) is { } st ? (st.Mode & Libc.S_IFMT) == SocketType : null;

    /// <summary>Whether <paramref name="path"/> is a directory itself (not a symlink to one) owned by the effective
    /// user: a directory somebody else made (in /tmp, say) is not private to us even after a chmod.</summary>
    public static bool IsOwnDirectory(string path) =>
        Stat(path) is { } st && (st.Mode & Libc.S_IFMT) == Libc.S_IFDIR && st.Uid == Libc.geteuid();

    private const ushort SocketType = 0xC000; // S_IFSOCK

    /// <summary>The (device, inode, birth time) of the directory at <paramref name="path"/>, following a symlink (as a
    /// watch on the path does); null when no directory is there. Another filesystem mounted there, the mount gone (the
    /// underlying mount point), or the directory replaced: each is another triple. The birth time (nanoseconds since
    /// the epoch; 0 where the file system keeps none) tells a new directory apart from one whose inode number it
    /// reuses (a directory deleted and made again at once).</summary>
    public static unsafe (ulong Device, ulong Inode, long Birth)? DirectoryIdentityOf(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
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
