using System.Globalization;
using System.Text;
using SerSync.Testing;

namespace SerSync.IntegrationTests.EndToEnd;

/// <summary>One daemon, one config, three kinds of target, each with its own <c>&lt;rsync&gt;</c> settings: an rsync
/// daemon with auth, an ssh host (user in ip, port and key as attributes, connection kept open) and a local
/// directory. Real rsyncd and sshd on loopback.</summary>
public sealed class PerTargetSettingsEndToEndTests
{
    private const string User = "sersync";
    private const string Password = "per target s3cret";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task One_daemon_mirrors_to_an_authenticated_rsync_daemon_an_ssh_host_and_a_local_directory()
    {
        using var tmp = new TempDirectory("sersync-e2e-mixed-");
        var src = tmp.Sub("src");
        var local = Path.Combine(tmp.Path, "local");
        var module = tmp.Sub("module");
        var overSsh = tmp.Sub("over-ssh");
        var state = Path.Combine(tmp.Path, "state");
        File.WriteAllText(Path.Combine(src, "before.txt"), "before start");
        await using var rsyncd = new RsyncDaemon().AddModule("mirror", module, User, Password).Start();
        await using var sshd = new SshServer();
        var pas = rsyncd.WriteClientPasswordFile(Password);
        var config = Path.Combine(tmp.Path, "mixed.xml");
        File.WriteAllText(config, $"""
            <?xml version="1.0" encoding="UTF-8"?>
            <head version="2.5">
              <status socket="{state}.sock"/>
              <inotify><delete start="true"/><createFolder start="true"/><closeWrite start="true"/><moveFrom start="true"/><moveTo start="true"/></inotify>
              <sersync>
                <localpath watch="{src}">
                  <remote ip="127.0.0.1" name="mirror"/>
                  <remote ip="{sshd.User}@127.0.0.1" name="{overSsh}">
                    <rsync>
                      <auth start="false"/>
                      <userDefinedPort start="false"/>
                      <ssh start="true" command="ssh -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
                           port="{sshd.Port.ToString(CultureInfo.InvariantCulture)}" identity="{sshd.ClientKeyPath}"/>
                    </rsync>
                  </remote>
                  <remote path="{local}">
                    <rsync><commonParams params="-rt"/></rsync>
                  </remote>
                </localpath>
                <rsync>
                  <commonParams params="-az"/>
                  <auth start="true" users="{User}" passwordfile="{pas}"/>
                  <userDefinedPort start="true" port="{rsyncd.Port.ToString(CultureInfo.InvariantCulture)}"/>
                  <timeout start="true" time="30"/>
                </rsync>
                <state dir="{state}"/>
              </sersync>
            </head>
            """);

        await using var daemon = DaemonProcess.Start("-r", "-o", config);
        await daemon.WaitForReadyAsync(Mirror.ReadyTimeout);
        foreach (var target in new[] { module, overSsh, local })
        {
            TreeComparer.AssertEqual(src, target); // the -r push finished before READY=1
        }

        File.WriteAllText(Path.Combine(src, "live.txt"), "live");
        Directory.CreateDirectory(Path.Combine(src, "new/dir"));
        File.WriteAllText(Path.Combine(src, "new/dir/leaf.txt"), "leaf");
        NastyNames.CreateFile(NastyNames.Join(src, NastyNames.All[19]), "not utf-8"u8.ToArray());
        await ConvergeAsync(daemon, src, module, overSsh, local);

        // The ssh target's connection is kept open by a master the daemon started, its socket in state/ssh (0700).
        var socketDir = Path.Combine(state, "ssh");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(socketDir));
        var master = await MasterAsync(socketDir, daemon, "a master after start");
        var socket = Assert.Single(Directory.GetFileSystemEntries(socketDir));
        Assert.True(Encoding.UTF8.GetByteCount(socket) <= 90, socket);

        // A master killed by PID leaves its socket behind: the next batch still arrives and a new master appears.
        DaemonProcess.SendSignal(master, 9);
        await Eventually.TrueAsync(() => !DaemonProcess.IsAlive(master), Mirror.SyncTimeout, "the killed master gone", Ct);
        File.WriteAllText(Path.Combine(src, "after-master-killed.txt"), "still arrives");
        await ConvergeAsync(daemon, src, module, overSsh, local);
        var second = await MasterAsync(socketDir, daemon, "a new master after the old one was killed");
        Assert.NotEqual(master, second);
        await Eventually.TrueAsync(() => Directory.GetFileSystemEntries(socketDir).Length == 1, Mirror.SyncTimeout, "the new master's socket", Ct);

        // Proof that rsync goes through the kept connection: with sshd's listener gone (its per-connection child,
        // which serves the master, stays), a batch to the ssh host still arrives.
        var listener = sshd.Pid;
        DaemonProcess.SendSignal(listener, 9);
        await Eventually.TrueAsync(() => !DaemonProcess.IsAlive(listener), Mirror.SyncTimeout, "the sshd listener gone", Ct);
        File.WriteAllText(Path.Combine(src, "through-the-kept-connection.txt"), "no new login");
        await ConvergeAsync(daemon, src, module, overSsh, local);

        // Stop: the master is gone and its socket removed.
        await daemon.StopAsync();
        Assert.False(DaemonProcess.IsAlive(second), $"master {second} outlived the daemon");
        Assert.Empty(Directory.GetFileSystemEntries(socketDir));
    }

    private static async Task ConvergeAsync(DaemonProcess daemon, string src, params string[] targets)
    {
        foreach (var target in targets)
        {
            await TreeConvergence.AssertConvergesAsync(src, target, Mirror.SyncTimeout, abandon: () => daemon.HasExited, diagnostics: daemon.Describe);
        }
    }

    /// <summary>The PID of the ssh master serving a socket in <paramref name="socketDir"/> (an ssh with -M whose
    /// -S names it), once there is exactly one and its socket exists.</summary>
    private static async Task<int> MasterAsync(string socketDir, DaemonProcess daemon, string because)
    {
        var found = await Eventually.PollAsync(
            () => Task.FromResult(Masters(socketDir)),
            m => m.Count == 1 && File.Exists(m[0].Socket),
            Mirror.SyncTimeout,
            abandon: () => daemon.HasExited);
        Assert.True(found.Reached, $"{because}: masters {string.Join(", ", found.Value.Select(m => m.Pid))}\n{daemon.Describe()}");
        return found.Value[0].Pid;
    }

    private static List<(int Pid, string Socket)> Masters(string socketDir)
    {
        var result = new List<(int, string)>();
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid) || !DaemonProcess.IsAlive(pid))
            {
                continue;
            }

            string[] argv;
            try
            {
                argv = File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0');
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                continue;
            }

            var s = Array.IndexOf(argv, "-S");
            if (argv.Contains("-M") && s >= 0 && s + 1 < argv.Length && argv[s + 1].StartsWith(socketDir + "/", StringComparison.Ordinal))
            {
                result.Add((pid, argv[s + 1]));
            }
        }

        return result;
    }
}
