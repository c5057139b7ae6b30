using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using SerSync.Configuration;
using SerSync.Rsync;
using SerSync.Testing;

namespace SerSync.UnitTests.Syncing;

/// <summary>Which targets get a kept ssh connection, where its socket goes, and what rsync's -e then says.</summary>
public sealed class SshConnectionsTests : IDisposable
{
    private readonly TempDirectory _temp = new("sersync-sshc-");

    public void Dispose() => _temp.Dispose();

    private static SyncTarget Target(RemoteKind kind, RsyncConfig rsync) =>
        new("/www", kind == RemoteKind.LocalDirectory ? new RemoteConfig(kind, null, null, "/srv/copy", 1) : new RemoteConfig(kind, "127.0.0.1", "/d", null, 1), rsync, true);

    private static RsyncConfig SshOn => RsyncConfig.Stock with { Ssh = true };

    [Theory]
    [InlineData(RemoteKind.RsyncDaemon, "ssh", true)]
    [InlineData(RemoteKind.LocalDirectory, "ssh", true)]
    [InlineData(RemoteKind.Ssh, "ssh", false)]
    [InlineData(RemoteKind.Ssh, "ssh -o ControlPath=/run/mine/%C", true)]
    [InlineData(RemoteKind.Ssh, "ssh -oControlMaster=auto", true)]
    [InlineData(RemoteKind.Ssh, "ssh -S /run/mine/sock", true)]
    public void Targets_that_do_not_want_one_are_left_as_they_are(RemoteKind kind, string command, bool keepOpen)
    {
        using var ssh = new SshConnections(_temp.Path, TimeProvider.System, NullLoggerFactory.Instance);
        var target = Target(kind, SshOn with { SshCommand = command, SshKeepOpen = keepOpen });
        Assert.Same(target, ssh.Attach(target));
        Assert.Empty(ssh.All);
        Assert.False(Directory.Exists(Path.Combine(_temp.Path, "ssh")));
    }

    [Fact]
    public void An_ssh_target_joins_its_own_master_through_a_private_socket_directory()
    {
        // A port nothing listens on: the master fails at once, and rsync's -e still carries the options (a client
        // then finds no socket and connects on its own).
        var port = FreePort.Pick();
        using var ssh = new SshConnections(_temp.Path, TimeProvider.System, NullLoggerFactory.Instance);
        var target = ssh.Attach(Target(RemoteKind.Ssh, SshOn with { SshCommand = "ssh -o BatchMode=yes", SshPort = port }));
        var connection = Assert.IsType<SshConnection>(target.Connection);
        var dir = Path.Combine(_temp.Path, "ssh");
        Assert.Equal(dir, Path.GetDirectoryName(connection.ControlPath));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(dir));
        Assert.Equal(
            $"ssh -o BatchMode=yes -p {port.ToString(CultureInfo.InvariantCulture)} -o ControlPath={connection.ControlPath} -o ControlMaster=no -o ConnectTimeout=10",
            RemoteShell.RsyncOption(target));
        Assert.Equal(["ssh", "-o", "BatchMode=yes", "-p", port.ToString(CultureInfo.InvariantCulture), "-o", "ControlPath=" + connection.ControlPath, "-o", "ControlMaster=no", "-o", "ConnectTimeout=10", "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=2", "127.0.0.1", "true"], RemoteShell.Argv(target, "true"));
    }

    [Fact]
    public void A_state_directory_too_long_for_sun_path_falls_back_to_a_short_private_one()
    {
        var deep = Path.Combine(_temp.Path, new string('d', 60), new string('e', 40));
        using var ssh = new SshConnections(deep, TimeProvider.System, NullLoggerFactory.Instance);
        var target = ssh.Attach(Target(RemoteKind.Ssh, SshOn with { SshKeepOpen = true }));
        var path = Assert.IsType<SshConnection>(target.Connection).ControlPath;
        Assert.False(path.StartsWith(deep, StringComparison.Ordinal), path);
        Assert.True(Encoding.UTF8.GetByteCount(path) <= SshConnection.MaxControlPathBytes, path);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(path)!));
    }

    [Fact]
    public async Task The_sweep_removes_what_dead_instances_left_and_nothing_else()
    {
        var dir = _temp.Sub("ssh");
        const string Dead = "7ffffffe"; // above the kernel's pid_max: never a live process
        var deadFile = Path.Combine(dir, $"{Dead}-1-0123abcd");
        File.WriteAllText(deadFile, string.Empty);
        var deadSocket = Path.Combine(dir, $"{Dead}-2-0123abcd");
        using (var listener = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified))
        {
            listener.Bind(new System.Net.Sockets.UnixDomainSocketEndPoint(deadSocket)); // closed again: a master gone without cleaning up
        }

        var ours = SshConnection.NewControlPath(dir, "t");
        File.WriteAllText(ours, string.Empty);
        var other = Path.Combine(dir, "not-ours");
        File.WriteAllText(other, string.Empty);

        await SshConnection.SweepAsync(dir, "ssh", TimeSpan.FromSeconds(5));

        Assert.False(File.Exists(deadFile));
        Assert.False(File.Exists(deadSocket));
        Assert.True(File.Exists(ours));
        Assert.True(File.Exists(other));
    }
}
