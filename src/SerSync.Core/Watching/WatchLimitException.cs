namespace SerSync.Watching;

/// <summary>
/// An inotify limit stopped the watcher: <c>max_user_watches</c> (ENOSPC from inotify_add_watch) or
/// <c>max_user_instances</c> (EMFILE from inotify_init1). The message names the /proc file and what is needed.
/// </summary>
public sealed class WatchLimitException : IOException
{
    public WatchLimitException()
    {
    }

    public WatchLimitException(string message)
        : base(message)
    {
    }

    public WatchLimitException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public WatchLimitException(string message, string limitFile, long? currentLimit, int? needed)
        : base(message)
    {
        LimitFile = limitFile;
        CurrentLimit = currentLimit;
        Needed = needed;
    }

    /// <summary>The /proc/sys/fs/inotify file that holds the limit.</summary>
    public string? LimitFile { get; }

    /// <summary>Its value when the error happened (null if unreadable).</summary>
    public long? CurrentLimit { get; }

    /// <summary>For watches: how many directories the tree needs (one watch each).</summary>
    public int? Needed { get; }
}
