using System.Runtime.InteropServices;
using System.Text;
using SerSync.Paths;

namespace SerSync.Testing;

/// <summary>link(2) for tests (what <c>ln a b</c> does), what a path's inode and link count are, and a bare truncate(2).</summary>
public static partial class HardLinks
{
    public static void Create(string existing, string newName)
    {
        if (link(existing, newName) != 0)
        {
            throw new IOException($"link {existing} {newName}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        }
    }

    /// <summary>(device, inode, link count) by lstat.</summary>
    public static (ulong Device, ulong Inode, uint Links) Of(string path) =>
        FileSystemBytes.Stat(Encoding.UTF8.GetBytes(path)) is { } st ? (st.Device, st.Inode, st.LinkCount) : throw new FileNotFoundException(path);

    public static bool SameInode(string a, string b) => Of(a) is var x && Of(b) is var y && x.Device == y.Device && x.Inode == y.Inode;

    /// <summary>A bare truncate(2): no open, so inotify reports IN_MODIFY alone (no IN_OPEN, no IN_CLOSE_WRITE).</summary>
    public static void Truncate(string path, long length)
    {
        if (truncate(path, length) != 0)
        {
            throw new IOException($"truncate {path}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        }
    }

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int link(string oldPath, string newPath);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int truncate(string path, long length);
}
