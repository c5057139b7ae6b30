using System.Threading.Channels;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using SerSync.Configuration;
using SerSync.Paths;
using SerSync.Processes;
using SerSync.Rsync;
using SerSync.Scheduling;
using SerSync.Testing;

namespace SerSync.UnitTests.Scheduling;

/// <summary>The crontab full push on a fake clock: the push is a stand-in that records its calls.</summary>
public sealed class CrontabSchedulerTests
{
    private static readonly DateTimeOffset T0 = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private static SyncTarget Target(string name) =>
        new("/www", new RemoteConfig(RemoteKind.LocalDirectory, null, null, "/mirror/" + name, 1), RsyncConfig.Stock, Delete: true);

    private static ProcessResult Exit(int code) => new(code, code == 0 ? string.Empty : "failed", TimeSpan.FromSeconds(1), false);

    private static CrontabConfig Every(int minutes, bool filter = false, params string[] excludes) => new(true, minutes, filter, excludes);

    /// <summary>A push stand-in: each call is recorded with the fake time it started at, and returns when released
    /// (at once when <paramref name="blocking"/> is false).</summary>
    private sealed class RecordingPush(TimeProvider time, bool blocking = false, Func<SyncTarget, int>? exitCode = null)
    {
        private readonly Channel<Call> _calls = Channel.CreateUnbounded<Call>();
        private int _running;
        private int _maxRunning;

        public int MaxConcurrent => Volatile.Read(ref _maxRunning);

        public async Task<IReadOnlyList<TargetPushResult>> PushAsync(
            IReadOnlyList<SyncTarget> targets,
            Func<RelativePath, bool, bool>? isExcluded,
            IReadOnlyList<string> extraExcludes,
            CancellationToken cancellationToken)
        {
            var running = Interlocked.Increment(ref _running);
            InterlockedMax(ref _maxRunning, running);
            var call = new Call(time.GetUtcNow(), targets, isExcluded, extraExcludes, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
            _calls.Writer.TryWrite(call);
            try
            {
                if (blocking)
                {
                    await call.Release.Task.WaitAsync(cancellationToken);
                }

                return [.. targets.Select(t => new TargetPushResult(t, Exit(exitCode?.Invoke(t) ?? 0)))];
            }
            finally
            {
                Interlocked.Decrement(ref _running);
            }
        }

        public async Task<Call> NextCallAsync()
        {
            using var cts = new CancellationTokenSource(Timeout);
            return await _calls.Reader.ReadAsync(cts.Token);
        }

        public bool HasPendingCall => _calls.Reader.TryPeek(out _);

        private static void InterlockedMax(ref int target, int value)
        {
            int current;
            while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current)
            {
            }
        }
    }

    private sealed record Call(
        DateTimeOffset At,
        IReadOnlyList<SyncTarget> Targets,
        Func<RelativePath, bool, bool>? IsExcluded,
        IReadOnlyList<string> ExtraExcludes,
        TaskCompletionSource Release);

    private static CrontabScheduler NewScheduler(
        CrontabConfig config,
        FakeTimeProvider time,
        RecordingPush push,
        IReadOnlyList<SyncTarget>? targets = null,
        Func<RelativePath, bool, bool>? isExcluded = null,
        List<TargetPushResult>? behind = null) =>
        new(
            config,
            () => targets ?? [Target("a")],
            isExcluded,
            push.PushAsync,
            r => behind?.Add(r),
            time,
            NullLogger.Instance);

    private static Task WaitForDueAsync(CrontabScheduler scheduler, DateTimeOffset due) =>
        Eventually.TrueAsync(() => scheduler.NextRunDue == due, Timeout, $"the scheduler waits for {due:u} (it waits for {scheduler.NextRunDue:u})");

    [Fact]
    public async Task Runs_every_period_on_the_clock_and_not_before()
    {
        var time = new FakeTimeProvider(T0);
        var push = new RecordingPush(time);
        var scheduler = NewScheduler(Every(10), time, push);
        using var cts = new CancellationTokenSource();
        var loop = scheduler.RunAsync(cts.Token);

        await WaitForDueAsync(scheduler, T0.AddMinutes(10));
        time.Advance(TimeSpan.FromMinutes(10) - TimeSpan.FromSeconds(1));
        Assert.Equal(0, scheduler.Runs);
        Assert.False(push.HasPendingCall);

        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(T0.AddMinutes(10), (await push.NextCallAsync()).At);

        await WaitForDueAsync(scheduler, T0.AddMinutes(20));
        time.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal(T0.AddMinutes(20), (await push.NextCallAsync()).At);

        await WaitForDueAsync(scheduler, T0.AddMinutes(30));
        Assert.Equal(2, scheduler.Runs);
        await cts.CancelAsync();
        await loop.WaitAsync(Timeout, TestContext.Current.CancellationToken); // a stop is a normal return
        Assert.Null(scheduler.NextRunDue);
    }

