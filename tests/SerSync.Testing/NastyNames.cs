using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;
using SerSync.Paths;

namespace SerSync.Testing;

/// <summary>
/// File names that break naive quoting, globbing, option parsing and UTF-8 decoding, as raw bytes, and helpers to
/// create files, directories and symlinks under byte paths (which .NET's string APIs cannot do for non-UTF-8 names).
/// </summary>
public static class NastyNames
{
    /// <summary>Every nasty name; all distinct, none contains '/' or NUL, none is "." or "..".</summary>
    public static IReadOnlyList<byte[]> All { get; } =
    [
        "with space"u8.ToArray(),
        " leading and trailing space "u8.ToArray(),
        "new\nline"u8.ToArray(),
        "tab\there"u8.ToArray(),
        "single'quote"u8.ToArray(),
        "double\"quote"u8.ToArray(),
        "back`tick`"u8.ToArray(),
        "$(touch pwned)"u8.ToArray(),
        "${HOME}"u8.ToArray(),
        "star*"u8.ToArray(),
        "[a]"u8.ToArray(),
        "question?"u8.ToArray(),
        "back\\slash"u8.ToArray(),
        "-rf"u8.ToArray(),
        "--delete"u8.ToArray(),
        "#hash"u8.ToArray(),
        "semi;colon&amp|pipe"u8.ToArray(),
        "a~b"u8.ToArray(),
        "colon:name"u8.ToArray(),
        [(byte)'b', (byte)'a', (byte)'d', 0xff, 0xfe],
        [(byte)'l', (byte)'o', (byte)'n', (byte)'e', 0x80],
        [0xc3, 0x28, (byte)'x'],
        Encoding.ASCII.GetBytes(new string('L', 200)),
        "café"u8.ToArray(),
        "中文"u8.ToArray(),
    ];

    /// <summary>Joins an absolute root (UTF-8) and byte path components with '/'.</summary>
    public static byte[] Join(string root, params ReadOnlySpan<byte[]> components)
    {
        ArgumentNullException.ThrowIfNull(root);
        var result = new List<byte>(Encoding.UTF8.GetBytes(root.TrimEnd('/')));
        foreach (var component in components)
        {
            result.Add((byte)'/');
            result.AddRange(component);
        }

        return [.. result];
    }

    /// <summary>Creates (or truncates) a regular file at a raw byte path and writes <paramref name="content"/>.</summary>
    public static unsafe void CreateFile(byte[] absolutePath, byte[] content, int mode = 0b110_100_100)
    {
        ArgumentNullException.ThrowIfNull(absolutePath);
        ArgumentNullException.ThrowIfNull(content);
        var cpath = TestLibc.CString(absolutePath);
        int fd;
        fixed (byte* p = cpath)
        {
            fd = TestLibc.open(p, TestLibc.O_WRONLY | TestLibc.O_CREAT | TestLibc.O_TRUNC | TestLibc.O_NOFOLLOW | TestLibc.O_CLOEXEC, mode);
        }

        if (fd < 0)
        {
            throw Error("create", absolutePath);
        }

        using var handle = new SafeFileHandle(fd, ownsHandle: true);
        RandomAccess.Write(handle, content, 0);
    }

    /// <summary>Creates a directory at a raw byte path (its parent must exist); an existing directory is fine.</summary>
    public static unsafe void CreateDirectory(byte[] absolutePath, int mode = 0b111_101_101)
    {
        ArgumentNullException.ThrowIfNull(absolutePath);
        var cpath = TestLibc.CString(absolutePath);
        int rc;
        fixed (byte* p = cpath)
        {
            rc = TestLibc.mkdir(p, mode);
        }

        if (rc != 0)
        {
            var error = Error("mkdir", absolutePath);
            if (Marshal.GetLastPInvokeError() != TestLibc.EEXIST || FileSystemBytes.Stat(absolutePath)?.Type != EntryType.Directory)
            {
                throw error;
            }
        }
    }

    /// <summary>Creates a symlink at <paramref name="linkPath"/> pointing at <paramref name="target"/> (raw bytes,
    /// not resolved).</summary>
    public static unsafe void CreateSymlink(byte[] target, byte[] linkPath)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(linkPath);
        var ctarget = TestLibc.CString(target);
        var clink = TestLibc.CString(linkPath);
        int rc;
        fixed (byte* t = ctarget)
        fixed (byte* l = clink)
        {
            rc = TestLibc.symlink(t, l);
        }

        if (rc != 0)
        {
            throw Error("symlink", linkPath);
        }
    }

    /// <summary>Sets permission bits (chmod follows symlinks, so do not use it on one).</summary>
    public static unsafe void SetMode(byte[] absolutePath, int mode)
    {
        ArgumentNullException.ThrowIfNull(absolutePath);
        var cpath = TestLibc.CString(absolutePath);
        int rc;
        fixed (byte* p = cpath)
        {
            rc = TestLibc.chmod(p, mode);
        }

        if (rc != 0)
        {
            throw Error("chmod", absolutePath);
        }
    }

    /// <summary>Removes a file or symlink at a raw byte path.</summary>
    public static unsafe void Delete(byte[] absolutePath)
    {
        ArgumentNullException.ThrowIfNull(absolutePath);
        var cpath = TestLibc.CString(absolutePath);
        int rc;
        fixed (byte* p = cpath)
        {
            rc = TestLibc.unlink(p);
        }

        if (rc != 0)
        {
            throw Error("unlink", absolutePath);
        }
    }

    /// <summary>
    /// Fills <paramref name="root"/> with every nasty name as a file (its content is the name's bytes), a directory
    /// per nasty name holding a file with the same name, and a symlink per nasty name pointing at the file of that name
    /// (prefix "link-"). Returns the number of entries created.
    /// </summary>
    public static int CreateTree(string root)
    {
        var count = 0;
        foreach (var name in All)
        {
            CreateFile(Join(root, name), name);
            var dirName = Concat("dir-"u8, name);
            CreateDirectory(Join(root, dirName));
            CreateFile(Join(root, dirName, name), Concat("in dir: "u8, name));
            CreateSymlink(name, Join(root, Concat("link-"u8, name)));
            count += 4;
        }

        return count;
    }

    private static byte[] Concat(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        var result = new byte[a.Length + b.Length];
        a.CopyTo(result);
        b.CopyTo(result.AsSpan(a.Length));
        return result;
    }

    private static IOException Error(string what, byte[] path)
    {
        var errno = Marshal.GetLastPInvokeError();
        return new IOException($"{what} {new RelativePath(path)}: {Marshal.GetPInvokeErrorMessage(errno)}");
    }
}
