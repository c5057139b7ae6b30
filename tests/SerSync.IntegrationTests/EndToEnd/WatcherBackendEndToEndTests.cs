using System.Diagnostics;
using System.Text.Json;
using SerSync.IntegrationTests.Faults;
using SerSync.Testing;

namespace SerSync.IntegrationTests.EndToEnd;

/// <summary>
/// The watcher backends through the real daemon: the portable backend's safety net with every event dropped (the
/// test hook), polling with renames kept as renames, and each backend said at start, in status and in STATUS=.
/// Each test sets <c>SERSYNCD_WATCHER</c> for its daemon itself, whatever backend the run forces.
/// </summary>
public sealed class WatcherBackendEndToEndTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_change_the_portable_backend_never_heard_of_is_found_by_its_scan_within_the_interval()
    {
        const int interval = 2;
        await using var m = await Mirror.StartAsync(
            p => p.Config.FileSystem = ("portable", interval),
            environment: new Dictionary<string, string> { ["SERSYNCD_WATCHER"] = "portable", ["SERSYNCD_TEST_DROP_EVENTS"] = "1" });
        Assert.Contains("every FileSystemWatcher event on", m.Daemon.StandardError, StringComparison.Ordinal);

        var times = new List<double>();
        for (var i = 0; i < 3; i++)
        {
            var name = $"missed-{i}";
            var clock = Stopwatch.StartNew();
            File.WriteAllText(m.Src(name), $"written while every event is dropped {i}");
            var arrived = await Eventually.PollAsync(
                () => File.Exists(Path.Combine(m.Target, name)),
                ok => ok,
                TimeSpan.FromSeconds(30),
                interval: TimeSpan.FromMilliseconds(20),
                cancellationToken: Ct);
            Assert.True(arrived.Reached, $"{name} never reached the target\n{m.Daemon.Describe()}");
            times.Add(clock.Elapsed.TotalSeconds);
        }

        // The scan runs every interval; the rsync after it and a loaded machine add a little.
        var figures = $"portable backend, every event dropped, scanInterval {interval} s: found by the safety net after {string.Join(", ", times.Select(t => t.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture)))} s";
        FaultMeasure.Report(figures);
        if (Environment.GetEnvironmentVariable("SERSYNC_FIGURES") is { Length: > 0 } file)
        {
            File.AppendAllText(file, figures + "\n");
        }

        Assert.All(times, t => Assert.True(t < interval + 3, $"found after {t:0.00} s, more than the {interval} s interval allows\n{m.Daemon.Describe()}"));
        await m.WaitForTargetAsync();
    }

    [Fact]
    public async Task Polling_mirrors_changes_keeps_a_rename_a_rename_and_says_so_everywhere()
    {
        await using var m = await Mirror.StartAsync(
            p =>
            {
                p.Config.FileSystem = ("poll", 1);
                p.Config.StatusSocket = Path.Combine(p.Tmp.Path, "status.sock");
                Directory.CreateDirectory(p.Src("dir"));
                File.WriteAllText(p.Src("dir/big"), new string('x', 100_000));
            },
            environment: new Dictionary<string, string> { ["SERSYNCD_WATCHER"] = "poll" });
        Assert.Contains("with the poll backend", m.Daemon.StandardError, StringComparison.Ordinal);
        Assert.Contains("poll watcher", m.Daemon.LastStatus, StringComparison.Ordinal);
        var inode = HardLinks.Of(Path.Combine(m.Target, "dir/big")).Inode;

        File.Move(m.Src("dir/big"), m.Src("renamed"));
        File.WriteAllText(m.Src("dir/new"), "new");
        await m.WaitForTargetAsync();
        Assert.Equal(inode, HardLinks.Of(Path.Combine(m.Target, "renamed")).Inode);

        using var run = await DaemonProcess.RunToExitAsync(["status", "-o", m.ConfigPath, "--json"], TimeSpan.FromSeconds(30));
        Assert.Equal(0, run.ExitCode);
        using var doc = JsonDocument.Parse(run.StandardOutput);
        var root = doc.RootElement.GetProperty("roots")[0];
        Assert.Equal("poll", root.GetProperty("watcher").GetString());
        Assert.Contains("up to 1 s late", root.GetProperty("watcher_caveat").GetString(), StringComparison.Ordinal);
        using var table = await DaemonProcess.RunToExitAsync(["status", "-o", m.ConfigPath], TimeSpan.FromSeconds(30));
        Assert.Contains("poll watcher (", table.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Auto_picks_inotify_on_a_local_linux_file_system()
    {
        await using var m = await Mirror.StartAsync(
            p => p.Config.StatusSocket = Path.Combine(p.Tmp.Path, "status.sock"),
            environment: new Dictionary<string, string> { ["SERSYNCD_WATCHER"] = "auto" });
        Assert.Contains("(inotify)", m.Daemon.LastStatus, StringComparison.Ordinal);
        using var run = await DaemonProcess.RunToExitAsync(["status", "-o", m.ConfigPath, "--json"], TimeSpan.FromSeconds(30));
        using var doc = JsonDocument.Parse(run.StandardOutput);
        Assert.Equal("inotify", doc.RootElement.GetProperty("roots")[0].GetProperty("watcher").GetString());
    }

    [Fact]
    public async Task A_watcher_the_daemon_does_not_know_is_a_config_error_naming_the_line()
    {
        using var tmp = new TempDirectory("sersync-e2e-watcher-");
        var config = new ConfigBuilder(tmp.Sub("src"), Path.Combine(tmp.Path, "state")) { FileSystem = ("fanotify", null) }
            .AddLocalTarget(tmp.Sub("dst"))
            .Write(Path.Combine(tmp.Path, "confxml.xml"));
        using var run = await DaemonProcess.RunToExitAsync(["-o", config], TimeSpan.FromSeconds(30), new Dictionary<string, string> { ["SERSYNCD_WATCHER"] = "" });
        Assert.Equal(78, run.ExitCode);
        Assert.Matches(@"confxml\.xml:\d+:\d+: .*watcher=""fanotify"" on <fileSystem>: expected auto, inotify, portable or poll", run.StandardError);

        var plain = new ConfigBuilder(tmp.Sub("src"), Path.Combine(tmp.Path, "state")).AddLocalTarget(tmp.Sub("dst")).Write(Path.Combine(tmp.Path, "plain.xml"));
        using var forced = await DaemonProcess.RunToExitAsync(["-o", plain], TimeSpan.FromSeconds(30), new Dictionary<string, string> { ["SERSYNCD_WATCHER"] = "kqueue" });
        Assert.Equal(78, forced.ExitCode);
        Assert.Contains("SERSYNCD_WATCHER", forced.StandardError, StringComparison.Ordinal);
    }
}
