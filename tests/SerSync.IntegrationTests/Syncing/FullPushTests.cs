using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging.Abstractions;
using SerSync.Configuration;
using SerSync.FailLog;
using SerSync.Paths;
using SerSync.Processes;
using SerSync.Rsync;
using SerSync.Testing;

namespace SerSync.IntegrationTests.Syncing;

/// <summary>The full push against real targets: a local directory, an rsync daemon with auth, and sshd.</summary>
public sealed class FullPushTests : IDisposable
{
    private readonly TempDirectory _temp = new("sersync-push-");

    public void Dispose() => _temp.Dispose();

    private static FullPush NewPush(FailLogWriter? failLog = null) =>
        new(new ProcessRunner(NullLogger.Instance), new SemaphoreSlim(10), failLog, TimeProvider.System, NullLogger.Instance);

    private static SyncTarget Local(string root, string dest) =>
        new(root, new RemoteConfig(RemoteKind.LocalDirectory, null, null, dest, 1), RsyncConfig.Stock with { CommonParams = ["-az"] }, Delete: true);

    [Fact]
    public async Task Nasty_names_arrive_byte_for_byte_on_a_local_directory_and_nothing_executes()
    {
        var src = _temp.Sub("src");
        var dst = _temp.Sub("dst");
        NastyNames.CreateTree(src);

        var results = await NewPush().RunAsync([Local(src, dst)], null, [], TestContext.Current.CancellationToken);

        Assert.All(results, r => Assert.Equal(0, r.Result.ExitCode));
        TreeComparer.AssertEqual(src, dst, new TreeCompareOptions { ComparePermissions = true });
        Assert.False(File.Exists(Path.Combine(_temp.Path, "pwned")) || File.Exists("pwned"));
    }

    [Fact]
    public async Task Rsync_daemon_with_auth_and_sshd_targets_are_pushed_in_parallel()
    {
        var src = _temp.Sub("src");
        var mod = _temp.Sub("module");
        var sshDest = _temp.Sub("sshdest");
        NastyNames.CreateTree(src);
        using var daemon = new RsyncDaemon().AddModule("www", mod, "backup", "s3cret").Start();
        using var ssh = new SshServer();

        var daemonTarget = daemon.TargetFor(src, "www", "backup", "s3cret", "-artuz");
        var sshTarget = new SyncTarget(
            src,
            new RemoteConfig(RemoteKind.Ssh, "127.0.0.1", sshDest, null, 1),
            RsyncConfig.Stock with { CommonParams = ["-az"], Ssh = true, SshCommand = ssh.SshCommand },
            Delete: true);

        var results = await NewPush().RunAsync([daemonTarget, sshTarget], null, [], TestContext.Current.CancellationToken);

        Assert.All(results, r => Assert.True(r.Result.ExitCode == 0, r.Result.Output));
        TreeComparer.AssertEqual(src, mod);
        TreeComparer.AssertEqual(src, sshDest);
    }

    [Fact]
    public async Task The_filter_applies_to_the_full_push_and_excluded_files_on_the_target_are_kept()
    {
        var src = _temp.Sub("src");
        var dst = _temp.Sub("dst");
        Directory.CreateDirectory(Path.Combine(src, "info", "deep"));
        Directory.CreateDirectory(Path.Combine(src, "a", "b"));
        File.WriteAllText(Path.Combine(src, "info", "deep", "secret.txt"), "no");
        File.WriteAllText(Path.Combine(src, "a", "b", "big.gz"), "no");
        File.WriteAllText(Path.Combine(src, "top.gz"), "no");
        File.WriteAllText(Path.Combine(src, "a", "b", "keep.txt"), "yes");
        File.WriteAllText(Path.Combine(src, "information.txt"), "yes"); // ^info/* must not match it
        File.WriteAllText(Path.Combine(src, ".htaccess"), "yes");
        File.WriteAllText(Path.Combine(src, ".index.html.swp"), "noise");
        // Already on the target and excluded: must survive --delete.
        Directory.CreateDirectory(Path.Combine(dst, "info"));
        File.WriteAllText(Path.Combine(dst, "info", "target-only.txt"), "keep me");
        File.WriteAllText(Path.Combine(dst, "top.gz"), "target copy");
        File.WriteAllText(Path.Combine(dst, "stale.txt"), "delete me");
        // Excluded and only on the target: the source-side list cannot name them; they must survive too.
        Directory.CreateDirectory(Path.Combine(dst, "a", "b"));
        File.WriteAllText(Path.Combine(dst, "a", "b", "target-only.gz"), "target's own");
        byte[] oddName = [.. "odd#x"u8, 0xff, (byte)'\n', .. "\\#123.gz"u8];
        NastyNames.CreateFile(NastyNames.Join(dst, oddName), "odd"u8.ToArray());

        Regex[] rules = [Anchored("^info/*"), Anchored("(.*)\\.gz")];
        bool IsExcluded(RelativePath p, bool isDir) => rules.Any(r => r.IsMatch(p.ToMatchString()));

        var results = await NewPush().RunAsync([Local(src, dst)], IsExcluded, [], TestContext.Current.CancellationToken);

        Assert.Equal(0, results.Single().Result.ExitCode);
        Assert.Equal("yes", File.ReadAllText(Path.Combine(dst, "a", "b", "keep.txt")));
        Assert.Equal("yes", File.ReadAllText(Path.Combine(dst, "information.txt")));
        Assert.Equal("yes", File.ReadAllText(Path.Combine(dst, ".htaccess")));
        Assert.False(File.Exists(Path.Combine(dst, "a", "b", "big.gz")));
        Assert.False(File.Exists(Path.Combine(dst, "info", "deep", "secret.txt")));
        Assert.False(File.Exists(Path.Combine(dst, ".index.html.swp")));
        Assert.Equal("keep me", File.ReadAllText(Path.Combine(dst, "info", "target-only.txt")));
        Assert.Equal("target copy", File.ReadAllText(Path.Combine(dst, "top.gz")));
        Assert.False(File.Exists(Path.Combine(dst, "stale.txt")));
        Assert.Equal("target's own", File.ReadAllText(Path.Combine(dst, "a", "b", "target-only.gz")));
        Assert.NotNull(FileSystemBytes.Stat(NastyNames.Join(dst, oddName)));
    }

