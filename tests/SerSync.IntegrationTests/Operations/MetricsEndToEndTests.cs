using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using SerSync.IntegrationTests.EndToEnd;
using SerSync.Testing;

namespace SerSync.IntegrationTests.Operations;

/// <summary>
/// The monitoring endpoints of a running daemon (<c>&lt;status listen&gt;</c> on a free loopback port) with a local
/// target and an rsync daemon target. <c>/metrics</c> is read by prometheus-client's own parser (Debian's
/// python3-prometheus-client, run with /usr/bin/python3: the python3 on PATH may be another one without it). With
/// <c>SERSYNC_FIGURES=FILE</c> set, the outage test appends its <c>/metrics</c> excerpt there.
/// </summary>
public sealed class MetricsEndToEndTests
{
    private const string Python = "/usr/bin/python3";

    /// <summary>prometheus_client's text parser; one JSON line per sample.</summary>
    private const string ParserScript = """
        import json, sys
        from prometheus_client.parser import text_string_to_metric_families
        for family in text_string_to_metric_families(sys.stdin.read()):
            for s in family.samples:
                print(json.dumps({"family": family.name, "type": family.type, "name": s.name, "labels": s.labels, "value": s.value}))
        """;

    private static readonly TimeSpan ProbeInterval = TimeSpan.FromMilliseconds(300);

    [Fact]
    public async Task Metrics_status_and_healthz_follow_an_rsync_daemon_outage_and_the_recovery()
    {
        using var tmp = new TempDirectory("sersync-metrics-");
        var src = tmp.Sub("src");
        var local = Path.Combine(tmp.Path, "local");
        var module = tmp.Sub("module");
        File.WriteAllText(Path.Combine(src, "first.txt"), "before");
        await using var rsyncd = new RsyncDaemon(FreePort.Pick()).AddModule("mirror", module).Start();
        var port = FreePort.Pick();
        var config = new ConfigBuilder(src, Path.Combine(tmp.Path, "state")) { StatusListen = $"127.0.0.1:{port}", UnhealthyAfterSeconds = 2 }
            .AddLocalTarget(local)
            .AddRsyncDaemonTarget(rsyncd, "mirror")
            .Write(Path.Combine(tmp.Path, "confxml.xml"));
        using var daemon = DaemonProcess.Start("-o", config);
        await daemon.WaitForReadyAsync(Mirror.ReadyTimeout);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(15) };

        // The labels are the root's path and the targets' names, as /status gives them.
        var first = await ProbeAsync(http);
        var root = first.Status.GetProperty("roots")[0];
        var rootPath = root.GetProperty("path").GetString()!;
        var targets = root.GetProperty("targets").EnumerateArray().ToDictionary(t => t.GetProperty("kind").GetString()!, t => t.GetProperty("name").GetString()!);
        var (localName, remoteName) = (targets["local"], targets["rsyncd"]);
        var (l, r) = (Labels(rootPath, localName), Labels(rootPath, remoteName));

        File.WriteAllText(Path.Combine(src, "second.txt"), "while both are up");
        var healthy = await WaitAsync(http, daemon, p => p.HealthCode == HttpStatusCode.OK && p.Get("sersyncd_target_up", r) == 1
            && p.Get("sersyncd_target_pending_changes", r) == 0 && p.Get("sersyncd_target_pending_changes", l) == 0
            && p.Get("sersyncd_rsync_runs_total", r, ("result", "success")) > 0 && File.Exists(Path.Combine(module, "second.txt"))
            && p.Get("sersyncd_changes_total", Labels(rootPath)) >= 1, TimeSpan.FromSeconds(60), "both targets in sync"); // the first push may carry second.txt before its event is counted
        Assert.Equal("histogram", healthy.TypeOf("sersyncd_rsync_duration_seconds"));
        Assert.Equal("counter", healthy.TypeOf("sersyncd_rsync_runs"));
        Assert.Equal("gauge", healthy.TypeOf("sersyncd_target_lag_seconds"));
        Assert.True(healthy.Get("sersyncd_rsync_duration_seconds_count", r) > 0);
        Assert.True(healthy.Get("sersyncd_rsync_duration_seconds_bucket", r, ("le", "+Inf")) == healthy.Get("sersyncd_rsync_duration_seconds_count", r));
        Assert.Equal(1, healthy.Get("sersyncd_target_state", r, ("state", "in_sync")));
        Assert.True(healthy.Get("sersyncd_watches", Labels(rootPath)) >= 1);
        Assert.True(healthy.Get("sersyncd_changes_total", Labels(rootPath)) >= 1);
        Assert.True(healthy.Get("process_resident_memory_bytes", []) > 1_000_000);
        Assert.True(healthy.Get("process_open_fds", []) > 3);
        Assert.Equal("ok\n", healthy.HealthBody);

