using System.Runtime.Versioning;
using SerSync.Configuration;
using SerSync.Paths;
using SerSync.Rsync;
using SerSync.Testing;
using static SerSync.Testing.ConfigTestSupport;

namespace SerSync.UnitTests.Configuration;

/// <summary>A <c>&lt;remote&gt;</c>'s own <c>&lt;rsync&gt;</c>: what it gives replaces, the rest is inherited, and
/// every combination rsync refuses is refused at load, at this target's line.</summary>
[UnsupportedOSPlatform("windows")]
public sealed class PerTargetRsyncTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly string _watch;
    private readonly string _pas;
    private readonly string _key;

    public PerTargetRsyncTests()
    {
        _watch = _temp.Sub("www");
        _pas = Path.Combine(_temp.Path, "rsync.pas");
        File.WriteAllText(_pas, "secret\n");
        File.SetUnixFileMode(_pas, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        _key = Path.Combine(_temp.Path, "id_ed25519");
        File.WriteAllText(_key, "not really a key\n");
    }

    public void Dispose() => _temp.Dispose();

    private string Cfg(string remotes, string rsync = "") =>
        Config(_watch, $"    <localpath watch=\"{_watch}\">\n{remotes}\n    </localpath>", rsync);

    private string SharedAuth => $"<auth start=\"true\" users=\"web\" passwordfile=\"{_pas}\"/>";

    private static SerSyncConfig Parse(string xml) => ConfigLoader.Parse(xml, FileName);

    [Fact]
    public void Children_given_replace_the_shared_ones_and_the_others_are_inherited()
    {
        var c = Parse(Cfg(
            "<remote ip=\"10.0.0.1\" name=\"www\"/>\n" +
            "<remote ip=\"10.0.0.2\" name=\"www\"><rsync><commonParams params=\"-rt\"/></rsync></remote>",
            "<commonParams params=\"-az\"/><timeout start=\"true\" time=\"60\"/>" + SharedAuth));
        var (plain, own) = (c.Watches[0].Remotes[0], c.Watches[0].Remotes[1]);
        Assert.Null(plain.Rsync);
        Assert.NotNull(own.Rsync);
        Assert.Equal(["-rt"], own.Rsync.CommonParams);
        Assert.Equal(new SwitchedNumber(true, 60), own.Rsync.Timeout);
        Assert.Equal(c.Rsync.Auth, own.Rsync.Auth);
        Assert.Equal(RemoteKind.RsyncDaemon, own.Kind);

        var targets = SyncTarget.FromConfig(c);
        Assert.Equal(["-az"], targets[0].Rsync.CommonParams);
        Assert.Equal(["-rt"], targets[1].Rsync.CommonParams);
        Assert.Equal("web@10.0.0.2::www", targets[1].Destination);
    }

    [Fact]
    public void One_config_mixes_an_authenticated_daemon_an_ssh_host_and_a_local_directory()
    {
        var c = Parse(Cfg(
            "<remote ip=\"10.0.0.1\" name=\"www\"/>\n" +
            $"<remote ip=\"backup@10.0.0.2\" name=\"/srv/www\"><rsync><auth start=\"false\"/><ssh start=\"true\" port=\"2222\" identity=\"{_key}\"/></rsync></remote>\n" +
            "<remote path=\"/srv/staging\"><rsync><commonParams params=\"-a\"/></rsync></remote>",
            SharedAuth));
        var targets = SyncTarget.FromConfig(c);
        Assert.Equal([RemoteKind.RsyncDaemon, RemoteKind.Ssh, RemoteKind.LocalDirectory], targets.Select(t => t.Remote.Kind));
        Assert.Equal("web@10.0.0.1::www", targets[0].Destination);
        Assert.Equal("backup@10.0.0.2:/srv/www", targets[1].Destination);
        Assert.Equal("backup@10.0.0.2:/srv/www", targets[1].Label);
        Assert.False(targets[1].Rsync.Auth.Enabled);
        Assert.Equal(2222, targets[1].Rsync.SshPort);
        Assert.Equal(_key, targets[1].Rsync.SshIdentity);
        Assert.Equal(["-a"], targets[2].Rsync.CommonParams);

        var args = RsyncArguments.Batch(targets[1]);
        Assert.DoesNotContain(args, a => a.StartsWith("--password-file", StringComparison.Ordinal));
        Assert.Equal($"ssh -p 2222 -i {_key} -o ConnectTimeout=10", args[args.IndexOf("-e") + 1]);
    }

    [Fact]
    public void An_own_element_replaces_the_shared_one_whole()
    {
        var c = Parse(Cfg(
            "<remote ip=\"10.0.0.2\" name=\"d\"><rsync><ssh start=\"true\" port=\"2\"/></rsync></remote>",
            "<ssh start=\"true\" command=\"ssh -4\" user=\"alice\" keepOpen=\"false\"/>"));
        var own = c.Watches[0].Remotes[0].Rsync!;
        Assert.Equal("ssh", own.SshCommand);
        Assert.Null(own.SshUser);
        Assert.Equal(2, own.SshPort);
        Assert.True(own.SshKeepOpen);
        Assert.Equal("alice", c.Rsync.SshUser);
        Assert.False(c.Rsync.SshKeepOpen);
    }

    [Fact]
    public void The_target_kind_comes_from_the_targets_own_ssh()
    {
        var c = Parse(Cfg(
            "<remote ip=\"10.0.0.1\" name=\"/d\"/>\n<remote ip=\"10.0.0.2\" name=\"m\"><rsync><ssh start=\"false\"/></rsync></remote>",
            "<ssh start=\"true\"/>"));
        Assert.Equal(RemoteKind.Ssh, c.Watches[0].Remotes[0].Kind);
        Assert.Equal(RemoteKind.RsyncDaemon, c.Watches[0].Remotes[1].Kind);
    }

    [Fact]
    public void Configs_without_the_new_element_keep_their_labels_and_ids()
    {
        var daemon = SyncTarget.FromConfig(Parse(Cfg("<remote ip=\"10.0.0.1\" name=\"www\"/>")))[0];
        Assert.Equal("10.0.0.1::www", daemon.Label);
        Assert.Equal(StableId.Of("RsyncDaemon 10.0.0.1::www"), daemon.Id);
        var ssh = SyncTarget.FromConfig(Parse(Cfg("<remote ip=\"10.0.0.1\" name=\"/www\"/>", "<ssh start=\"true\"/>")))[0];
        Assert.Equal("10.0.0.1:/www", ssh.Label);
        Assert.Equal(StableId.Of("Ssh 10.0.0.1:/www"), ssh.Id);
        Assert.Null(ssh.Remote.User);
    }

    [Fact]
    public void Ssh_user_in_ip_goes_into_the_destination()
    {
        var t = SyncTarget.FromConfig(Parse(Cfg("<remote ip=\"deploy@web1.example.com\" name=\"/www\"/>", "<ssh start=\"true\"/>")))[0];
        Assert.Equal("web1.example.com", t.Remote.Ip);
        Assert.Equal("deploy", t.Remote.User);
        Assert.Equal("deploy@web1.example.com:/www", t.Destination);
    }

    // ---- refusals, each at this target's element ----

    [Fact]
    public void Own_ssh_with_the_shared_auth_is_refused_at_the_own_ssh()
    {
        var xml = Cfg("<remote ip=\"10.0.0.2\" name=\"/d\"><rsync><ssh start=\"true\"/></rsync></remote>", SharedAuth);
        var sharedLine = Pos(xml, "<auth").Line;
        AssertFails(xml, "<ssh", "password-file", $"<auth> inherited from the shared <rsync> at line {sharedLine}", "<auth start=\"false\"/>");
    }

    [Fact]
    public void Own_auth_with_the_shared_ssh_is_refused_at_the_own_auth()
    {
        var xml = Cfg($"<remote ip=\"10.0.0.2\" name=\"/d\"><rsync><auth start=\"true\" users=\"u\" passwordfile=\"{_pas}\"/></rsync></remote>", "<ssh start=\"true\"/>");
        AssertFails(xml, "<auth", "may only be used when accessing an rsync daemon", "<ssh> inherited from the shared <rsync>");
    }

    [Fact]
    public void Own_ssh_and_own_auth_are_refused_at_the_auth()
    {
        var xml = Cfg($"<remote ip=\"10.0.0.2\" name=\"/d\"><rsync>\n<ssh start=\"true\"/>\n<auth start=\"true\" users=\"u\" passwordfile=\"{_pas}\"/></rsync></remote>");
        AssertFails(xml, "<auth", $"<ssh> at line {Pos(xml, "<ssh").Line}");
    }

    [Fact]
    public void Own_ssh_with_the_shared_port_is_refused_at_the_own_ssh()
    {
        var xml = Cfg("<remote ip=\"10.0.0.2\" name=\"/d\"><rsync><ssh start=\"true\"/></rsync></remote>", "<userDefinedPort start=\"true\" port=\"8730\"/>");
        AssertFails(xml, "<ssh", "--port only means something to an rsync daemon", "<userDefinedPort start=\"false\"/>", "<ssh port=\"8730\"/>");
    }

    [Fact]
    public void Own_port_with_own_ssh_is_refused_at_the_port()
    {
        var xml = Cfg("<remote ip=\"10.0.0.2\" name=\"/d\"><rsync><ssh start=\"true\"/><userDefinedPort start=\"true\" port=\"2222\"/></rsync></remote>");
        AssertFails(xml, "<userDefinedPort", "--port only means something to an rsync daemon");
    }

    [Fact]
    public void Shared_auth_is_fine_for_a_target_that_turns_it_off_for_ssh()
    {
        var c = Parse(Cfg("<remote ip=\"10.0.0.2\" name=\"/d\"><rsync><auth start=\"false\"/><ssh start=\"true\"/></rsync></remote>", SharedAuth));
        Assert.Equal(RemoteKind.Ssh, c.Watches[0].Remotes[0].Kind);
    }

    [Theory]
    [InlineData("<ssh start=\"true\"/>", "<ssh", "ssh")]
    [InlineData("<userDefinedPort start=\"true\" port=\"873\"/>", "<userDefinedPort", "userDefinedPort")]
    public void A_local_directory_target_refuses_ssh_and_port(string child, string at, string what) =>
        AssertFails(Cfg($"<remote path=\"/srv/copy\"><rsync>{child}</rsync></remote>"), at, $"<{what} start=\"true\"> under a <remote path=...>");

    [Fact]
    public void A_local_directory_target_refuses_auth() =>
        AssertFails(Cfg($"<remote path=\"/srv/copy\"><rsync><auth start=\"true\" users=\"u\" passwordfile=\"{_pas}\"/></rsync></remote>"), "<auth", "<auth start=\"true\"> under a <remote path=...>");

    [Fact]
    public void A_local_directory_target_accepts_the_shared_ssh_as_before()
    {
        var c = Parse(Cfg("<remote path=\"/srv/copy\"/>", "<ssh start=\"true\"/>"));
        Assert.Equal(RemoteKind.LocalDirectory, c.Watches[0].Remotes[0].Kind);
    }

    [Fact]
    public void User_at_host_on_a_daemon_target_is_refused() =>
        AssertFails(Cfg("<remote ip=\"root@10.0.0.1\" name=\"www\"/>"), "ip=", "names a user, but this target is an rsync daemon", "<auth users=...>");

    [Fact]
    public void User_at_host_and_an_ssh_user_attribute_are_refused_together() =>
        AssertFails(Cfg("<remote ip=\"bob@10.0.0.1\" name=\"/d\"><rsync><ssh start=\"true\" user=\"alice\"/></rsync></remote>"), "ip=", "give the user in one place only");

    [Theory]
    [InlineData("-oProxyCommand=x@10.0.0.1")]
    [InlineData("a b@10.0.0.1")]
    [InlineData("@10.0.0.1")]
    [InlineData("bob@")]
    public void Bad_users_or_hosts_in_an_ssh_ip_are_refused(string ip) =>
        AssertFails(Cfg($"<remote ip=\"{ip}\" name=\"/d\"/>", "<ssh start=\"true\"/>"), "ip=", ip.EndsWith('@') ? "is not a host name" : "is not a valid login name");

    [Theory]
    [InlineData("user=\"-l\"", "user=", "not a valid login name")]
    [InlineData("user=\"a b\"", "user=", "not a valid login name")]
    [InlineData("port=\"0\"", "port=", "")]
    [InlineData("port=\"x\"", "port=", "")]
    [InlineData("identity=\"id_rsa\"", "identity=", "not an absolute path")]
    [InlineData("identity=\"/nonexistent/id\"", "identity=", "does not exist")]
    [InlineData("keepOpen=\"maybe\"", "keepOpen=", "expected true or false")]
    public void Bad_ssh_attributes_are_refused_at_the_attribute(string attr, string at, string phrase) =>
        AssertFails(Cfg($"<remote ip=\"10.0.0.1\" name=\"/d\"><rsync><ssh start=\"true\" {attr}/></rsync></remote>"), at, phrase);

    [Fact]
    public void Unknown_children_of_a_targets_rsync_are_refused() =>
        AssertFails(Cfg("<remote ip=\"10.0.0.1\" name=\"m\"><rsync><compress/></rsync></remote>"), "<compress", "<commonParams>");
}
