// Implementation notes. Runs are due on a fixed grid, start + k × period, with start the time RunAsync was called;
// each wait is computed from an absolute due time, so a late wake-up or a long run never shifts the grid. One loop
// waits and runs, so two runs never overlap: the grid points that pass while a run is still going are skipped (and
// counted), and the next run is the first grid point not yet past when the run ends (at once if one is due that
// very instant). sersync evaluated its crontab on the retry thread's idle tick, so a busy retry queue delayed it
// indefinitely; here nothing else delays it.
using Microsoft.Extensions.Logging;

namespace SerSync.Scheduling;

/// <summary>
/// Runs an action every <see cref="Period"/>, the first run one period after <see cref="RunAsync"/> is called,
/// until cancelled. A run that throws is logged and the schedule goes on; a run is never overlapped by the next.
/// </summary>
public sealed partial class PeriodicSchedule
{
    private readonly string _name;
    private readonly Func<CancellationToken, Task> _run;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private DateTimeOffset? _nextDue;
    private int _runs;
    private int _skippedTicks;

    /// <param name="name">What runs, for the log ("crontab", "fail-log replay").</param>
    /// <param name="period">At least one tick of <see cref="TimeSpan"/>.</param>
    /// <param name="run">One run; it gets the schedule's cancellation token.</param>
    public PeriodicSchedule(string name, TimeSpan period, Func<CancellationToken, Task> run, TimeProvider time, ILogger logger)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(period, TimeSpan.Zero);
        _name = name;
        Period = period;
        _run = run;
        _time = time;
        _logger = logger;
    }

    public TimeSpan Period { get; }

    /// <summary>Runs started so far.</summary>
    public int Runs => Volatile.Read(ref _runs);

    /// <summary>Grid points that passed while a run was still going, and so were not run.</summary>
    public int SkippedTicks => Volatile.Read(ref _skippedTicks);

    /// <summary>When the next run is due while the schedule waits for it; null while a run is going or when stopped.</summary>
    public DateTimeOffset? NextDue
    {
        get
        {
            lock (_gate)
            {
                return _nextDue;
            }
        }
    }

    /// <summary>Runs until cancelled, then returns normally (a run under way is cancelled through its token).</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var start = _time.GetUtcNow();
        long tick = 1;
        try
        {
            while (true)
            {
                var due = start + (Period * tick);
                var wait = due - _time.GetUtcNow();
                var delay = wait > TimeSpan.Zero ? Task.Delay(wait, _time, cancellationToken) : Task.CompletedTask;
                // Published once the timer exists: whoever sees NextDue and moves the clock to it (a test's fake
                // clock) cannot slip between computing the wait and arming the timer, which would push it past due.
                SetNextDue(due);
                await delay;

                SetNextDue(null);
                cancellationToken.ThrowIfCancellationRequested();
                Interlocked.Increment(ref _runs);
                var started = _time.GetTimestamp();
                try
                {
                    await _run(cancellationToken);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    throw;
                }
                catch (Exception ex)
                {
                    // The schedule outlives a broken run; the next grid point tries again.
                    RunFailed(_logger, _name, ex);
                }

                cancellationToken.ThrowIfCancellationRequested();
                var next = Math.Max(tick + 1, TicksUntil(start, _time.GetUtcNow()));
                var skipped = next - tick - 1;
                if (skipped > 0)
                {
                    Interlocked.Add(ref _skippedTicks, (int)Math.Min(skipped, int.MaxValue));
                    TicksSkipped(_logger, _name, _time.GetElapsedTime(started).TotalMinutes, Period.TotalMinutes, skipped, start + (Period * next));
                }

                tick = next;
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            SetNextDue(null);
        }
    }

    /// <summary>The first k with start + k × period at or after <paramref name="now"/>.</summary>
    private long TicksUntil(DateTimeOffset start, DateTimeOffset now)
    {
        var elapsed = (now - start).Ticks;
        return elapsed <= 0 ? 0 : ((elapsed - 1) / Period.Ticks) + 1;
    }

    private void SetNextDue(DateTimeOffset? due)
    {
        lock (_gate)
        {
            _nextDue = due;
        }
    }
}
