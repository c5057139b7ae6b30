using SerSync.Testing;

namespace SerSync.IntegrationTests.Daemon;

/// <summary>
/// The foundation's "done when": sersync 2.5's stock confxml.xml, pointed at a real rsync daemon module (only the
/// values a user edits are changed: watch, ip, module, auth, port), passes <c>sersyncd -t</c> and
/// <c>sersyncd -r --once</c> as a process.
/// </summary>
public sealed class StockConfigEndToEndTests : IDisposable
{
    private readonly TempDirectory _temp = new("sersync-stock-");

    public void Dispose() => _temp.Dispose();

    internal static Task<ChildProcessResult> RunSersyncdAsync(params string[] args)
    {
        var (daemon, prefix) = EndToEnd.DaemonProcess.Locate();
        return ChildProcess.RunAsync(daemon, [.. prefix, .. args], timeout: TimeSpan.FromSeconds(60), cancellationToken: TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task Stock_file_pointed_at_a_real_module_checks_and_pushes()
    {
        var src = _temp.Sub("www");
        var module = _temp.Sub("module");
        NastyNames.CreateTree(src);
        File.WriteAllText(Path.Combine(src, ".htaccess"), "real dot-file");
        using var daemon = new RsyncDaemon().AddModule("tongbu1", module, "rsync_backup", "123456").Start();
        var passwordFile = daemon.WriteClientPasswordFile("123456");

        var xml = File.ReadAllText(ConfigTestSupport.FixturePath("stock-confxml.xml"))
            .Replace("<localpath watch=\"/www\">", $"<localpath watch=\"{src}\">", StringComparison.Ordinal)
            .Replace("<remote ip=\"172.16.10.5\" name=\"/tmp/www\"/>", "<remote ip=\"127.0.0.1\" name=\"tongbu1\"/>", StringComparison.Ordinal)
            .Replace("<auth start=\"false\" users=\"root\" passwordfile=\"/etc/rsync.pas\"/>", $"<auth start=\"true\" users=\"rsync_backup\" passwordfile=\"{passwordFile}\"/>", StringComparison.Ordinal)
            .Replace("<userDefinedPort start=\"false\" port=\"874\"/>", $"<userDefinedPort start=\"true\" port=\"{daemon.Port}\"/>", StringComparison.Ordinal)
            .Replace("/tmp/rsync_fail_log.sh", Path.Combine(_temp.Path, "fail.sh"), StringComparison.Ordinal);
        var config = Path.Combine(_temp.Path, "confxml.xml");
        File.WriteAllText(config, xml, System.Text.Encoding.Latin1);

        var check = await RunSersyncdAsync("-t", "-o", config);
        Assert.True(check.ExitCode == 0, check.StandardError);

        var push = await RunSersyncdAsync("-r", "--once", "-o", config);
        Assert.True(push.ExitCode == 0, push.StandardOutput + push.StandardError);
        TreeComparer.AssertEqual(src, module);
        Assert.DoesNotContain("123456", push.StandardOutput + push.StandardError, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_temp.Path, "fail.sh")));

        daemon.Kill();
        var down = await RunSersyncdAsync("--once", "-o", config);
        Assert.Equal(1, down.ExitCode);
        Assert.Contains("#errno", File.ReadAllText(Path.Combine(_temp.Path, "fail.sh")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bad_config_is_one_message_naming_the_line_and_exit_78()
    {
        var config = Path.Combine(_temp.Path, "bad.xml");
        File.WriteAllText(config, "<head version=\"2.5\">\n  <sersync>\n    <localpath watch=\"/nonexistent-dir-for-test\">\n      <remote ip=\"127.0.0.1\" name=\"m\"/>\n    </localpath>\n  </sersync>\n</head>\n");

        var result = await RunSersyncdAsync("-t", "-o", config);

        Assert.Equal(78, result.ExitCode);
        Assert.Contains($"{config}:3:", result.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.StandardError, StringComparison.Ordinal); // no stack trace
        Assert.Single(result.StandardError.Trim().Split('\n'));
    }

    [Theory]
    [InlineData(64, "-x")]
    [InlineData(64, "-m", "nosuch")]
    [InlineData(78, "-m", "refreshCDN", "-o", "/nonexistent-dir-for-test/confxml.xml")]
    public async Task Usage_errors_and_config_errors_have_their_own_exit_status(int expected, params string[] args)
    {
        var result = await RunSersyncdAsync(args);
        Assert.Equal(expected, result.ExitCode);
        Assert.StartsWith("sersyncd: ", result.StandardError, StringComparison.Ordinal);
    }
}
