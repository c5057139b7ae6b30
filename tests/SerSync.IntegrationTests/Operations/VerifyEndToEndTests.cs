using SerSync.IntegrationTests.EndToEnd;
using SerSync.Paths;
using SerSync.Testing;

namespace SerSync.IntegrationTests.Operations;

/// <summary>
/// <c>sersyncd verify</c> and the scheduled <c>&lt;audit&gt;</c> against real targets (a local directory, a real rsync
/// daemon): drift made on the target behind the daemon's back is found with the right kind, and repaired through the
/// journal by a running daemon's audit (no <c>-r</c>, nothing else could bring it back), after which verify exits 0.
/// The audits run every 0.05 min (3 s), the smallest schedule the config allows.
/// </summary>
public sealed class VerifyEndToEndTests
{
    private const string User = "sersync";
    private const string Password = "verify s3cret";
    private const double AuditMinutes = 0.05;
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan RepairTimeout = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Verify_finds_drift_made_behind_the_daemons_back_and_the_scheduled_audit_repairs_it(bool rsyncDaemonTarget)
    {
        using var tmp = new TempDirectory("sersync-verify-");
        var src = tmp.Sub("src");
        var dst = tmp.Sub("dst");
        Directory.CreateDirectory(Path.Combine(src, "d"));
        File.WriteAllText(Path.Combine(src, "changed.txt"), "original");
        File.WriteAllText(Path.Combine(src, "d/removed.txt"), "removed on the target");
        File.WriteAllText(Path.Combine(src, "kept.txt"), "kept");
        await using var rsyncd = rsyncDaemonTarget ? new RsyncDaemon().AddModule("mirror", dst, User, Password).Start() : null;
        var builder = new ConfigBuilder(src, Path.Combine(tmp.Path, "state"));
        if (rsyncd is not null)
        {
            builder.AddRsyncDaemonTarget(rsyncd, "mirror", User, rsyncd.WriteClientPasswordFile(Password));
        }
        else
        {
            builder.AddLocalTarget(dst);
        }

        var config = builder.Write(Path.Combine(tmp.Path, "confxml.xml"));
        var label = rsyncd is null ? dst : "127.0.0.1::mirror";

        // Verify while the daemon runs (it takes neither the PID file nor the state).
        using (var daemon = DaemonProcess.Start("-r", "-o", config))
        {
            await daemon.WaitForReadyAsync(Mirror.ReadyTimeout);
            TreeComparer.AssertEqual(src, dst);
            var clean = await VerifyAsync(config);
            Assert.True(clean.ExitCode == 0, clean.Describe());
            Assert.Contains($"{src} -> {label}: in sync", clean.StandardOutput, StringComparison.Ordinal);

            File.WriteAllText(Path.Combine(dst, "changed.txt"), "changed on the target, and longer");
            File.Delete(Path.Combine(dst, "d/removed.txt"));
            File.WriteAllText(Path.Combine(dst, "extra.txt"), "only on the target");

            var drift = await VerifyAsync(config);
            Assert.True(drift.ExitCode == 1, drift.Describe());
            var lines = Lines(drift.StandardOutput);
            Assert.Contains(lines, l => l.StartsWith($"{src} -> {label}: ", StringComparison.Ordinal) && l.EndsWith(" differences", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.StartsWith("  differs (", StringComparison.Ordinal) && l.Contains("size", StringComparison.Ordinal) && l.EndsWith("): changed.txt", StringComparison.Ordinal));
            Assert.Contains("  missing: d/removed.txt", lines);
            Assert.Contains("  only on target: extra.txt", lines);
            Assert.DoesNotContain(lines, l => l.EndsWith("kept.txt", StringComparison.Ordinal));
            await daemon.StopAsync();
        }

        // The next start knows the target (it acknowledged everything): no full push. Its catch-up scan may send the
        // source's recent files again (they are younger than its margin), so the drift the audit must find is made
        // once the daemon is ready: from then on nothing but the audit looks at the target.
        builder.Audit = (AuditMinutes, true);
        builder.Write(config);
        using var audited = DaemonProcess.Start("-o", config);
        await audited.WaitForReadyAsync(Mirror.ReadyTimeout);
        await TreeConvergence.AssertConvergesAsync(src, dst, RepairTimeout, abandon: () => audited.HasExited, diagnostics: audited.Describe);
        File.WriteAllText(Path.Combine(dst, "changed.txt"), "changed on the target again");
        File.Delete(Path.Combine(dst, "kept.txt"));
        File.WriteAllText(Path.Combine(dst, "extra-while-running.txt"), "only on the target");
        await TreeConvergence.AssertConvergesAsync(src, dst, RepairTimeout, abandon: () => audited.HasExited, diagnostics: audited.Describe);
        await AssertVerifiesCleanAsync(config, audited);
        var log = audited.StandardOutput + audited.StandardError;
        Assert.Contains("only on target extra-while-running.txt", log, StringComparison.Ordinal);
        Assert.Contains("change(s) queued to repair it", log, StringComparison.Ordinal);
        await audited.StopAsync();
    }

    [Fact]
    public async Task Verify_checks_an_ssh_target_too()
    {
        using var tmp = new TempDirectory("sersync-verify-ssh-");
        var src = tmp.Sub("src");
        var remote = tmp.Sub("over-ssh");
        Directory.CreateDirectory(Path.Combine(src, "d"));
        File.WriteAllText(Path.Combine(src, "d/a.txt"), "a");
        await using var sshd = new SshServer();
        var config = new ConfigBuilder(src, Path.Combine(tmp.Path, "state")).AddSshTarget(sshd, remote).Write(Path.Combine(tmp.Path, "confxml.xml"));
        await OnceAsync(config);
        var clean = await VerifyAsync(config);
        Assert.True(clean.ExitCode == 0, clean.Describe());
        Assert.Equal([$"{src} -> 127.0.0.1:{remote}: in sync"], Lines(clean.StandardOutput));

        File.Delete(Path.Combine(remote, "d/a.txt"));
        var drift = await VerifyAsync(config);
        Assert.True(drift.ExitCode == 1, drift.Describe());
        Assert.Contains("  missing: d/a.txt", Lines(drift.StandardOutput));
    }

    [Fact]
    public async Task The_audit_repairs_a_chmod_that_inotify_does_not_report_with_attrib_off()
    {
        WatcherBackend.SkipUnlessInotify("a chmod going unseen with attrib off (a scan compares the mode)");
        await using var mirror = await Mirror.StartAsync(m =>
        {
            m.Config.Attrib = false;
            m.Config.Audit = (AuditMinutes, true);
            File.WriteAllText(m.Src("script.sh"), "#!/bin/sh\n");
            File.SetUnixFileMode(m.Src("script.sh"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        });
        var mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        File.SetUnixFileMode(mirror.Src("script.sh"), mode);

        var polled = await Eventually.PollAsync(() => File.GetUnixFileMode(mirror.Dst("script.sh")), m => m == mode, RepairTimeout, abandon: () => mirror.Daemon.HasExited, cancellationToken: TestContext.Current.CancellationToken);
        Assert.True(polled.Reached, $"the target's mode is {polled.Value}, not {mode}\n{mirror.Daemon.Describe()}");
        await AssertVerifiesCleanAsync(mirror.ConfigPath, mirror.Daemon);
        Assert.Contains("differs script.sh", mirror.Daemon.StandardOutput + mirror.Daemon.StandardError, StringComparison.Ordinal);
        await mirror.Daemon.StopAsync();
    }

    [Fact]
    public async Task Checksum_finds_a_same_size_same_time_change_the_default_misses()
    {
        using var tmp = new TempDirectory("sersync-verify-sum-");
        var src = tmp.Sub("src");
        var dst = tmp.Sub("dst");
        File.WriteAllText(Path.Combine(src, "same-size.txt"), "AAAA");
        var config = new ConfigBuilder(src, Path.Combine(tmp.Path, "state")).AddLocalTarget(dst).Write(Path.Combine(tmp.Path, "confxml.xml"));
        await OnceAsync(config);

        var target = Path.Combine(dst, "same-size.txt");
        var mtime = File.GetLastWriteTimeUtc(target);
        File.WriteAllText(target, "BBBB");
        File.SetLastWriteTimeUtc(target, mtime);
        File.WriteAllText(Path.Combine(dst, "notes.txt~"), "editor noise is no drift");
        File.SetLastWriteTimeUtc(dst, File.GetLastWriteTimeUtc(src)); // the noise file touched the root

        var quick = await VerifyAsync(config);
        Assert.True(quick.ExitCode == 0, quick.Describe());
        Assert.Contains($"{src} -> {dst}: in sync", quick.StandardOutput, StringComparison.Ordinal);

        var summed = await VerifyAsync(config, "--checksum");
        Assert.True(summed.ExitCode == 1, summed.Describe());
        Assert.Equal([$"{src} -> {dst}: 1 difference (contents compared)", "  differs (content): same-size.txt"], Lines(summed.StandardOutput));
    }

    [Fact]
    public async Task With_delete_off_a_path_only_on_the_target_is_no_drift_and_the_report_says_so()
    {
        using var tmp = new TempDirectory("sersync-verify-nodel-");
        var src = tmp.Sub("src");
        var dst = tmp.Sub("dst");
        File.WriteAllText(Path.Combine(src, "a.txt"), "a");
        var builder = new ConfigBuilder(src, Path.Combine(tmp.Path, "state")) { Delete = false }.AddLocalTarget(dst);
        var config = builder.Write(Path.Combine(tmp.Path, "confxml.xml"));
        await OnceAsync(config);
        File.WriteAllText(Path.Combine(dst, "extra.txt"), "kept: the target does not delete");
        File.SetLastWriteTimeUtc(dst, File.GetLastWriteTimeUtc(src));

        var result = await VerifyAsync(config);
        Assert.True(result.ExitCode == 0, result.Describe());
        Assert.Equal([$"{src} -> {dst}: in sync (delete is off: paths only on the target are not checked)"], Lines(result.StandardOutput));
    }

    [Fact]
    public async Task A_target_that_cannot_be_reached_exits_2_and_says_which_and_why_and_an_unknown_name_lists_the_targets()
    {
        using var tmp = new TempDirectory("sersync-verify-down-");
        var src = tmp.Sub("src");
        var dst = tmp.Sub("dst");
        File.WriteAllText(Path.Combine(src, "a.txt"), "a");
        var port = FreePort.Pick(); // nothing listens there
        var config = new ConfigBuilder(src, Path.Combine(tmp.Path, "state"))
            .AddLocalTarget(dst)
            .AddRsyncDaemonTarget("127.0.0.1", port, "gone")
            .Write(Path.Combine(tmp.Path, "confxml.xml"));

        var result = await VerifyAsync(config);
        Assert.True(result.ExitCode == 2, result.Describe());
        var lines = Lines(result.StandardOutput);
        Assert.Contains(lines, l => l.StartsWith($"{src} -> 127.0.0.1::gone: not checked: rsync exit ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("  rsync: ", StringComparison.Ordinal) && l.Contains("onnection refused", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith($"{src} -> {dst}: 1 difference", StringComparison.Ordinal)); // the other target is still checked

        var one = await VerifyAsync(config, "--target", dst + "/");
        Assert.True(one.ExitCode == 1, one.Describe());
        Assert.DoesNotContain("::gone", one.StandardOutput, StringComparison.Ordinal);

        Assert.False(Directory.Exists(Path.Combine(tmp.Path, "state")), "verify wrote a state directory; it only reads");

        var unknown = await VerifyAsync(config, "--target", "127.0.0.1::nope");
        Assert.True(unknown.ExitCode == 64, unknown.Describe());
        Assert.Contains($"no target is called '127.0.0.1::nope'; the targets are {dst}, 127.0.0.1::gone", unknown.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Hostile_names_are_reported_escaped_with_their_kind_and_repaired()
    {
        using var tmp = new TempDirectory("sersync-verify-nasty-");
        var src = tmp.Sub("src");
        var dst = tmp.Sub("dst");
        NastyNames.CreateDirectory(NastyNames.Join(src, "n"u8.ToArray()));
        foreach (var name in NastyNames.All)
        {
            NastyNames.CreateFile(NastyNames.Join(src, "n"u8.ToArray(), name), name);
        }

        var builder = new ConfigBuilder(src, Path.Combine(tmp.Path, "state")).AddLocalTarget(dst);
        var config = builder.Write(Path.Combine(tmp.Path, "confxml.xml"));
        await OnceAsync(config);
        TreeComparer.AssertEqual(src, dst);

        var dir = "n"u8.ToArray();
        List<(string Prefix, string Path)> Drift(string round)
        {
            var made = new List<(string Prefix, string Path)>();
            for (var i = 0; i < NastyNames.All.Count; i++)
            {
                var name = NastyNames.All[i];
                var shown = "n/" + new RelativePath(name);
                if (i % 3 == 0)
                {
                    NastyNames.CreateFile(NastyNames.Join(dst, dir, name), [.. name, .. System.Text.Encoding.ASCII.GetBytes("+changed on the target " + round)]);
                    made.Add(("  differs (", shown));
                }
                else if (i % 3 == 1)
                {
                    NastyNames.Delete(NastyNames.Join(dst, dir, name));
                    made.Add(("  missing", shown));
                }
                else
                {
                    byte[] extra = [.. "x-"u8, .. name];
                    NastyNames.CreateFile(NastyNames.Join(dst, dir, extra), extra);
                    made.Add(("  only on target", "n/" + new RelativePath(extra)));
                }
            }

            return made;
        }

        var expected = Drift("once");
        var drift = await VerifyAsync(config);
        Assert.True(drift.ExitCode == 1, drift.Describe());
        var lines = Lines(drift.StandardOutput);
        foreach (var (prefix, shown) in expected)
        {
            // One line per path, whatever bytes its name holds (a newline in a name is \x0a, never a line break).
            Assert.Single(lines, l => l.StartsWith(prefix, StringComparison.Ordinal) && l.EndsWith(": " + shown, StringComparison.Ordinal));
        }

        // Besides the header and the entries, at most n/ itself: its time differs unless all fell in one second.
        var rest = lines.Skip(1).Where(l => !expected.Any(e => l.StartsWith(e.Prefix, StringComparison.Ordinal) && l.EndsWith(": " + e.Path, StringComparison.Ordinal))).ToList();
        Assert.True(rest.Count == 0 || rest is ["  differs (time): n/"], drift.Describe());

        // The catch-up scan at start may send the young source files again; the drift the audit must repair is made
        // once the daemon is ready.
        builder.Audit = (AuditMinutes, true);
        builder.Write(config);
        using var audited = DaemonProcess.Start("-o", config);
        await audited.WaitForReadyAsync(Mirror.ReadyTimeout);
        await TreeConvergence.AssertConvergesAsync(src, dst, RepairTimeout, abandon: () => audited.HasExited, diagnostics: audited.Describe);
        Drift("while running");
        await TreeConvergence.AssertConvergesAsync(src, dst, RepairTimeout, abandon: () => audited.HasExited, diagnostics: audited.Describe);
        await AssertVerifiesCleanAsync(config, audited);
        Assert.Contains("path(s) drifted", audited.StandardOutput + audited.StandardError, StringComparison.Ordinal);
        await audited.StopAsync();
    }

    private static async Task AssertVerifiesCleanAsync(string config, DaemonProcess daemon)
    {
        // The files may arrive a batch before the directories' times: poll verify itself, bounded.
        var polled = await Eventually.PollAsync(() => VerifyAsync(config), v => v.ExitCode == 0, RepairTimeout, abandon: () => daemon.HasExited, interval: TimeSpan.FromMilliseconds(500), cancellationToken: TestContext.Current.CancellationToken);
        Assert.True(polled.Reached, $"verify still exits {polled.Value.ExitCode}:\n{polled.Value.StandardOutput}\n{daemon.Describe()}");
    }

    private static async Task OnceAsync(string config)
    {
        using var once = await DaemonProcess.RunToExitAsync(["--once", "-o", config], CommandTimeout);
        Assert.True(once.ExitCode == 0, once.Describe());
    }

    private static async Task<VerifyResult> VerifyAsync(string config, params string[] options)
    {
        using var run = await DaemonProcess.RunToExitAsync(["verify", "-o", config, .. options], CommandTimeout);
        return new VerifyResult(run.ExitCode, run.StandardOutput, run.StandardError);
    }

    private static List<string> Lines(string text) => [.. text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r'))];

    private sealed record VerifyResult(int ExitCode, string StandardOutput, string StandardError)
    {
        public string Describe() => $"exit {ExitCode}\nstdout:\n{StandardOutput}\nstderr:\n{StandardError}";
    }
}
