using SerSync.Paths;

namespace SerSync.Watching;

public enum RootLostReason
{
    /// <summary>The watched root directory was deleted (IN_DELETE_SELF).</summary>
    Deleted,

    /// <summary>The watched root was renamed or moved away (IN_MOVE_SELF): its path now names something else or nothing.</summary>
    Moved,

    /// <summary>The file system holding the root was unmounted (IN_UNMOUNT).</summary>
    Unmounted,

    /// <summary>The kernel dropped the root's watch for another reason (IN_IGNORED), or a rescan found no root.</summary>
    WatchLost,
}

/// <summary>
/// The watched root is gone: nothing under it is being watched any more and the watcher has stopped reading. The
/// daemon must act (stop with an error, or wait for the root to come back and start a new watcher with a full
/// sync); a <see cref="ChangeKind.Rescan"/> would be wrong, since syncing a missing root would empty the targets.
/// </summary>
public sealed class RootLostException : IOException
{
    public RootLostException()
    {
    }

    public RootLostException(string message)
        : base(message)
    {
    }

    public RootLostException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public RootLostException(string root, RootLostReason reason)
        : base($"watched root {root} was lost ({reason}); nothing under it is watched any more")
    {
        Root = root;
        Reason = reason;
    }

    public string? Root { get; }

    public RootLostReason Reason { get; }
}

public sealed class RootLostEventArgs(string root, RootLostReason reason) : EventArgs
{
    public string Root { get; } = root;

    public RootLostReason Reason { get; } = reason;
}

public sealed class WatcherFaultedEventArgs(Exception exception) : EventArgs
{
    public Exception Exception { get; } = exception;
}
