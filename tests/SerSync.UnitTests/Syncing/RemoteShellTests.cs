using SerSync.Configuration;
using SerSync.Rsync;

namespace SerSync.UnitTests.Syncing;

public class RemoteShellTests
{
    private static SyncTarget Ssh(RsyncConfig rsync, string? user = null) =>
        new("/www", new RemoteConfig(RemoteKind.Ssh, "10.0.0.5", "/data/www", null, 1) { User = user }, rsync, true);

    [Fact]
    public void Without_attributes_the_command_is_passed_as_it_is()
    {
        var t = Ssh(RsyncConfig.Stock with { Ssh = true, SshCommand = "ssh -o 'ProxyJump a b'" });
        Assert.Equal("ssh -o 'ProxyJump a b' -o ConnectTimeout=10", RemoteShell.RsyncOption(t));
        Assert.Equal(["ssh", "-o", "ProxyJump a b", "-o", "ConnectTimeout=10", "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=2", "10.0.0.5", "true"], RemoteShell.Argv(t, "true"));
    }

    [Fact]
    public void User_port_and_identity_come_after_the_users_own_words_so_those_win()
    {
        var t = Ssh(RsyncConfig.Stock with { Ssh = true, SshCommand = "ssh -4", SshUser = "deploy", SshPort = 2222, SshIdentity = "/etc/sersync keys/id" });
        Assert.Equal("ssh -4 -l deploy -p 2222 -i '/etc/sersync keys/id' -o ConnectTimeout=10", RemoteShell.RsyncOption(t));
        Assert.Equal(["ssh", "-4", "-l", "deploy", "-p", "2222", "-i", "/etc/sersync keys/id", "-o", "ConnectTimeout=10", "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=2", "10.0.0.5", "mv a b"], RemoteShell.Argv(t, "mv a b"));

        // rsync reads the -e string back into the same words.
        Assert.True(CommonParamsSplitter.TrySplit(RemoteShell.RsyncOption(t), out var words, out _));
        Assert.Equal([.. RemoteShell.Words(t), "-o", "ConnectTimeout=10"], words);
    }

    [Fact]
    public void A_user_in_ip_is_the_host_arguments()
    {
        var t = Ssh(RsyncConfig.Stock with { Ssh = true }, user: "backup");
        Assert.Equal("backup@10.0.0.5", RemoteShell.Host(t));
        Assert.Equal(["ssh", "-o", "ConnectTimeout=10", "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=2", "backup@10.0.0.5", "ls"], RemoteShell.Argv(t, "ls"));
    }

    [Fact]
    public void Control_paths_are_short_and_never_shared_between_connections()
    {
        var dir = "/var/lib/sersyncd/a-fairly-long-instance-name-for-the-test/ssh";
        var a = SshConnection.NewControlPath(dir, "0123456789abcdef");
        var b = SshConnection.NewControlPath(dir, "0123456789abcdef");
        Assert.NotEqual(a, b); // a reload's pipeline, or a second instance, never joins or removes the first's
        Assert.Equal(dir, Path.GetDirectoryName(a));
        Assert.True(Path.GetFileName(a).Length <= SshConnection.MaxNameBytes, a);
        Assert.Equal(Environment.ProcessId, SshConnection.OwnerOf(Path.GetFileName(a)));
    }
}
