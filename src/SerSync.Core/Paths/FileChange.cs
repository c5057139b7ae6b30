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

/// <summary>One change under a watched root, as the watcher reports it after translating raw inotify events.</summary>
public readonly record struct FileChange(ChangeKind Kind, RelativePath Path, bool IsDirectory);
