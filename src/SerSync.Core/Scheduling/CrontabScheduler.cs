// Implementation notes. Runs are due on a fixed grid (start + k × schedule), measured with the TimeProvider, and
// each wait is computed from an absolute due time, so a late-started wait never shifts the grid. One loop does the
// waiting and the pushing, so two runs can never overlap: a run that outlasts its period makes the next one start
// as soon as it ends, once, however many periods it covered (the missed ticks are counted and logged, never
// queued), and the grid restarts from that late run. sersync evaluated its crontab on the retry thread's idle
// tick, so a busy retry queue delayed it indefinitely; here nothing else delays it.
using Microsoft.Extensions.Logging;
using SerSync.Configuration;
using SerSync.Paths;
using SerSync.Rsync;

namespace SerSync.Scheduling;

/// <summary>
/// sersync's <c>&lt;crontab start="true" schedule="MIN"&gt;</c>: every MIN minutes, push every target in full. The live
/// filter's regexes exclude paths as in every push; <c>&lt;crontabfilter&gt;</c>'s rsync patterns are added only when
/// that filter is on. A target whose push fails is reported to <c>onTargetBehind</c> (so the daemon can catch it up
/// when it returns) and otherwise waits for the next period; the other targets are not affected.
/// </summary>
public sealed class CrontabScheduler
{
    private readonly CrontabConfig _config;
    private readonly Func<IReadOnlyList<SyncTarget>> _targets;
    private readonly FullPushCall _push;
    private readonly Action<TargetPushResult> _onTargetBehind;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private DateTimeOffset? _nextRunDue;
    private int _runs;
    private int _skippedTicks;

    /// <summary>Pushes the given targets in full; <see cref="FullPush.RunAsync"/> fits.</summary>
    /// <param name="targets">The targets to push.</param>
    /// <param name="isExcluded">The live filter (path relative to the root, is-directory), or null.</param>
    /// <param name="extraExcludes">rsync exclude patterns (crontabfilter), possibly empty.</param>
    public delegate Task<IReadOnlyList<TargetPushResult>> FullPushCall(
        IReadOnlyList<SyncTarget> targets,
        Func<RelativePath, bool, bool>? isExcluded,
        IReadOnlyList<string> extraExcludes,
        CancellationToken cancellationToken);

