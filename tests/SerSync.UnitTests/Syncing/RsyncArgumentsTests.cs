
using SerSync.Configuration;
using SerSync.Paths;
using SerSync.Rsync;

namespace SerSync.UnitTests.Syncing;

public class RsyncArgumentsTests
{
    private static SyncTarget Target(RemoteConfig remote, RsyncConfig? rsync = null, bool delete = true) =>
        new("/www", remote, rsync ?? RsyncConfig.Stock, delete);

    [Fact]
    public void Daemon_target_with_auth_port_and_timeout()
    {
        var rsync = RsyncConfig.Stock with
        {
            Auth = new AuthConfig(true, "backup", "/etc/rsync.pas"),
            Port = new SwitchedNumber(true, 8730),
            Timeout = new SwitchedNumber(true, 100),
        };
        var args = RsyncArguments.FullPush(Target(new RemoteConfig(RemoteKind.RsyncDaemon, "10.0.0.5", "www", null, 1), rsync), false, ["*.php"]);
        Assert.Equal(
            ["-artuz", "-R", "--delete", "--timeout=100", "--contimeout=5", "--port=8730", "--password-file=/etc/rsync.pas",
             "--exclude=.*.sw?", "--exclude=4913", "--exclude=*~", "--exclude=#*#", "--exclude=.#*", "--exclude=*.php",
             "./", "backup@10.0.0.5::www"],
            args);
    }

    [Fact]
    public void Ssh_target_uses_the_configured_remote_shell_and_no_daemon_options()
    {
        var rsync = RsyncConfig.Stock with { Ssh = true, SshCommand = "ssh -p 2222" };
        var args = RsyncArguments.Batch(Target(new RemoteConfig(RemoteKind.Ssh, "10.0.0.5", "/data/www", null, 1), rsync));
        Assert.Contains("-e", args);
        Assert.Equal("ssh -p 2222 -o ConnectTimeout=10", args[args.IndexOf("-e") + 1]);
        Assert.DoesNotContain(args, a => a.StartsWith("--port", StringComparison.Ordinal) || a.StartsWith("--contimeout", StringComparison.Ordinal));
        Assert.Equal("10.0.0.5:/data/www", args[^1]);
        Assert.Equal(["--from0", "--files-from=-", "./"], args[^4..^1]);
    }

    [Fact]
    public void Without_delete_a_batch_ignores_missing_paths_instead_of_deleting_them()
    {
        var args = RsyncArguments.Batch(Target(new RemoteConfig(RemoteKind.LocalDirectory, null, null, "/srv/mirror", 1), delete: false));
        Assert.Contains("--ignore-missing-args", args);
        Assert.DoesNotContain("--delete", args);
        Assert.DoesNotContain("--delete-missing-args", args);
        Assert.Equal("/srv/mirror/", args[^1]);
        Assert.Contains("--timeout=300", args); // an I/O timeout even when <timeout> is off
    }

    [Fact]
    public void Exclude_list_is_anchored_nul_separated_and_escapes_only_wildcard_names()
    {
        var list = ExcludeList.Encode([RelativePath.FromString("info"), RelativePath.FromString("a/b*c\\d"), new RelativePath([(byte)'x', 0xff, (byte)'\n'])]);
        byte[] expected = [.. "/info\0"u8, .. "/a/b\\*c\\\\d\0"u8, (byte)'/', (byte)'x', 0xff, (byte)'\n', 0];
        Assert.Equal(expected, list);
    }
}