        // Outage: the rsync daemon is killed by PID; the changes reach the local target only.
        var rsyncdPid = rsyncd.Pid;
        rsyncd.Kill();
        Assert.False(DaemonProcess.IsAlive(rsyncdPid), $"rsync daemon {rsyncdPid} survived SIGKILL");
        for (var i = 0; i < 5; i++)
        {
            File.WriteAllText(Path.Combine(src, $"outage-{i}.txt"), $"written while the rsync daemon is down ({i})");
        }

        var down = await WaitAsync(http, daemon, p => p.HealthCode == HttpStatusCode.ServiceUnavailable
            && p.Get("sersyncd_target_state", r, ("state", "retrying")) == 1 && p.Get("sersyncd_target_up", r) == 0
            && p.Get("sersyncd_target_pending_changes", r) > 0 && p.Get("sersyncd_target_lag_seconds", r) > 0
            && p.Get("sersyncd_target_pending_changes", l) == 0 && p.Get("sersyncd_target_state", l, ("state", "in_sync")) == 1
            && p.Get("sersyncd_rsync_runs_total", r, ("result", "transient")) > 0, TimeSpan.FromSeconds(60), "the rsync daemon target retrying and /healthz 503");
        Assert.Contains(remoteName, down.HealthBody, StringComparison.Ordinal);
        Assert.Contains("retrying for", down.HealthBody, StringComparison.Ordinal);
        Assert.DoesNotContain(localName + ":", down.HealthBody, StringComparison.Ordinal);
        var remoteStatus = down.Target(remoteName);
        Assert.Equal("retrying", remoteStatus.GetProperty("state").GetString());
        Assert.True(remoteStatus.GetProperty("pending").GetInt32() > 0);
        Assert.True(remoteStatus.GetProperty("lag_s").GetDouble() > 0);
        Assert.Equal(JsonValueKind.Object, remoteStatus.GetProperty("last_error").ValueKind);
        Assert.Equal("in_sync", down.Target(localName).GetProperty("state").GetString());
        Assert.True(down.Get("sersyncd_target_failures_total", r) > 0);
        Assert.True(down.Get("sersyncd_rsync_runs_total", r, ("result", "success")) >= healthy.Get("sersyncd_rsync_runs_total", r, ("result", "success")));
        TreeComparer.AssertEqual(src, local);

        // The lag keeps growing while nothing reaches the target.
        var later = await WaitAsync(http, daemon, p => p.Get("sersyncd_target_lag_seconds", r) > down.Get("sersyncd_target_lag_seconds", r) + 0.5, TimeSpan.FromSeconds(20), "the lag growing");
        Figures($"/metrics during the outage (rsync daemon PID {rsyncdPid} killed; unhealthyAfter=2):\n{Excerpt(later.MetricsText)}\n/healthz {(int)later.HealthCode}: {later.HealthBody.TrimEnd()}");

