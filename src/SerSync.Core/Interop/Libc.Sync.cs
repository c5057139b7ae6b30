using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using System.Text;

namespace SerSync.Interop;

[SupportedOSPlatform("linux")]
internal static partial class Libc
{
    [LibraryImport("libc", SetLastError = true)]
    internal static partial int fsync(int fd);

    /// <summary>fsync(2) of a directory, so a rename(2) into it survives a power loss (the new name is on disk, not
    /// only the new file's data). Errors are ignored: the rename itself stands either way.</summary>
    internal static unsafe void FsyncDirectory(string path)
    {
        var bytes = Encoding.UTF8.GetBytes(path + "\0");
        int fd;
        fixed (byte* p = bytes)
        {
            fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
        }

        if (fd >= 0)
        {
            _ = fsync(fd);
            _ = close(fd);
        }
    }
}
