// Implementation notes. .NET's file APIs take and return string paths and decode Linux names as UTF-8, turning
// invalid bytes into U+FFFD, which cannot be opened again. Mirroring must keep names as bytes, so directory
// listing, stat and open go straight to glibc with NUL-terminated byte paths (stat: Libc.Statx.cs).
using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace SerSync.Interop;

[SupportedOSPlatform("linux")]
internal static partial class Libc
{
    internal const int ENOENT = 2;
    internal const int EINTR = 4;
    internal const int ENOTDIR = 20;
    internal const int ENOSPC = 28;
    internal const int EAGAIN = 11;
    internal const int ELOOP = 40;

    internal const int AT_FDCWD = -100;
    internal const int AT_SYMLINK_NOFOLLOW = 0x100;

    internal const int O_RDONLY = 0;
    internal const int O_WRONLY = 1;
    internal const int O_CREAT = 0x40;
    internal const int O_EXCL = 0x80;
    // O_DIRECTORY and O_NOFOLLOW are the two open flags whose values differ between x86-64 and arm64 (asm-generic).
    internal static readonly int O_NOFOLLOW = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? 0x8000 : 0x20000;
    internal static readonly int O_DIRECTORY = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? 0x4000 : 0x10000;
    internal const int O_CLOEXEC = 0x80000;

    internal const byte DT_UNKNOWN = 0;
    internal const byte DT_DIR = 4;
    internal const byte DT_REG = 8;
    internal const byte DT_LNK = 10;

    [LibraryImport("libc", SetLastError = true)]
    internal static unsafe partial nint opendir(byte* name);

    [LibraryImport("libc", SetLastError = true)]
    internal static partial nint readdir(nint dir);

    [LibraryImport("libc", SetLastError = true)]
    internal static partial int closedir(nint dir);

    /// <summary>Raw directory records (struct linux_dirent64: d_ino u64, d_off s64, d_reclen u16, d_type u8,
    /// d_name NUL-terminated) into a caller's buffer: no DIR allocation per directory listed.</summary>
    [LibraryImport("libc", SetLastError = true)]
    internal static unsafe partial nint getdents64(int fd, byte* dirp, nuint count);

    [LibraryImport("libc", SetLastError = true)]
    internal static unsafe partial int unlink(byte* path);

    /// <summary>rename(2): atomic within one file system; EXDEV across two, ENOTEMPTY/EEXIST over a non-empty
    /// directory, EISDIR/ENOTDIR when a directory and a non-directory meet.</summary>
    [LibraryImport("libc", SetLastError = true)]
    internal static unsafe partial int rename(byte* oldPath, byte* newPath);

    [LibraryImport("libc", SetLastError = true)]
    internal static unsafe partial int mkdir(byte* path, int mode);

    [LibraryImport("libc", SetLastError = true)]
    internal static unsafe partial int open(byte* path, int flags, int mode);

    [LibraryImport("libc", SetLastError = true)]
    internal static unsafe partial nint readlink(byte* path, byte* buf, nint size);

    /// <summary>A NUL-terminated copy of <paramref name="path"/> for the calls above.</summary>
    internal static byte[] ToCString(ReadOnlySpan<byte> path)
    {
        var result = new byte[path.Length + 1];
        path.CopyTo(result);
        return result;
    }
}
