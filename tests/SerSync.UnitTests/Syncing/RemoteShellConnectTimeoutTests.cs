using SerSync.Configuration;
using SerSync.Rsync;

namespace SerSync.UnitTests.Syncing;

/// <summary>ssh gets a connect timeout after the configured words, so a dropped link fails fast into the probe; a
/// timeout the user gives wins (ssh keeps the first value); a program other than ssh is left alone.</summary>
public sealed class RemoteShellConnectTimeoutTests
{
    [Theory]
    [InlineData("ssh", "ssh -o ConnectTimeout=10")]
    [InlineData("/usr/bin/ssh -p 2222 -i /k", "/usr/bin/ssh -p 2222 -i /k -o ConnectTimeout=10")]
    [InlineData("ssh -o ConnectTimeout=3", "ssh -o ConnectTimeout=3 -o ConnectTimeout=10")]
    [InlineData("/opt/bin/my-wrapper --x", "/opt/bin/my-wrapper --x")]
    public void The_remote_shell_gets_a_connect_timeout_after_the_configured_words(string command, string expected)
    {
        var target = new SyncTarget("/www", new RemoteConfig(RemoteKind.Ssh, "10.0.0.5", "/data", null, 1), RsyncConfig.Stock with { Ssh = true, SshCommand = command }, true);
        Assert.Equal(expected, RemoteShell.RsyncOption(target));
        string[] alive = expected.Contains("ConnectTimeout", StringComparison.Ordinal) ? ["-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=2"] : [];
        Assert.Equal([.. expected.Split(' '), .. alive, "10.0.0.5", "true"], RemoteShell.Argv(target, "true"));
    }
}
