using System.Runtime.InteropServices;

namespace SerSync.Tests.Infrastructure;

/// <summary>
/// The few libc calls tests need to create files with raw byte names (.NET's string paths cannot express names that
/// are not UTF-8). Paths are passed NUL-terminated.
/// </summary>
internal static partial class TestLibc
{
    internal const int O_WRONLY = 0x1;
    internal const int O_CREAT = 0x40;
    internal const int O_TRUNC = 0x200;
    internal const int O_NOFOLLOW = 0x20000;
    internal const int O_CLOEXEC = 0x80000;
    internal const int EEXIST = 17;

    [LibraryImport("libc", SetLastError = true)]
    internal static unsafe partial int open(byte* path, int flags, int mode);

    [LibraryImport("libc", SetLastError = true)]
    internal static unsafe partial int mkdir(byte* path, int mode);

    [LibraryImport("libc", SetLastError = true)]
    internal static unsafe partial int symlink(byte* target, byte* linkPath);

    [LibraryImport("libc", SetLastError = true)]
    internal static unsafe partial int chmod(byte* path, int mode);

    [LibraryImport("libc", SetLastError = true)]
    internal static unsafe partial int unlink(byte* path);

    [LibraryImport("libc", SetLastError = true)]
    internal static partial int umask(int mask);

    internal static byte[] CString(ReadOnlySpan<byte> path)
    {
        var result = new byte[path.Length + 1];
        path.CopyTo(result);
        return result;
    }
}
