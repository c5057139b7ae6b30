// Implementation notes. posix_spawn, not ProcessStartInfo: .NET passes argv as strings and encodes them as UTF-8, so
// a file name that is not UTF-8 cannot reach a child byte for byte; argv and envp here are NUL-terminated byte
// strings. glibc's posix_spawn_file_actions_t (80 bytes) and posix_spawnattr_t (336 bytes) have the same layout on
// x86-64 and arm64 (sigset_t is 128 bytes on both); they are opaque here and get a zeroed 512-byte, 16-aligned block
// each (OpaqueSize) rather than a hard-coded size. posix_spawn returns its error number (it does not set errno);
// glibc's implementation (clone with CLONE_VFORK) reports exec failures (ENOENT, EACCES, ENOEXEC) the same way.
using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace SerSync.Interop;

[SupportedOSPlatform("linux")]
internal static partial class Libc
{
    /// <summary>Bytes allocated for each opaque glibc spawn struct: more than either needs on x86-64 or arm64.</summary>
    internal const int OpaqueSize = 512;

    internal const short POSIX_SPAWN_SETPGROUP = 0x02;
    internal const short POSIX_SPAWN_SETSIGDEF = 0x04;
    internal const short POSIX_SPAWN_SETSIGMASK = 0x08;

    internal const int SIGKILL = 9;
    internal const int ESRCH = 3;
    internal const int ECHILD = 10;
    internal const int EACCES = 13;
    internal const int EPIPE = 32;
    internal const int ENOEXEC = 8;

    internal const int P_PID = 1;
    internal const int WEXITED = 4;
    internal const int WNOWAIT = 0x01000000;

    internal const int X_OK = 1;

    internal const short POLLOUT = 0x004;
    internal const short POLLERR = 0x008;
    internal const short POLLHUP = 0x010;
    internal const short POLLNVAL = 0x020;

    [LibraryImport("libc")]
    internal static unsafe partial int posix_spawn(int* pid, byte* path, void* fileActions, void* attr, byte** argv, byte** envp);

    [LibraryImport("libc")]
    internal static unsafe partial int posix_spawn_file_actions_init(void* fileActions);

    [LibraryImport("libc")]
    internal static unsafe partial int posix_spawn_file_actions_destroy(void* fileActions);

    [LibraryImport("libc")]
    internal static unsafe partial int posix_spawn_file_actions_adddup2(void* fileActions, int fd, int newfd);

    [LibraryImport("libc")]
    internal static unsafe partial int posix_spawn_file_actions_addclose(void* fileActions, int fd);

    [LibraryImport("libc")]
    internal static unsafe partial int posix_spawn_file_actions_addopen(void* fileActions, int fd, byte* path, int oflag, uint mode);

    /// <summary>glibc 2.29 and later; older ones throw <see cref="EntryPointNotFoundException"/> at the first call.</summary>
    [LibraryImport("libc")]
    internal static unsafe partial int posix_spawn_file_actions_addchdir_np(void* fileActions, byte* path);

    [LibraryImport("libc")]
    internal static unsafe partial int posix_spawnattr_init(void* attr);

    [LibraryImport("libc")]
    internal static unsafe partial int posix_spawnattr_destroy(void* attr);

    [LibraryImport("libc")]
    internal static unsafe partial int posix_spawnattr_setflags(void* attr, short flags);

    [LibraryImport("libc")]
    internal static unsafe partial int posix_spawnattr_setpgroup(void* attr, int pgroup);

    [LibraryImport("libc")]
    internal static unsafe partial int posix_spawnattr_setsigmask(void* attr, void* sigmask);

    [LibraryImport("libc")]
    internal static unsafe partial int posix_spawnattr_setsigdefault(void* attr, void* sigdefault);

    [LibraryImport("libc", SetLastError = true)]
    internal static unsafe partial int sigemptyset(void* set);

    [LibraryImport("libc", SetLastError = true)]
    internal static unsafe partial int sigfillset(void* set);

    [LibraryImport("libc", SetLastError = true)]
    internal static unsafe partial int pipe2(int* fds, int flags);

    [LibraryImport("libc", SetLastError = true)]
    internal static unsafe partial int waitpid(int pid, int* status, int options);

    /// <summary>siginfo_t is 128 bytes on Linux; the caller passes a buffer at least that large.</summary>
    [LibraryImport("libc", SetLastError = true)]
    internal static unsafe partial int waitid(int idtype, int id, void* infop, int options);

    [LibraryImport("libc", SetLastError = true)]
    internal static unsafe partial int access(byte* path, int mode);
}
