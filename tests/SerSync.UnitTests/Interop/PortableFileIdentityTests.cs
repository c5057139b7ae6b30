using System.Net.Sockets;
using SerSync.Interop;
using SerSync.Testing;

namespace SerSync.UnitTests.Interop;

/// <summary>FileIdentity's stand-ins off Linux, run here beside the native answers.</summary>
public sealed class PortableFileIdentityTests : IDisposable
{
    private readonly TempDirectory _temp = new("sersync-portable-id-");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void A_listening_socket_and_a_stale_one_are_sockets_a_file_and_a_directory_are_not()
    {
        var live = Path.Combine(_temp.Path, "live.sock");
        var stale = Path.Combine(_temp.Path, "stale.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(live));
        listener.Listen(1);
        using (var gone = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            gone.Bind(new UnixDomainSocketEndPoint(stale)); // closed unlistened: the file stays, nobody answers
        }

        File.WriteAllText(Path.Combine(_temp.Path, "file"), "not a socket");

        foreach (var name in new[] { "live.sock", "stale.sock", "file", "." })
        {
            var path = Path.Combine(_temp.Path, name);
            Assert.Equal(FileIdentity.IsSocket(path), FileIdentity.PortableIsSocket(path));
        }

        Assert.Null(FileIdentity.PortableIsSocket(Path.Combine(_temp.Path, "absent")));
    }

    [Fact]
    public void The_birth_time_tells_a_file_made_again_at_the_same_path_apart()
    {
        var path = Path.Combine(_temp.Path, "f");
        File.WriteAllText(path, "1");
        var first = FileIdentity.PortableInodeOf(path);
        Thread.Sleep(20);
        File.Delete(path);
        File.WriteAllText(path, "2");

        Assert.NotNull(first);
        Assert.Equal(FileIdentity.PortableInodeOf(Path.Combine(_temp.Path, "..", Path.GetFileName(_temp.Path), "f")), FileIdentity.PortableInodeOf(path)); // the same file, named otherwise
        // macOS and the BSDs give .NET the birth time; on Linux .NET's creation time is the older of mtime and ctime,
        // which a new file moves as well: either way the file made again differs.
        Assert.NotEqual(first, FileIdentity.PortableInodeOf(path));
        Assert.NotNull(FileIdentity.PortableDirectoryIdentityOf(_temp.Path));

        Assert.Null(FileIdentity.PortableInodeOf(Path.Combine(_temp.Path, "absent")));
        Assert.Null(FileIdentity.PortableDirectoryIdentityOf(path)); // a file, not a directory
    }
}
