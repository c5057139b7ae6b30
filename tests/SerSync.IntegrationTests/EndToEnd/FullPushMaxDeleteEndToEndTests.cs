using Microsoft.Extensions.Logging.Abstractions;
using SerSync.Configuration;
using SerSync.Processes;
using SerSync.Rsync;
using SerSync.Testing;

namespace SerSync.IntegrationTests.EndToEnd;

/// <summary>The race between a full push's dry run and the push itself, against a real rsync daemon: the source loses
/// more in between (the hook stands for an unmount in that second), and the push deletes no more than its dry run
/// judged, is reported failed (exit 25), and its retry judges again and holds.</summary>
public sealed class FullPushMaxDeleteEndToEndTests
{
    private const int Files = 40;

    [Fact]
    public async Task A_source_emptied_after_the_dry_run_deletes_at_most_what_was_judged_and_the_push_fails_then_holds()
    {
        using var tmp = new TempDirectory("sersync-maxdel-");
        var src = tmp.Sub("src");
        var module = tmp.Sub("module");
        for (var i = 0; i < Files; i++)
        {
            File.WriteAllText(Path.Combine(src, "f" + i), "content " + i);
        }

        await using var rsyncd = new RsyncDaemon().AddModule("mirror", module).Start();
        var file = new ConfigBuilder(src, tmp.Sub("state")).AddRsyncDaemonTarget(rsyncd, "mirror").Write(Path.Combine(tmp.Path, "confxml.xml"));
        var target = SyncTarget.FromConfig(ConfigLoader.Load(file)).Single();
        var log = new LogCapture();
        var guard = new FullPushGuard(target, new DeleteGuardConfig(true, 50, 10, 0), null, TimeProvider.System, log);
        var push = new FullPush(new ProcessRunner(NullLogger.Instance), new SemaphoreSlim(1), null, TimeProvider.System, log) { Guards = _ => guard };
        var first = (await push.RunAsync([target], null, [], TestContext.Current.CancellationToken)).Single();
        Assert.True(first.Result.Succeeded, first.Result.Output);
        TreeComparer.AssertEqual(src, module);

        // 10 of 40 gone: under the share, judged deletable. Then, between the dry run and the push, 20 more go.
        DeleteSource(src, 0, 10);
        long judged = -1;
        guard.AfterDryRun = census =>
        {
            judged = census.DeleteEntries;
            DeleteSource(src, 10, 20);
            return Task.CompletedTask;
        };
        var raced = (await push.RunAsync([target], null, [], TestContext.Current.CancellationToken)).Single();

        Assert.Equal(10, judged);
        Assert.Equal(RsyncExitCodes.MaxDeleteReached, raced.Result.ExitCode);
        Assert.Equal(FailureClass.Transient, raced.Class); // retried, not done and not given up
        Assert.Equal(Files - 10, Directory.GetFiles(module).Length); // 10 deleted of the 30 the source lacks
        Assert.Contains(log.Lines, l => l.EventId.Id == 13105);
        Assert.Null(guard.Current);

        // The retry judges again: of the 30 files the target still holds, 20 would go: over the share, held.
        guard.AfterDryRun = null;
        var retry = (await push.RunAsync([target], null, [], TestContext.Current.CancellationToken)).Single();
        Assert.True(retry.Result.Succeeded, retry.Result.Output);
        Assert.True(guard.Current is { Deletes: 20, Held: 30 }, $"hold: {guard.Current}");
        Assert.Equal(Files - 10, Directory.GetFiles(module).Length);
    }

    private static void DeleteSource(string src, int first, int count)
    {
        for (var i = first; i < first + count; i++)
        {
            File.Delete(Path.Combine(src, "f" + i));
        }
    }
}
