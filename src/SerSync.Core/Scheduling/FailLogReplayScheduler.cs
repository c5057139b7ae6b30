using Microsoft.Extensions.Logging;
using SerSync.FailLog;

namespace SerSync.Scheduling;

/// <summary>
/// sersync's <c>&lt;failLog timeToExecute="MIN"&gt;</c>: replays the fail log every <see cref="FailLogReplayer.Interval"/>,
/// the first one interval after <see cref="RunAsync"/> is called, each under <see cref="Exclusive"/> when set. A
/// replay that fails is logged and the next interval tries again.
/// </summary>
public sealed partial class FailLogReplayScheduler
{
    private readonly FailLogReplayer _replayer;
    private readonly ILogger _logger;
    private readonly PeriodicSchedule _schedule;

    public FailLogReplayScheduler(FailLogReplayer replayer, TimeProvider time, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(replayer);
        _replayer = replayer;
        _logger = logger;
        _schedule = new PeriodicSchedule("fail-log replay", replayer.Interval, ReplayOnceAsync, time, logger);
    }

    /// <summary>Optional: taken around each replay, so no live rsync runs meanwhile (a replayed command could
    /// otherwise finish after a live batch and put back an older copy of a file).</summary>
    public Func<CancellationToken, Task<IDisposable>>? Exclusive { get; init; }

    /// <summary>When the next replay is due while the scheduler waits for it; null otherwise.</summary>
    public DateTimeOffset? NextReplayDue => _schedule.NextDue;

    /// <summary>Replays until cancelled, then returns normally; at once when no fail log is configured.</summary>
    public Task RunAsync(CancellationToken cancellationToken) =>
        _replayer.Path is null ? Task.CompletedTask : _schedule.RunAsync(cancellationToken);

    private async Task ReplayOnceAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var hold = Exclusive is null ? null : await Exclusive(cancellationToken);
            await _replayer.ReplayAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            ReplayFailed(_logger, _replayer.Path, _replayer.Interval.TotalMinutes, ex);
        }
    }
}