    [Fact]
    public async Task A_run_longer_than_the_period_is_never_overlapped_and_missed_ticks_do_not_pile_up()
    {
        var time = new FakeTimeProvider(T0);
        var push = new RecordingPush(time, blocking: true);
        var scheduler = NewScheduler(Every(1), time, push);
        using var cts = new CancellationTokenSource();
        var loop = scheduler.RunAsync(cts.Token);

        await WaitForDueAsync(scheduler, T0.AddMinutes(1));
        time.Advance(TimeSpan.FromMinutes(1));
        var first = await push.NextCallAsync();
        Assert.Equal(T0.AddMinutes(1), first.At);

        // Five more periods pass while the first run is still going: nothing else starts.
        for (var i = 0; i < 5; i++)
        {
            time.Advance(TimeSpan.FromMinutes(1));
        }

        Assert.Null(scheduler.NextRunDue);
        Assert.Equal(1, scheduler.Runs);
        Assert.False(push.HasPendingCall);

        // It ends: one catch-up run starts at once (not five).
        first.Release.SetResult();
        var second = await push.NextCallAsync();
        Assert.Equal(T0.AddMinutes(6), second.At);
        Assert.Equal(2, scheduler.Runs);
        Assert.Equal(4, scheduler.SkippedTicks);

        // The grid restarts from the late run.
        second.Release.SetResult();
        await WaitForDueAsync(scheduler, T0.AddMinutes(7));
        Assert.Equal(2, scheduler.Runs);
        Assert.False(push.HasPendingCall);
        time.Advance(TimeSpan.FromMinutes(1));
        var third = await push.NextCallAsync();
        Assert.Equal(T0.AddMinutes(7), third.At);
        Assert.Equal(1, push.MaxConcurrent);

        // A stop during a run cancels the run and ends the loop.
        await cts.CancelAsync();
        await loop.WaitAsync(Timeout, TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task A_failed_target_is_reported_behind_and_the_others_are_not()
    {
        var time = new FakeTimeProvider(T0);
        var down = Target("down");
        var up = Target("up");
        var partial = Target("partial");
        var push = new RecordingPush(time, exitCode: t => t == down ? 10 : t == partial ? 23 : 0);
        var behind = new List<TargetPushResult>();
        var scheduler = NewScheduler(Every(5), time, push, [up, down, partial], behind: behind);

        await scheduler.RunOnceAsync(TestContext.Current.CancellationToken);

        var call = await push.NextCallAsync();
        Assert.Equal([up, down, partial], call.Targets);
        Assert.Equal([down, partial], behind.Select(r => r.Target));
        Assert.Equal([FailureClass.Transient, FailureClass.Partial], behind.Select(r => r.Class));

        // Next period: pushed again, all of them (nothing is retried in between).
        behind.Clear();
        await scheduler.RunOnceAsync(TestContext.Current.CancellationToken);
        Assert.Equal([up, down, partial], (await push.NextCallAsync()).Targets);
        Assert.Equal([down, partial], behind.Select(r => r.Target));
        Assert.Equal(2, scheduler.Runs);
    }

    [Fact]
    public async Task A_push_that_throws_is_logged_and_the_schedule_goes_on()
    {
        var time = new FakeTimeProvider(T0);
        var calls = 0;
        var scheduler = new CrontabScheduler(
            Every(1),
            () => [Target("a")],
            null,
            (_, _, _, _) => Interlocked.Increment(ref calls) == 1 ? throw new InvalidOperationException("boom") : Task.FromResult<IReadOnlyList<TargetPushResult>>([]),
            _ => { },
            time,
            NullLogger.Instance);
        using var cts = new CancellationTokenSource();
        var loop = scheduler.RunAsync(cts.Token);

        await WaitForDueAsync(scheduler, T0.AddMinutes(1));
        time.Advance(TimeSpan.FromMinutes(1));
        await WaitForDueAsync(scheduler, T0.AddMinutes(2));
        time.Advance(TimeSpan.FromMinutes(1));
        await WaitForDueAsync(scheduler, T0.AddMinutes(3));

        Assert.Equal(2, Volatile.Read(ref calls));
        await cts.CancelAsync();
        await loop.WaitAsync(Timeout, TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task Crontabfilter_excludes_are_passed_only_when_the_crontabfilter_is_on_and_the_live_filter_always()
    {
        var time = new FakeTimeProvider(T0);
        static bool Filter(RelativePath p, bool isDir) => p.ToMatchString().EndsWith(".gz", StringComparison.Ordinal);

        var on = new RecordingPush(time);
        await NewScheduler(Every(1, true, "*.php", "info/*"), time, on, isExcluded: Filter).RunOnceAsync(TestContext.Current.CancellationToken);
        var onCall = await on.NextCallAsync();
        Assert.Equal(["*.php", "info/*"], onCall.ExtraExcludes);
        Assert.NotNull(onCall.IsExcluded);
        Assert.True(onCall.IsExcluded(RelativePath.FromString("a/b.gz"), false));

        var off = new RecordingPush(time);
        await NewScheduler(Every(1, false, "*.php", "info/*"), time, off, isExcluded: Filter).RunOnceAsync(TestContext.Current.CancellationToken);
        var offCall = await off.NextCallAsync();
        Assert.Empty(offCall.ExtraExcludes);
        Assert.NotNull(offCall.IsExcluded);

        var none = new RecordingPush(time);
        await NewScheduler(Every(1, true), time, none).RunOnceAsync(TestContext.Current.CancellationToken);
        var noneCall = await none.NextCallAsync();
        Assert.Empty(noneCall.ExtraExcludes);
        Assert.Null(noneCall.IsExcluded);
    }

    [Fact]
    public async Task Disabled_crontab_returns_at_once_and_never_pushes()
    {
        var time = new FakeTimeProvider(T0);
        var push = new RecordingPush(time);
        var scheduler = NewScheduler(CrontabConfig.Disabled, time, push);

        await scheduler.RunAsync(TestContext.Current.CancellationToken).WaitAsync(Timeout, TestContext.Current.CancellationToken);

        time.Advance(TimeSpan.FromDays(1));
        Assert.Equal(0, scheduler.Runs);
        Assert.False(push.HasPendingCall);
    }

    [Fact]
    public void An_enabled_schedule_below_one_minute_is_refused()
    {
        var time = new FakeTimeProvider(T0);
        Assert.Throws<ArgumentOutOfRangeException>(() => NewScheduler(Every(0), time, new RecordingPush(time)));
    }
}
