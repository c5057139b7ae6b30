using System.Globalization;
using SerSync.Filtering;
using SerSync.Paths;

namespace SerSync.Watching;

/// <summary>The per-user inotify limits under /proc/sys/fs/inotify, and help to size them.</summary>
public static partial class InotifyLimits
{
    public const string MaxUserWatchesFile = "/proc/sys/fs/inotify/max_user_watches";
    public const string MaxUserInstancesFile = "/proc/sys/fs/inotify/max_user_instances";
    public const string MaxQueuedEventsFile = "/proc/sys/fs/inotify/max_queued_events";

    /// <summary>Reads one of the limit files; null when it cannot be read.</summary>
    public static long? Read(string file)
    {
        try
        {
            return long.Parse(File.ReadAllText(file).Trim(), CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }

    /// <summary>How many directories (watches) the tree under <paramref name="root"/> needs, skipping excluded ones
    /// the way the watcher does.</summary>
    public static int CountDirectories(string root, PathFilter filter)
    {
        ArgumentNullException.ThrowIfNull(filter);
        var rootBytes = FileSystemBytes.RootBytes(root);
        var count = 0;
        var stack = new Stack<RelativePath>();
        stack.Push(RelativePath.Root);
        while (stack.Count > 0)
        {
            var dir = stack.Pop();
            var entries = FileSystemBytes.ListDirectory(FileSystemBytes.Combine(rootBytes, dir));
            if (entries is null)
            {
                continue;
            }

            count++;
            foreach (var entry in entries)
            {
                var child = dir.Append(entry.Name);
                var isDir = entry.Type == EntryType.Directory
                    || (entry.Type == EntryType.Unknown && FileSystemBytes.Stat(FileSystemBytes.Combine(rootBytes, child))?.Type == EntryType.Directory);
                if (isDir && !filter.IsExcludedBelowIncluded(child, isDirectory: true))
                {
                    stack.Push(child);
                }
            }
        }

        return count;
    }

    /// <summary>
    /// When this process runs as root and <c>max_user_watches</c> is below what <paramref name="directoriesNeeded"/>
    /// plus head-room for growth and other inotify users requires, raises it and returns a line to log saying so.
    /// Returns null when nothing was changed (limit high enough, not root, or the file is not writable).
    /// </summary>
    public static string? RaiseWatchLimitIfNeeded(int directoriesNeeded, string limitFile = MaxUserWatchesFile)
    {
        var current = Read(limitFile);
        var wanted = WantedWatchLimit(directoriesNeeded);
        if (current is null || current >= wanted || !Environment.IsPrivilegedProcess)
        {
            return null;
        }

        try
        {
            File.WriteAllText(limitFile, wanted.ToString(CultureInfo.InvariantCulture) + "\n");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        return $"raised {limitFile} from {current} to {wanted}: the watched tree has {directoriesNeeded} directories "
            + "(one inotify watch each); set fs.inotify.max_user_watches in /etc/sysctl.d to keep it after a reboot";
    }

    /// <summary>The limit <see cref="RaiseWatchLimitIfNeeded"/> aims for: twice the tree plus 8192.</summary>
    public static long WantedWatchLimit(int directoriesNeeded) => (2L * directoriesNeeded) + 8192;

    internal static string WatchesExhaustedMessage(string root, long? current, int needed) =>
        $"out of inotify watches while watching {root}: {MaxUserWatchesFile} is {current?.ToString(CultureInfo.InvariantCulture) ?? "unreadable"} "
        + $"and this tree needs {needed} (one per directory, shared with every other inotify user of this uid). "
        + $"Raise it, e.g. 'sysctl fs.inotify.max_user_watches={WantedWatchLimit(needed)}' (and in /etc/sysctl.d), or exclude directories";

    internal static string InstancesExhaustedMessage(long? current) =>
        $"cannot create an inotify instance: {MaxUserInstancesFile} is {current?.ToString(CultureInfo.InvariantCulture) ?? "unreadable"} "
        + "and this user already has that many. Raise it, e.g. 'sysctl fs.inotify.max_user_instances=1024' (and in /etc/sysctl.d)";
}
