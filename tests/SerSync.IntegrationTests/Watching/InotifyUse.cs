using System.Globalization;
using SerSync.Watching;

namespace SerSync.IntegrationTests.Watching;

/// <summary>
/// Counts inotify watches from /proc: each watch of an inotify fd is one "inotify wd:" line in that fd's fdinfo. The
/// limit (max_user_watches) is per user but its value is system-wide, so a test that lowers it keeps it at or above
/// what every process on the machine has in use (other tests and daemons watch too).
/// </summary>
internal static class InotifyUse
{
    /// <summary>Watches held by every inotify fd of every process (as root every process is readable).</summary>
    public static int SystemWide()
    {
        var total = 0;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                total += OfProcess(pid);
            }
        }

        return total;
    }

    /// <summary>Watches held by the inotify fds of one process (0 when it is gone or unreadable).</summary>
    public static int OfProcess(int pid)
    {
        var count = 0;
        try
        {
            foreach (var fd in Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd"))
            {
                string? target;
                try
                {
                    target = new FileInfo(fd).LinkTarget;
                }
                catch (IOException)
                {
                    continue;
                }

                if (target != "anon_inode:inotify")
                {
                    continue;
                }

                try
                {
                    count += File.ReadLines($"/proc/{pid}/fdinfo/{Path.GetFileName(fd)}").Count(l => l.StartsWith("inotify wd:", StringComparison.Ordinal));
                }
                catch (IOException)
                {
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }

        return count;
    }
}

/// <summary>
/// max_user_watches lowered for the length of a using block, and put back on Dispose even when the test fails: to
/// the value read before, unless someone raised it above that meanwhile (theirs wins). The value set is never below
/// what is in use system-wide (<see cref="InotifyUse.SystemWide"/>) plus <c>room</c>.
/// </summary>
internal sealed class LoweredWatchLimit : IDisposable
{
    private LoweredWatchLimit(long original, long value)
    {
        Original = original;
        Value = value;
    }

    /// <summary>The limit before the test.</summary>
    public long Original { get; }

    /// <summary>The limit the test set.</summary>
    public long Value { get; }

    public static LoweredWatchLimit ToInUsePlus(int room)
    {
        var original = InotifyLimits.Read(InotifyLimits.MaxUserWatchesFile) ?? throw new InvalidOperationException("max_user_watches is unreadable");
        var value = Math.Min(original, InotifyUse.SystemWide() + (long)room);
        File.WriteAllText(InotifyLimits.MaxUserWatchesFile, value.ToString(CultureInfo.InvariantCulture));
        return new LoweredWatchLimit(original, value);
    }

    /// <summary>Puts the original back now (the admin "raises the limit"); Dispose then has nothing left to do.</summary>
    public void Restore()
    {
        if (InotifyLimits.Read(InotifyLimits.MaxUserWatchesFile) is { } now && now < Original)
        {
            File.WriteAllText(InotifyLimits.MaxUserWatchesFile, Original.ToString(CultureInfo.InvariantCulture));
        }
    }

    public void Dispose() => Restore();
}
