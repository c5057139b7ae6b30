// Implementation notes. statfs(2) tells which file system holds the root: inotify sees only the changes this
// kernel makes, so on a network file system (NFS, SMB, FUSE mounts of remote stores...) another client's writes
// never raise an event. struct statfs begins with f_type (a long: __fsword_t) on every 64-bit glibc ABI; the
// rest of the struct (at most 120 bytes) is not read.
using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace SerSync.Interop;

internal static partial class Libc
{
    [SupportedOSPlatform("linux")]
    [LibraryImport("libc", SetLastError = true)]
    internal static unsafe partial int statfs(byte* path, byte* buf);

    /// <summary>f_type of the file system holding <paramref name="path"/>; null when statfs fails.</summary>
    [SupportedOSPlatform("linux")]
    internal static unsafe long? FileSystemType(string path)
    {
        var cpath = ToCString(System.Text.Encoding.UTF8.GetBytes(path));
        var buf = stackalloc byte[256];
        fixed (byte* p = cpath)
        {
            if (statfs(p, buf) != 0)
            {
                return null;
            }
        }

        return *(long*)buf;
    }
}
