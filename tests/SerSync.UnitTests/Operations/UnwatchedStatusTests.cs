using System.Text;
using System.Text.Json;
using SerSync.Daemon.Operations;
using SerSync.Pipeline;

namespace SerSync.UnitTests.Operations;

/// <summary>Directories that could not be watched, as the status document, the table, STATUS= and /metrics say.</summary>
public sealed class UnwatchedStatusTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    private static RootSnapshot Root(int unwatched, params string[] paths) =>
        new RootSnapshot("/www", 120, 0, 10, 4096, [], []) { Unwatched = unwatched, UnwatchedPaths = paths };

    private static DaemonStatus Status(RootSnapshot root) =>
        new("1.2.3", 4242, TimeSpan.FromSeconds(5), DaemonPhase.Running, 1, new PipelineSnapshot(Now, [root]), "/etc/sersync.d/www.xml");

    [Fact]
    public void The_document_counts_them_and_names_the_first_few()
    {
        using var doc = JsonDocument.Parse(StatusJson.Write(Status(Root(7, "a", "b/c"))));
        var r = doc.RootElement.GetProperty("roots")[0];
        Assert.Equal(7, r.GetProperty("unwatched").GetInt32());
        Assert.Equal(["a", "b/c"], r.GetProperty("unwatched_paths").EnumerateArray().Select(p => p.GetString()));

        Assert.Contains("/www: 120 watches, 0 overflows, 10 changes, journal 4096 bytes, 7 unwatched (max_user_watches used up, rescanned): a, b/c", StatusTable.Render(doc.RootElement, Now), StringComparison.Ordinal);

        using var none = JsonDocument.Parse(StatusJson.Write(Status(Root(0))));
        Assert.DoesNotContain("unwatched", StatusTable.Render(none.RootElement, Now), StringComparison.Ordinal);
        var n = none.RootElement.GetProperty("roots")[0];
        Assert.Equal(0, n.GetProperty("unwatched").GetInt32());
        Assert.Empty(n.GetProperty("unwatched_paths").EnumerateArray());
    }

    [Fact]
    public void The_status_line_says_them_after_the_targets_and_only_when_there_are_some()
    {
        var line = new StringBuilder("watching 120 directories; the target is in sync");
        MirrorPipeline.AppendUnwatched(line, new PipelineSnapshot(Now, [Root(7, "a", "b/c", "d", "e", "f")]));
        Assert.Equal("watching 120 directories; the target is in sync; 7 directories unwatched (max_user_watches used up, rescanned): a, b/c, d ...", line.ToString());

        var one = new StringBuilder();
        MirrorPipeline.AppendUnwatched(one, new PipelineSnapshot(Now, [Root(1, "a")]));
        Assert.Equal("; 1 directory unwatched (max_user_watches used up, rescanned): a", one.ToString());

        var nothing = new StringBuilder();
        MirrorPipeline.AppendUnwatched(nothing, new PipelineSnapshot(Now, [Root(0)]));
        Assert.Equal("", nothing.ToString());
    }

    [Fact]
    public async Task The_gauge_follows_the_count()
    {
        var exporter = new MetricsExporter(new StatusSource(TimeProvider.System, "/etc/a.xml"));
        exporter.Update(Status(Root(3, "a", "b", "c")));
        Assert.Contains("sersyncd_unwatched_directories{root=\"/www\"} 3", await TextAsync(exporter), StringComparison.Ordinal);
        exporter.Update(Status(Root(0)));
        Assert.Contains("sersyncd_unwatched_directories{root=\"/www\"} 0", await TextAsync(exporter), StringComparison.Ordinal);
    }

    private static async Task<string> TextAsync(MetricsExporter exporter)
    {
        using var buffer = new MemoryStream();
        await exporter.ExportAsync(buffer, TestContext.Current.CancellationToken);
        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
