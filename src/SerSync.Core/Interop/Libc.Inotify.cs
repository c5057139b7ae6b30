// Implementation notes. inotify is reached through glibc's wrappers. The instance fd is non-blocking so the reader can
// drain it until EAGAIN; it is poll()ed together with an eventfd whose only job is to wake the reader when the watcher
// is disposed. read() on an inotify fd returns whole events only (EINVAL if the buffer cannot hold the next one).
using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace SerSync.Interop;

[SupportedOSPlatform("linux")]
internal static partial class Libc
{
    internal const int EMFILE = 24;

    internal const int IN_NONBLOCK = 0x800;
    internal const int IN_CLOEXEC = 0x80000;

    internal const int EFD_NONBLOCK = 0x800;
    internal const int EFD_CLOEXEC = 0x80000;

    internal const short POLLIN = 0x001;

    [StructLayout(LayoutKind.Sequential)]
    internal struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport("libc", SetLastError = true)]
    internal static partial int inotify_init1(int flags);

    [LibraryImport("libc", SetLastError = true)]
    internal static unsafe partial int inotify_add_watch(SafeInotifyHandle fd, byte* pathname, uint mask);

    [LibraryImport("libc", SetLastError = true)]
    internal static partial int inotify_rm_watch(SafeInotifyHandle fd, int wd);

    [LibraryImport("libc", SetLastError = true)]
    internal static unsafe partial nint read(int fd, byte* buf, nint count);

    [LibraryImport("libc", SetLastError = true)]
    internal static unsafe partial nint write(int fd, byte* buf, nint count);

    [LibraryImport("libc", SetLastError = true)]
    internal static unsafe partial int poll(PollFd* fds, nuint nfds, int timeout);

    [LibraryImport("libc", SetLastError = true)]
    internal static partial int eventfd(uint initval, int flags);

    [LibraryImport("libc", SetLastError = true)]
    internal static partial int close(int fd);
}
