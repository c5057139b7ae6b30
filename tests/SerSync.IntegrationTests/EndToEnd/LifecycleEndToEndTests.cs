using System.Globalization;
using SerSync.Testing;

namespace SerSync.IntegrationTests.EndToEnd;

/// <summary>The daemon's process contract: sd_notify, SIGTERM, exit statuses, -t, -d.</summary>
public sealed class LifecycleEndToEndTests
{
    [Fact]
    public async Task Status_lines_while_running_then_sigterm_drains_sends_stopping_and_exits_0()
    {
        await using var m = await Mirror.StartAsync();
        var atReady = m.Daemon.StatusLines.Count;

        // STATUS= every 2 s while running.
        await Eventually.TrueAsync(() => m.Daemon.StatusLines.Count >= atReady + 2, TimeSpan.FromSeconds(10), "two STATUS= lines after READY=1\n" + m.Daemon.Describe(), TestContext.Current.CancellationToken);
        Assert.Contains("watching", m.Daemon.LastStatus, StringComparison.Ordinal);
        Assert.False(m.Daemon.StoppingReceived, "STOPPING=1 before any SIGTERM");

        // Changes made just before SIGTERM are still sent: the daemon drains before it exits.
        for (var i = 0; i < 50; i++)
        {
            File.WriteAllText(m.Src($"last-{i}.txt"), $"written just before SIGTERM {i}");
        }

        await m.Daemon.StopAsync();
        TreeComparer.AssertEqual(m.Source, m.Target);
        var lines = m.Daemon.MessageLines.ToList();
        var ready = lines.IndexOf("READY=1");
        Assert.True(ready < lines.IndexOf("STOPPING=1"), "READY=1 comes before STOPPING=1\n" + m.Daemon.Describe());

        // While starting, progress extends systemd's start timeout; once ready it must not (it would stretch
        // RuntimeMaxSec instead).
        Assert.Contains(lines.Take(ready), l => l.StartsWith("EXTEND_TIMEOUT_USEC=", StringComparison.Ordinal));
        Assert.DoesNotContain(lines.Skip(ready), l => l.StartsWith("EXTEND_TIMEOUT_USEC=", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_first_start_without_r_pushes_in_full_and_a_restart_catches_up_without_one()
    {
        var ct = TestContext.Current.CancellationToken;
        using var tmp = new TempDirectory("sersync-e2e-first-");
        var src = tmp.Sub("src");
        var dst = tmp.Sub("dst");
        NastyNames.CreateTree(src);
        File.WriteAllText(Path.Combine(src, "before.txt"), "there before the first start");
        var config = new ConfigBuilder(src, Path.Combine(tmp.Path, "state")).AddLocalTarget(dst).Write(Path.Combine(tmp.Path, "first.xml"));

        await using var first = DaemonProcess.Start("-o", config);
        await first.WaitForReadyAsync(Mirror.ReadyTimeout);
        // No -r, but the state directory was empty: the tree that was there before the start arrives.
        await TreeConvergence.AssertConvergesAsync(src, dst, Mirror.SyncTimeout, null, () => first.HasExited, first.Describe);
        await first.StopAsync();

        File.WriteAllText(Path.Combine(src, "while-down.txt"), "written while the daemon was stopped");

        await using var second = DaemonProcess.Start("-o", config);
        await second.WaitForReadyAsync(Mirror.ReadyTimeout);
        await Eventually.TrueAsync(() => File.Exists(Path.Combine(dst, "while-down.txt")), Mirror.SyncTimeout, "the change made while down arrives\n" + second.Describe(), ct);
        // The state knows the target now: the restart catches up without pushing the whole tree.
        Assert.Contains("a full push to 1 target(s) is queued", first.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("full push", second.StandardOutput, StringComparison.Ordinal);
        await second.StopAsync();
    }

    [Fact]
    public async Task Check_mode_exits_78_with_file_and_line_on_a_bad_config_and_0_on_a_good_one()
    {
        using var tmp = new TempDirectory("sersync-e2e-check-");
        var src = tmp.Sub("src");
        var good = new ConfigBuilder(src, Path.Combine(tmp.Path, "state")).AddLocalTarget(Path.Combine(tmp.Path, "dst")).Write(Path.Combine(tmp.Path, "good.xml"));
        var lines = File.ReadAllLines(good).ToList();
        var rsyncLine = lines.FindIndex(l => l.Contains("<commonParams", StringComparison.Ordinal));
        Assert.True(rsyncLine > 0, "the generated config has <commonParams>");
        lines.Insert(rsyncLine + 1, "      <compress level=\"9\"/>");
        var bad = Path.Combine(tmp.Path, "bad.xml");
        File.WriteAllLines(bad, lines);
        var badLine = (rsyncLine + 2).ToString(CultureInfo.InvariantCulture); // 1-based

        using var rejected = await DaemonProcess.RunToExitAsync(["-t", "-o", bad], TimeSpan.FromSeconds(60));
        Assert.True(rejected.ExitCode == 78, "-t on a bad config\n" + rejected.Describe());
        Assert.Contains($"{bad}:{badLine}:", rejected.StandardError, StringComparison.Ordinal);
        Assert.Contains("compress", rejected.StandardError, StringComparison.Ordinal);

        using var accepted = await DaemonProcess.RunToExitAsync(["-t", "-o", good], TimeSpan.FromSeconds(60));
        Assert.True(accepted.ExitCode == 0, "-t on a good config\n" + accepted.Describe());
        Assert.Contains("OK", accepted.StandardOutput, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(tmp.Path, "dst")), "-t only checks: nothing is synced");

        // The same bad file without -t: the daemon refuses to start, with the same status.
        using var refused = await DaemonProcess.RunToExitAsync(["-r", "-o", bad], TimeSpan.FromSeconds(60), withNotifySocket: true);
        Assert.True(refused.ExitCode == 78, "start on a bad config\n" + refused.Describe());
        Assert.False(refused.IsReady, "READY=1 with a bad config");
    }

    [Fact]
    public async Task Detach_returns_0_once_running_and_leaves_a_daemon_named_by_the_pid_file()
    {
        using var tmp = new TempDirectory("sersync-e2e-detach-");
        var src = tmp.Sub("src");
        var dst = Path.Combine(tmp.Path, "dst");
        File.WriteAllText(Path.Combine(src, "before.txt"), "before");
        var config = new ConfigBuilder(src, Path.Combine(tmp.Path, "state")).AddLocalTarget(dst).Write(Path.Combine(tmp.Path, "detach.xml"));
        var pidFile = Path.Combine(tmp.Path, "run", "sersyncd.pid");
        Directory.CreateDirectory(Path.GetDirectoryName(pidFile)!);
        var logFile = Path.Combine(tmp.Path, "sersyncd.log");
        int? daemonPid = null;
        try
        {
            using (var parent = DaemonProcess.StartWithoutNotifySocket(["-d", "-r", "-o", config, "--pid-file", pidFile, "--log-file", logFile]))
            {
                var code = await parent.WaitForExitAsync(TimeSpan.FromSeconds(60));
                if (File.Exists(pidFile) && int.TryParse(File.ReadAllText(pidFile).Trim(), CultureInfo.InvariantCulture, out var pid))
                {
                    daemonPid = pid;
                }

                Assert.True(code == 0, "sersyncd -d\n" + parent.Describe());
                Assert.True(daemonPid is not null, $"pid file {pidFile} names a PID\n{parent.Describe()}");
                Assert.NotEqual(parent.Pid, daemonPid);
            }

            Assert.True(DaemonProcess.IsAlive(daemonPid!.Value), $"PID {daemonPid} from the pid file is running");
            TreeComparer.AssertEqual(src, dst); // -r was done before the parent returned

            File.WriteAllText(Path.Combine(src, "after.txt"), "after detaching");
            Directory.CreateDirectory(Path.Combine(src, "d/e"));
            File.WriteAllText(Path.Combine(src, "d/e/f.txt"), "f");
            await TreeConvergence.AssertConvergesAsync(src, dst, Mirror.SyncTimeout);
            Assert.True(new FileInfo(logFile).Length > 0, $"{logFile} has the daemon's log");

            // logrotate: the file is moved away, SIGUSR1 makes the daemon open a new one at the same path.
            var rotated = logFile + ".1";
            File.Move(logFile, rotated);
            DaemonProcess.SendSignal(daemonPid.Value, 10);
            await Eventually.TrueAsync(() => File.Exists(logFile), TimeSpan.FromSeconds(10), $"SIGUSR1 reopens {logFile}", TestContext.Current.CancellationToken);
            var rotatedLength = new FileInfo(rotated).Length;

            DaemonProcess.SendSignal(daemonPid.Value);
            await Eventually.TrueAsync(() => !DaemonProcess.IsAlive(daemonPid.Value), TimeSpan.FromSeconds(60), $"PID {daemonPid} exits after SIGTERM", TestContext.Current.CancellationToken);
            daemonPid = null;
            Assert.False(File.Exists(pidFile), "the pid file is removed on a clean stop");
            Assert.True(new FileInfo(logFile).Length > 0, "the stop is logged in the reopened file");
            Assert.Equal(rotatedLength, new FileInfo(rotated).Length); // and nothing more in the rotated one
        }
        finally
        {
            if (daemonPid is { } leftover && DaemonProcess.IsAlive(leftover))
            {
                DaemonProcess.SendSignal(leftover, 9);
            }
        }
    }
}
