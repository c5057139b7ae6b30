using System.Runtime.InteropServices;

namespace SerSync.Interop;

/// <summary>The few process-level calls the daemon's executable needs (detaching, "am I root"), kept here so every
/// native call sits in this folder.</summary>
public static class ProcessSession
{
    public static bool IsRoot => Libc.geteuid() == 0;

    public static unsafe void DetachFromTerminal()
    {
        if (Libc.setsid() < 0)
        {
            throw new IOException($"setsid failed: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        }

        var devNull = Libc.ToCString("/dev/null"u8);
        int fd;
        fixed (byte* p = devNull)
        {
            fd = Libc.open(p, Libc.O_RDWR | Libc.O_CLOEXEC, 0);
        }

        if (fd < 0)
        {
            throw new IOException($"cannot open /dev/null: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        }

        // dup2 clears close-on-exec on the copies, as standard streams should be.
        for (var std = 0; std <= 2; std++)
        {
            _ = Libc.dup2(fd, std);
        }

        _ = Libc.close(fd);
        _ = Libc.umask(0x12); // 022
        Environment.CurrentDirectory = "/";
    }
}
