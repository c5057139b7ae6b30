using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using SerSync.Configuration;
using SerSync.Filtering;
using SerSync.Paths;
using SerSync.Rsync;
using SerSync.Targets;
using SerSync.Testing;

namespace SerSync.UnitTests.Targets;

/// <summary>A worker's guarded full sync that rsync stopped at its <c>--max-delete</c> (exit 25): kept, retried after
/// the backoff, and the retry runs a new dry run (judged again), never counted as done nor given up on.</summary>
public sealed class TargetWorkerMaxDeleteTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);
    private const string P = ItemizedChangeParser.Prefix;
    private readonly TempDirectory _temp = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 1, 9, 0, 0, TimeSpan.Zero));
    private readonly CancellationTokenSource _stop = new();

    public void Dispose()
    {
        _stop.Cancel();
        _stop.Dispose();
        _temp.Dispose();
    }

    [Fact]
    public async Task A_full_sync_stopped_at_its_delete_limit_is_retried_with_a_new_dry_run()
    {
        var root = _temp.Sub("src");
        File.WriteAllText(Path.Combine(root, "a"), "a");
        var runner = new ScriptedRunner(_time);
        var target = new SyncTarget(root, new RemoteConfig(RemoteKind.LocalDirectory, null, null, _temp.Sub("dst"), 1), RsyncConfig.Stock, Delete: true);
        using var worker = new TargetWorker(
            new TargetBatchBuilder(target, new PathFilter(), _temp.Path), runner, new SemaphoreSlim(4), null, BatchPolicy.Default, new RetryPolicy(new Random(42)), _time, NullLogger<TargetWorker>.Instance)
        {
            FullPushGuard = new FullPushGuard(target, new DeleteGuardConfig(true, 50, 10, 0), null, _time, NullLogger.Instance),
        };
        var run = worker.RunAsync(_stop.Token);
        worker.Enqueue(new FileChange(ChangeKind.Rescan, RelativePath.Root, true), 1);
        await Eventually.TrueAsync(() => worker.BatchTimerDue is not null, Deadline, "the batch timer", TestContext.Current.CancellationToken);
        _time.Advance(TimeSpan.FromSeconds(1));

        string[] listing = [P + ".d          ./", P + ".f          a", P + "*deleting   b", P + "*deleting   c"];
        var dry = await runner.NextAsync();
        Assert.Contains("--dry-run", dry.Invocation.Arguments);
        dry.Complete(0, listing, TimeSpan.FromMilliseconds(1));
        var push = await runner.NextAsync();
        Assert.Contains("--max-delete=2", push.Invocation.Arguments);
        push.Complete(RsyncExitCodes.MaxDeleteReached, "Deletions stopped due to --max-delete limit (5 skipped)");

        await Eventually.TrueAsync(() => worker.RetryAt is not null, Deadline, "a retry scheduled after exit 25", TestContext.Current.CancellationToken);
        Assert.Equal(TargetState.Retrying, worker.State);
        Assert.Equal(1, worker.PendingCount); // the full sync is kept
        _time.Advance(worker.RetryAt!.Value - _time.GetUtcNow() + TimeSpan.FromSeconds(1));
        var again = await runner.NextAsync();
        Assert.Contains("--dry-run", again.Invocation.Arguments); // judged again, not pushed on the old count
        again.Complete(0, listing, TimeSpan.FromMilliseconds(1));
        (await runner.NextAsync()).Complete(0);
        await Eventually.TrueAsync(() => worker.State == TargetState.InSync, Deadline, "in sync after the retry", TestContext.Current.CancellationToken);

        await _stop.CancelAsync();
        await run.WaitAsync(Deadline, TestContext.Current.CancellationToken);
    }
}
