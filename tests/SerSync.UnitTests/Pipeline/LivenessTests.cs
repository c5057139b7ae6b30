using Microsoft.Extensions.Time.Testing;
using SerSync.Pipeline;
using SerSync.Targets;
using SerSync.Testing;

namespace SerSync.UnitTests.Pipeline;

/// <summary>Heartbeats and the check the watchdog makes, on a fake clock.</summary>
public sealed class LivenessTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 1, 9, 0, 0, TimeSpan.Zero));

    [Fact]
    public void A_loop_counts_only_between_start_and_stop()
    {
        var liveness = new Liveness(TimeSpan.FromSeconds(1), _time);
        var worker = liveness.Register("worker for /srv/copy");
        _time.Advance(TimeSpan.FromMinutes(5));
        Assert.Null(liveness.Stalled(TimeSpan.FromSeconds(2))); // not started yet (a worker during the -r push)

        worker.Start();
        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.Null(liveness.Stalled(TimeSpan.FromSeconds(2)));
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Same(worker, liveness.Stalled(TimeSpan.FromSeconds(2)));

        worker.Beat();
        Assert.Null(liveness.Stalled(TimeSpan.FromSeconds(2)));

        _time.Advance(TimeSpan.FromSeconds(10));
        worker.Stop(); // drained on purpose
        Assert.Null(liveness.Stalled(TimeSpan.FromSeconds(2)));
        Assert.Empty(liveness.Loops);
    }

    [Fact]
    public void The_stalest_loop_is_named_and_removed_loops_are_forgotten()
    {
        var liveness = new Liveness(TimeSpan.FromSeconds(1), _time);
        var reader = liveness.Register("inotify reader for /srv/www");
        var worker = liveness.Register("worker for 127.0.0.1::www");
        reader.Start();
        worker.Start();
        _time.Advance(TimeSpan.FromSeconds(3));
        reader.Beat();
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Same(worker, liveness.Stalled(TimeSpan.FromSeconds(2)));

        liveness.Remove([worker]);
        Assert.Null(liveness.Stalled(TimeSpan.FromSeconds(2)));
        Assert.Equal([reader], liveness.Loops);
    }

    [Fact]
    public async Task A_loop_waiting_on_a_task_beats_every_period_until_the_task_ends()
    {
        var liveness = new Liveness(TimeSpan.FromSeconds(1), _time);
        var beat = liveness.Register("worker");
        beat.Start();
        var child = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var waiting = beat.AwaitAsync(child.Task);
        for (var i = 0; i < 20; i++)
        {
            // Each tick of the period wakes the wait, which beats: the loop is never older than a period.
            _time.Advance(TimeSpan.FromSeconds(1));
            await Eventually.TrueAsync(() => beat.Age == TimeSpan.Zero, Deadline, $"the beat after tick {i}", TestContext.Current.CancellationToken);
            Assert.Null(liveness.Stalled(TimeSpan.FromSeconds(1.5)));
        }

        child.SetResult(7);
        Assert.Equal(7, await waiting);

        // Nothing waits now and nothing beats: the loop goes stale.
        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.Same(beat, liveness.Stalled(TimeSpan.FromSeconds(1.5)));
    }

    [Fact]
    public async Task Awaiting_through_an_unwatched_heartbeat_is_a_plain_await()
    {
        var failed = Task.FromException(new InvalidOperationException("boom"));
        await Assert.ThrowsAsync<InvalidOperationException>(() => Heartbeat.None.AwaitAsync(failed));
        Assert.False(Heartbeat.None.IsWatched);
        Assert.Equal(-1, Heartbeat.None.PollTimeoutMilliseconds);
        Assert.Equal(42, await Heartbeat.None.AwaitAsync(Task.FromResult(42)));
    }
}
