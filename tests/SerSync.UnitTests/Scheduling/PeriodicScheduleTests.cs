using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using SerSync.Scheduling;
using SerSync.Testing;

namespace SerSync.UnitTests.Scheduling;

/// <summary>The shared periodic loop on a fake clock: each run is recorded with the fake time it started at.</summary>
public sealed class PeriodicScheduleTests
{
    private static readonly DateTimeOffset T0 = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Period = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    /// <summary>Records every run's start; a run returns when released, or at once when not blocking.</summary>
    private sealed class Runs(TimeProvider time, bool blocking = false, Func<int, Exception?>? failure = null)
    {
        private readonly Channel<(DateTimeOffset At, TaskCompletionSource Release)> _started = Channel.CreateUnbounded<(DateTimeOffset, TaskCompletionSource)>();
        private int _count;
        private int _running;
        private int _maxRunning;

        public int MaxConcurrent => Volatile.Read(ref _maxRunning);

        public async Task RunAsync(CancellationToken cancellationToken)
        {
            var n = Interlocked.Increment(ref _count);
            var running = Interlocked.Increment(ref _running);
            if (running > Volatile.Read(ref _maxRunning))
            {
                Volatile.Write(ref _maxRunning, running);
            }

            try
            {
                var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _started.Writer.TryWrite((time.GetUtcNow(), release));
                if (blocking)
                {
                    await release.Task.WaitAsync(cancellationToken);
                }

                if (failure?.Invoke(n) is { } ex)
                {
                    throw ex;
                }
            }
            finally
            {
                Interlocked.Decrement(ref _running);
            }
        }

        public async Task<(DateTimeOffset At, TaskCompletionSource Release)> NextAsync()
        {
            using var cts = new CancellationTokenSource(Timeout);
            return await _started.Reader.ReadAsync(cts.Token);
        }

        public bool HasPending => _started.Reader.TryPeek(out _);
    }

    /// <summary>Keeps what was logged, with its exception.</summary>
    private sealed class ListLogger : ILogger
    {
        private readonly List<(LogLevel Level, EventId Id, Exception? Exception)> _entries = [];

