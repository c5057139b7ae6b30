using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace SerSync.Interop;

/// <summary>The few process-level calls the daemon's executable needs (detaching, "am I root"), kept here so every
/// native call sits in this folder. Linux keeps its glibc calls; the other Unix systems use the POSIX ones
/// (<see cref="Posix"/>); Windows has neither (sersyncd refuses to run there).</summary>
public static class ProcessSession
{
    public static bool IsRoot => OperatingSystem.IsWindows() ? Environment.IsPrivilegedProcess : Posix.geteuid() == 0;

    /// <summary>geteuid(); 0 on Windows, which has no user ids (only used to name per-user directories).</summary>
    public static uint EffectiveUserId => OperatingSystem.IsWindows() ? 0 : Posix.geteuid();

    /// <summary>Whether a process <paramref name="pid"/> exists (a zombie counts): /proc on Linux, kill(pid, 0)
    /// elsewhere (EPERM: it exists, but is another user's).</summary>
    public static bool IsAlive(int pid)
    {
        if (OperatingSystem.IsLinux())
        {
            return Directory.Exists($"/proc/{pid}");
        }

        if (OperatingSystem.IsWindows())
        {
            try
            {
                using var process = System.Diagnostics.Process.GetProcessById(pid);
                return true;
            }
            catch (ArgumentException)
            {
                return false;
            }
        }

        return pid > 0 && (Posix.kill(pid, 0) == 0 || Marshal.GetLastPInvokeError() == Posix.EPERM);
    }

    /// <summary>Leaves the session and terminal (setsid), puts /dev/null on the standard streams, umask 022, working
    /// directory /. Unix only: <c>-d</c> is refused before this on Windows.</summary>
    [UnsupportedOSPlatform("windows")]
    public static void DetachFromTerminal()
    {
        if (Posix.setsid() < 0)
        {
            throw new IOException($"setsid failed: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        }

        // .NET opens it close-on-exec; dup2 clears close-on-exec on the copies, as standard streams should be.
        using (var devNull = File.OpenHandle("/dev/null", FileMode.Open, FileAccess.ReadWrite))
        {
            var fd = (int)devNull.DangerousGetHandle();
            for (var std = 0; std <= 2; std++)
            {
                _ = Posix.dup2(fd, std);
            }
        }

        _ = Posix.umask(0x12); // 022
        Environment.CurrentDirectory = "/";
    }
}
