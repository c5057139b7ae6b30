// How auto picks a backend. inotify needs Linux and a kernel that lets this process make an instance (a container's
// seccomp profile, or a kernel built without it, refuses: inotify_init1 fails with ENOSYS or EPERM). When it does
// not work, FileSystemWatcher would not either (it is inotify on Linux), so polling is left. On a network file
// system inotify sees this machine's own writes only: the portable backend keeps those as hints and its scans find
// the other clients' changes.
using System.Runtime.InteropServices;
using SerSync.Configuration;
using SerSync.Interop;

namespace SerSync.Watching;

/// <summary>The backend a root gets, and why (said in the log at start).</summary>
public static class WatcherSelection
{
    // f_type values (linux/magic.h and the file systems' own headers) of file systems whose changes can come
    // from elsewhere, with inotify none the wiser.
    private static readonly Dictionary<long, string> NetworkFileSystems = new()
    {
        [0x6969] = "nfs",
        [0x517B] = "smb",
        [0xFF534D42] = "cifs",
        [0xFE534D42] = "smb2",
        [0x65735546] = "fuse",
        [0x01021997] = "9p",
        [0x00C36400] = "ceph",
        [0x5346414F] = "afs",
        [0x73757245] = "coda",
        [0x564C] = "ncp",
        [0x01161970] = "gfs2",
        [0x7461636F] = "ocfs2",
        [0x0BD00BD0] = "lustre",
        [0x786F4256] = "vboxsf",
    };

    /// <summary>The backend for <paramref name="root"/>: <paramref name="config"/>'s choice, or for auto the best
    /// that works here. <paramref name="why"/> says what decided auto (null when it was asked for by name).</summary>
    public static WatcherKind Resolve(WatcherConfig config, string root, out string? why)
    {
        ArgumentNullException.ThrowIfNull(config);
        why = null;
        if (config.Kind == WatcherKind.Inotify && !OperatingSystem.IsLinux())
        {
            why = $"watcher=\"inotify\" was asked for, but inotify is Linux's and this is {RuntimeInformation.OSDescription}";
            return WatcherKind.Portable;
        }

        if (config.Kind != WatcherKind.Auto)
        {
            return config.Kind;
        }

        if (!OperatingSystem.IsLinux())
        {
            why = $"inotify is Linux's; this is {RuntimeInformation.OSDescription}";
            return WatcherKind.Portable;
        }

        if (InotifyRefusal() is { } refused)
        {
            why = $"inotify is refused here ({refused}), and FileSystemWatcher is inotify on Linux";
            return WatcherKind.Poll;
        }

        if (Libc.FileSystemType(root) is { } type && NetworkFileSystems.TryGetValue(type, out var name))
        {
            why = $"{root} is on {name}, where inotify sees only this machine's own changes";
            return WatcherKind.Portable;
        }

        return WatcherKind.Inotify;
    }

    /// <summary>Why this process cannot make an inotify instance, or null when it can (a full instance table is
    /// not a refusal: the inotify backend reports that limit itself).</summary>
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    internal static string? InotifyRefusal()
    {
        var fd = Libc.inotify_init1(Libc.IN_CLOEXEC);
        if (fd >= 0)
        {
            _ = Libc.close(fd);
            return null;
        }

        var errno = Marshal.GetLastPInvokeError();
        return errno == Libc.EMFILE ? null : Marshal.GetPInvokeErrorMessage(errno);
    }
}
