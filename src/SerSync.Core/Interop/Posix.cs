// Implementation notes. The few libc calls whose signatures and constants POSIX fixes (the same on Linux, macOS and
// the BSDs: SIGKILL 9, ESRCH 3, EPERM 1, uid_t a 32-bit unsigned). "libc" resolves to glibc's libc.so.6 on Linux and
// to libSystem's libc.dylib on macOS. Anything with a per-OS layout or constant stays in the Linux-only Libc.
using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace SerSync.Interop;

[UnsupportedOSPlatform("windows")]
internal static partial class Posix
{
    internal const int EPERM = 1;

    [LibraryImport("libc", SetLastError = true)]
    internal static partial int setsid();

    [LibraryImport("libc", SetLastError = true)]
    internal static partial int dup2(int oldfd, int newfd);

    [LibraryImport("libc")]
    internal static partial uint umask(uint mask);

    [LibraryImport("libc")]
    internal static partial uint geteuid();

    [LibraryImport("libc", SetLastError = true)]
    internal static partial int kill(int pid, int sig);
}
