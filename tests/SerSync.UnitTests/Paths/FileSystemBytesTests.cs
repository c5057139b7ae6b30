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