    [Theory]
    [InlineData("*deleting   a/b.gz", "a/b.gz", false)]
    [InlineData("*deleting   sub/", "sub", true)]
    [InlineData("*deleting    lead", " lead", false)]
    [InlineData(">f+++++++++ sent.txt", null, false)]
    public void Dry_run_deletion_lines_parse(string line, string? expected, bool isDir)
    {
        var parsed = TargetSideExclusions.ParseDeletion(line);
        Assert.Equal(expected, parsed?.Path.ToString());
        if (parsed is { } p)
        {
            Assert.Equal(isDir, p.IsDirectory);
        }
    }

    [Fact]
    public void Dry_run_escapes_decode_to_the_exact_bytes()
    {
        var parsed = TargetSideExclusions.ParseDeletion("*deleting   new\\#012line\\#377\\#134#123.gz");
        byte[] expected = [.. "new\nline"u8, 0xff, .. "\\#123.gz"u8];
        Assert.Equal(expected, parsed!.Value.Path.Bytes.ToArray());
    }

    [Fact]
    public async Task A_failed_push_goes_to_the_fail_log_and_running_the_script_redoes_it_exactly()
    {
        var src = _temp.Sub("src");
        var mod = _temp.Sub("module");
        NastyNames.CreateTree(src);
        File.WriteAllText(Path.Combine(src, "skip.gz"), "excluded");
        var failLogPath = Path.Combine(_temp.Path, "rsync_fail_log.sh");
        using var daemon = new RsyncDaemon().AddModule("www", mod, "backup", "s3cret").Start();
        var target = daemon.TargetFor(src, "www", "backup", "s3cret", "-az", timeoutSeconds: null);
        daemon.Kill(); // the target is down for the push

        var gz = Anchored("(.*)\\.gz");
        var results = await NewPush(new FailLogWriter(failLogPath, RsyncExitCodes.Describe)).RunAsync([target], (p, _) => gz.IsMatch(p.ToMatchString()), [], TestContext.Current.CancellationToken);

        Assert.NotEqual(0, results.Single().Result.ExitCode);
        var script = File.ReadAllBytes(failLogPath);
        Assert.StartsWith("#!/bin/sh\n", Encoding.UTF8.GetString(script), StringComparison.Ordinal);
        Assert.Contains("#errno ", Encoding.UTF8.GetString(script), StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", Encoding.UTF8.GetString(script), StringComparison.Ordinal);

        daemon.Start();
        var replay = await ChildProcess.RunAsync("/bin/sh", [failLogPath], workingDirectory: _temp.Path, cancellationToken: TestContext.Current.CancellationToken);
        Assert.True(replay.ExitCode == 0, replay.StandardError);
        TreeComparer.AssertEqual(src, mod, TreeCompareOptions.Ignoring("skip.gz"));
        Assert.False(File.Exists(Path.Combine(mod, "skip.gz")));
    }

    private static Regex Anchored(string expr) => new("^(?:" + expr + ")$", RegexOptions.CultureInvariant | RegexOptions.Singleline);
}
