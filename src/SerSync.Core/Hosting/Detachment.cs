using System.Runtime.InteropServices;
using SerSync.Interop;

namespace SerSync.Hosting;

/// <summary>
/// The child half of <c>-d</c>. .NET cannot fork safely, so the parent starts a second copy of itself with
/// <see cref="MarkerVariable"/> set; that copy leaves the parent's session and terminal here, puts /dev/null on
/// its standard streams, and reports readiness over a private NOTIFY_SOCKET that the parent waits on.
/// </summary>
public static class Detachment
{
    public const string MarkerVariable = "SERSYNCD_DETACHED";

    public static bool IsDetachedChild => Environment.GetEnvironmentVariable(MarkerVariable) == "1";

    /// <summary>Started by systemd: stay in the foreground whatever <c>-d</c> says.</summary>
    public static bool UnderSystemd =>
        !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NOTIFY_SOCKET")) ||
        !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("INVOCATION_ID"));

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
