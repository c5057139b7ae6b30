using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace SerSync.Interop;

/// <summary>An inotify instance fd (also used for the wake-up eventfd: both are plain fds closed with close()).</summary>
[SupportedOSPlatform("linux")]
internal sealed class SafeInotifyHandle : SafeHandle
{
    public SafeInotifyHandle()
        : base(-1, ownsHandle: true)
    {
    }

    internal SafeInotifyHandle(int fd)
        : base(-1, ownsHandle: true)
    {
        SetHandle(fd);
    }

    public override bool IsInvalid => handle == -1;

    internal int Fd => (int)handle;

    protected override bool ReleaseHandle() => Libc.close((int)handle) == 0;
}
