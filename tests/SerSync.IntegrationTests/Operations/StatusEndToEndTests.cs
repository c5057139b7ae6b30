using System.Text.Json;
using SerSync.IntegrationTests.EndToEnd;
using SerSync.Testing;

namespace SerSync.IntegrationTests.Operations;

/// <summary>
/// <c>sersyncd status</c> against the built daemon with a local target and an rsync daemon target: the rsync daemon
/// is killed and started again on its port, and the status follows (state, pending, lag, last error, exit status),
/// then recovers. With <c>SERSYNC_FIGURES=FILE</c> the tables seen are appended there.
/// </summary>
public sealed class StatusEndToEndTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Status_follows_an_rsync_daemon_target_that_goes_down_and_comes_back()
    {
        var ct = TestContext.Current.CancellationToken;
        using var tmp = new TempDirectory("sersync-status-");
        var (source, local, module) = (tmp.Sub("src"), tmp.Sub("local"), tmp.Sub("module"));
        Directory.CreateDirectory(source);
        Directory.CreateDirectory(local);
        Directory.CreateDirectory(module);
        File.WriteAllText(Path.Combine(source, "first.txt"), "first");
        await using var rsyncd = new RsyncDaemon().AddModule("mirror", module).Start();
        var builder = new ConfigBuilder(source, tmp.Sub("state")) { TimeoutSeconds = 10 }.AddLocalTarget(local).AddRsyncDaemonTarget(rsyncd, "mirror");
        var config = builder.Write(Path.Combine(tmp.Path, "www.xml"));
        await using var daemon = DaemonProcess.Start("-o", config);
        await daemon.WaitForReadyAsync(Timeout);

        var synced = await WaitForStatusAsync(config, s => Targets(s).All(t => t.State == "in_sync") && File.Exists(Path.Combine(module, "first.txt")), "both targets in sync after the first push");
        Assert.Equal(0, synced.ExitCode);
        using (var doc = JsonDocument.Parse(synced.Json))
        {
            var root = doc.RootElement;
            Assert.Equal(daemon.Pid, root.GetProperty("pid").GetInt32());
            Assert.Equal("running", root.GetProperty("phase").GetString());
            Assert.True(root.GetProperty("uptime_s").GetDouble() >= 0);
            Assert.False(string.IsNullOrEmpty(root.GetProperty("version").GetString()));
            var r = Assert.Single(root.GetProperty("roots").EnumerateArray().ToList());
            Assert.Equal(source, r.GetProperty("path").GetString());
            Assert.Equal(1, r.GetProperty("watches").GetInt32());
            Assert.Equal(0, r.GetProperty("overflows").GetInt64());
            var kinds = r.GetProperty("targets").EnumerateArray().Select(t => (t.GetProperty("name").GetString(), t.GetProperty("kind").GetString())).ToList();
            Assert.Equal([(local, "local"), ($"127.0.0.1::mirror", "rsyncd")], kinds);
            foreach (var t in r.GetProperty("targets").EnumerateArray())
            {
                Assert.Equal(0, t.GetProperty("pending").GetInt32());
                Assert.Equal(0, t.GetProperty("lag_s").GetDouble());
                Assert.Equal(JsonValueKind.String, t.GetProperty("last_success").ValueKind);
                Assert.True(DateTimeOffset.TryParse(t.GetProperty("last_success").GetString(), System.Globalization.CultureInfo.InvariantCulture, out _));
                Assert.Equal(JsonValueKind.Null, t.GetProperty("last_error").ValueKind);
                Assert.Equal(0, t.GetProperty("failures_total").GetInt64());
            }
        }

        var socket = Path.Combine(tmp.Path, "state.sock");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(socket));

        var table = await RunStatusAsync(config, json: false);
        Assert.Equal(0, table.ExitCode);
        Assert.Contains("ROOT", table.Output, StringComparison.Ordinal);
        Assert.Matches($@"{System.Text.RegularExpressions.Regex.Escape(source)}\s+127\.0\.0\.1::mirror\s+rsyncd\s+in_sync\s+0\s+0\s+\d{{4}}-", table.Output);
        Figures("in sync", table.Output);

        rsyncd.Kill();
        File.WriteAllText(Path.Combine(source, "during-outage-1.txt"), "1");
        File.WriteAllText(Path.Combine(source, "during-outage-2.txt"), "2");
        var down = await WaitForStatusAsync(config, s => Targets(s).Any(t => t.Name == "127.0.0.1::mirror" && t.State == "retrying" && t.Pending >= 2 && t.Lag > 0.5), "the rsync daemon target to be retrying with the outage's changes pending");
        Assert.Equal(1, down.ExitCode);
        using (var doc = JsonDocument.Parse(down.Json))
        {
            var targets = doc.RootElement.GetProperty("roots")[0].GetProperty("targets");
            var localTarget = targets[0];
            Assert.Equal("in_sync", localTarget.GetProperty("state").GetString()); // the other target is not held up
            var remote = targets[1];
            var error = remote.GetProperty("last_error");
            Assert.Equal(JsonValueKind.Object, error.ValueKind);
            Assert.Equal(10, error.GetProperty("exit_code").GetInt32()); // socket I/O: nothing listens on the port
            Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
            Assert.True(remote.GetProperty("failures_total").GetInt64() >= 1);
            Assert.Equal(JsonValueKind.String, remote.GetProperty("failing_since").ValueKind);
        }

        Assert.True(File.Exists(Path.Combine(local, "during-outage-1.txt")));
        var lagBefore = Targets(down.Json).Single(t => t.Name == "127.0.0.1::mirror").Lag;
        var growing = await WaitForStatusAsync(config, s => Targets(s).Single(t => t.Name == "127.0.0.1::mirror").Lag > lagBefore + 1, "the lag to grow while the target is away");
        var downTable = await RunStatusAsync(config, json: false);
        Assert.Equal(1, downTable.ExitCode);
        Assert.Matches(@"127\.0\.0\.1::mirror\s+rsyncd\s+retrying\s+2\s+\d", downTable.Output);
        Assert.Contains("exit 10", downTable.Output, StringComparison.Ordinal);
        Figures("rsync daemon killed", downTable.Output);

        rsyncd.Start();
        var back = await WaitForStatusAsync(config, s => Targets(s).All(t => t.State == "in_sync"), "the rsync daemon target to be back in sync");
        Assert.Equal(0, back.ExitCode);
        var remoteBack = Targets(back.Json).Single(t => t.Name == "127.0.0.1::mirror");
        Assert.Equal(0, remoteBack.Pending);
        Assert.Equal(0, remoteBack.Lag);
        Assert.True(File.Exists(Path.Combine(module, "during-outage-2.txt")));
        using (var doc = JsonDocument.Parse(back.Json))
        {
            var remote = doc.RootElement.GetProperty("roots")[0].GetProperty("targets")[1];
            Assert.Equal(JsonValueKind.Null, remote.GetProperty("failing_since").ValueKind);
            Assert.Equal(JsonValueKind.Object, remote.GetProperty("last_error").ValueKind); // kept for the operator
            var success = DateTimeOffset.Parse(remote.GetProperty("last_success").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
            var error = DateTimeOffset.Parse(remote.GetProperty("last_error").GetProperty("at").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(success >= error, $"last success {success:O} before the last error {error:O}");
        }

        Figures("back", (await RunStatusAsync(config, json: false)).Output);

        await daemon.StopAsync();
        Assert.False(File.Exists(socket), "the socket is removed at a clean stop");
        var gone = await RunStatusAsync(config, json: true);
        Assert.Equal(3, gone.ExitCode);
        Assert.Contains("no daemon answers on " + socket, gone.Error, StringComparison.Ordinal);
        _ = growing;
        _ = ct;
    }

    [Fact]
    public async Task A_group_socket_is_0660_and_owned_by_that_group_and_an_unknown_request_is_answered_with_an_error()
    {
        using var tmp = new TempDirectory("sersync-status-group-");
        var (source, local) = (tmp.Sub("src"), tmp.Sub("local"));
        Directory.CreateDirectory(source);
        Directory.CreateDirectory(local);
        var socket = Path.Combine(tmp.Path, "g.sock");
        var xml = new ConfigBuilder(source, tmp.Sub("state")) { StatusSocket = socket }.AddLocalTarget(local).Build();
        xml.Root!.Element("status")!.Add(new System.Xml.Linq.XAttribute("group", "daemon"));
        var config = Path.Combine(tmp.Path, "g.xml");
        File.WriteAllText(config, xml.Declaration + "\n" + xml.Root);
        await using var daemon = DaemonProcess.Start("-o", config);
        await daemon.WaitForReadyAsync(Timeout);
        await Eventually.TrueAsync(() => File.Exists(socket), Timeout, "the socket to be there", TestContext.Current.CancellationToken);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite, File.GetUnixFileMode(socket));
        var stat = await ChildProcess.RunAsync("stat", ["-c", "%G", socket], cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal("daemon", stat.StandardOutput.Trim());

        using var client = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
        await client.ConnectAsync(new System.Net.Sockets.UnixDomainSocketEndPoint(socket), TestContext.Current.CancellationToken);
        await client.SendAsync("bogus\n"u8.ToArray(), System.Net.Sockets.SocketFlags.None, TestContext.Current.CancellationToken);
        var buffer = new byte[4096];
        var n = await client.ReceiveAsync(buffer, System.Net.Sockets.SocketFlags.None, TestContext.Current.CancellationToken);
        Assert.StartsWith("error: unknown request 'bogus'", System.Text.Encoding.UTF8.GetString(buffer, 0, n), StringComparison.Ordinal);
        await daemon.StopAsync();
    }

    [Fact]
    public async Task A_file_that_is_not_a_socket_at_the_socket_path_is_left_alone_and_the_daemon_mirrors_on()
    {
        var ct = TestContext.Current.CancellationToken;
        using var tmp = new TempDirectory("sersync-status-file-");
        var (source, local) = (tmp.Sub("src"), tmp.Sub("local"));
        Directory.CreateDirectory(source);
        Directory.CreateDirectory(local);
        var precious = Path.Combine(tmp.Path, "precious.txt");
        File.WriteAllText(precious, "an operator's file, named by a typo in <status socket>");
        var config = new ConfigBuilder(source, tmp.Sub("state")) { StatusSocket = precious }.AddLocalTarget(local).Write(Path.Combine(tmp.Path, "f.xml"));
        await using (var daemon = DaemonProcess.Start("-o", config))
        {
            await daemon.WaitForReadyAsync(Timeout);
            File.WriteAllText(Path.Combine(source, "still-mirrored.txt"), "x");
            await Eventually.TrueAsync(() => File.Exists(Path.Combine(local, "still-mirrored.txt")), Timeout, "the daemon to mirror without its socket", ct);
            await daemon.StopAsync();
            Assert.Contains("not a socket", daemon.StandardOutput + daemon.StandardError, StringComparison.Ordinal);
        }

        Assert.Equal("an operator's file, named by a typo in <status socket>", File.ReadAllText(precious));
        var status = await RunStatusAsync(config, json: false);
        Assert.Equal(3, status.ExitCode);
    }

    private sealed record TargetRow(string Name, string State, int Pending, double Lag);

    private sealed record StatusRun(int ExitCode, string Output, string Error)
    {
        public string Json => Output;
    }

    private static List<TargetRow> Targets(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return [.. doc.RootElement.GetProperty("roots").EnumerateArray()
            .SelectMany(r => r.GetProperty("targets").EnumerateArray())
            .Select(t => new TargetRow(t.GetProperty("name").GetString()!, t.GetProperty("state").GetString()!, t.GetProperty("pending").GetInt32(), t.GetProperty("lag_s").GetDouble()))];
    }

    private static async Task<StatusRun> RunStatusAsync(string config, bool json)
    {
        string[] args = json ? ["status", "-o", config, "--json"] : ["status", "-o", config];
        using var run = await DaemonProcess.RunToExitAsync(args, CommandTimeout);
        return new StatusRun(run.ExitCode, run.StandardOutput, run.StandardError);
    }

    private static async Task<StatusRun> WaitForStatusAsync(string config, Func<string, bool> done, string because)
    {
        var polled = await Eventually.PollAsync(
            () => RunStatusAsync(config, json: true),
            s => s.ExitCode is 0 or 1 && done(s.Json),
            Timeout,
            interval: TimeSpan.FromMilliseconds(250),
            cancellationToken: TestContext.Current.CancellationToken);
        Assert.True(polled.Reached, $"{because}: last status (exit {polled.Value.ExitCode}): {polled.Value.Output}{polled.Value.Error}");
        return polled.Value;
    }

    private static void Figures(string moment, string table)
    {
        if (Environment.GetEnvironmentVariable("SERSYNC_FIGURES") is { Length: > 0 } file)
        {
            File.AppendAllText(file, $"## sersyncd status: {moment}\n{table}\n");
        }
    }
}
