// Implementation notes. A beat is one Volatile.Write of a monotonic timestamp (TimeProvider.GetTimestamp): no
// allocation, no lock, safe from any thread. The reader (the watchdog's check) only compares ages. A loop proves it
// turns by beating each time round; where it waits (a channel, a timer, a child process), AwaitAsync wakes it every
// Period to beat again, so an idle loop is seen alive while a loop whose thread is stuck (a synchronous wait, a lock
// held forever, a busy loop inside one turn) stops beating. An await that is never completed is bounded elsewhere
// (rsync's --timeout, the batch lifetime, the barrier timeout), not here. Lives in Targets, the lowest folder every
// loop (watcher, dispatcher, hooks, workers) may use.
namespace SerSync.Targets;

/// <summary>
/// One loop's proof that it still turns, for the systemd watchdog (see <c>Pipeline.Liveness</c>). <see cref="None"/>
/// is the heartbeat of a loop nobody watches: beats cost nothing and waits never wake early.
/// </summary>
public sealed class Heartbeat
{
    private readonly TimeProvider _time;
    private long _last;
    private volatile bool _running;

    /// <param name="name">Which loop, for the log line when it stops beating ("worker 127.0.0.1::www").</param>
    /// <param name="period">How often a waiting loop wakes to beat; <see cref="Timeout.InfiniteTimeSpan"/> never.</param>
    /// <remarks>Not counted until <see cref="Start"/>.</remarks>
    public Heartbeat(string name, TimeSpan period, TimeProvider time)
    {
        Name = name;
        Period = period;
        _time = time;
        _last = time.GetTimestamp();
    }

    /// <summary>A heartbeat that nobody reads: waits are plain awaits.</summary>
    public static Heartbeat None { get; } = new("none", Timeout.InfiniteTimeSpan, TimeProvider.System);

    public string Name { get; }

    public TimeSpan Period { get; }

    /// <summary>Whether anybody reads this heartbeat (a waiting loop then wakes every <see cref="Period"/>).</summary>
    public bool IsWatched => Period != Timeout.InfiniteTimeSpan;

    /// <summary>The period in milliseconds for poll(2): -1 (block) when nobody watches.</summary>
    public int PollTimeoutMilliseconds => IsWatched ? (int)Math.Clamp(Period.TotalMilliseconds, 1, int.MaxValue) : -1;

    /// <summary>True between <see cref="Start"/> and <see cref="Stop"/>: only then is the loop expected to beat. A
    /// loop not started yet (a worker during the <c>-r</c> push) or ended on purpose (drained) is not counted.</summary>
    public bool Running => _running;

    /// <summary>The loop turned: now.</summary>
    public void Beat() => Volatile.Write(ref _last, _time.GetTimestamp());

    /// <summary>Since the last beat.</summary>
    public TimeSpan Age => _time.GetElapsedTime(Volatile.Read(ref _last));

    /// <summary>The loop begins: counted from now.</summary>
    public void Start()
    {
        Beat();
        _running = true;
    }

    /// <summary>The loop ended on purpose; a check no longer counts it.</summary>
    public void Stop() => _running = false;

    /// <summary>
    /// Awaits <paramref name="task"/>, waking every <see cref="Period"/> to beat: a loop idle on a channel, a timer or
    /// a running child is alive. Only for waits whose end is bounded or legitimately open (an idle queue). The
    /// task's exception (or cancellation) is the caller's, as with a plain await.
    /// </summary>
    public async Task AwaitAsync(Task task)
    {
        Beat();
        if (!IsWatched || task.IsCompleted)
        {
            await task;
            return;
        }

        using var stop = new CancellationTokenSource();
        var tick = Task.Delay(Period, _time, stop.Token);
        while (true)
        {
            await Task.WhenAny(task, tick);
            if (task.IsCompleted)
            {
                break;
            }

            // The next tick is armed before the beat shows (a test's fake clock moved on seeing it moves a timer).
            tick = Task.Delay(Period, _time, stop.Token);
            Beat();
        }

        Beat();
        await stop.CancelAsync();
        await task;
    }

    /// <inheritdoc cref="AwaitAsync(Task)"/>
    public async Task<T> AwaitAsync<T>(Task<T> task)
    {
        await AwaitAsync((Task)task);
        return await task;
    }
}
