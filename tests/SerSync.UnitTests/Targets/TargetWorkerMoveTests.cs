using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using SerSync.Configuration;
using SerSync.Filtering;
using SerSync.Paths;
using SerSync.Rsync;
using SerSync.Targets;
using SerSync.Testing;

namespace SerSync.UnitTests.Targets;

/// <summary>
/// The worker replays a batch's renames on a local target (real rename(2)) before its rsync (scripted here), keeps
/// them in order while the target is down, and leaves them alone where the target must keep the old path.
/// </summary>
public sealed class TargetWorkerMoveTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);
    private readonly TempDirectory _temp = new("sersync-worker-moves-");
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 1, 9, 0, 0, TimeSpan.Zero));
    private readonly ScriptedRunner _runner;
    private readonly CancellationTokenSource _stop = new();
    private readonly string _root;
    private readonly string _dst;
    private TargetWorker? _worker;
    private Task? _run;

    public TargetWorkerMoveTests()
    {
        _runner = new ScriptedRunner(_time);
        _root = _temp.Sub("src");
        _dst = Path.Combine(_temp.Path, "dst");
        File.WriteAllText(Path.Combine(_root, "c"), "a, renamed twice in the source");
    }

    public void Dispose()
    {
        _stop.Cancel();
        _run?.Wait(Deadline);
        _worker?.Dispose();
        _stop.Dispose();
        _temp.Dispose();
    }

    private static RelativePath P(string p) => RelativePath.FromString(p);

    private static FileChange From(string path) => new(ChangeKind.Delete, P(path), false, ChangeEvent.MoveFrom) { MoveToFollows = true };

    private static FileChange To(string path, string from) => new(ChangeKind.Upsert, P(path), false, ChangeEvent.MoveTo, P(from));

    private static void EnqueueChain(TargetWorker worker)
    {
        worker.Enqueue(From("a"), 1);
        worker.Enqueue(To("b", "a"), 2);
        worker.Enqueue(From("b"), 3);
        worker.Enqueue(To("c", "b"), 4);
    }

    private ulong Inode(string relative) => FileSystemBytes.Stat(FileSystemBytes.Combine(_dst, P(relative)))!.Value.Inode;

    [Fact]
    public async Task The_renames_are_done_on_the_target_before_its_rsync_runs_over_both_paths()
    {
        Directory.CreateDirectory(_dst);
        File.WriteAllText(Path.Combine(_dst, "a"), "a");
        var inode = Inode("a");
        var worker = Start(delete: true);
        EnqueueChain(worker);
        await AdvanceWhenArmedAsync(worker, TimeSpan.FromMilliseconds(60));
        var call = await _runner.NextAsync();
        Assert.Equal(inode, Inode("c")); // already renamed when rsync starts
        Assert.False(File.Exists(Path.Combine(_dst, "a")) || File.Exists(Path.Combine(_dst, "b")));
        Assert.Equal("./a|./b|./c|", call.List); // the safety net: a and b deleted if still there, c checked
        call.Complete(0);
        await Eventually.TrueAsync(() => worker.State == TargetState.InSync, Deadline, "the batch to end", TestContext.Current.CancellationToken);
        Assert.Equal(2, worker.MovesReplayed);
    }

    [Fact]
    public async Task Renames_wait_with_the_batch_while_the_target_is_down_then_go_in_order()
    {
        var worker = Start(delete: true);
        EnqueueChain(worker); // the target directory does not exist yet: not reached
        await AdvanceWhenArmedAsync(worker, TimeSpan.FromMilliseconds(60));

        // Not reached: no rsync runs either (it would change what the renames rename); the batch waits to retry.
        await Eventually.TrueAsync(() => worker.RetryAt is not null, Deadline, "the worker to schedule a retry", TestContext.Current.CancellationToken);
        Assert.Equal(0, worker.MovesReplayed);
        Assert.Equal(255, worker.Snapshot().LastError?.ExitCode);

        Directory.CreateDirectory(_dst);
        File.WriteAllText(Path.Combine(_dst, "a"), "a");
        var inode = Inode("a");
        _time.Advance(worker.RetryAt!.Value - _time.GetUtcNow() + TimeSpan.FromMilliseconds(1));
        var retry = await _runner.NextAsync();
        Assert.Equal(inode, Inode("c"));
        Assert.Equal("./a|./b|./c|", retry.List);
        retry.Complete(0);
        await Eventually.TrueAsync(() => worker.MovesReplayed == 2, Deadline, "the renames to be counted", TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task A_target_that_keeps_deleted_paths_gets_no_rename()
    {
        Directory.CreateDirectory(_dst);
        File.WriteAllText(Path.Combine(_dst, "a"), "a");
        var worker = Start(delete: false);
        EnqueueChain(worker);
        await AdvanceWhenArmedAsync(worker, TimeSpan.FromMilliseconds(60));
        var call = await _runner.NextAsync();
        Assert.True(File.Exists(Path.Combine(_dst, "a"))); // delete="false": the old path stays, the new one is sent
        Assert.False(File.Exists(Path.Combine(_dst, "c")));
        call.Complete(0);
        await Eventually.TrueAsync(() => worker.State == TargetState.InSync, Deadline, "the batch to end", TestContext.Current.CancellationToken);
        Assert.Equal(0, worker.MovesReplayed);
    }

    [Fact]
    public async Task A_batch_waits_for_a_renames_second_half()
    {
        Directory.CreateDirectory(_dst);
        File.WriteAllText(Path.Combine(_dst, "a"), "a");
        var worker = Start(delete: true);
        worker.Enqueue(From("a"), 1);
        await AdvanceWhenArmedAsync(worker, TimeSpan.FromMilliseconds(10)); // past the quiet period, not the pair wait
        Assert.False(await _runner.AnyWithinAsync(TimeSpan.FromMilliseconds(300)));
        worker.Enqueue(To("c", "a"), 2);
        await AdvanceWhenArmedAsync(worker, TimeSpan.FromMilliseconds(60));
        var call = await _runner.NextAsync();
        Assert.True(File.Exists(Path.Combine(_dst, "c")));
        call.Complete(0);
        await Eventually.TrueAsync(() => worker.MovesReplayed == 1, Deadline, "the rename to be counted", TestContext.Current.CancellationToken);
    }

    private async Task AdvanceWhenArmedAsync(TargetWorker worker, TimeSpan by)
    {
        await Eventually.TrueAsync(() => worker.BatchTimerDue is not null, Deadline, "the worker to arm its batch timer", TestContext.Current.CancellationToken);
        _time.Advance(by);
    }

    private TargetWorker Start(bool delete)
    {
        var target = new SyncTarget(_root, new RemoteConfig(RemoteKind.LocalDirectory, null, null, _dst, 1), RsyncConfig.Stock, delete);
        _worker = new TargetWorker(
            new TargetBatchBuilder(target, new PathFilter(), _temp.Path),
            _runner,
            new SemaphoreSlim(4),
            null,
            BatchPolicy.Default,
            new RetryPolicy(new Random(42)),
            _time,
            NullLogger<TargetWorker>.Instance);
        _run = _worker.RunAsync(_stop.Token);
        return _worker;
    }
}
