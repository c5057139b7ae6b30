using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using SerSync.Configuration;
using SerSync.Filtering;
using SerSync.Paths;
using SerSync.Rsync;
using SerSync.Targets;
using SerSync.Testing;

namespace SerSync.UnitTests.Targets;

/// <summary>
/// What an operator reads of a target in the log, on a fake clock with a scripted runner: one info line per batch
/// with its paths, bytes and time (rate-limited), and each change of state (in sync, retrying, failed, back in sync
/// with the outage's length), without a warning for every retry of a long outage.
/// </summary>
public sealed class TargetWorkerLogTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);
    private readonly TempDirectory _temp = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 1, 9, 0, 0, TimeSpan.Zero));
    private readonly LogCapture<TargetWorker> _log = new();
    private readonly ScriptedRunner _runner;
    private readonly CancellationTokenSource _stop = new();
    private readonly string _root;
    private readonly TargetWorker _worker;
    private readonly Task _run;

    public TargetWorkerLogTests()
    {
        _runner = new ScriptedRunner(_time);
        _root = _temp.Sub("src");
        Directory.CreateDirectory(_root);
        var remote = new RemoteConfig(RemoteKind.LocalDirectory, null, null, _temp.Sub("dst"), 1);
        var target = new SyncTarget(_root, remote, RsyncConfig.Stock, Delete: true);
        _worker = new TargetWorker(
            new TargetBatchBuilder(target, new PathFilter(), _temp.Path),
            _runner,
            new SemaphoreSlim(4),
            null,
            BatchPolicy.Default,
            new RetryPolicy(new Random(42)),
            _time,
            _log);
        _run = _worker.RunAsync(_stop.Token);
    }

    public void Dispose()
    {
        _stop.Cancel();
        _run.Wait(Deadline);
        _worker.Dispose();
        _stop.Dispose();
        _temp.Dispose();
    }

    private IEnumerable<CapturedLogLine> Events(int id) => _log.Lines.Where(l => l.EventId.Id == id);

    private async Task<ScriptedRunner.Call> BatchAsync(params string[] names)
    {
        _time.Advance(TimeSpan.FromMilliseconds(1)); // after the last run ended, so the batch waits its quiet period
        foreach (var name in names)
        {
            File.WriteAllText(Path.Combine(_root, name), name);
            _worker.Enqueue(new FileChange(ChangeKind.Upsert, RelativePath.FromString(name), false), 1);
        }

        await Eventually.TrueAsync(() => _worker.BatchTimerDue is not null, Deadline, "the worker to arm its batch timer", TestContext.Current.CancellationToken);
        _time.Advance(_worker.BatchTimerDue!.Value - _time.GetUtcNow());
        return await _runner.NextAsync();
    }

    private static string[] Stats(long bytes, long sent) =>
        ["", "Number of files: 1 (reg: 1)", $"Total transferred file size: {bytes.ToString("N0", CultureInfo.InvariantCulture)} bytes", $"Total bytes sent: {sent.ToString("N0", CultureInfo.InvariantCulture)}", "Total bytes received: 35"];

    [Fact]
    public async Task A_batch_is_one_info_line_with_its_paths_bytes_and_time_and_the_run_asks_rsync_for_stats()
    {
        var call = await BatchAsync("a", "b", "c");
        Assert.Contains(RsyncStats.Option, call.Invocation.Arguments);
        Assert.Equal("./", call.Invocation.Arguments[^2]); // an option, before the source and destination
        call.Complete(0, Stats(123_456, 123_570), TimeSpan.FromMilliseconds(850));
        await Eventually.TrueAsync(() => Events(3002).Any(), Deadline, "the batch line", TestContext.Current.CancellationToken);
        var line = Assert.Single(Events(3002));
        Assert.Equal(LogLevel.Information, line.Level);
        Assert.Contains("synced 3 path(s) (a, b and 1 more)", line.Message, StringComparison.Ordinal);
        Assert.Contains("123456 bytes of files, 123570 bytes sent, in 850 ms", line.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_full_sync_is_one_line_saying_so()
    {
        _worker.Enqueue(new FileChange(ChangeKind.Rescan, RelativePath.Root, true), 1);
        await Eventually.TrueAsync(() => _worker.BatchTimerDue is not null, Deadline, "the worker to arm its batch timer", TestContext.Current.CancellationToken);
        _time.Advance(_worker.BatchTimerDue!.Value - _time.GetUtcNow());
        var call = await _runner.NextAsync();
        Assert.Null(call.Invocation.Stdin); // the whole root, no list
        call.Complete(0);
        await Eventually.TrueAsync(() => Events(3010).Any(), Deadline, "the full sync's line", TestContext.Current.CancellationToken);
        Assert.Contains(": synced the whole root (a full sync) in ", Assert.Single(Events(3010)).Message, StringComparison.Ordinal);
        Assert.Empty(Events(3002));
    }

    [Fact]
    public async Task Batches_within_a_second_are_summed_into_one_line()
    {
        var first = await BatchAsync("a");
        first.Complete(0, Stats(10, 20), TimeSpan.FromMilliseconds(5));
        await Eventually.TrueAsync(() => Events(3002).Any(), Deadline, "the first batch's line", TestContext.Current.CancellationToken);
        for (var i = 0; i < 3; i++)
        {
            var call = await BatchAsync("n" + i);
            call.Complete(0, Stats(100, 200), TimeSpan.FromMilliseconds(5));
            await Eventually.TrueAsync(() => _worker.State == TargetState.InSync && _worker.PendingCount == 0, Deadline, "the batch to finish", TestContext.Current.CancellationToken);
        }

        Assert.Single(Events(3002));
        Assert.Empty(Events(3005));
        _time.Advance(TimeSpan.FromSeconds(1));
        var summary = Assert.Single(Events(3005));
        Assert.Contains("synced 3 more batch(es) in the last second: 3 path(s), 300 bytes of files, 600 bytes sent", summary.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_outage_is_a_warning_when_it_begins_debug_lines_while_it_lasts_and_an_info_line_with_its_length_when_it_ends()
    {
        var call = await BatchAsync("a");
        call.Complete(10, "rsync: failed to connect to 127.0.0.1: Connection refused (111)");
        await Eventually.TrueAsync(() => _worker.RetryAt is not null, Deadline, "the first retry to be scheduled", TestContext.Current.CancellationToken);
        var began = Assert.Single(Events(3004));
        Assert.Equal(LogLevel.Warning, began.Level);
        Assert.Contains(": retrying: rsync exit 10", began.Message, StringComparison.Ordinal);
        Assert.Contains("Connection refused", began.Message, StringComparison.Ordinal);

        // Retried for half an hour: one debug line per attempt, a warning reminder every ten minutes.
        var attempts = 1;
        while (_time.GetUtcNow() - call.StartedAt < TimeSpan.FromMinutes(30))
        {
            _time.Advance(_worker.RetryAt!.Value - _time.GetUtcNow());
            var retry = await _runner.NextAsync();
            retry.Complete(10, "rsync: failed to connect to 127.0.0.1: Connection refused (111)");
            attempts++;
            await Eventually.TrueAsync(() => _worker.RetryAt is not null && _worker.RetryAt > _time.GetUtcNow(), Deadline, $"retry {attempts} to be scheduled", TestContext.Current.CancellationToken);
        }

        var warnings = _log.Lines.Count(l => l.Level >= LogLevel.Warning);
        Assert.InRange(warnings, 3, 5); // the first failure and one reminder per ten minutes
        Assert.Equal(attempts - warnings, Events(3006).Count());
        Assert.All(Events(3006), l => Assert.Equal(LogLevel.Debug, l.Level));
        Assert.Contains("still failing after", Events(3007).First().Message, StringComparison.Ordinal);

        _time.Advance(_worker.RetryAt!.Value - _time.GetUtcNow());
        var outage = _time.GetUtcNow() - call.StartedAt;
        (await _runner.NextAsync()).Complete(0);
        await Eventually.TrueAsync(() => Events(3003).Any(), Deadline, "the back-in-sync line", TestContext.Current.CancellationToken);
        var back = Assert.Single(Events(3003));
        Assert.Equal(LogLevel.Information, back.Level);
        Assert.Contains($"back in sync after an outage of {(int)outage.TotalMinutes} min", back.Message, StringComparison.Ordinal);
        Assert.Contains($"({attempts} failed attempt(s))", back.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_fatal_failure_is_an_error_and_so_is_a_turn_from_retrying_to_failed()
    {
        var call = await BatchAsync("a");
        call.Complete(10);
        await Eventually.TrueAsync(() => _worker.RetryAt is not null, Deadline, "the retry", TestContext.Current.CancellationToken);
        _time.Advance(_worker.RetryAt!.Value - _time.GetUtcNow());
        (await _runner.NextAsync()).Complete(5, "@ERROR: auth failed on module www");
        await Eventually.TrueAsync(() => Events(3004).Count() == 2, Deadline, "the change to failed", TestContext.Current.CancellationToken);
        var failed = Events(3004).Last();
        Assert.Equal(LogLevel.Error, failed.Level);
        Assert.Contains(": failed (fatal: retried every 1 min): rsync exit 5", failed.Message, StringComparison.Ordinal);
        Assert.Contains("auth failed", failed.Message, StringComparison.Ordinal);
    }
}
