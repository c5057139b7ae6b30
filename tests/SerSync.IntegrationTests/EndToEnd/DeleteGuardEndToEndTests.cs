using System.Diagnostics;
using System.Text.Json;
using SerSync.Interop;
using SerSync.Testing;

namespace SerSync.IntegrationTests.EndToEnd;

/// <summary>The delete guard on the live path, with the built daemon, a real rsync daemon and a local directory:
/// an rm -rf of 80 % is held (the targets untouched) while later writes flow, until release.</summary>
public sealed class DeleteGuardEndToEndTests
{
    private const int Directories = 50;
    private const int FilesPerDirectory = 100;
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan HoldTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task An_rm_rf_of_80_percent_is_held_until_release_while_a_later_write_arrives()
    {
        await using var run = await GuardedMirror.StartAsync("sersync-e2e-guard-");
        var before = run.Targets.ToDictionary(t => t, Inodes);
        run.RemoveMostOfTheTree();
        File.WriteAllText(Path.Combine(run.Source, "d0", "after-rm.txt"), "written after the rm");

        await run.WaitForHoldAsync(expectedHeldFiles: 4000);
        foreach (var target in run.Targets)
        {
            await Eventually.TrueAsync(() => File.Exists(Path.Combine(target, "d0", "after-rm.txt")), Mirror.SyncTimeout, $"the write after the rm reaches {target}", TestContext.Current.CancellationToken);
            Assert.Equal(5001, CountFiles(target)); // every file still there, and the new one
            var now = Inodes(target);
            Assert.All(before[target], f => Assert.True(now.TryGetValue(f.Key, out var inode) && inode == f.Value, $"{target}/{f.Key} was removed or replaced while held"));
        }

        var table = await run.CommandAsync("status");
        Assert.Contains("HOLDING 4040 delete(s) (4000 file(s))", table.Output, StringComparison.Ordinal);
        Figures($"held: targets hold {string.Join(", ", run.Targets.Select(CountFiles))} files, the source {CountFiles(run.Source)}");

        var release = await run.CommandAsync("release");
        Assert.True(release.ExitCode == 0, release.Output + release.Error);
        Assert.Contains("4040 held delete(s) released (queued to the targets), 4000 file(s)", release.Output, StringComparison.Ordinal);
        foreach (var target in run.Targets)
        {
            await TreeConvergence.AssertConvergesAsync(run.Source, target, Mirror.SyncTimeout, abandon: () => run.Daemon.HasExited, diagnostics: run.Daemon.Describe);
            Assert.Equal(1001, CountFiles(target));
        }

        Figures($"released: targets hold {string.Join(", ", run.Targets.Select(CountFiles))} files, the source {CountFiles(run.Source)}");
        Assert.Equal(0, (await run.GuardAsync()).GetProperty("held").GetInt32());
    }

