using SerSync.Rsync;

namespace SerSync.Targets;

/// <summary>What the worker does after a failed batch: how long it waits before trying again, and the state the
/// target is reported in meanwhile.</summary>
/// <param name="Attempt">How many batches in a row have failed, this one included.</param>
public readonly record struct RetryDecision(TimeSpan Wait, TargetState State, int Attempt);

/// <summary>
/// One target's retry rules, with no clock and no I/O so that they are tested alone (the worker asks, then waits):
/// transient failures back off (1 s doubling to 30 s, with jitter so many targets do not retry in lockstep); a
/// fatal one (auth, unknown module, bad option) is retried at a fixed slow pace; the third failure in a row also
/// goes to the fail log; full syncs that follow each other within a minute (overflow after overflow) are spaced
/// out, 2 s doubling to 60 s, instead of looping. A success resets the failure count.
/// </summary>
public sealed class RetryPolicy(Random? random = null)
{
    public const int FailLogAfterAttempts = 3;
    public static readonly TimeSpan FatalRetryInterval = TimeSpan.FromSeconds(60);
    public static readonly TimeSpan TransientInitial = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan TransientMax = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan FullSyncQuietReset = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan FullSyncSpacingMin = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan FullSyncSpacingMax = TimeSpan.FromSeconds(60);

    private readonly Backoff _transient = new(TransientInitial, TransientMax, random);
    private DateTimeOffset? _lastFullSyncEnded;
    private TimeSpan _fullSyncSpacing = TimeSpan.Zero;

    /// <summary>Batches that failed in a row since the last success.</summary>
    public int ConsecutiveFailures { get; private set; }

    /// <summary>True when the batch now running, should it fail, is the one to write to the fail log (sersync's
    /// script), so that a target that is down for long adds one entry per outage, not one per retry.</summary>
    public bool NextFailureGoesToFailLog => ConsecutiveFailures + 1 == FailLogAfterAttempts;

    /// <summary>Records a failed batch and says how long to wait before the next one.</summary>
    public RetryDecision OnFailure(FailureClass failure)
    {
        ConsecutiveFailures++;
        return failure == FailureClass.Fatal
            ? new RetryDecision(FatalRetryInterval, TargetState.Failed, ConsecutiveFailures)
            : new RetryDecision(_transient.Next(), TargetState.Retrying, ConsecutiveFailures);
    }

    /// <summary>Records a successful batch; returns how many had failed before it (0 when none).</summary>
    public int OnSuccess()
    {
        var failed = ConsecutiveFailures;
        ConsecutiveFailures = 0;
        _transient.Reset();
        return failed;
    }

    /// <summary>Records the end of a full sync (whatever its result): one soon after the previous doubles the
    /// spacing before the next; a quiet minute resets it.</summary>
    public void OnFullSyncEnded(DateTimeOffset now)
    {
        var soon = _lastFullSyncEnded is { } previous && now - previous < FullSyncQuietReset;
        _fullSyncSpacing = soon
            ? TimeSpan.FromTicks(Math.Clamp(_fullSyncSpacing.Ticks * 2, FullSyncSpacingMin.Ticks, FullSyncSpacingMax.Ticks))
            : TimeSpan.Zero;
        _lastFullSyncEnded = now;
    }

    /// <summary>The earliest moment the next full sync may start; null when nothing holds it back.</summary>
    public DateTimeOffset? FullSyncNotBefore => _lastFullSyncEnded is { } last && _fullSyncSpacing > TimeSpan.Zero ? last + _fullSyncSpacing : null;
}
