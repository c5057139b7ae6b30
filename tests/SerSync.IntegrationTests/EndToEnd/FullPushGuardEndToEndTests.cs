using Microsoft.Extensions.Logging.Abstractions;
using SerSync.Configuration;
using SerSync.Pipeline;
using SerSync.Testing;

namespace SerSync.IntegrationTests.EndToEnd;

/// <summary>The delete guard on full pushes with a real daemon, a real rsync daemon target and a local one: a
/// <c>-r</c> start after 80 % of the source went leaves both targets whole while new files still arrive; and, at the
/// pipeline level (the <c>sersyncd release</c> command is helper A's), release lets the next full sync delete.</summary>
public sealed class FullPushGuardEndToEndTests
{
    private const int Files = 3000;

    [Fact]
    public async Task A_start_with_r_after_80_percent_of_the_source_was_deleted_holds_the_deletes_on_every_target()
    {
        using var tmp = new TempDirectory("sersync-e2e-guard-");
        var src = tmp.Sub("src");
        var local = Path.Combine(tmp.Path, "local");
        var module = tmp.Sub("module");
        var state = Path.Combine(tmp.Path, "state");
        MakeTree(src);
        await using var rsyncd = new RsyncDaemon().AddModule("mirror", module).Start();
        var config = new ConfigBuilder(src, state).AddLocalTarget(local).AddRsyncDaemonTarget(rsyncd, "mirror").Write(Path.Combine(tmp.Path, "confxml.xml"));
        using (var first = DaemonProcess.Start("-r", "-o", config))
        {
            await first.WaitForReadyAsync(Mirror.ReadyTimeout);
            TreeComparer.AssertEqual(src, local);
            TreeComparer.AssertEqual(src, module);
            await first.StopAsync();
        }

        DeleteMost(src);
        using var daemon = DaemonProcess.Start("-r", "-o", config);
        await daemon.WaitForReadyAsync(Mirror.ReadyTimeout);
        Assert.Equal(Files, CountFiles(local));
        Assert.Equal(Files, CountFiles(module));
        Assert.Contains("would delete 2400 of the 3000 files", daemon.StandardOutput + daemon.StandardError, StringComparison.Ordinal);
        Assert.Equal(2, Directory.GetFiles(state, "held-full-push-*", SearchOption.AllDirectories).Length);

        File.WriteAllText(Path.Combine(src, "after-start.txt"), "still flows");
        await Eventually.TrueAsync(
            () => File.Exists(Path.Combine(local, "after-start.txt")) && File.Exists(Path.Combine(module, "after-start.txt")),
            Mirror.SyncTimeout,
            "a file written after the start on both targets\n" + daemon.Describe(),
            TestContext.Current.CancellationToken);
        await Eventually.TrueAsync(
            () => daemon.StatusLines.Any(s => s.Contains("HOLDING the deletes of a full push to 2 target(s)", StringComparison.Ordinal)),
            Mirror.SyncTimeout,
            "STATUS= naming the held full push\n" + daemon.Describe(),
            TestContext.Current.CancellationToken);
        Assert.Equal(Files + 1, CountFiles(local));
        Assert.Equal(Files + 1, CountFiles(module));
        await daemon.StopAsync();
    }

    [Fact]
    public async Task Release_at_the_pipeline_level_lets_the_next_full_sync_delete_and_the_targets_match()
    {
        using var tmp = new TempDirectory("sersync-guard-release-");
        var src = tmp.Sub("src");
        var local = tmp.Sub("local");
        var module = tmp.Sub("module");
        var state = tmp.Sub("state");
        MakeTree(src);
        await using var rsyncd = new RsyncDaemon().AddModule("mirror", module).Start();
        var file = new ConfigBuilder(src, state).AddLocalTarget(local).AddRsyncDaemonTarget(rsyncd, "mirror").Write(Path.Combine(tmp.Path, "confxml.xml"));
        var config = ConfigLoader.Load(file);
        var options = new MirrorOptions(Workers: 2, FullPushFirst: true, DrainTimeout: TimeSpan.FromSeconds(60), StateDirectory: state);
        using (var first = new MirrorPipeline(config, options, TimeProvider.System, NullLoggerFactory.Instance))
        {
            first.Start(fullPushFollows: true);
            await first.FullPushAsync(TestContext.Current.CancellationToken);
            first.StartWorkers();
            await first.StopAsync(TimeSpan.FromSeconds(60));
        }

        TreeComparer.AssertEqual(src, module);
        DeleteMost(src);
        using var pipeline = new MirrorPipeline(config, options, TimeProvider.System, NullLoggerFactory.Instance);
        pipeline.Start(fullPushFollows: true);
        await pipeline.FullPushAsync(TestContext.Current.CancellationToken);
        pipeline.StartWorkers();
        Assert.Equal(Files, CountFiles(local));
        Assert.Equal(Files, CountFiles(module));
        var held = pipeline.Snapshot().Roots.Single().Targets.Select(t => t.HeldFullPush).ToList();
        Assert.All(held, h => Assert.True(h is { Deletes: 2400, Held: 3000, ReleaseOnce: false }, $"held: {h}"));
        Assert.Contains("HOLDING the deletes of a full push", pipeline.StatusLine(), StringComparison.Ordinal);

        var released = pipeline.ReleaseFullPushHolds(keep: false);
        Assert.Equal(2, released.Count);
        await TreeConvergence.AssertConvergesAsync(src, local, Mirror.SyncTimeout);
        await TreeConvergence.AssertConvergesAsync(src, module, Mirror.SyncTimeout);
        await Eventually.TrueAsync(
            () => pipeline.Snapshot().Roots.Single().Targets.All(t => t.HeldFullPush is null),
            Mirror.SyncTimeout,
            "no hold left after the released full sync",
            TestContext.Current.CancellationToken);
        Assert.Empty(Directory.GetFiles(state, "held-full-push-*", SearchOption.AllDirectories));
        Assert.Empty(pipeline.ReleaseFullPushHolds(keep: true));
        await pipeline.StopAsync(TimeSpan.FromSeconds(60));
    }

