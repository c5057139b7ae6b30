using System.Globalization;
using System.Text;
using SerSync.Configuration;
using SerSync.Daemon.Operations;
using SerSync.Pipeline;
using SerSync.Targets;

namespace SerSync.UnitTests.Daemon;

public class MetricsExporterTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Every_target_series_has_root_and_target_labels_and_state_is_one_hot()
    {
        var exporter = new MetricsExporter(new StatusSource(TimeProvider.System, "/etc/a.xml"));
        exporter.Update(Status(1, Root("/src", [Target("/dst", ReportedState.InSync, lastOk: null), Target("host::m", ReportedState.Retrying, pending: 3, oldest: Now.AddSeconds(-7), lastOk: false, failures: 2)])));
        var m = await ScrapeAsync(exporter);

        Assert.Equal(0, m.Value("sersyncd_target_pending_changes", "/src", "/dst"));
        Assert.Equal(3, m.Value("sersyncd_target_pending_changes", "/src", "host::m"));
        Assert.Equal(7, m.Value("sersyncd_target_lag_seconds", "/src", "host::m"));
        Assert.Equal(0, m.Value("sersyncd_target_lag_seconds", "/src", "/dst"));
        Assert.Equal(1, m.Value("sersyncd_target_up", "/src", "/dst")); // no attempt yet counts as up
        Assert.Equal(0, m.Value("sersyncd_target_up", "/src", "host::m"));
        Assert.Equal(2, m.Value("sersyncd_target_failures_total", "/src", "host::m"));
        foreach (var (target, current) in new[] { ("/dst", "in_sync"), ("host::m", "retrying") })
        {
            foreach (var state in new[] { "in_sync", "syncing", "retrying", "failed" })
            {
                Assert.Equal(state == current ? 1 : 0, m.Value("sersyncd_target_state", $"root=\"/src\",target=\"{target}\",state=\"{state}\""));
            }

            foreach (var result in new[] { "success", "partial", "transient", "fatal" })
            {
                Assert.Equal(0, m.Value("sersyncd_rsync_runs_total", $"root=\"/src\",target=\"{target}\",result=\"{result}\""));
            }

            Assert.Equal(0, m.Value("sersyncd_rsync_duration_seconds_count", "/src", target));
        }

        Assert.Equal(120, m.Value("sersyncd_watches", "root=\"/src\""));
        Assert.Equal(4096, m.Value("sersyncd_journal_bytes", "root=\"/src\""));
        Assert.Equal(5, m.Value("sersyncd_plugin_pending_changes", "root=\"/src\",plugin=\"command\""));
        Assert.Contains("# TYPE sersyncd_rsync_duration_seconds histogram", m.Text, StringComparison.Ordinal);
        Assert.Contains("# TYPE sersyncd_changes_total counter", m.Text, StringComparison.Ordinal);
        Assert.Contains("# TYPE sersyncd_target_state gauge", m.Text, StringComparison.Ordinal);
        Assert.True(m.Value("process_resident_memory_bytes", "") > 0);
        Assert.True(m.Value("process_open_fds", "") > 0);
        Assert.DoesNotContain("sersyncd_target_drift_paths{", m.Text, StringComparison.Ordinal); // unwired: absent
    }

    [Fact]
    public async Task Counters_add_up_across_a_reload_and_never_go_down()
    {
        var exporter = new MetricsExporter(new StatusSource(TimeProvider.System, "/etc/a.xml"));
        exporter.Update(Status(1, Root("/src", [Target("/dst", ReportedState.Syncing, failures: 5)], changes: 100, overflows: 1)));
        Assert.Equal(100, (await ScrapeAsync(exporter)).Value("sersyncd_changes_total", "root=\"/src\""));

        // The pipeline stops (counts went on after the last scrape), and a scrape still sees it before the next one.
        exporter.Retire(1, Snapshot(Root("/src", [Target("/dst", ReportedState.InSync, failures: 7)], changes: 120, overflows: 1)));
        exporter.Update(Status(1, Root("/src", [Target("/dst", ReportedState.InSync, failures: 7)], changes: 120, overflows: 1)));
        var during = await ScrapeAsync(exporter);
        Assert.Equal(120, during.Value("sersyncd_changes_total", "root=\"/src\""));
        Assert.Equal(7, during.Value("sersyncd_target_failures_total", "/src", "/dst"));

        // The new pipeline counts from 0 again.
        exporter.Update(Status(2, Root("/src", [Target("/dst", ReportedState.InSync, failures: 1)], changes: 3, overflows: 0)));
        var after = await ScrapeAsync(exporter);
        Assert.Equal(123, after.Value("sersyncd_changes_total", "root=\"/src\""));
        Assert.Equal(1, after.Value("sersyncd_queue_overflows_total", "root=\"/src\""));
        Assert.Equal(8, after.Value("sersyncd_target_failures_total", "/src", "/dst"));
        Assert.Equal(2, after.Value("sersyncd_pipeline_generation", ""));
    }

    [Fact]
    public async Task A_pipeline_replaced_without_retiring_keeps_what_the_last_scrape_saw()
    {
        var exporter = new MetricsExporter(new StatusSource(TimeProvider.System, "/etc/a.xml"));
        exporter.Update(Status(1, Root("/src", [Target("/dst", ReportedState.InSync, failures: 4)], changes: 50)));
        exporter.Update(Status(3, Root("/src", [Target("/dst", ReportedState.InSync, failures: 1)], changes: 2)));
        var m = await ScrapeAsync(exporter);
        Assert.Equal(52, m.Value("sersyncd_changes_total", "root=\"/src\""));
        Assert.Equal(5, m.Value("sersyncd_target_failures_total", "/src", "/dst"));
    }

    [Fact]
    public async Task Series_of_roots_targets_and_plugins_a_reload_removed_disappear()
    {
        var exporter = new MetricsExporter(new StatusSource(TimeProvider.System, "/etc/a.xml"));
        exporter.Update(Status(1, Root("/src", [Target("/keep", ReportedState.InSync), Target("/gone", ReportedState.Syncing, pending: 2)]), Root("/other", [Target("/o", ReportedState.InSync)])));
        var before = await ScrapeAsync(exporter);
        Assert.Equal(2, before.Value("sersyncd_target_pending_changes", "/src", "/gone"));
        Assert.Equal(120, before.Value("sersyncd_watches", "root=\"/other\""));

        exporter.Update(Status(2, Root("/src", [Target("/keep", ReportedState.InSync)], hooks: [])));
        var after = await ScrapeAsync(exporter);
        Assert.Equal(0, after.Value("sersyncd_target_pending_changes", "/src", "/keep"));
        Assert.DoesNotContain("target=\"/gone\"", after.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("root=\"/other\"", after.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("plugin=\"command\"", after.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Drift_paths_appear_once_an_audit_reports_them()
    {
        var exporter = new MetricsExporter(new StatusSource(TimeProvider.System, "/etc/a.xml"))
        {
            DriftPaths = (root, t) => t.Label == "/dst" ? 4 : null,
        };
        exporter.Update(Status(1, Root("/src", [Target("/dst", ReportedState.InSync), Target("/new", ReportedState.InSync)])));
        var m = await ScrapeAsync(exporter);
        Assert.Equal(4, m.Value("sersyncd_target_drift_paths", "/src", "/dst"));
        Assert.DoesNotContain("sersyncd_target_drift_paths{root=\"/src\",target=\"/new\"}", m.Text, StringComparison.Ordinal);
    }

    private static DaemonStatus Status(int generation, params RootSnapshot[] roots) =>
        new("1.0.0", 42, TimeSpan.FromMinutes(1), DaemonPhase.Running, generation, Snapshot(roots), "/etc/a.xml");

    private static PipelineSnapshot Snapshot(params RootSnapshot[] roots) => new(Now, roots);

    private static RootSnapshot Root(string path, TargetSnapshot[] targets, long changes = 0, long overflows = 0, HookSnapshot[]? hooks = null) =>
        new(path, 120, overflows, changes, 4096, targets, hooks ?? [new HookSnapshot("command", 5)]);

    private static TargetSnapshot Target(string label, ReportedState state, int pending = 0, DateTimeOffset? oldest = null, bool? lastOk = true, long failures = 0) =>
        new("id-" + label, label, RemoteKind.LocalDirectory, state, pending, oldest, null, lastOk, null, failures, null, [0, 0, 0, 0]);

    private static async Task<Scrape> ScrapeAsync(MetricsExporter exporter)
    {
        using var buffer = new MemoryStream();
        await exporter.ExportAsync(buffer, TestContext.Current.CancellationToken);
        return new Scrape(Encoding.UTF8.GetString(buffer.ToArray()));
    }

    private sealed record Scrape(string Text)
    {
        public double Value(string name, string root, string target) => Value(name, $"root=\"{root}\",target=\"{target}\"");

        /// <summary>The value of the sample <c>name{labels}</c> (labels exactly as written, in order; "" for none).</summary>
        public double Value(string name, string labels)
        {
            var prefix = labels.Length == 0 ? name + " " : $"{name}{{{labels}}} ";
            var line = Text.Split('\n').SingleOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal))
                ?? throw new Xunit.Sdk.XunitException($"no sample {prefix.TrimEnd()} in:\n{Text}");
            return double.Parse(line[prefix.Length..], CultureInfo.InvariantCulture);
        }
    }
}
