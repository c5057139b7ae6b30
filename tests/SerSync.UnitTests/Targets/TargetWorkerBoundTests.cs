using Microsoft.Extensions.Time.Testing;
using SerSync.Configuration;
using SerSync.Filtering;
using SerSync.Paths;
using SerSync.Rsync;
using SerSync.Targets;
using SerSync.Testing;

namespace SerSync.UnitTests.Targets;

/// <summary>The bound on a target's pending paths in memory: a reachable target keeps its coalesced set up to four
/// times <see cref="TargetWorker.MaxPendingPaths"/> (a storm is no outage), then it becomes one full sync.</summary>
public sealed class TargetWorkerBoundTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 1, 9, 0, 0, TimeSpan.Zero));
    private readonly TargetWorker _worker;

    public TargetWorkerBoundTests()
    {
        var remote = new RemoteConfig(RemoteKind.LocalDirectory, null, null, _temp.Sub("dst"), 1);
        var target = new SyncTarget(_temp.Sub("src"), remote, RsyncConfig.Stock, Delete: true);
        _worker = new TargetWorker(
            new TargetBatchBuilder(target, new PathFilter(), _temp.Path),
            new ScriptedRunner(_time),
            new SemaphoreSlim(1),
            null,
            BatchPolicy.Default,
            new RetryPolicy(new Random(1)),
            _time,
            new LogCapture<TargetWorker>())
        { MaxPendingPaths = 100 };
    }

    public void Dispose()
    {
        _worker.Dispose();
        _temp.Dispose();
    }

    private void Enqueue(int from, int count)
    {
        for (var i = from; i < from + count; i++)
        {
            _worker.Enqueue(new FileChange(ChangeKind.Upsert, RelativePath.FromString($"f{i}"), false), i + 1);
        }
    }

    [Fact]
    public void A_reachable_target_keeps_its_paths_up_to_four_times_the_bound_then_owes_one_full_sync()
    {
        Assert.False(_worker.IsAway);
        Enqueue(0, 400);
        Assert.Equal(400, _worker.PendingCount);
        Assert.False(_worker.FullSyncPending);
        Assert.False(_worker.Snapshot().FullSyncOwedByCollapse);

        Enqueue(400, 1);
        Assert.True(_worker.FullSyncPending);
        Assert.Equal(1, _worker.PendingCount);
        Assert.True(_worker.Snapshot().FullSyncOwedByCollapse);
    }

    [Fact]
    public void A_journal_collapse_shows_as_a_full_sync_owed()
    {
        _worker.Enqueue(new FileChange(ChangeKind.Rescan, RelativePath.Root, true), 7);
        _worker.NoteJournalCollapsed(7);
        Assert.True(_worker.Snapshot().FullSyncOwedByCollapse);
        Assert.True(_worker.FullSyncPending);
    }
}