    [Fact]
    public async Task A_start_on_another_empty_directory_at_the_root_path_holds_its_full_sync_without_r()
    {
        using var tmp = new TempDirectory("sersync-guard-replaced-");
        var src = tmp.Sub("src");
        var local = tmp.Sub("local");
        var state = tmp.Sub("state");
        for (var i = 0; i < 20; i++)
        {
            File.WriteAllText(Path.Combine(src, $"f{i}"), "x");
        }

        var config = ConfigLoader.Load(new ConfigBuilder(src, state).AddLocalTarget(local).Write(Path.Combine(tmp.Path, "confxml.xml")));
        var options = new MirrorOptions(Workers: 2, FullPushFirst: false, DrainTimeout: TimeSpan.FromSeconds(60), StateDirectory: state);
        using (var first = new MirrorPipeline(config, options, TimeProvider.System, NullLoggerFactory.Instance))
        {
            first.Start(); // a first start: the unknown target gets a full sync
            first.StartWorkers();
            await TreeConvergence.AssertConvergesAsync(src, local, Mirror.SyncTimeout);
            await first.StopAsync(TimeSpan.FromSeconds(60));
        }

        // While the daemon is down the root is replaced by an empty directory (a mount that failed at boot).
        Directory.Delete(src, recursive: true);
        Directory.CreateDirectory(src);
        using var pipeline = new MirrorPipeline(config, options, TimeProvider.System, NullLoggerFactory.Instance);
        pipeline.Start();
        pipeline.StartWorkers();
        await Eventually.TrueAsync(
            () => pipeline.Snapshot().Roots.Single().Targets.Single().HeldFullPush is { Deletes: 20 },
            Mirror.SyncTimeout,
            "the full sync of the replaced root holding its 20 deletes",
            TestContext.Current.CancellationToken);
        Assert.Equal(20, CountFiles(local));
        File.WriteAllText(Path.Combine(src, "new"), "still flows");
        await Eventually.TrueAsync(() => File.Exists(Path.Combine(local, "new")), Mirror.SyncTimeout, "a new file on the target", TestContext.Current.CancellationToken);
        Assert.Equal(21, CountFiles(local));
        await pipeline.StopAsync(TimeSpan.FromSeconds(60));
    }

    internal static void MakeTree(string src)
    {
        for (var d = 0; d < 30; d++)
        {
            var dir = Directory.CreateDirectory(Path.Combine(src, $"d{d:D2}")).FullName;
            for (var f = 0; f < Files / 30; f++)
            {
                File.WriteAllText(Path.Combine(dir, $"f{f:D3}"), $"file {d} {f}");
            }
        }
    }

    /// <summary>Deletes 80 % of the files (2,400 of 3,000): every file whose number is not a multiple of 5.</summary>
    private static void DeleteMost(string src)
    {
        foreach (var path in Directory.GetFiles(src, "f*", SearchOption.AllDirectories))
        {
            if (int.Parse(Path.GetFileName(path)[1..], System.Globalization.CultureInfo.InvariantCulture) % 5 != 0)
            {
                File.Delete(path);
            }
        }
    }

    internal static int CountFiles(string dir) => Directory.GetFiles(dir, "*", SearchOption.AllDirectories).Length;
}
