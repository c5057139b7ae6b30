using System.Text;
using SerSync.Paths;
using SerSync.Testing;

namespace SerSync.UnitTests.Paths;

/// <summary>The managed implementation that runs off Linux, compared on Linux with the native one on ordinary (UTF-8)
/// names: what both can say must agree; what the managed APIs cannot say is the documented stand-in.</summary>
public sealed class PortableFileSystemTests : IDisposable
{
    private readonly TempDirectory _temp = new("sersync-portable-");

    public void Dispose() => _temp.Dispose();

    private static byte[] B(string text) => Encoding.UTF8.GetBytes(text);

    private string At(string name) => Path.Combine(_temp.Path, name);

    private void MakeTree()
    {
        File.WriteAllBytes(At("file.txt"), new byte[1234]);
        File.WriteAllText(At("héllo wörld"), "x");
        Directory.CreateDirectory(At("dir"));
        File.WriteAllText(At("dir/inner"), "inner");
        File.CreateSymbolicLink(At("link"), "file.txt");
        File.CreateSymbolicLink(At("dangling"), "nowhere/at/all");
        Directory.CreateSymbolicLink(At("dirlink"), "dir");
        File.SetLastWriteTimeUtc(At("file.txt"), new DateTime(2020, 5, 6, 7, 8, 9, 123, DateTimeKind.Utc));
        File.SetUnixFileMode(At("file.txt"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
    }

    [Fact]
    public void Listing_names_and_types_agree_with_the_native_listing()
    {
        MakeTree();

        var native = FileSystemBytes.ListDirectory(B(_temp.Path))!.Select(e => (Encoding.UTF8.GetString(e.Name), e.Type)).Order().ToList();
        var portable = PortableFileSystem.ListDirectory(B(_temp.Path))!.Select(e => (Encoding.UTF8.GetString(e.Name), e.Type)).Order().ToList();

        Assert.Equal(native, portable);
        Assert.Contains(("héllo wörld", EntryType.File), portable);
        Assert.Contains(("dirlink", EntryType.Symlink), portable);
        Assert.All(PortableFileSystem.ListDirectory(B(_temp.Path))!, e => Assert.Equal(0UL, e.Inode)); // unknown
    }

    [Fact]
    public void Listing_what_is_not_a_directory_is_null_as_natively()
    {
        MakeTree();

        foreach (var name in new[] { "absent", "file.txt", "dangling" })
        {
            Assert.Null(FileSystemBytes.ListDirectory(B(At(name))));
            Assert.Null(PortableFileSystem.ListDirectory(B(At(name))));
        }

        // opendir follows a symlink to a directory; so does the portable listing.
        Assert.Equal(
            FileSystemBytes.ListDirectory(B(At("dirlink")))!.Select(e => Encoding.UTF8.GetString(e.Name)),
            PortableFileSystem.ListDirectory(B(At("dirlink")))!.Select(e => Encoding.UTF8.GetString(e.Name)));
    }

    [Theory]
    [InlineData("file.txt")]
    [InlineData("héllo wörld")]
    [InlineData("dir")]
    [InlineData("link")]
    [InlineData("dangling")]
    [InlineData("dirlink")]
    public void Stat_agrees_on_type_permissions_size_and_mtime(string name)
    {
        MakeTree();

        var native = FileSystemBytes.Stat(B(At(name)))!.Value;
        var portable = PortableFileSystem.Stat(B(At(name)))!.Value;

        Assert.Equal(native.Type, portable.Type);
        Assert.Equal(native.Mode, portable.Mode); // type bits and permissions
        if (native.Type != EntryType.Directory)
        {
            Assert.Equal(native.Size, portable.Size); // a symlink's: its target's length
        }

        if (native.Type != EntryType.Symlink)
        {
            // .NET reads a symlink's times from its target; rsync keeps a link's own mtime, nothing here reads it.
            Assert.Equal(native.ModifyTime, portable.ModifyTime);
        }

        // What the managed APIs cannot read: documented stand-ins.
        Assert.Equal(0UL, portable.Inode);
        Assert.Equal(0UL, portable.Device);
        Assert.Equal(1u, portable.LinkCount);
        Assert.True(portable.ChangeTime >= portable.ModifyTime);
    }

    [Fact]
    public void Stat_of_a_missing_path_is_null()
    {
        Assert.Null(PortableFileSystem.Stat(B(At("absent"))));
        Assert.Null(PortableFileSystem.Stat(B(At("absent/below"))));
    }

    [Fact]
    public void A_name_that_is_not_utf8_is_an_io_error_not_another_name()
    {
        var path = Encoding.UTF8.GetBytes(_temp.Path + "/").Concat(new byte[] { 0xff, (byte)'x' }).ToArray();

        Assert.Throws<IOException>(() => PortableFileSystem.Stat(path));
    }

    [Fact]
    public void ReadLink_and_OpenRead_agree_with_the_native_calls()
    {
        MakeTree();

        Assert.Equal(FileSystemBytes.ReadLink(B(At("link"))), PortableFileSystem.ReadLink(B(At("link"))));
        Assert.Equal(FileSystemBytes.ReadLink(B(At("dangling"))), PortableFileSystem.ReadLink(B(At("dangling"))));
        Assert.Throws<IOException>(() => PortableFileSystem.ReadLink(B(At("file.txt"))));

        using (var handle = PortableFileSystem.OpenRead(B(At("dir/inner"))))
        {
            var buffer = new byte[16];
            Assert.Equal("inner", Encoding.UTF8.GetString(buffer, 0, RandomAccess.Read(handle, buffer, 0)));
        }

        Assert.Throws<IOException>(() => FileSystemBytes.OpenRead(B(At("link"))));
        Assert.Throws<IOException>(() => PortableFileSystem.OpenRead(B(At("link"))));
        Assert.Throws<FileNotFoundException>(() => PortableFileSystem.OpenRead(B(At("absent"))));
    }

    [Fact]
    public void Create_delete_rename_and_mkdir_report_as_the_native_calls_do()
    {
        Assert.True(PortableFileSystem.TryCreateNew(B(At("new")), 0b110_000_000, out var error), error);
        Assert.False(PortableFileSystem.TryCreateNew(B(At("new")), 0b110_000_000, out error));
        Assert.NotNull(error);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(At("new")));

        Assert.Equal(0, PortableFileSystem.TryCreateDirectory(B(At("d")), 0b111_000_000));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(At("d")));
        Assert.Equal(FileSystemBytes.TryCreateDirectory(B(At("d")), 0b111_000_000), PortableFileSystem.TryCreateDirectory(B(At("d")), 0b111_000_000)); // EEXIST
        Assert.Equal(FileSystemBytes.TryCreateDirectory(B(At("no/such")), 0b111_000_000), PortableFileSystem.TryCreateDirectory(B(At("no/such")), 0b111_000_000)); // ENOENT

        Assert.Equal(0, PortableFileSystem.TryRename(B(At("new")), B(At("d/moved"))));
        Assert.True(File.Exists(At("d/moved")));
        Assert.Equal(2, PortableFileSystem.TryRename(B(At("new")), B(At("d/again")))); // ENOENT: gone
        Assert.Equal(2, PortableFileSystem.TryRename(B(At("d/moved")), B(At("missing/parent/x")))); // ENOENT: the caller makes the parents
        Directory.CreateDirectory(At("empty"));
        Assert.Equal(0, PortableFileSystem.TryRename(B(At("d")), B(At("empty")))); // a directory over an empty one
        Assert.True(File.Exists(At("empty/moved")));

        File.CreateSymbolicLink(At("l"), "empty");
        Assert.True(PortableFileSystem.TryDelete(B(At("l")))); // the link, not its target
        Assert.True(Directory.Exists(At("empty")));
        Assert.False(PortableFileSystem.TryDelete(B(At("empty")))); // a directory: unlink refuses it
        Assert.True(PortableFileSystem.TryDelete(B(At("empty/moved"))));
        Assert.False(PortableFileSystem.TryDelete(B(At("empty/moved"))));
    }
}
