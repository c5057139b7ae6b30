namespace SerSync.Watching;

/// <summary>inotify event and watch flags (linux/inotify.h).</summary>
[Flags]
#pragma warning disable CA1711 // "Flags" suffix is the kernel's vocabulary here
public enum InotifyMask : uint
#pragma warning restore CA1711
{
    None = 0,
    Access = 0x00000001,
    Modify = 0x00000002,
    Attrib = 0x00000004,
    CloseWrite = 0x00000008,
    CloseNoWrite = 0x00000010,
    Open = 0x00000020,
    MovedFrom = 0x00000040,
    MovedTo = 0x00000080,
    Create = 0x00000100,
    Delete = 0x00000200,
    DeleteSelf = 0x00000400,
    MoveSelf = 0x00000800,

    // Always delivered, never requested.
    Unmount = 0x00002000,
    QueueOverflow = 0x00004000,
    Ignored = 0x00008000,

    // Watch options (inotify_add_watch only).
    OnlyDir = 0x01000000,
    DontFollow = 0x02000000,
    ExclUnlink = 0x04000000,
    MaskCreate = 0x10000000,
    MaskAdd = 0x20000000,

    // Set on events whose subject is a directory.
    IsDir = 0x40000000,
    OneShot = 0x80000000,
}