    [Fact]
    public async Task An_rm_rf_of_80_percent_then_mkdir_of_the_same_directories_leaves_every_target_file_in_place_until_release()
    {
        await using var run = await GuardedMirror.StartAsync("sersync-e2e-guard-remade-");
        var before = run.Targets.ToDictionary(t => t, Inodes);
        run.RemoveMostOfTheTree();
        // rm -rf d && mkdir d: each directory is synced again with deletion of what it no longer has, while the
        // deletes of its old files settle, then are held. rsync must not delete them past the guard.
        foreach (var d in run.RemovedDirectories)
        {
            Directory.CreateDirectory(d);
        }

        File.WriteAllText(Path.Combine(run.Source, "d30", "new.txt"), "in a directory made again");
        await run.WaitForHoldAsync(expectedHeldFiles: 4000);
        foreach (var target in run.Targets)
        {
            await Eventually.TrueAsync(() => File.Exists(Path.Combine(target, "d30", "new.txt")), Mirror.SyncTimeout, $"the new file in a remade directory reaches {target}", TestContext.Current.CancellationToken);
            var now = Inodes(target);
            // The same files, not deleted and copied back: every one at its inode.
            Assert.All(before[target], f => Assert.True(now.TryGetValue(f.Key, out var inode) && inode == f.Value, $"{target}/{f.Key} was removed or replaced while held"));
            Assert.Equal(5001, now.Count);
        }

        var release = await run.CommandAsync("release");
        Assert.True(release.ExitCode == 0, release.Output + release.Error);
        foreach (var target in run.Targets)
        {
            await TreeConvergence.AssertConvergesAsync(run.Source, target, Mirror.SyncTimeout, abandon: () => run.Daemon.HasExited, diagnostics: run.Daemon.Describe);
            Assert.Equal(1001, CountFiles(target));
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_rm_rf_of_80_percent_while_the_daemon_is_down_is_held_at_the_restart_without_r(bool killed)
    {
        await using var run = await GuardedMirror.StartAsync(killed ? "sersync-e2e-guard-down-kill-" : "sersync-e2e-guard-down-");
        var before = run.Targets.ToDictionary(t => t, Inodes);
        if (killed)
        {
            // The census is written within its interval once the start's push has settled: wait for it, then crash.
            await Eventually.TrueAsync(() => Directory.GetFiles(Path.Combine(run.Temp.Path, "state"), "census", SearchOption.AllDirectories).Length == 1,
                HoldTimeout, "the census is on disk", TestContext.Current.CancellationToken);
        }

        await run.StopAsync(killed);
        run.RemoveMostOfTheTree(); // no daemon sees it: the restart's catch-up finds the directories changed
        await run.RestartAsync("-o", run.Config);

        File.WriteAllText(Path.Combine(run.Source, "d0", "after-restart.txt"), "written after the restart");
        foreach (var target in run.Targets)
        {
            await Eventually.TrueAsync(() => File.Exists(Path.Combine(target, "d0", "after-restart.txt")), Mirror.SyncTimeout, $"the write after the restart reaches {target}", TestContext.Current.CancellationToken);
        }

        await Eventually.TrueAsync(async () => (await run.HeldFullPushesAsync()) == 2, HoldTimeout, "both targets' full syncs hold their deletes", TestContext.Current.CancellationToken);
        foreach (var target in run.Targets)
        {
            var now = Inodes(target);
            Assert.All(before[target], f => Assert.True(now.TryGetValue(f.Key, out var inode) && inode == f.Value, $"{target}/{f.Key} was removed or replaced while held"));
            Assert.Equal(5001, now.Count);
        }

        Assert.Contains("while the daemon was down", run.Daemon.StandardOutput + run.Daemon.StandardError, StringComparison.Ordinal);
        var release = await run.CommandAsync("release");
        Assert.True(release.ExitCode == 0, release.Output + release.Error);
        foreach (var target in run.Targets)
        {
            await TreeConvergence.AssertConvergesAsync(run.Source, target, Mirror.SyncTimeout, abandon: () => run.Daemon.HasExited, diagnostics: run.Daemon.Describe);
            Assert.Equal(1001, CountFiles(target));
        }
    }

    [Fact]
    public async Task Release_keep_drops_the_held_deletes_the_targets_keep_the_files_and_later_writes_flow()
    {
        await using var run = await GuardedMirror.StartAsync("sersync-e2e-guard-keep-");
        run.RemoveMostOfTheTree();
        await run.WaitForHoldAsync(expectedHeldFiles: 4000);

        var keep = await run.CommandAsync("release", "--keep");
        Assert.True(keep.ExitCode == 0, keep.Output + keep.Error);
        Assert.Contains("4040 held delete(s) dropped (the targets keep the files), 4000 file(s)", keep.Output, StringComparison.Ordinal);
        Assert.Equal(0, (await run.GuardAsync()).GetProperty("held").GetInt32());

        File.WriteAllText(Path.Combine(run.Source, "d1", "later.txt"), "after the keep");
        foreach (var target in run.Targets)
        {
            await Eventually.TrueAsync(() => File.Exists(Path.Combine(target, "d1", "later.txt")), Mirror.SyncTimeout, $"a write after --keep reaches {target}", TestContext.Current.CancellationToken);
            Assert.Equal(5001, CountFiles(target)); // the dropped deletes never reached it
        }
    }

    [Fact]
    public async Task Files_restored_while_held_clear_the_hold_and_nothing_is_deleted_on_the_targets()
    {
        await using var run = await GuardedMirror.StartAsync("sersync-e2e-guard-restore-");
        var backup = Path.Combine(run.Temp.Path, "backup");
        Run("cp", "-a", "--", run.Source, backup);
        run.RemoveMostOfTheTree();
        await run.WaitForHoldAsync(expectedHeldFiles: 4000);

        Run("cp", "-a", "--", backup + "/.", run.Source);
        await Eventually.TrueAsync(async () => (await run.GuardAsync()).GetProperty("held").GetInt32() == 0, HoldTimeout, "the hold clears once the files are back", TestContext.Current.CancellationToken);
        foreach (var target in run.Targets)
        {
            await TreeConvergence.AssertConvergesAsync(run.Source, target, Mirror.SyncTimeout, abandon: () => run.Daemon.HasExited, diagnostics: run.Daemon.Describe);
            Assert.Equal(5000, CountFiles(target));
        }

        Assert.DoesNotContain(run.Daemon.StandardOutput.Split('\n'), l => l.Contains("deleting", StringComparison.Ordinal));
    }

    /// <summary>Each file below <paramref name="dir"/> (relative) with its inode.</summary>
    private static Dictionary<string, ulong> Inodes(string dir) =>
        Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).ToDictionary(f => Path.GetRelativePath(dir, f), f => FileIdentity.InodeOf(f) ?? 0, StringComparer.Ordinal);

    private static int CountFiles(string dir) => Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Count();

    private static void Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        p.WaitForExit();
        Assert.Equal(0, p.ExitCode);
    }

    private static void Figures(string line)
    {
        if (Environment.GetEnvironmentVariable("SERSYNC_FIGURES") is { Length: > 0 } file)
        {
            File.AppendAllText(file, $"delete guard: {line}\n");
        }
    }

    private sealed class GuardedMirror : IAsyncDisposable
    {
        private GuardedMirror(TempDirectory temp, RsyncDaemon rsyncd, DaemonProcess daemon, string config, string source, string[] targets)
        {
            (Temp, Rsyncd, Daemon, Config, Source, Targets) = (temp, rsyncd, daemon, config, source, targets);
        }

