namespace SerSync.Paths;

public enum ChangeKind
{
    /// <summary>A file, symlink or directory entry was created or changed: send this one path.</summary>
    Upsert,

    /// <summary>A directory appeared (created or moved in): send it with everything below it.</summary>
    UpsertTree,

    /// <summary>A directory's entries may have changed while nobody watched (found by the catch-up scan at start):
    /// send its immediate entries and delete on the target what it no longer has.</summary>
    UpsertContents,

    /// <summary>The path is gone (deleted or moved away): delete it, and anything below it, on the target.</summary>
    Delete,

    /// <summary>Events were lost (queue overflow, a watch that could not be placed): the root needs a full sync.</summary>
    Rescan,
}

/// <summary>What the file system said happened, kept for the plugins (targets need only <see cref="ChangeKind"/>).
/// Numbered for the journal: the values are stored, never renumber them.</summary>
public enum ChangeEvent : byte
{
    /// <summary>Not known: found by the catch-up scan, a lost-events rescan, or journaled by an older version.
    /// Plugins report it as <c>modify</c>.</summary>
    Unknown = 0,
    Create = 1,
    Modify = 2,
    CloseWrite = 3,
    Delete = 4,
    MoveFrom = 5,
    MoveTo = 6,
    Attrib = 7,

    /// <summary>Found again by the start-up catch-up scan although the journal already holds the change (it was
    /// made within the scan's safety margin): the targets check the path again, the plugins do not fire again.</summary>
    Recheck = 8,
}

/// <summary>One change under a watched root, as the watcher reports it after translating raw inotify events.
/// Equality is what rsync acts on (kind, path, type); <see cref="Event"/> rides along for the plugins, and
/// <see cref="MovedFrom"/> for the targets that can rename.</summary>
/// <param name="MovedFrom">On the <c>MoveTo</c> half of a rename inside the tree whose <c>MoveFrom</c> half (a
/// <see cref="ChangeKind.Delete"/> of this path, just before it) was reported too: the old path, so a target can
/// rename instead of sending again. Not journaled: a move replayed after a restart is a delete and a send.</param>
public readonly record struct FileChange(ChangeKind Kind, RelativePath Path, bool IsDirectory, ChangeEvent Event = ChangeEvent.Unknown, RelativePath? MovedFrom = null)
{
    /// <summary>On the <c>MoveFrom</c> half of a rename inside the tree: its <c>MoveTo</c> half (with
    /// <see cref="MovedFrom"/>) comes next, so a target waits for it before it takes a batch. Not journaled.</summary>
    public bool MoveToFollows { get; init; }

    /// <summary>A delete the delete guard has judged (let through, or released by the operator): a restart's replay
    /// sends it as it is, never judging it again with the rest of what it replays. Journaled (bit 5 of the flags).</summary>
    public bool Judged { get; init; }

    /// <summary>The watcher saw this name created (an IN_CREATE that <c>createFile="false"</c> did not report): on an
    /// upsert, a new name; on a delete, a name never reported, so no target ever had it. Journaled (bit 6).</summary>
    public bool Fresh { get; init; }

    public bool Equals(FileChange other) => Kind == other.Kind && IsDirectory == other.IsDirectory && Path == other.Path;

    public override int GetHashCode() => HashCode.Combine(Kind, Path, IsDirectory);
}

public static class ChangeEvents
{
    public const ChangeEvent Last = ChangeEvent.Recheck;

    /// <summary>The name plugins see (<c>SERSYNC_EVENT</c>, socket frames, webhooks).</summary>
    public static string Name(ChangeEvent e) => e switch
    {
        ChangeEvent.Create => "create",
        ChangeEvent.Delete => "delete",
        ChangeEvent.MoveFrom => "move_from",
        ChangeEvent.MoveTo => "move_to",
        ChangeEvent.Attrib => "attrib",
        _ => "modify",
    };

    /// <summary>The inotify mask sersync's http plugin would have sent for this event (IN_ISDIR included).</summary>
    public static uint InotifyMask(ChangeEvent e, bool isDirectory) => (e switch
    {
        ChangeEvent.Create => 0x100u,
        ChangeEvent.Modify => 0x2u,
        ChangeEvent.Delete => 0x200u,
        ChangeEvent.MoveFrom => 0x40u,
        ChangeEvent.MoveTo => 0x80u,
        ChangeEvent.Attrib => 0x4u,
        _ => 0x8u, // IN_CLOSE_WRITE: what a write that was not watched as it happened ends with
    }) | (isDirectory ? 0x40000000u : 0u);
}
