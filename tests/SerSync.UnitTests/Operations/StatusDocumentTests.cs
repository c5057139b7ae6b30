using System.Text.Json;
using SerSync.Configuration;
using SerSync.Daemon.Operations;
using SerSync.Pipeline;
using SerSync.Rsync;
using SerSync.Targets;

namespace SerSync.UnitTests.Operations;

/// <summary>The status document's fields, the table made from it, and the health rules, on a hand-made snapshot.</summary>
public sealed class StatusDocumentTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    private static TargetSnapshot InSync(string label, RemoteKind kind) =>
        new("id-" + label, label, kind, ReportedState.InSync, 0, null, Now.AddSeconds(-30), true, null, 0, null, [5, 0, 0, 0]);

    private static TargetSnapshot Retrying(string label, TimeSpan failingFor) =>
        new("id-" + label, label, RemoteKind.RsyncDaemon, ReportedState.Retrying, 12, Now - failingFor - TimeSpan.FromSeconds(3), Now.AddMinutes(-10), false,
            new TargetError(Now.AddSeconds(-2), 10, "error in socket I/O: rsync: failed to connect to 10.0.0.2: Connection refused (111)"), 7, Now - failingFor, [5, 0, 7, 0]);

    private static DaemonStatus Status(DaemonPhase phase, params TargetSnapshot[] targets) => new(
        "1.2.3", 4242, TimeSpan.FromSeconds(3725), phase, 1,
        new PipelineSnapshot(Now, [new RootSnapshot("/www", 120, 1, 999, 4096, targets, [new HookSnapshot("socket", 3)],
            new Dictionary<string, SerSync.Scheduling.AuditSummary> { ["id-/srv/copy"] = new(Now.AddMinutes(-1), 3, 1, 1, 1, 3, null) })]),
        "/etc/sersync.d/www.xml");

    [Fact]
    public void The_document_has_the_fields_the_issue_names_with_their_types()
    {
        var status = Status(DaemonPhase.Running, InSync("/srv/copy", RemoteKind.LocalDirectory), Retrying("10.0.0.2::www", TimeSpan.FromSeconds(40)));
        using var doc = JsonDocument.Parse(StatusJson.Write(status));
        var root = doc.RootElement;
        Assert.Equal("1.2.3", root.GetProperty("version").GetString());
        Assert.Equal(4242, root.GetProperty("pid").GetInt32());
        Assert.Equal(3725, root.GetProperty("uptime_s").GetDouble());
        var r = root.GetProperty("roots")[0];
        Assert.Equal("/www", r.GetProperty("path").GetString());
        Assert.Equal(120, r.GetProperty("watches").GetInt32());
        Assert.Equal(1, r.GetProperty("overflows").GetInt64());
        var local = r.GetProperty("targets")[0];
        Assert.Equal(["name", "kind", "state", "pending", "lag_s", "last_success", "last_error", "failures_total", "failing_since", "full_sync_owed", "last_audit", "held_full_push"], local.EnumerateObject().Select(p => p.Name));
        Assert.False(local.GetProperty("full_sync_owed").GetBoolean());
        Assert.Equal(0, r.GetProperty("journal_max_bytes").GetInt64());
        Assert.Equal(0, r.GetProperty("journal_collapses").GetInt64());
        Assert.Equal(JsonValueKind.Null, local.GetProperty("held_full_push").ValueKind);
        Assert.Equal("local", local.GetProperty("kind").GetString());
        Assert.Equal("in_sync", local.GetProperty("state").GetString());
        Assert.Equal(0, local.GetProperty("lag_s").GetDouble());
        Assert.Equal("2026-12-01T11:59:30.000Z", local.GetProperty("last_success").GetString());
        Assert.Equal(JsonValueKind.Null, local.GetProperty("last_error").ValueKind);
        var audit = local.GetProperty("last_audit");
        Assert.Equal(3, audit.GetProperty("drift_paths").GetInt32());
        Assert.Equal(1, audit.GetProperty("only_on_target").GetInt32());
        Assert.Equal(3, audit.GetProperty("queued").GetInt32());
        Assert.Equal(JsonValueKind.Null, audit.GetProperty("error").ValueKind);
        var remote = r.GetProperty("targets")[1];
        Assert.Equal("rsyncd", remote.GetProperty("kind").GetString());
        Assert.Equal("retrying", remote.GetProperty("state").GetString());
        Assert.Equal(12, remote.GetProperty("pending").GetInt32());
        Assert.Equal(43, remote.GetProperty("lag_s").GetDouble()); // the oldest change not on the target arrived 43 s ago
        Assert.Equal(10, remote.GetProperty("last_error").GetProperty("exit_code").GetInt32());
        Assert.Equal(JsonValueKind.Null, remote.GetProperty("last_audit").ValueKind);
        Assert.Equal("2026-12-01T11:59:58.000Z", remote.GetProperty("last_error").GetProperty("at").GetString());
        Assert.Equal(7, remote.GetProperty("failures_total").GetInt64());
        Assert.Equal(3, r.GetProperty("plugins")[0].GetProperty("pending").GetInt32());
    }

    [Fact]
    public void The_table_has_one_row_per_target_with_state_pending_lag_and_the_last_error()
    {
        var status = Status(DaemonPhase.Running, InSync("/srv/copy", RemoteKind.LocalDirectory), Retrying("10.0.0.2::www", TimeSpan.FromSeconds(40)));
        using var doc = JsonDocument.Parse(StatusJson.Write(status));
        var lines = StatusTable.Render(doc.RootElement, Now).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("sersyncd 1.2.3, pid 4242, up 1h02m, running: /etc/sersync.d/www.xml", lines[0]);
        Assert.Matches(@"^ROOT\s+TARGET\s+KIND\s+STATE\s+PENDING\s+LAG\s+LAST SUCCESS\s+LAST ERROR$", lines[1]);
        Assert.Matches(@"^/www\s+/srv/copy\s+local\s+in_sync\s+0\s+0\s+2026-12-01 11:59:30Z \(30s ago\)\s+-$", lines[2]);
        Assert.Matches(@"^/www\s+10\.0\.0\.2::www\s+rsyncd\s+retrying\s+12\s+43s\s+2026-12-01 11:50:00Z \(10m00s ago\)\s+2026-12-01 11:59:58Z \(2s ago\) exit 10: error in socket I/O: rsync: failed to connect", lines[3]);
        Assert.Equal("/www: 120 watches, 1 overflows, 999 changes, journal 4096 bytes, plugin socket 3 pending", lines[4]);
        Assert.Equal("/www -> /srv/copy: last audit 2026-12-01 11:59:00Z (1m00s ago): 3 drift paths (1 missing, 1 differ, 1 only on target), 3 queued for repair", lines[5]);
    }

    [Fact]
    public void Health_allows_a_short_retry_and_names_a_long_one_a_failed_target_and_a_stop()
    {
        var grace = TimeSpan.FromMinutes(5);
        Assert.Null(HealthRules.Problems(Status(DaemonPhase.Running, InSync("/srv/copy", RemoteKind.LocalDirectory), Retrying("a::m", TimeSpan.FromSeconds(60))), grace));

        var longRetry = HealthRules.Problems(Status(DaemonPhase.Running, Retrying("a::m", TimeSpan.FromMinutes(6))), grace);
        Assert.Equal(["/www -> a::m: retrying for 360 s, more than 300 s (exit 10: error in socket I/O: rsync: failed to connect to 10.0.0.2: Connection refused (111))"], longRetry);

        var failed = Retrying("b::m", TimeSpan.FromSeconds(5)) with { State = ReportedState.Failed };
        Assert.Contains("/www -> b::m: failed for 5 s", Assert.Single(HealthRules.Problems(Status(DaemonPhase.Running, failed), grace)!), StringComparison.Ordinal);

        Assert.Equal(["daemon stopping"], HealthRules.Problems(Status(DaemonPhase.Stopping, InSync("/srv/copy", RemoteKind.LocalDirectory)), grace));
    }
}
