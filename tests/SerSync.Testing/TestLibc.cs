using System.Runtime.InteropServices;

namespace SerSync.Testing;

/// <summary>
/// The few libc calls tests need to create files with raw byte names (.NET's string paths cannot express names that
/// are not UTF-8). Paths are passed NUL-terminated.
/// </summary>
public static partial class TestLibc
{
    public const int O_WRONLY = 0x1;
    public const int O_CREAT = 0x40;
    public const int O_TRUNC = 0x200;
    public const int O_NOFOLLOW = 0x20000;
    public const int O_CLOEXEC = 0x80000;
    public const int EEXIST = 17;

    [LibraryImport("libc", SetLastError = true)]
    public static unsafe partial int open(byte* path, int flags, int mode);

    [LibraryImport("libc", SetLastError = true)]
    public static unsafe partial int mkdir(byte* path, int mode);

    [LibraryImport("libc", SetLastError = true)]
    public static unsafe partial int symlink(byte* target, byte* linkPath);

    [LibraryImport("libc", SetLastError = true)]
    public static unsafe partial int chmod(byte* path, int mode);

    [LibraryImport("libc", SetLastError = true)]
    public static unsafe partial int unlink(byte* path);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int umask(int mask);

    public static byte[] CString(ReadOnlySpan<byte> path)
    {
        var result = new byte[path.Length + 1];
        path.CopyTo(result);
        return result;
    }
}