    /// <param name="config">The <c>&lt;crontab&gt;</c> settings; <see cref="RunAsync"/> returns at once when disabled.</param>
    /// <param name="targets">The targets to push, asked at every run (so a reload can change them).</param>
    /// <param name="isExcluded">The live filter's exclusion (path relative to the root, is-directory), or null.</param>
    /// <param name="push">Runs the full push; typically <c>(t, f, x, ct) =&gt; fullPush.RunAsync(t, f, x, ct)</c>.</param>
    /// <param name="onTargetBehind">Called once per run for every target whose push did not succeed (any class
    /// but <see cref="FailureClass.Success"/>), from the scheduler's loop; it must not block.</param>
    public CrontabScheduler(
        CrontabConfig config,
        Func<IReadOnlyList<SyncTarget>> targets,
        Func<RelativePath, bool, bool>? isExcluded,
        FullPushCall push,
        Action<TargetPushResult> onTargetBehind,
        TimeProvider time,
        ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.Enabled && config.ScheduleMinutes < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(config), config.ScheduleMinutes, "crontab schedule must be at least 1 minute");
        }

        _config = config;
        _targets = targets;
        IsExcluded = isExcluded;
        _push = push;
        _onTargetBehind = onTargetBehind;
        _time = time;
        _logger = logger;
    }

    public TimeSpan Period => TimeSpan.FromMinutes(_config.ScheduleMinutes);

    /// <summary>The rsync patterns each run passes: crontabfilter's excludes when it is on, else none.</summary>
    public IReadOnlyList<string> ExtraExcludes => _config.FilterEnabled ? _config.Excludes : [];

    public Func<RelativePath, bool, bool>? IsExcluded { get; }

    /// <summary>Runs started so far (finished or not).</summary>
    public int Runs => Volatile.Read(ref _runs);

    /// <summary>Periods that passed while a run was still going, and were folded into the next run.</summary>
    public int SkippedTicks => Volatile.Read(ref _skippedTicks);

    /// <summary>When the next run is due while the scheduler waits for it; null while a run is going or when stopped.</summary>
    public DateTimeOffset? NextRunDue
    {
        get
        {
            lock (_gate)
            {
                return _nextRunDue;
            }
        }
    }

    /// <summary>Runs until cancelled (then returns normally). The first run is one period after the call.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        if (!_config.Enabled)
        {
            return;
        }

        var period = Period;
        var due = _time.GetUtcNow() + period;
        _logger.LogInformation(
            "crontab: a full push every {Minutes} min, first at {Due:u}{Filter}",
            _config.ScheduleMinutes,
            due,
            ExtraExcludes.Count > 0 ? $", with {ExtraExcludes.Count} crontabfilter exclude(s)" : string.Empty);
        try
        {
            while (true)
            {
                SetNextRunDue(due);
                var wait = due - _time.GetUtcNow();
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, _time, cancellationToken);
                }

                SetNextRunDue(null);
                cancellationToken.ThrowIfCancellationRequested();
                await RunOnceAsync(cancellationToken);

                var now = _time.GetUtcNow();
                var next = due + period;
                if (next <= now)
                {
                    // The run outlasted its period: start again now, once, and restart the grid from here.
                    var missed = (int)Math.Min(int.MaxValue, (now - due).Ticks / period.Ticks);
                    Interlocked.Add(ref _skippedTicks, Math.Max(missed - 1, 0));
                    _logger.LogWarning(
                        "crontab: the full push took {Minutes:F1} min, longer than the {Schedule} min schedule; the next one starts now",
                        (now - due).TotalMinutes,
                        _config.ScheduleMinutes);
                    next = now;
                }

                due = next;
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            SetNextRunDue(null);
        }
    }

    /// <summary>One scheduled run: every target pushed in full; failures reported, never thrown.</summary>
    internal async Task RunOnceAsync(CancellationToken cancellationToken)
    {
        var run = Interlocked.Increment(ref _runs);
        var targets = _targets();
        if (targets.Count == 0)
        {
            _logger.LogInformation("crontab run {Run}: no targets", run);
            return;
        }

        var started = _time.GetTimestamp();
        _logger.LogInformation("crontab run {Run}: full push of {Count} target(s)", run, targets.Count);
        IReadOnlyList<TargetPushResult> results;
        try
        {
            results = await _push(targets, IsExcluded, ExtraExcludes, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            // The scheduler outlives a broken run; the next period tries again.
            _logger.LogError(ex, "crontab run {Run}: the full push failed", run);
            return;
        }

        var failed = 0;
        foreach (var result in results)
        {
            if (result.Class == FailureClass.Success)
            {
                continue;
            }

            failed++;
            _logger.LogWarning(
                "crontab run {Run}: {Target} is behind: rsync exit {Code} ({Meaning}); it waits for a catch-up or the next run",
                run,
                result.Target.Label,
                result.Result.ExitCode,
                RsyncExitCodes.Describe(result.Result.ExitCode));
            try
            {
                _onTargetBehind(result);
            }
            catch (Exception ex)
            {
                _logger.LogError(ex, "crontab run {Run}: reporting {Target} as behind failed", run, result.Target.Label);
            }
        }

        _logger.LogInformation(
            "crontab run {Run}: done in {Seconds:F1} s, {Ok} target(s) in sync, {Failed} behind",
            run,
            _time.GetElapsedTime(started).TotalSeconds,
            results.Count - failed,
            failed);
    }

    private void SetNextRunDue(DateTimeOffset? due)
    {
        lock (_gate)
        {
            _nextRunDue = due;
        }
    }
}