        public IReadOnlyList<(LogLevel Level, EventId Id, Exception? Exception)> Entries
        {
            get
            {
                lock (_entries)
                {
                    return [.. _entries];
                }
            }
        }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (_entries)
            {
                _entries.Add((logLevel, eventId, exception));
            }
        }
    }

    private static Task WaitForDueAsync(PeriodicSchedule schedule, DateTimeOffset due) =>
        Eventually.TrueAsync(() => schedule.NextDue == due, Timeout, $"the schedule waits for {due:u} (it waits for {schedule.NextDue:u})");

    [Fact]
    public async Task Runs_stay_on_the_grid_from_the_start_however_late_each_one_ends()
    {
        var time = new FakeTimeProvider(T0);
        var runs = new Runs(time, blocking: true);
        var schedule = new PeriodicSchedule("test", Period, runs.RunAsync, time, new ListLogger());
        using var cts = new CancellationTokenSource();
        var loop = schedule.RunAsync(cts.Token);

        await WaitForDueAsync(schedule, T0 + Period);
        time.Advance(Period - TimeSpan.FromTicks(1));
        Assert.False(runs.HasPending);
        time.Advance(TimeSpan.FromTicks(1));
        var current = await runs.NextAsync();
        Assert.Equal(T0 + Period, current.At);

        // Each run takes 3 min 7 s: a loop that waited a period after each run would drift by that much every time.
        for (var k = 2; k <= 4; k++)
        {
            time.Advance(TimeSpan.FromSeconds(187));
            current.Release.SetResult();
            await WaitForDueAsync(schedule, T0 + (Period * k));
            time.Advance(T0 + (Period * k) - time.GetUtcNow());
            current = await runs.NextAsync();
            Assert.Equal(T0 + (Period * k), current.At);
        }

        current.Release.SetResult();
        Assert.Equal(4, schedule.Runs);
        Assert.Equal(0, schedule.SkippedTicks);
        await cts.CancelAsync();
        await loop.WaitAsync(Timeout, TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task A_tick_that_falls_during_a_run_is_skipped_and_counted_never_overlapped()
    {
        var time = new FakeTimeProvider(T0);
        var runs = new Runs(time, blocking: true);
        var schedule = new PeriodicSchedule("test", Period, runs.RunAsync, time, new ListLogger());
        using var cts = new CancellationTokenSource();
        var loop = schedule.RunAsync(cts.Token);

        await WaitForDueAsync(schedule, T0 + Period);
        time.Advance(Period);
        var first = await runs.NextAsync();

        // The run lasts until 35 min: the ticks at 20 and 30 min pass while it goes.
        time.Advance(TimeSpan.FromMinutes(10));
        time.Advance(TimeSpan.FromMinutes(10));
        time.Advance(TimeSpan.FromMinutes(5));
        Assert.Null(schedule.NextDue);
        Assert.False(runs.HasPending);
        first.Release.SetResult();

        // The next run is the next grid point, 40 min, not 35 (no drift) and not at once (skipped ticks are not queued).
        await WaitForDueAsync(schedule, T0 + (Period * 4));
        Assert.Equal(2, schedule.SkippedTicks);
        Assert.Equal(1, schedule.Runs);
        Assert.False(runs.HasPending);
        time.Advance(TimeSpan.FromMinutes(5));
        var second = await runs.NextAsync();
        Assert.Equal(T0 + (Period * 4), second.At);
        Assert.Equal(1, runs.MaxConcurrent);

        second.Release.SetResult();
        await WaitForDueAsync(schedule, T0 + (Period * 5));
        await cts.CancelAsync();
        await loop.WaitAsync(Timeout, TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task Cancellation_ends_the_loop_promptly_while_waiting_and_during_a_run()
    {
        var time = new FakeTimeProvider(T0);
        var waiting = new PeriodicSchedule("test", Period, new Runs(time).RunAsync, time, new ListLogger());
        using (var cts = new CancellationTokenSource())
        {
            var loop = waiting.RunAsync(cts.Token);
            await WaitForDueAsync(waiting, T0 + Period);
            await cts.CancelAsync();

            // No fake time passes: the wait itself is cancelled, and the stop is a normal return.
            await loop.WaitAsync(Timeout, TestContext.Current.CancellationToken);
            Assert.Null(waiting.NextDue);
            Assert.Equal(0, waiting.Runs);
        }

        var runs = new Runs(time, blocking: true);
        var running = new PeriodicSchedule("test", Period, runs.RunAsync, time, new ListLogger());
        using (var cts = new CancellationTokenSource())
        {
            var loop = running.RunAsync(cts.Token);
            await WaitForDueAsync(running, time.GetUtcNow() + Period);
            time.Advance(Period);
            _ = await runs.NextAsync();

            // The run never completes on its own: it ends because it sees the token, and so does the loop.
            await cts.CancelAsync();
            await loop.WaitAsync(Timeout, TestContext.Current.CancellationToken);
            Assert.Null(running.NextDue);
            Assert.Equal(1, running.Runs);
        }
    }

    [Fact]
    public async Task A_run_that_throws_is_logged_with_its_exception_and_the_next_run_happens()
    {
        var time = new FakeTimeProvider(T0);
        var boom = new InvalidOperationException("boom");
        var runs = new Runs(time, failure: n => n == 1 ? boom : null);
        var logger = new ListLogger();
        var schedule = new PeriodicSchedule("test", Period, runs.RunAsync, time, logger);
        using var cts = new CancellationTokenSource();
        var loop = schedule.RunAsync(cts.Token);

        await WaitForDueAsync(schedule, T0 + Period);
        time.Advance(Period);
        Assert.Equal(T0 + Period, (await runs.NextAsync()).At);
        await WaitForDueAsync(schedule, T0 + (Period * 2));
        Assert.False(loop.IsCompleted);
        var error = Assert.Single(logger.Entries, e => e.Level == LogLevel.Error);
        Assert.Same(boom, error.Exception);
        Assert.InRange(error.Id.Id, 4000, 4999);

        time.Advance(Period);
        Assert.Equal(T0 + (Period * 2), (await runs.NextAsync()).At);
        await WaitForDueAsync(schedule, T0 + (Period * 3));
        Assert.Single(logger.Entries, e => e.Level == LogLevel.Error);
        await cts.CancelAsync();
        await loop.WaitAsync(Timeout, TestContext.Current.CancellationToken);
    }
}
