using System.Text;
using System.Text.Json;
using SerSync.Configuration;
using SerSync.Daemon.Operations;
using SerSync.Pipeline;
using SerSync.Watching;

namespace SerSync.UnitTests.Operations;

/// <summary>The watcher backend and its caveat, as the status document, the table, STATUS= and /metrics say.</summary>
public sealed class WatcherStatusTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 2, 12, 0, 0, TimeSpan.Zero);

    private static RootSnapshot Root(string path, WatcherKind kind) =>
        new RootSnapshot(path, 120, 0, 10, 4096, [], []) { Watcher = kind, WatcherCaveat = ScanningWatcher.Describe(kind, TimeSpan.FromSeconds(5)) };

    private static DaemonStatus Status(params RootSnapshot[] roots) =>
        new("1.2.3", 4242, TimeSpan.FromSeconds(5), DaemonPhase.Running, 1, new PipelineSnapshot(Now, roots), "/etc/sersync.d/www.xml");

    [Fact]
    public void The_document_and_the_table_name_the_backend_and_what_it_does_not_guarantee()
    {
        using var doc = JsonDocument.Parse(StatusJson.Write(Status(Root("/www", WatcherKind.Poll))));
        var r = doc.RootElement.GetProperty("roots")[0];
        Assert.Equal("poll", r.GetProperty("watcher").GetString());
        Assert.StartsWith("no notifications, a full scan every 5 s: every change is found up to 5 s late;", r.GetProperty("watcher_caveat").GetString(), StringComparison.Ordinal);
        Assert.Contains("/www: poll watcher (no notifications, a full scan every 5 s:", StatusTable.Render(doc.RootElement, Now), StringComparison.Ordinal);

        using var inotify = JsonDocument.Parse(StatusJson.Write(Status(Root("/www", WatcherKind.Inotify))));
        Assert.Equal("", inotify.RootElement.GetProperty("roots")[0].GetProperty("watcher_caveat").GetString());
        Assert.Contains("/www: inotify, 120 watches", StatusTable.Render(inotify.RootElement, Now), StringComparison.Ordinal);
    }

    [Fact]
    public void The_status_line_says_inotify_or_the_other_backend_with_its_first_caveat()
    {
        Assert.Equal(" (inotify)", MirrorPipeline.WatcherNote(new PipelineSnapshot(Now, [Root("/www", WatcherKind.Inotify)])));
        Assert.Equal(
            " (portable watcher: FileSystemWatcher hints, a full scan every 5 s: a change whose event is lost is found up to 5 s late)",
            MirrorPipeline.WatcherNote(new PipelineSnapshot(Now, [Root("/www", WatcherKind.Portable)])));
        Assert.Equal(
            " (poll watcher on /nfs: no notifications, a full scan every 5 s: every change is found up to 5 s late)",
            MirrorPipeline.WatcherNote(new PipelineSnapshot(Now, [Root("/www", WatcherKind.Inotify), Root("/nfs", WatcherKind.Poll)])));
    }

    [Fact]
    public async Task The_gauge_is_1_for_the_running_backend_and_0_for_the_others()
    {
        var exporter = new MetricsExporter(new StatusSource(TimeProvider.System, "/etc/a.xml"));
        exporter.Update(Status(Root("/www", WatcherKind.Portable)));
        var text = await TextAsync(exporter);
        Assert.Contains("sersyncd_watcher_backend{root=\"/www\",backend=\"portable\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("sersyncd_watcher_backend{root=\"/www\",backend=\"inotify\"} 0", text, StringComparison.Ordinal);
        Assert.Equal("poll", WatcherConfig.Name(WatcherKind.Poll));
    }

    private static async Task<string> TextAsync(MetricsExporter exporter)
    {
        using var buffer = new MemoryStream();
        await exporter.ExportAsync(buffer, TestContext.Current.CancellationToken);
        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