        public TempDirectory Temp { get; }

        public RsyncDaemon Rsyncd { get; }

        public DaemonProcess Daemon { get; private set; }

        public string Config { get; }

        public string Source { get; }

        public string[] Targets { get; }

        /// <summary>A 5,000-file tree (50 directories of 100), pushed with -r to a local directory and an rsync daemon.</summary>
        public static async Task<GuardedMirror> StartAsync(string prefix)
        {
            var temp = new TempDirectory(prefix);
            var src = temp.Sub("src");
            for (var d = 0; d < Directories; d++)
            {
                var dir = Directory.CreateDirectory(Path.Combine(src, "d" + d)).FullName;
                for (var f = 0; f < FilesPerDirectory; f++)
                {
                    File.WriteAllText(Path.Combine(dir, "f" + f), "content " + f);
                }
            }

            var local = Path.Combine(temp.Path, "local");
            var module = temp.Sub("module");
            var rsyncd = new RsyncDaemon().AddModule("mirror", module).Start();
            var config = new ConfigBuilder(src, Path.Combine(temp.Path, "state"))
                .AddLocalTarget(local)
                .AddRsyncDaemonTarget(rsyncd, "mirror")
                .Write(Path.Combine(temp.Path, "guard.xml"));
            var daemon = DaemonProcess.Start("-r", "-o", config);
            var run = new GuardedMirror(temp, rsyncd, daemon, config, src, [local, module]);
            await daemon.WaitForReadyAsync(Mirror.ReadyTimeout);
            foreach (var target in run.Targets)
            {
                Assert.Equal(5000, CountFiles(target)); // the -r push finished before READY=1
            }

            return run;
        }

        /// <summary>Stops the daemon (<paramref name="kill"/>: SIGKILL, no drain, no stop barrier).</summary>
        public async Task StopAsync(bool kill)
        {
            if (kill)
            {
                DaemonProcess.SendSignal(Daemon.Pid, 9);
                Assert.True(await Daemon.WaitForExitAsync(CommandTimeout) != 0, "a SIGKILLed daemon exits non-zero");
            }
            else
            {
                await Daemon.StopAsync();
            }

            Daemon.Dispose();
        }

        public async Task RestartAsync(params string[] arguments)
        {
            Daemon = DaemonProcess.Start(arguments);
            await Daemon.WaitForReadyAsync(Mirror.ReadyTimeout);
        }

        /// <summary>The targets whose full push holds its deletes now.</summary>
        public async Task<int> HeldFullPushesAsync()
        {
            var status = await CommandAsync("status", "--json");
            using var doc = JsonDocument.Parse(status.Output);
            return doc.RootElement.GetProperty("roots")[0].GetProperty("targets").EnumerateArray()
                .Count(t => t.GetProperty("held_full_push").ValueKind == JsonValueKind.Object);
        }

        /// <summary>The 40 of the 50 directories <see cref="RemoveMostOfTheTree"/> removes.</summary>
        public IEnumerable<string> RemovedDirectories => Enumerable.Range(Directories / 5, Directories * 4 / 5).Select(d => Path.Combine(Source, "d" + d));

        /// <summary><c>rm -rf</c> of 40 of the 50 directories: 4,000 files, 80 %.</summary>
        public void RemoveMostOfTheTree() => Run("rm", ["-rf", "--", .. RemovedDirectories]);

        public async Task WaitForHoldAsync(long expectedHeldFiles)
        {
            var polled = await Eventually.PollAsync(GuardAsync, g => g.GetProperty("held_files").GetInt64() >= expectedHeldFiles, HoldTimeout, () => Daemon.HasExited, cancellationToken: TestContext.Current.CancellationToken);
            Assert.True(polled.Reached, $"the guard holds the rm -rf: last delete_guard {polled.Value}; targets hold {string.Join(", ", Targets.Select(CountFiles))}\n{Daemon.Describe()}");
            await Eventually.TrueAsync(() => Daemon.StatusLines.Any(l => l.Contains("HOLDING", StringComparison.Ordinal)), HoldTimeout, "STATUS= says the guard holds", TestContext.Current.CancellationToken);
        }

        public async Task<JsonElement> GuardAsync()
        {
            var status = await CommandAsync("status", "--json");
            using var doc = JsonDocument.Parse(status.Output);
            return doc.RootElement.GetProperty("roots")[0].GetProperty("delete_guard").Clone();
        }

        public async Task<(int ExitCode, string Output, string Error)> CommandAsync(params string[] args)
        {
            using var run = await DaemonProcess.RunToExitAsync([args[0], "-o", Config, .. args[1..]], CommandTimeout);
            return (run.ExitCode, run.StandardOutput, run.StandardError);
        }

        public async ValueTask DisposeAsync()
        {
            if (!Daemon.HasExited)
            {
                await Daemon.StopAsync();
            }

            Daemon.Dispose();
            await Rsyncd.DisposeAsync();
            Temp.Dispose();
        }
    }
}
