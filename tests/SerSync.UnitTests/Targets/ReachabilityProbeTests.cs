using System.Net;
using System.Net.Sockets;
using SerSync.Configuration;
using SerSync.Rsync;
using SerSync.Targets;
using SerSync.Testing;

namespace SerSync.UnitTests.Targets;

/// <summary>Where each target kind is probed, and the real probes against a loopback listener and a directory.</summary>
public sealed class ReachabilityProbeTests
{
    [Theory]
    [InlineData("ssh", null)]
    [InlineData("ssh -p 2222", 2222)]
    [InlineData("ssh -p2223 -i /k", 2223)]
    [InlineData("/usr/bin/ssh -i /root/.ssh/id -oPort=2224", 2224)]
    [InlineData("ssh -o Port=2225", 2225)]
    [InlineData("ssh -o 'port 2226'", 2226)]
    [InlineData("ssh -p 2227 -p 2228", 2227)] // ssh keeps the first value
    [InlineData("ssh -i -p", null)] // "-p" is the key file's name here
    [InlineData("ssh -o StrictHostKeyChecking=no -o Port=2229", 2229)]
    [InlineData("ssh -o PortX=1", null)]
    [InlineData("ssh -p 70000", null)]
    public void The_ssh_port_is_read_from_the_command(string command, int? port) =>
        Assert.Equal(port, ReachabilityProbe.SshPort(command));

    [Fact]
    public void Daemon_targets_are_probed_on_their_port_and_ssh_targets_on_sshs()
    {
        var daemon = Target(RemoteKind.RsyncDaemon, "10.0.0.5", RsyncConfig.Stock);
        Assert.Equal(873, ReachabilityProbe.PortOf(daemon));
        Assert.Equal(8730, ReachabilityProbe.PortOf(daemon with { Rsync = RsyncConfig.Stock with { Port = new SwitchedNumber(true, 8730) } }));
        var ssh = Target(RemoteKind.Ssh, "backup@[fd00::5]", RsyncConfig.Stock with { Ssh = true, SshCommand = "ssh -p 2222" });
        Assert.Equal(2222, ReachabilityProbe.PortOf(ssh));
        Assert.Equal("fd00::5", ReachabilityProbe.HostOf(ssh));
        Assert.Equal(22, ReachabilityProbe.PortOf(ssh with { Rsync = ssh.Rsync with { SshCommand = "ssh" } }));
        Assert.Equal("10.0.0.5", ReachabilityProbe.HostOf(daemon));
        Assert.Equal("[fd00::5]:2222", ReachabilityProbe.For(ssh, TimeProvider.System).Endpoint);
    }

    [Fact]
    public async Task A_tcp_probe_answers_while_a_listener_is_there_and_not_once_it_is_gone()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        var port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        var rsync = RsyncConfig.Stock with { Port = new SwitchedNumber(true, port) };
        var probe = ReachabilityProbe.For(Target(RemoteKind.RsyncDaemon, "127.0.0.1", rsync), TimeProvider.System);
        Assert.Equal($"127.0.0.1:{port}", probe.Endpoint);
        Assert.True(await probe.AnswersAsync(TestContext.Current.CancellationToken));
        listener.Close();
        Assert.False(await probe.AnswersAsync(TestContext.Current.CancellationToken)); // refused
    }

    [Fact]
    public async Task A_directory_probe_answers_while_the_directory_exists()
    {
        using var temp = new TempDirectory();
        var dir = Path.Combine(temp.Path, "dst");
        var target = new SyncTarget("/src", new RemoteConfig(RemoteKind.LocalDirectory, null, null, dir, 1), RsyncConfig.Stock, true);
        var probe = ReachabilityProbe.For(target, TimeProvider.System);
        Assert.False(await probe.AnswersAsync(TestContext.Current.CancellationToken));
        Directory.CreateDirectory(dir);
        Assert.True(await probe.AnswersAsync(TestContext.Current.CancellationToken));
    }

    private static SyncTarget Target(RemoteKind kind, string ip, RsyncConfig rsync) =>
        new("/src", new RemoteConfig(kind, ip, "mod", null, 1), rsync, true);
}
