using System.Net;
using System.Net.Sockets;
using SerSync.Paths;
using SerSync.Testing;

namespace SerSync.IntegrationTests.Infrastructure;

/// <summary>The test fixtures themselves, against real rsync and sshd.</summary>
public sealed class FixtureTests
{
    private const string User = "sersync";
    private const string Password = "s3cret pass";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Rsync_daemon_with_auth_mirrors_every_nasty_name_in_the_sersync_form()
    {
        using var tmp = new TempDirectory();
        var src = tmp.Sub("src");
        var dst = tmp.Sub("dst");
        Assert.Equal(NastyNames.All.Count * 4, NastyNames.CreateTree(src));
        Directory.CreateDirectory(Path.Combine(src, "a", "b", "c"));
        File.WriteAllText(Path.Combine(src, "a", "b", "c", "deep.txt"), "deep");
        File.WriteAllBytes(Path.Combine(src, "big.bin"), RandomBytes(300_000));
        File.WriteAllText(Path.Combine(dst, "stale.txt"), "to be deleted by --delete");

        await using var daemon = new RsyncDaemon().AddModule("mirror", dst, User, Password).Start();
        var passwordFile = daemon.WriteClientPasswordFile(Password);

        var result = await PushAsync(daemon, src, passwordFile, "mirror");
        Assert.True(result.ExitCode == 0, result.ToString());
        TreeComparer.AssertEqual(src, dst, new TreeCompareOptions { ComparePermissions = true });

        // No name was ever interpreted by a shell.
        Assert.False(File.Exists(Path.Combine(src, "pwned")));
        Assert.False(File.Exists(Path.Combine(dst, "pwned")));
        Assert.False(File.Exists(Path.Combine(daemon.Directory, "pwned")));

        // --delete: a removed nasty name disappears from the target too.
        NastyNames.Delete(NastyNames.Join(src, NastyNames.All[19]));
        result = await PushAsync(daemon, src, passwordFile, "mirror");
        Assert.True(result.ExitCode == 0, result.ToString());
        TreeComparer.AssertEqual(src, dst);
        Assert.Null(FileSystemBytes.Stat(NastyNames.Join(dst, NastyNames.All[19])));
        Assert.Contains("connect from", daemon.ReadLog(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rsync_daemon_rejects_a_wrong_password_with_exit_code_5()
    {
        using var tmp = new TempDirectory();
        var src = tmp.Sub("src");
        var dst = tmp.Sub("dst");
        File.WriteAllText(Path.Combine(src, "f"), "x");
        await using var daemon = new RsyncDaemon().AddModule("mirror", dst, User, Password).Start();

        var result = await PushAsync(daemon, src, daemon.WriteClientPasswordFile("wrong"), "mirror");

        Assert.True(result.ExitCode == 5, result.ToString());
        Assert.Contains("auth failed", result.StandardError, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(dst));
    }

    [Fact]
    public async Task Rsync_daemon_module_without_auth_and_read_only_module()
    {
        using var tmp = new TempDirectory();
        var src = tmp.Sub("src");
        var open = tmp.Sub("open");
        var ro = tmp.Sub("ro");
        File.WriteAllText(Path.Combine(src, "f"), "x");
        await using var daemon = new RsyncDaemon().AddModule("open", open).AddModule("ro", ro, readOnly: true).Start();

        var ok = await ChildProcess.RunAsync("rsync", ["-az", "-R", $"--port={daemon.Port}", "./", RsyncDaemon.Destination("open")], src, cancellationToken: Ct);
        Assert.True(ok.ExitCode == 0, ok.ToString());
        TreeComparer.AssertEqual(src, open);

        var refused = await ChildProcess.RunAsync("rsync", ["-az", "./", daemon.Url("ro")], src, cancellationToken: Ct);
        Assert.True(refused.ExitCode != 0, refused.ToString());
        Assert.Contains("read only", refused.StandardError, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Rsync_daemon_can_be_killed_and_started_again_on_the_same_port()
    {
        using var tmp = new TempDirectory();
        var src = tmp.Sub("src");
        var dst = tmp.Sub("dst");
        File.WriteAllText(Path.Combine(src, "f"), "one");
        await using var daemon = new RsyncDaemon().AddModule("mirror", dst, User, Password).Start();
        var passwordFile = daemon.WriteClientPasswordFile(Password);
        var port = daemon.Port;
        var firstPid = daemon.Pid;

        daemon.Kill();

        Assert.False(daemon.IsRunning);
        Assert.False(Directory.Exists($"/proc/{firstPid}"), "the killed daemon's PID is gone");
        Assert.False(FreePort.CanConnect(port, DateTime.UtcNow + TimeSpan.FromSeconds(2)));
        var down = await PushAsync(daemon, src, passwordFile, "mirror");
        Assert.True(down.ExitCode != 0, down.ToString());

        daemon.Start();

        Assert.Equal(port, daemon.Port);
        Assert.NotEqual(firstPid, daemon.Pid);
        var up = await PushAsync(daemon, src, passwordFile, "mirror");
        Assert.True(up.ExitCode == 0, up.ToString());
        TreeComparer.AssertEqual(src, dst);
    }

    [Fact]
    public void Rsync_daemon_start_failure_reports_its_log()
    {
        using var squatter = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        squatter.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        squatter.Listen();
        var port = ((IPEndPoint)squatter.LocalEndPoint!).Port;
        using var tmp = new TempDirectory();
        using var daemon = new RsyncDaemon(port).AddModule("m", tmp.Path);

        var e = Assert.Throws<InvalidOperationException>(() => daemon.Start());

        Assert.Contains("exited during start", e.Message, StringComparison.Ordinal);
        Assert.Contains("Address already in use", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Dispose_kills_the_servers_by_pid_and_removes_their_files()
    {
        using var tmp = new TempDirectory();
        int rsyncPid, sshPid;
        string rsyncDir, sshKey;
        using (var daemon = new RsyncDaemon().AddModule("m", tmp.Path).Start())
        {
            rsyncPid = daemon.Pid;
            rsyncDir = daemon.Directory;
            Assert.True(Directory.Exists($"/proc/{rsyncPid}"));
        }

        using (var ssh = new SshServer())
        {
            sshPid = ssh.Pid;
            sshKey = ssh.ClientKeyPath;
            Assert.True(Directory.Exists($"/proc/{sshPid}"));
        }

        Assert.False(Directory.Exists($"/proc/{rsyncPid}"));
        Assert.False(Directory.Exists($"/proc/{sshPid}"));
        Assert.False(Directory.Exists(rsyncDir));
        Assert.False(File.Exists(sshKey));
    }

    [Fact]
    public async Task Sshd_carries_rsync_over_ssh_with_every_nasty_name()
    {
        using var tmp = new TempDirectory();
        var src = tmp.Sub("src");
        var dst = tmp.Sub("dst");
        NastyNames.CreateTree(src);
        await using var ssh = new SshServer();

        Assert.DoesNotContain(' ', ssh.ClientKeyPath);
        var result = await ChildProcess.RunAsync("rsync", ["-az", "--delete", "-e", ssh.SshCommand, "./", ssh.Destination(dst + "/")], src, cancellationToken: Ct);

        Assert.True(result.ExitCode == 0, result + "\nsshd:\n" + ssh.Output);
        TreeComparer.AssertEqual(src, dst, new TreeCompareOptions { ComparePermissions = true });
        Assert.False(File.Exists(Path.Combine(dst, "pwned")));

        var whoami = await ChildProcess.RunAsync("ssh", [.. ssh.SshArguments, $"{ssh.User}@127.0.0.1", "id -un"], cancellationToken: Ct);
        Assert.True(whoami.ExitCode == 0, whoami.ToString());
        Assert.Equal(ssh.User, whoami.StandardOutput.Trim());
    }

    [Fact]
    public async Task ChildProcess_passes_argv_verbatim_and_kills_on_timeout()
    {
        var echo = await ChildProcess.RunAsync("printf", ["%s|", "$(touch pwned)", "a b", "*"], cancellationToken: Ct);
        Assert.Equal(0, echo.ExitCode);
        Assert.Equal("$(touch pwned)|a b|*|", echo.StandardOutput);

        var started = DateTime.UtcNow;
        await Assert.ThrowsAsync<TimeoutException>(() => ChildProcess.RunAsync("sleep", ["30"], timeout: TimeSpan.FromMilliseconds(300), cancellationToken: Ct));
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(10));
    }

    [Fact]
    public void FreePort_waits_for_a_listener_and_gives_up_at_the_deadline()
    {
        var port = FreePort.Pick();
        Assert.InRange(port, 1, 65535);
        Assert.False(FreePort.WaitForListening(port, DateTime.UtcNow + TimeSpan.FromMilliseconds(200)));

        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, port));
        listener.Listen();
        Assert.True(FreePort.WaitForListening(port, DateTime.UtcNow + TimeSpan.FromSeconds(5)));
        Assert.True(FreePort.IsListeningBy(Environment.ProcessId, port));
        Assert.False(FreePort.IsListeningBy(Environment.ProcessId, port == 65535 ? 1 : port + 1));
    }

    private static Task<ChildProcessResult> PushAsync(RsyncDaemon daemon, string source, string passwordFile, string module) =>
        ChildProcess.RunAsync(
            "rsync",
            ["-az", "-R", "--delete", $"--port={daemon.Port}", $"--password-file={passwordFile}", "./", RsyncDaemon.Destination(module, User)],
            workingDirectory: source,
            cancellationToken: Ct);

    private static byte[] RandomBytes(int count)
    {
        var bytes = new byte[count];
        new Random(42).NextBytes(bytes);
        return bytes;
    }
}
