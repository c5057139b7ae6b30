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
public sealed partial class CrontabScheduler
{
    private readonly CrontabConfig _config;
    private readonly Func<IReadOnlyList<SyncTarget>> _targets;
    private readonly FullPushCall _push;
    private readonly Action<TargetPushResult> _onTargetBehind;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly PeriodicSchedule? _schedule;
    private int _runs;

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
        if (config.Enabled)
        {
            _schedule = new PeriodicSchedule("crontab", TimeSpan.FromMinutes(config.ScheduleMinutes), RunOnceAsync, time, logger);
        }
    }

    /// <summary>The rsync patterns each run passes: crontabfilter's excludes when it is on, else none.</summary>
    private IReadOnlyList<string> ExtraExcludes => _config.FilterEnabled ? _config.Excludes : [];

    private Func<RelativePath, bool, bool>? IsExcluded { get; }

    /// <summary>Runs started so far (finished or not).</summary>
    public int Runs => Volatile.Read(ref _runs);

    /// <summary>Grid points that passed while a run was still going, and so were skipped.</summary>
    public int SkippedTicks => _schedule?.SkippedTicks ?? 0;

    /// <summary>When the next run is due while the scheduler waits for it; null while a run is going or when stopped.</summary>
    public DateTimeOffset? NextRunDue => _schedule?.NextDue;

    /// <summary>Runs until cancelled (then returns normally). The first run is one period after the call; runs stay
    /// on that grid, and a grid point that passes while a run is still going is skipped (see
    /// <see cref="PeriodicSchedule"/>).</summary>
    public Task RunAsync(CancellationToken cancellationToken)
    {
        if (_schedule is null)
        {
            return Task.CompletedTask;
        }

        Started(_logger, _config.ScheduleMinutes, _time.GetUtcNow() + _schedule.Period, ExtraExcludes.Count > 0 ? $", with {ExtraExcludes.Count} crontabfilter exclude(s)" : string.Empty);
        return _schedule.RunAsync(cancellationToken);
    }

    /// <summary>One scheduled run: every target pushed in full; failures reported, never thrown.</summary>
    internal async Task RunOnceAsync(CancellationToken cancellationToken)
    {
        var run = Interlocked.Increment(ref _runs);
        var targets = _targets();
        if (targets.Count == 0)
        {
            NoTargets(_logger, run);
            return;
        }

        var started = _time.GetTimestamp();
        RunStarted(_logger, run, targets.Count);
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
            PushFailed(_logger, run, ex);
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
            TargetBehind(_logger, run, result.Target.Label, result.Result.ExitCode, RsyncExitCodes.Describe(result.Result.ExitCode));
            try
            {
                _onTargetBehind(result);
            }
            catch (Exception ex)
            {
                ReportingBehindFailed(_logger, run, result.Target.Label, ex);
            }
        }

        RunDone(_logger, run, _time.GetElapsedTime(started).TotalSeconds, results.Count - failed, failed);
    }
}
