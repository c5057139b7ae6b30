using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using SerSync.Configuration;
using SerSync.Pipeline;
using SerSync.Targets;
using SerSync.Testing;
using SerSync.UnitTests.Targets;

namespace SerSync.UnitTests.Pipeline;

/// <summary>
/// One pipeline, composed for real (inotify on a temp dir, dispatcher, worker, crontab) with a scripted runner in
/// place of rsync and a fake clock: how its parts take turns on one target.
/// </summary>
public sealed class MirrorPipelineTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);
    private readonly TempDirectory _temp = new("sersync-pipeline-");
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 1, 9, 0, 0, TimeSpan.Zero));

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task A_worker_that_dies_of_an_error_faults_the_pipeline_instead_of_leaving_its_target_silently_behind()
    {
        var ct = TestContext.Current.CancellationToken;
        var src = _temp.Sub("src");
        Directory.CreateDirectory(src);
        var builder = new ConfigBuilder(src, _temp.Sub("state")).AddLocalTarget(_temp.Sub("dst"));
        var config = ConfigLoader.Load(builder.Write(Path.Combine(_temp.Path, "confxml.xml")));
        var faults = new List<PipelineFaultedEventArgs>();
        using var pipeline = new MirrorPipeline(config, new MirrorOptions(4, false, TimeSpan.FromSeconds(5)), TimeProvider.System, NullLoggerFactory.Instance, new ThrowingRunner());
        pipeline.Faulted += (_, e) =>
        {
            lock (faults)
            {
                faults.Add(e);
            }
        };
        pipeline.Start();
        pipeline.StartWorkers();
        await File.WriteAllTextAsync(Path.Combine(src, "a.txt"), "a", ct); // its batch makes the runner throw
        await Eventually.TrueAsync(
            () =>
            {
                lock (faults)
                {
                    return faults.Count > 0;
                }
            },
            Deadline,
            "the pipeline to report the worker's death",
            ct);
        var fault = faults[0];
        Assert.Equal(PipelineFault.LoopCrashed, fault.Fault);
        Assert.Contains("the worker for", fault.Message, StringComparison.Ordinal);
        Assert.Contains("no such directory (a test)", fault.Message, StringComparison.Ordinal);
        await pipeline.StopAsync(TimeSpan.Zero);
    }

    /// <summary>The config with the delete guard off, for tests that count rsync runs (the guard adds a dry run).</summary>
    private static SerSyncConfig GuardOff(SerSyncConfig config) =>
        config with { Watches = [.. config.Watches.Select(w => w with { DeleteGuard = DeleteGuardConfig.Off })] };

    private sealed class ThrowingRunner : SerSync.Processes.IProcessRunner
    {
        public string Program => "rsync";

        public Task<SerSync.Processes.ProcessResult> RunAsync(SerSync.Processes.ProcessInvocation invocation, TimeSpan lifetime, CancellationToken cancellationToken, Action<string>? stdoutLine = null) =>
            throw new DirectoryNotFoundException("no such directory (a test)");
    }

    [Fact]
    public async Task A_crontab_push_holds_the_live_batches_of_its_target_until_it_ends()
    {
        var ct = TestContext.Current.CancellationToken;
        var src = _temp.Sub("src");
        Directory.CreateDirectory(src);
        var builder = new ConfigBuilder(src, _temp.Sub("state")) { CrontabMinutes = 1 }.AddLocalTarget(_temp.Sub("dst"));
        var config = GuardOff(ConfigLoader.Load(builder.Write(Path.Combine(_temp.Path, "confxml.xml")))); // counts rsync runs: no guard's dry run
        var runner = new ScriptedRunner(_time);
        using var pipeline = new MirrorPipeline(config, new MirrorOptions(4, false, TimeSpan.FromSeconds(5)), _time, NullLoggerFactory.Instance, runner);
        pipeline.Start();
        pipeline.StartWorkers();
        var worker = Assert.Single(pipeline.Workers);

        // The crontab arms its first run a period after its loop starts, on its own task: advance until it fires.
        ScriptedRunner.Call? push = null;
        for (var minutes = 0; push is null && minutes < 20; minutes++)
        {
            _time.Advance(TimeSpan.FromMinutes(1));
            push = await runner.NextOrNullAsync(TimeSpan.FromMilliseconds(500));
        }

        Assert.NotNull(push);
        Assert.Null(push.Invocation.Stdin); // the full push: the whole root, no list
        Assert.Equal("./", push.Invocation.Arguments[^2]);

        await File.WriteAllTextAsync(Path.Combine(src, "live.txt"), "changed while the crontab pushes", ct);
        await Eventually.TrueAsync(() => worker.PendingCount == 1, Deadline, "the change to reach the worker", ct);
        _time.Advance(TimeSpan.FromSeconds(2)); // past the quiet period and the cap: the batch is due
        await Eventually.TrueAsync(() => worker.State == TargetState.Syncing, Deadline, "the worker to take the batch", ct);
        Assert.False(await runner.AnyWithinAsync(TimeSpan.FromMilliseconds(300)), "a live batch ran while the crontab push held the target");

        push.Complete(0);
        var live = await runner.NextAsync(Deadline);
        Assert.Equal("./live.txt|", live.List);
        Assert.Equal(1, runner.MaxConcurrent);
        live.Complete(0);
        await Eventually.TrueAsync(() => worker.State == TargetState.InSync && worker.PendingCount == 0, Deadline, "the target to be in sync", ct);
        await pipeline.StopAsync(TimeSpan.FromSeconds(5));
    }
    [Fact]
    public async Task The_status_line_names_the_targets_behind_failing_first_with_their_changes_and_lag_and_stays_bounded()
    {
        var ct = TestContext.Current.CancellationToken;
        var src = _temp.Sub("src");
        Directory.CreateDirectory(src);
        var builder = new ConfigBuilder(src, _temp.Sub("state"));
        var targets = Enumerable.Range(0, 5).Select(i => _temp.Sub("dst" + i)).ToList();
        targets.ForEach(t => builder.AddLocalTarget(t));
        var config = ConfigLoader.Load(builder.Write(Path.Combine(_temp.Path, "confxml.xml")));
        var runner = new ScriptedRunner(_time);
        using var pipeline = new MirrorPipeline(config, new MirrorOptions(8, false, TimeSpan.FromSeconds(5)), _time, NullLoggerFactory.Instance, runner);
        pipeline.Start();
        pipeline.StartWorkers();
        Assert.Equal("watching 1 directories (inotify); all 5 targets in sync", pipeline.StatusLine());

        await File.WriteAllTextAsync(Path.Combine(src, "a.txt"), "a", ct);
        await Eventually.TrueAsync(() => pipeline.Workers.All(w => w.PendingCount == 1), Deadline, "the change to reach every worker", ct);
        _time.Advance(TimeSpan.FromSeconds(3)); // the batches leave; the change is 3 s old and on no target yet
        var calls = new List<ScriptedRunner.Call>();
        for (var i = 0; i < targets.Count; i++)
        {
            calls.Add(await runner.NextAsync(Deadline));
        }

        var failing = calls.Single(c => c.Invocation.Arguments[^1].StartsWith(targets[3], StringComparison.Ordinal));
        failing.Complete(10);
        var worker = pipeline.Workers.Single(w => w.Target.Label.StartsWith(targets[3], StringComparison.Ordinal));
        await Eventually.TrueAsync(() => worker.RetryAt is not null, Deadline, "the failing target to wait for its retry", ct);

        var line = pipeline.StatusLine();
        Assert.StartsWith($"watching 1 directories (inotify); 5 of 5 target(s) behind: {worker.Target.Label} 1 change(s) 3.0 s (retrying), ", line, StringComparison.Ordinal);
        Assert.EndsWith(" 1 change(s) 3.0 s and 2 more", line, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', line);

        calls.Where(c => c != failing).ToList().ForEach(c => c.Complete(0));
        await Eventually.TrueAsync(() => pipeline.Workers.Count(w => w.PendingCount == 0 && w.State == TargetState.InSync) == 4, Deadline, "the healthy targets to be in sync", ct);
        Assert.Equal($"watching 1 directories (inotify); 1 of 5 target(s) behind: {worker.Target.Label} 1 change(s) 3.0 s (retrying)", pipeline.StatusLine());
        await pipeline.StopAsync(TimeSpan.Zero);
    }

    [Fact]
    public async Task A_root_without_state_gets_one_journaled_full_push_and_a_restart_does_not_push_again()
    {
        var ct = TestContext.Current.CancellationToken;
        var src = _temp.Sub("src");
        Directory.CreateDirectory(src);
        var state = _temp.Sub("state");
        var config = GuardOff(ConfigLoader.Load(new ConfigBuilder(src, state).AddLocalTarget(_temp.Sub("dst")).Write(Path.Combine(_temp.Path, "confxml.xml")))); // counts full pushes: no guard's dry run
        var options = new MirrorOptions(4, false, TimeSpan.FromSeconds(5), state);

        // Starts a pipeline and says whether a full sync is queued: Start queues it before it returns, so no wait
        // is needed to see one, nor its absence. Running it records the target as known.
        async Task<bool> StartsWithFullSyncAsync(bool fullPushFollows)
        {
            var runner = new ScriptedRunner(_time);
            using var pipeline = new MirrorPipeline(config, options, _time, NullLoggerFactory.Instance, runner);
            pipeline.Start(fullPushFollows: fullPushFollows);
            var worker = Assert.Single(pipeline.Workers);
            var queued = worker.FullSyncPending;
            pipeline.StartWorkers();
            // Runs what the start queued to completion, so the stop has nothing to drain (the scripted runner answers
            // only when told to): the full push if any, and the catch-up scan's list (the previous stop's barrier
            // cookie touched the root).
            var pushes = 0;
            for (var i = 0; worker.HasWorkToDrain && i < 40; i++)
            {
                _time.Advance(TimeSpan.FromSeconds(1)); // the worker's quiet period runs on the fake clock
                if (await runner.NextOrNullAsync(TimeSpan.FromMilliseconds(250)) is { } call)
                {
                    if (call.Invocation.Stdin is null)
                    {
                        Assert.Equal("./", call.Invocation.Arguments[^2]); // a full push: the whole root
                        pushes++;
                    }

                    call.Complete(0);
                }
            }

            await Eventually.TrueAsync(() => !worker.HasWorkToDrain, Deadline, "the queued work to be done", ct);
            Assert.Equal(queued ? 1 : 0, pushes);
            await pipeline.StopAsync(TimeSpan.FromSeconds(5));
            return queued;
        }

        Assert.True(await StartsWithFullSyncAsync(fullPushFollows: false)); // no state: pushed in full
        Assert.False(await StartsWithFullSyncAsync(fullPushFollows: false)); // the state knows the target now

        Directory.Delete(state, recursive: true); // the operator deletes the state
        Assert.False(await StartsWithFullSyncAsync(fullPushFollows: true)); // -r pushes by itself; nothing is queued twice
        Assert.True(await StartsWithFullSyncAsync(fullPushFollows: false));
    }
}
