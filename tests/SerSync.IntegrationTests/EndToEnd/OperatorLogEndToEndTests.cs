using SerSync.Testing;

namespace SerSync.IntegrationTests.EndToEnd;

/// <summary>The log lines an operator reads, from the real daemon and a real local rsync.</summary>
public sealed class OperatorLogEndToEndTests
{
    [Fact]
    public async Task A_batch_is_one_info_line_with_its_path_the_bytes_rsync_reports_and_the_time()
    {
        await using var m = await Mirror.StartAsync();
        var content = new byte[54_321];
        Random.Shared.NextBytes(content);
        File.WriteAllBytes(m.Src("report one.bin"), content);
        await m.WaitForTargetAsync();
        await Eventually.TrueAsync(
            () => m.Daemon.StandardOutput.Contains("synced 1 path(s) (report one.bin), 54321 bytes of files, ", StringComparison.Ordinal),
            TimeSpan.FromSeconds(10),
            "the batch's info line with its path and bytes\n" + m.Daemon.Describe(),
            TestContext.Current.CancellationToken);
        var line = m.Daemon.StandardOutput.Split('\n').First(l => l.Contains("(report one.bin)", StringComparison.Ordinal));
        Assert.Contains("[INF] " + m.Target + ": synced 1 path(s)", line, StringComparison.Ordinal);
        Assert.Matches(@"bytes sent, in \d+(\.\d)? (ms|s)\s*$", line);
        Assert.DoesNotContain("Total bytes sent", m.Daemon.StandardOutput + m.Daemon.StandardError, StringComparison.Ordinal); // --stats stays out of the log
    }

    [Fact]
    public async Task Debug_adds_one_line_per_raw_inotify_event()
    {
        WatcherBackend.SkipUnlessInotify("the debug line per raw inotify event");
        await using var m = await Mirror.StartAsync(p => p.Config.Debug = true);
        Directory.CreateDirectory(m.Src("sub"));
        await m.WaitForTargetAsync();
        File.WriteAllText(m.Src("sub/a b.txt"), "debug");
        await m.WaitForTargetAsync();
        await Eventually.TrueAsync(
            () => m.Daemon.StandardOutput.Contains($"({m.Source}/sub) name:a b.txt mask:IN_CLOSE_WRITE cookie:0", StringComparison.Ordinal),
            TimeSpan.FromSeconds(10),
            "the raw IN_CLOSE_WRITE of sub/a b.txt\n" + m.Daemon.Describe(),
            TestContext.Current.CancellationToken);
        Assert.Contains($"({m.Source}) name:sub mask:IN_CREATE|IN_ISDIR cookie:0", m.Daemon.StandardOutput, StringComparison.Ordinal);
        Assert.Matches(@"\[DBG\] inotify wd:\d+ \(", m.Daemon.StandardOutput);
    }
}
