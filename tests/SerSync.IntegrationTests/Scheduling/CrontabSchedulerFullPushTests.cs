using Microsoft.Extensions.Logging.Abstractions;
using SerSync.Configuration;
using SerSync.Processes;
using SerSync.Rsync;
using SerSync.Scheduling;
using SerSync.Testing;

namespace SerSync.IntegrationTests.Scheduling;

/// <summary>One crontab run with the real full push: real rsync to a local target and to a daemon that is down.</summary>
public sealed class CrontabSchedulerFullPushTests
{
    [Fact]
    public async Task With_the_real_full_push_a_down_target_is_behind_and_the_local_one_is_mirrored()
    {
        using var temp = new TempDirectory("sersync-cron-");
        var src = temp.Sub("src");
        var dst = temp.Sub("dst");
        File.WriteAllText(Path.Combine(src, "index.html"), "hello");
        File.WriteAllText(Path.Combine(src, "skip.php"), "excluded by crontabfilter");
        var local = new SyncTarget(src, new RemoteConfig(RemoteKind.LocalDirectory, null, null, dst, 1), RsyncConfig.Stock with { CommonParams = ["-az"] }, Delete: true);
        var dead = new SyncTarget(
            src,
            new RemoteConfig(RemoteKind.RsyncDaemon, "127.0.0.1", "www", null, 1),
            RsyncConfig.Stock with { CommonParams = ["-az"], Port = new SwitchedNumber(true, FreePort.Pick()), Timeout = new SwitchedNumber(true, 5) },
            Delete: true);
        var fullPush = new FullPush(new ProcessRunner(NullLogger.Instance), new SemaphoreSlim(4), null, TimeProvider.System, NullLogger.Instance);
        var behind = new List<TargetPushResult>();
        var scheduler = new CrontabScheduler(
            new CrontabConfig(true, 1, true, ["*.php"]),
            () => [local, dead],
            null,
            (t, f, x, ct) => fullPush.RunAsync(t, f, x, ct),
            behind.Add,
            TimeProvider.System,
            NullLogger.Instance);

        await scheduler.RunOnceAsync(TestContext.Current.CancellationToken);

        Assert.Equal([dead], behind.Select(r => r.Target));
        Assert.Equal("hello", File.ReadAllText(Path.Combine(dst, "index.html")));
        Assert.False(File.Exists(Path.Combine(dst, "skip.php")));
    }
}
