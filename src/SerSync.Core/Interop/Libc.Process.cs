using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace SerSync.Interop;

[SupportedOSPlatform("linux")]
internal static partial class Libc
{
    internal const int O_RDWR = 2;

    [LibraryImport("libc", SetLastError = true)]
    internal static partial int setsid();

    [LibraryImport("libc", SetLastError = true)]
    internal static partial int dup2(int oldfd, int newfd);

    [LibraryImport("libc")]
    internal static partial uint umask(uint mask);

    [LibraryImport("libc")]
    internal static partial uint geteuid();
}
