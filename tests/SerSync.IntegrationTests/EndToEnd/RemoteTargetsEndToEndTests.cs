using SerSync.Testing;

namespace SerSync.IntegrationTests.EndToEnd;

/// <summary>The built daemon against a real rsync daemon (with auth) and a real sshd on loopback.</summary>
public sealed class RemoteTargetsEndToEndTests
{
    private const string User = "sersync";
    private const string Password = "e2e s3cret";
    private static readonly TimeSpan OnceTimeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Live_changes_reach_a_local_an_rsync_daemon_and_an_ssh_target_at_once()
    {
        using var tmp = new TempDirectory("sersync-e2e-three-");
        var src = tmp.Sub("src");
        var local = Path.Combine(tmp.Path, "local");
        var module = tmp.Sub("module");
        var overSsh = tmp.Sub("over-ssh");
        Directory.CreateDirectory(Path.Combine(src, "pre/existing"));
        File.WriteAllText(Path.Combine(src, "pre/existing/file.txt"), "before start");
        await using var rsyncd = new RsyncDaemon().AddModule("mirror", module, User, Password).Start();
        await using var sshd = new SshServer();

        // <auth>, <userDefinedPort> and <ssh> live in sersync's single <rsync> element, so an authenticated rsync
        // daemon target and an ssh target cannot share one config: two instances watch the same tree, as the
        // systemd template unit runs them side by side.
        var daemonConfig = new ConfigBuilder(src, Path.Combine(tmp.Path, "state-a"))
            .AddLocalTarget(local)
            .AddRsyncDaemonTarget(rsyncd, "mirror", User, rsyncd.WriteClientPasswordFile(Password))
            .Write(Path.Combine(tmp.Path, "a.xml"));
        var sshConfig = new ConfigBuilder(src, Path.Combine(tmp.Path, "state-b"))
            .AddSshTarget(sshd, overSsh)
            .Write(Path.Combine(tmp.Path, "b.xml"));
        using var a = DaemonProcess.Start("-r", "-o", daemonConfig);
        using var b = DaemonProcess.Start("-r", "-o", sshConfig);
        await a.WaitForReadyAsync(Mirror.ReadyTimeout);
        await b.WaitForReadyAsync(Mirror.ReadyTimeout);
        foreach (var target in new[] { local, module, overSsh })
        {
            TreeComparer.AssertEqual(src, target); // the -r push finished before READY=1
        }

        File.WriteAllText(Path.Combine(src, "live.txt"), "live");
        Directory.CreateDirectory(Path.Combine(src, "new/dir/tree"));
        File.WriteAllText(Path.Combine(src, "new/dir/tree/leaf.txt"), "leaf");
        File.AppendAllText(Path.Combine(src, "pre/existing/file.txt"), ", and after");
        File.Move(Path.Combine(src, "pre/existing/file.txt"), Path.Combine(src, "pre/renamed.txt"));
        NastyNames.CreateFile(NastyNames.Join(src, "pre"u8.ToArray(), NastyNames.All[19]), "not utf-8"u8.ToArray());
        NastyNames.CreateFile(NastyNames.Join(src, "pre"u8.ToArray(), NastyNames.All[2]), "newline"u8.ToArray());

        await TreeConvergence.AssertConvergesAsync(src, local, Mirror.SyncTimeout, abandon: () => a.HasExited, diagnostics: a.Describe);
        await TreeConvergence.AssertConvergesAsync(src, module, Mirror.SyncTimeout, abandon: () => a.HasExited, diagnostics: a.Describe);
        await TreeConvergence.AssertConvergesAsync(src, overSsh, Mirror.SyncTimeout, abandon: () => b.HasExited, diagnostics: b.Describe);

        Directory.Delete(Path.Combine(src, "new"), recursive: true);
        File.Delete(Path.Combine(src, "live.txt"));
        await TreeConvergence.AssertConvergesAsync(src, local, Mirror.SyncTimeout, abandon: () => a.HasExited, diagnostics: a.Describe);
        await TreeConvergence.AssertConvergesAsync(src, module, Mirror.SyncTimeout, abandon: () => a.HasExited, diagnostics: a.Describe);
        await TreeConvergence.AssertConvergesAsync(src, overSsh, Mirror.SyncTimeout, abandon: () => b.HasExited, diagnostics: b.Describe);

        await a.StopAsync();
        await b.StopAsync();
    }

    [Fact]
    public async Task Once_pushes_to_the_rsync_daemon_and_fails_when_it_is_down()
    {
        using var tmp = new TempDirectory("sersync-e2e-once-");
        var src = tmp.Sub("src");
        var module = tmp.Sub("module");
        Directory.CreateDirectory(Path.Combine(src, "a/b"));
        File.WriteAllText(Path.Combine(src, "a/b/c.txt"), "c");
        File.WriteAllText(Path.Combine(src, "top.txt"), "top");
        NastyNames.CreateFile(NastyNames.Join(src, NastyNames.All[19]), "bytes"u8.ToArray());
        File.WriteAllText(Path.Combine(module, "stale.txt"), "removed by the push");
        await using var rsyncd = new RsyncDaemon().AddModule("mirror", module, User, Password).Start();
        var config = new ConfigBuilder(src, Path.Combine(tmp.Path, "state"))
            .AddRsyncDaemonTarget(rsyncd, "mirror", User, rsyncd.WriteClientPasswordFile(Password))
            .Write(Path.Combine(tmp.Path, "once.xml"));

        using (var ok = await DaemonProcess.RunToExitAsync(["--once", "-o", config], OnceTimeout))
        {
            Assert.True(ok.ExitCode == 0, ok.Describe());
        }

        TreeComparer.AssertEqual(src, module);

        rsyncd.Kill();
        File.WriteAllText(Path.Combine(src, "after-kill.txt"), "cannot arrive");
        using var down = await DaemonProcess.RunToExitAsync(["--once", "-o", config], OnceTimeout);
        Assert.True(down.ExitCode != 0, "--once reported success with the rsync daemon down\n" + down.Describe());
        Assert.False(File.Exists(Path.Combine(module, "after-kill.txt")));
    }
}