        // Recovery: the rsync daemon comes back on the same port; the next retry (backoff 1 s doubling) catches up.
        rsyncd.Start();
        var back = await WaitAsync(http, daemon, p => p.HealthCode == HttpStatusCode.OK && p.Get("sersyncd_target_up", r) == 1
            && p.Get("sersyncd_target_pending_changes", r) == 0 && p.Get("sersyncd_target_lag_seconds", r) == 0
            && p.Get("sersyncd_target_state", r, ("state", "in_sync")) == 1, TimeSpan.FromSeconds(120), "the rsync daemon target back in sync");
        Assert.True(back.Get("sersyncd_rsync_runs_total", r, ("result", "transient")) > 0);
        Assert.True(back.Get("sersyncd_rsync_runs_total", r, ("result", "success")) > down.Get("sersyncd_rsync_runs_total", r, ("result", "success")));
        Assert.True(back.Get("sersyncd_changes_total", Labels(rootPath)) >= down.Get("sersyncd_changes_total", Labels(rootPath)));
        Assert.Equal("in_sync", back.Target(remoteName).GetProperty("state").GetString());
        Assert.Equal(JsonValueKind.String, back.Target(remoteName).GetProperty("last_success").ValueKind);
        TreeComparer.AssertEqual(src, module);
        Figures($"/metrics after the recovery:\n{Excerpt(back.MetricsText)}\n/healthz {(int)back.HealthCode}: {back.HealthBody.TrimEnd()}");

        // Anything else is 404; another method on an endpoint is 405; HEAD answers without a body.
        using (var missing = await http.GetAsync(new Uri("nope", UriKind.Relative), TestContext.Current.CancellationToken))
        {
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        }

        using (var post = await http.PostAsync(new Uri("metrics", UriKind.Relative), new StringContent("x"), TestContext.Current.CancellationToken))
        {
            Assert.Equal(HttpStatusCode.MethodNotAllowed, post.StatusCode);
        }

        using (var head = await http.SendAsync(new HttpRequestMessage(HttpMethod.Head, new Uri("healthz", UriKind.Relative)), TestContext.Current.CancellationToken))
        {
            Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        }

