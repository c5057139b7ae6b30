// The two limits differ in when the kernel reads them: max_user_watches is checked at every inotify_add_watch (a raise
// helps a running instance at once), max_queued_events is copied into an instance at inotify_init1 (a raise helps
// only instances made afterwards: the next start or reload). Both are system-wide; they are raised, never lowered.
using System.Globalization;

namespace SerSync.Watching;

public static partial class InotifyLimits
{
    /// <summary>What sersync 2.5 wrote to max_queued_events at every start: the floor of what this daemon asks.</summary>
    public const long SersyncQueuedEvents = 327679;

    /// <summary>The kernel keeps both limits in an int.</summary>
    public const long KernelMaximum = int.MaxValue;

    /// <summary>
    /// The max_user_watches to ask for when a watch could not be placed at <paramref name="current"/> with
    /// <paramref name="watched"/> watches placed by this watcher: double the limit (the others of this uid need room
    /// too), and at least what <see cref="WantedWatchLimit"/> says this tree (plus 25 %) calls for.
    /// </summary>
    public static long RaisedWatchLimit(long current, int watched)
    {
        var tree = (long)watched + (watched / 4);
        var wanted = Math.Max(Math.Max(current, 0) * 2, WantedWatchLimit((int)Math.Min(tree, int.MaxValue)));
        return Math.Min(Math.Max(wanted, current), KernelMaximum);
    }

    /// <summary>The max_queued_events a tree of <paramref name="directories"/> calls for: sersync's 327,679, or four
    /// events per directory (a chmod -R or an unpacked release queues one per directory and more per file). The
    /// kernel allocates queued events only when they are queued, so a high limit costs nothing while idle.</summary>
    public static long WantedQueuedEvents(int directories) =>
        Math.Min(Math.Max(SersyncQueuedEvents, 4L * directories), KernelMaximum);

    /// <summary>
    /// Raises the limit in <paramref name="file"/> to <paramref name="wanted"/> when it is lower and this process may
    /// (effective uid 0 and the write succeeds: a container without CAP_SYS_ADMIN refuses it, which is the non-root
    /// path). Never lowers it. <paramref name="before"/> is the value read (null: unreadable).
    /// </summary>
    /// <returns>True when the limit is now at least <paramref name="wanted"/> (raised, or already there).</returns>
    public static bool TryRaise(string file, long wanted, out long? before)
    {
        before = Read(file);
        if (before is null)
        {
            return false;
        }

        if (before >= wanted)
        {
            return true;
        }

        if (!Environment.IsPrivilegedProcess)
        {
            return false;
        }

        try
        {
            File.WriteAllText(file, wanted.ToString(CultureInfo.InvariantCulture) + "\n");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }

        return Read(file) >= wanted;
    }
}
