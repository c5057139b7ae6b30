using System.Globalization;
using System.Text;
using SerSync.Paths;
using SerSync.Testing;

namespace SerSync.UnitTests.Paths;

public sealed class FileSystemBytesTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    private string Dir => _temp.Path;

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Lists_and_stats_a_name_that_is_not_utf8()
    {
        byte[] name = [(byte)'a', 0xff, 0xfe, (byte)'\n', (byte)'b'];
        var full = FileSystemBytes.Combine(Dir, new RelativePath(name));
        // Create it through a shell-free process call with the raw bytes: python writes the file by byte path.
        var rc = CreateWithBytes(full);
        Assert.Equal(0, rc);

        var entries = FileSystemBytes.ListDirectory(Encoding.UTF8.GetBytes(Dir));
        Assert.NotNull(entries);
        Assert.Contains(entries, e => e.Name.AsSpan().SequenceEqual(name) && e.Type == EntryType.File);

        var status = FileSystemBytes.Stat(full);
        Assert.NotNull(status);
        Assert.Equal(EntryType.File, status.Value.Type);
        Assert.Equal(3, status.Value.Size);

        using var handle = FileSystemBytes.OpenRead(full);
        var buf = new byte[8];
        Assert.Equal(3, RandomAccess.Read(handle, buf, 0));
        Assert.Equal("xyz"u8.ToArray(), buf[..3]);
    }

    [Fact]
    public void Vanished_paths_are_null_not_errors()
    {
        var missing = Encoding.UTF8.GetBytes(Path.Combine(Dir, "nope"));
        Assert.Null(FileSystemBytes.ListDirectory(missing));
        Assert.Null(FileSystemBytes.Stat(missing));
    }

    [Fact]
    public void Stat_reads_every_field_where_the_kernel_puts_it()
    {
        // python's os.lstat (its own struct stat) is the reference for the one statx layout in Interop.
        var file = Path.Combine(Dir, "f");
        File.WriteAllText(file, "12345");
        File.CreateSymbolicLink(Path.Combine(Dir, "l"), "f");
        var link = Path.Combine(Dir, "hard");
        var psi = new System.Diagnostics.ProcessStartInfo("python3")
        {
            ArgumentList =
            {
                "-c",
                "import sys,os; os.link(sys.argv[1], sys.argv[2]); s=os.lstat(sys.argv[1]); "
                    + "print(s.st_ino, s.st_nlink, s.st_uid, s.st_gid, s.st_mode, s.st_size, os.major(s.st_dev), os.minor(s.st_dev), s.st_ctime_ns)",
                file,
                link,
            },
            RedirectStandardOutput = true,
        };
        using var p = System.Diagnostics.Process.Start(psi)!;
        var expected = p.StandardOutput.ReadToEnd().Split(' ', StringSplitOptions.TrimEntries);
        p.WaitForExit();
        Assert.Equal(0, p.ExitCode);

        var st = FileSystemBytes.Stat(Encoding.UTF8.GetBytes(file))!.Value;
        Assert.Equal(EntryType.File, st.Type);
        Assert.Equal(expected[0], st.Inode.ToString(CultureInfo.InvariantCulture));
        Assert.Equal(2u, st.LinkCount);
        Assert.Equal(expected[1], st.LinkCount.ToString(CultureInfo.InvariantCulture));
        Assert.Equal(expected[2], st.Uid.ToString(CultureInfo.InvariantCulture));
        Assert.Equal(expected[3], st.Gid.ToString(CultureInfo.InvariantCulture));
        Assert.Equal(expected[4], st.Mode.ToString(CultureInfo.InvariantCulture));
        Assert.Equal(expected[5], st.Size.ToString(CultureInfo.InvariantCulture));
        Assert.Equal((ulong.Parse(expected[6], CultureInfo.InvariantCulture) << 32) | ulong.Parse(expected[7], CultureInfo.InvariantCulture), st.Device);
        var ns = long.Parse(expected[8], CultureInfo.InvariantCulture);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(ns / 1_000_000_000).AddTicks(ns % 1_000_000_000 / 100), st.ChangeTime);

        Assert.Equal(EntryType.Symlink, FileSystemBytes.Stat(Encoding.UTF8.GetBytes(Path.Combine(Dir, "l")))!.Value.Type);
        Assert.Equal(EntryType.Directory, FileSystemBytes.Stat(Encoding.UTF8.GetBytes(Dir))!.Value.Type);
    }

    [Fact]
    public void Combine_takes_the_root_as_bytes_computed_once()
    {
        var r = RelativePath.FromString("a/b");
        Assert.Equal("/srv/a/b"u8.ToArray(), FileSystemBytes.Combine(FileSystemBytes.RootBytes("/srv/"), r));
        Assert.Equal("/a/b"u8.ToArray(), FileSystemBytes.Combine(FileSystemBytes.RootBytes("/"), r));
        Assert.Equal("/"u8.ToArray(), FileSystemBytes.Combine(FileSystemBytes.RootBytes("/"), RelativePath.Root));
        Assert.Equal("/srv"u8.ToArray(), FileSystemBytes.Combine(FileSystemBytes.RootBytes("/srv"), RelativePath.Root));
        Assert.Equal(FileSystemBytes.Combine("/srv", r), FileSystemBytes.Combine(FileSystemBytes.RootBytes("/srv"), r));
    }

    [Fact]
    public void TryCreateNew_creates_once_and_TryDelete_removes()
    {
        var path = Encoding.UTF8.GetBytes(Path.Combine(Dir, "new"));
        Assert.True(FileSystemBytes.TryCreateNew(path, 0x180, out var error), error);
        Assert.False(FileSystemBytes.TryCreateNew(path, 0x180, out error));
        Assert.NotNull(error);
        Assert.Equal(EntryType.File, FileSystemBytes.Stat(path)!.Value.Type);
        Assert.Equal(0u, FileSystemBytes.Stat(path)!.Value.Mode & 0x3f); // nothing for group or others
        Assert.True(FileSystemBytes.TryDelete(path));
        Assert.False(FileSystemBytes.TryDelete(path));
        Assert.Null(FileSystemBytes.Stat(path));
    }

    private static int CreateWithBytes(byte[] path)
    {
        // The path goes to python as hex in argv, never through a shell.
        var psi = new System.Diagnostics.ProcessStartInfo("python3")
        {
            ArgumentList = { "-c", "import sys,os; p=bytes.fromhex(sys.argv[1]); open(p,'wb').write(b'xyz')", Convert.ToHexString(path) },
        };
        using var p = System.Diagnostics.Process.Start(psi)!;
        p.WaitForExit();
        return p.ExitCode;
    }
}