        await daemon.StopAsync();
    }

    [Fact]
    public async Task A_reload_keeps_counters_growing_and_drops_the_series_of_a_removed_target()
    {
        using var tmp = new TempDirectory("sersync-metrics-reload-");
        var src = tmp.Sub("src");
        var (kept, removed) = (Path.Combine(tmp.Path, "kept"), Path.Combine(tmp.Path, "removed"));
        var port = FreePort.Pick();
        var configPath = Path.Combine(tmp.Path, "confxml.xml");
        ConfigBuilder Config() => new(src, Path.Combine(tmp.Path, "state")) { StatusListen = $"127.0.0.1:{port}" };
        Config().AddLocalTarget(kept).AddLocalTarget(removed).Write(configPath);
        using var daemon = DaemonProcess.Start("-o", configPath);
        await daemon.WaitForReadyAsync(Mirror.ReadyTimeout);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(15) };
        var rootPath = (await ProbeAsync(http)).Status.GetProperty("roots")[0].GetProperty("path").GetString()!;
        var (k, r) = (Labels(rootPath, kept), Labels(rootPath, removed));

        for (var i = 0; i < 4; i++)
        {
            File.WriteAllText(Path.Combine(src, $"before-{i}.txt"), "before the reload");
        }

        var before = await WaitAsync(http, daemon, p => p.Get("sersyncd_changes_total", Labels(rootPath)) >= 4
            && p.Get("sersyncd_target_pending_changes", k) == 0 && p.Get("sersyncd_target_pending_changes", r) == 0
            && p.Get("sersyncd_rsync_runs_total", k, ("result", "success")) > 0, TimeSpan.FromSeconds(60), "both targets in sync before the reload");

        Config().AddLocalTarget(kept).Write(configPath);
        DaemonProcess.SendSignal(daemon.Pid, 1); // SIGHUP
        var after = await WaitAsync(http, daemon, p => p.Get("sersyncd_pipeline_generation", []) == 2 && !p.MetricsText.Contains($"target=\"{removed}\"", StringComparison.Ordinal)
            && p.HealthCode == HttpStatusCode.OK, TimeSpan.FromSeconds(60), "the reloaded pipeline without the removed target");
        Assert.True(after.Get("sersyncd_changes_total", Labels(rootPath)) >= before.Get("sersyncd_changes_total", Labels(rootPath)), "changes_total went down across the reload");
        Assert.True(after.Get("sersyncd_rsync_runs_total", k, ("result", "success")) >= before.Get("sersyncd_rsync_runs_total", k, ("result", "success")), "runs_total went down across the reload");
        Assert.Equal(1, after.Get("sersyncd_target_up", k));

        // The new pipeline counts from 0; the exported counter goes on from where it was.
        File.WriteAllText(Path.Combine(src, "after.txt"), "after the reload");
        var later = await WaitAsync(http, daemon, p => p.Get("sersyncd_changes_total", Labels(rootPath)) > after.Get("sersyncd_changes_total", Labels(rootPath))
            && p.Get("sersyncd_target_pending_changes", k) == 0 && File.Exists(Path.Combine(kept, "after.txt")), TimeSpan.FromSeconds(60), "a change after the reload counted on top");
        Assert.True(later.Get("sersyncd_rsync_runs_total", k, ("result", "success")) > after.Get("sersyncd_rsync_runs_total", k, ("result", "success")));
        await daemon.StopAsync();
    }

    [Fact]
    public async Task Drift_paths_show_what_the_scheduled_audit_found()
    {
        var port = FreePort.Pick();
        await using var mirror = await Mirror.StartAsync(m =>
        {
            File.WriteAllText(m.Src("a.txt"), "the source's content");
            m.Config.StatusListen = $"127.0.0.1:{port}";
            m.Config.Audit = (0.05, false); // every 3 s, no repair: the drift stays and is reported
        });
        await mirror.WaitForTargetAsync();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(15) };
        var labels = Labels((await ProbeAsync(http)).Status.GetProperty("roots")[0].GetProperty("path").GetString()!, mirror.Target);
        await WaitAsync(http, mirror.Daemon, p => p.Get("sersyncd_target_drift_paths", labels) == 0, TimeSpan.FromSeconds(60), "an audit finding nothing");

        // Behind the daemon's back: one file changed on the target, one added there.
        File.WriteAllText(mirror.Dst("a.txt"), "changed on the target, and longer");
        File.WriteAllText(mirror.Dst("extra.txt"), "only on the target");
        var found = await WaitAsync(http, mirror.Daemon, p => p.Get("sersyncd_target_drift_paths", labels) >= 2, TimeSpan.FromSeconds(60), "the audit's drift in /metrics");
        Assert.Equal("gauge", found.TypeOf("sersyncd_target_drift_paths"));
    }

    [Fact]
    public async Task Clients_that_hang_or_crowd_the_port_do_not_stop_the_next_scrape()
    {
        var port = FreePort.Pick();
        await using var mirror = await Mirror.StartAsync(m => m.Config.StatusListen = $"127.0.0.1:{port}");
        // More silent connections than the server serves at once: each is closed after the request timeout, and a
        // scrape after them is answered (the daemon keeps mirroring meanwhile).
        var silent = new List<Socket>();
        try
        {
            for (var i = 0; i < 20; i++)
            {
                var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                silent.Add(s);
                await s.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), TestContext.Current.CancellationToken);
            }

            File.WriteAllText(Path.Combine(mirror.Source, "during.txt"), "while clients hang");
            await mirror.WaitForTargetAsync();
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(30) };
            var answered = await Eventually.PollAsync(async () =>
                {
                    try
                    {
                        using var response = await http.GetAsync(new Uri("healthz", UriKind.Relative), TestContext.Current.CancellationToken);
                        return response.StatusCode;
                    }
                    catch (HttpRequestException)
                    {
                        return (HttpStatusCode)0; // closed unanswered while every slot was taken
                    }
                }, code => code == HttpStatusCode.OK, TimeSpan.FromSeconds(40), () => mirror.Daemon.HasExited, TimeSpan.FromMilliseconds(500), cancellationToken: TestContext.Current.CancellationToken);
            Assert.True(answered.Reached, $"/healthz was not answered while silent clients held connections: {answered.Value}\n{mirror.Daemon.Describe()}");
        }
        finally
        {
            foreach (var s in silent)
            {
                s.Dispose();
            }
        }
    }

    [Fact]
    public async Task A_port_that_cannot_be_bound_is_logged_mirroring_goes_on_and_it_is_bound_once_free()
    {
        var ct = TestContext.Current.CancellationToken;
        using var tmp = new TempDirectory("sersync-metrics-bind-");
        var (source, target) = (tmp.Sub("src"), tmp.Sub("dst"));
        Directory.CreateDirectory(source);
        Directory.CreateDirectory(target);
        var taken = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        taken.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        taken.Listen();
        var port = ((IPEndPoint)taken.LocalEndPoint!).Port;
        var config = new ConfigBuilder(source, Path.Combine(tmp.Path, "state")) { StatusListen = $"127.0.0.1:{port}" }
            .AddLocalTarget(target)
            .Write(Path.Combine(tmp.Path, "confxml.xml"));
        await using var daemon = DaemonProcess.Start("-o", config);
        try
        {
            await daemon.WaitForReadyAsync(TimeSpan.FromSeconds(60));
            File.WriteAllText(Path.Combine(source, "mirrored.txt"), "x");
            await Eventually.TrueAsync(() => File.Exists(Path.Combine(target, "mirrored.txt")), TimeSpan.FromSeconds(30), "the daemon to mirror without its HTTP port", ct);
            var output = daemon.StandardOutput + daemon.StandardError;
            Assert.Contains($"127.0.0.1:{port}", output, StringComparison.Ordinal);
            Assert.Contains("cannot listen", output, StringComparison.Ordinal);
        }
        finally
        {
            taken.Dispose(); // the port is free: the daemon binds it at its next try (every 10 s)
        }

        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(5) };
        var healthy = await Eventually.PollAsync(
            async () =>
            {
                try
                {
                    using var answer = await http.GetAsync("healthz", ct);
                    return (int)answer.StatusCode;
                }
                catch (HttpRequestException)
                {
                    return 0;
                }
            },
            code => code == 200,
            TimeSpan.FromSeconds(45),
            () => daemon.HasExited,
            TimeSpan.FromMilliseconds(500),
            cancellationToken: ct);
        Assert.True(healthy.Reached, $"/healthz did not answer 200 once the port was free (last {healthy.Value})\n{daemon.Describe()}");
        await daemon.StopAsync();
    }

    private static (string, string)[] Labels(string root, string? target = null) =>
        target is null ? [("root", root)] : [("root", root), ("target", target)];

    private static async Task<Probe> WaitAsync(HttpClient http, DaemonProcess daemon, Func<Probe, bool> done, TimeSpan timeout, string what)
    {
        var polled = await Eventually.PollAsync(() => ProbeAsync(http), done, timeout, () => daemon.HasExited, ProbeInterval);
        Assert.True(polled.Reached, $"not reached within {timeout.TotalSeconds:0} s: {what}\n/healthz {(int)polled.Value.HealthCode}: {polled.Value.HealthBody}\n{Excerpt(polled.Value.MetricsText)}\n{daemon.Describe()}");
        return polled.Value;
    }

    private static async Task<Probe> ProbeAsync(HttpClient http)
    {
        var ct = TestContext.Current.CancellationToken;
        using var metrics = await http.GetAsync(new Uri("metrics", UriKind.Relative), ct);
        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
        Assert.StartsWith("text/plain", metrics.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
        var text = await metrics.Content.ReadAsStringAsync(ct);
        using var health = await http.GetAsync(new Uri("healthz", UriKind.Relative), ct);
        var healthBody = await health.Content.ReadAsStringAsync(ct);
        using var status = await http.GetAsync(new Uri("status", UriKind.Relative), ct);
        Assert.Equal(HttpStatusCode.OK, status.StatusCode);
        using var json = JsonDocument.Parse(await status.Content.ReadAsStringAsync(ct));
        return new Probe(text, await ParseAsync(text), health.StatusCode, healthBody, json.RootElement.Clone());
    }

    /// <summary>Runs prometheus_client's parser over <paramref name="text"/>; a document it rejects fails the test.</summary>
    private static async Task<IReadOnlyList<Sample>> ParseAsync(string text)
    {
        var start = new ProcessStartInfo(Python) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(ParserScript);
        using var python = Process.Start(start)!;
        try
        {
            var output = python.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
            var errors = python.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
            await python.StandardInput.WriteAsync(text);
            python.StandardInput.Close();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await python.WaitForExitAsync(timeout.Token);
            Assert.True(python.ExitCode == 0, $"prometheus_client's parser rejected /metrics (or {Python} lacks it: apt-get install python3-prometheus-client): {await errors}\n{text}");
            return [.. (await output).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(Sample.FromJson)];
        }
        finally
        {
            if (!python.HasExited)
            {
                python.Kill(); // by its PID, the one this test started
            }
        }
    }

    /// <summary>The sersyncd_ series and the process metrics, without the histogram's buckets.</summary>
    private static string Excerpt(string metrics) =>
        string.Join('\n', metrics.Split('\n').Where(line => (line.StartsWith("sersyncd_", StringComparison.Ordinal) || line.StartsWith("process_", StringComparison.Ordinal)
            || line.StartsWith("# TYPE sersyncd_", StringComparison.Ordinal)) && !line.Contains("_bucket{", StringComparison.Ordinal)));

    private static void Figures(string text)
    {
        TestContext.Current.SendDiagnosticMessage(text);
        if (Environment.GetEnvironmentVariable("SERSYNC_FIGURES") is { Length: > 0 } file)
        {
            File.AppendAllText(file, text + "\n");
        }
    }

    private sealed record Sample(string Family, string Type, string Name, Dictionary<string, string> Labels, double Value)
    {
        public static Sample FromJson(string line)
        {
            using var doc = JsonDocument.Parse(line);
            var e = doc.RootElement;
            var labels = e.GetProperty("labels").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
            var value = e.GetProperty("value");
            return new Sample(e.GetProperty("family").GetString()!, e.GetProperty("type").GetString()!, e.GetProperty("name").GetString()!, labels,
                value.ValueKind == JsonValueKind.Number ? value.GetDouble() : double.Parse(value.GetString()!, CultureInfo.InvariantCulture));
        }
    }

    private sealed record Probe(string MetricsText, IReadOnlyList<Sample> Samples, HttpStatusCode HealthCode, string HealthBody, JsonElement Status)
    {
        /// <summary>The sample named <paramref name="name"/> with exactly these labels (and the extra ones); NaN when
        /// there is none (so a wait goes on), and a failure when there are two.</summary>
        public double Get(string name, (string, string)[] labels, params (string Key, string Value)[] extra)
        {
            var want = labels.Concat(extra).ToDictionary(p => p.Item1, p => p.Item2);
            var found = Samples.Where(s => s.Name == name && s.Labels.Count == want.Count && want.All(w => s.Labels.TryGetValue(w.Key, out var v) && v == w.Value)).ToList();
            Assert.True(found.Count <= 1, $"{found.Count} samples {name}{{{string.Join(',', want.Select(w => $"{w.Key}=\"{w.Value}\""))}}} in:\n{MetricsText}");
            return found.Count == 1 ? found[0].Value : double.NaN;
        }

        public string TypeOf(string family) => Samples.First(s => s.Family == family).Type;

        public JsonElement Target(string name) =>
            Status.GetProperty("roots").EnumerateArray().SelectMany(r => r.GetProperty("targets").EnumerateArray()).Single(t => t.GetProperty("name").GetString() == name);
    }
}
