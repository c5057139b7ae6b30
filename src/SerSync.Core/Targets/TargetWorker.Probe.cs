// Implementation notes. The wait between a failed batch and its retry, with the reachability probe. The backoff
// grows while a target is away (1 s doubling to 30 s), so without help a target back after 20 s waits up to 16 s
// more. While the worker waits after a transient failure it probes every ProbeInterval (start to start, one probe
// at a time: a probe slower than the period, a dropped link's SYN running into its timeout, is followed by the next
// at once); the moment a probe answers after one has not, the batch goes, whatever the backoff had reached. A
// probe that answers when none has failed since the outage began means the far end is there and rsync failed for
// its own reason (a full disk, a protocol error): the backoff stands and probing stops until the next failure, so
// neither a 1 s retry loop nor a stream of connects into the daemon's log comes of it. A fatal failure (auth,
// unknown module) is never probed: the target answers anyway. The backoff itself is not reset by an early retry;
// only a success resets it (RetryPolicy).
namespace SerSync.Targets;

public sealed partial class TargetWorker
{
    /// <summary>How often a retrying target is probed: a return is seen within this (plus a round trip), well
    /// inside the one second a backlog may take to reach a target that is back.</summary>
    public static readonly TimeSpan ProbeInterval = TimeSpan.FromMilliseconds(250);

    // Worker's task only: a probe has found the target away since the outage began (or since the last answer).
    private bool _probeSawDown;
    private DateTimeOffset? _probeDue;
    private long _probes;

    /// <summary>What tells, while this target waits to retry, that it is back; null: the backoff alone decides.</summary>
    public IReachabilityProbe? Probe { get; init; }

    /// <summary>For tests: when the armed timer of the next probe goes off, while the worker waits to retry and no
    /// probe is running; null otherwise. A fake clock moved once this is set moves a timer that exists.</summary>
    internal DateTimeOffset? ProbeDue
    {
        get
        {
            lock (_gate)
            {
                return _probeDue;
            }
        }
    }

    /// <summary>For tests: probes started since the worker was made.</summary>
    internal long ProbesStarted => Interlocked.Read(ref _probes);

    /// <summary>Waits until <paramref name="retryAt"/>, or less when the probe sees the target come back.</summary>
    private async Task WaitToRetryAsync(DateTimeOffset retryAt, RetryDecision decision, bool transient, CancellationToken token)
    {
        if (decision.Attempt == 1)
        {
            _probeSawDown = false; // a new outage: what the probe saw in the last one says nothing of this one
        }

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(token);

        // Until a moment, not for a span: time that passed since the decision (logging, a busy machine) counts.
        var left = retryAt - _time.GetUtcNow();
        var backoff = left > TimeSpan.Zero ? Task.Delay(left, _time, stop.Token) : Task.CompletedTask;
        var probe = transient ? Probe : null;
        var probeAt = _time.GetUtcNow() + ProbeInterval;
        Task? nextProbe = probe is null ? null : Task.Delay(ProbeInterval, _time, stop.Token);
        lock (_gate)
        {
            // Published once their timers are armed (see the notes at the top of TargetWorker.cs).
            _retryAt = retryAt;
            _probeDue = nextProbe is null ? null : probeAt;
        }

        Task<bool>? probing = null;
        var back = false;
        try
        {
            while (true)
            {
                var next = (Task?)probing ?? nextProbe;
                if (next is null)
                {
                    await Heartbeat.AwaitAsync(backoff);
                    break;
                }

                await Heartbeat.AwaitAsync(Task.WhenAny(backoff, next));
                if (backoff.IsCompleted)
                {
                    break; // due (or stopped): a probe still running is left to its timeout
                }

                if (probing is null)
                {
                    probeAt = _time.GetUtcNow() + ProbeInterval;
                    nextProbe = Task.Delay(ProbeInterval, _time, stop.Token);
                    lock (_gate)
                    {
                        _probeDue = null;
                    }

                    Interlocked.Increment(ref _probes);
                    probing = probe!.AnswersAsync(stop.Token);
                    continue;
                }

                var answered = probing.IsCompletedSuccessfully && probing.Result;
                probing = null;
                if (answered && _probeSawDown)
                {
                    _probeSawDown = false;
                    back = true;
                    break;
                }

                if (answered)
                {
                    nextProbe = null; // there all along: rsync failed for its own reason, so its backoff stands
                    continue;
                }

                _probeSawDown = true;
                lock (_gate)
                {
                    _probeDue = probeAt;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            await stop.CancelAsync();
            lock (_gate)
            {
                _retryAt = null;
                _probeDue = null;
            }
        }

        if (back)
        {
            ProbeAnswered(Target.Label, probe!.Endpoint, (retryAt - _time.GetUtcNow()).TotalSeconds);

            // A kept ssh connection that lived through the outage waits out TCP's backed-off retransmission (seconds
            // after the link is back); the retry goes on a new connection instead.
            Target.Connection?.Discard();
        }
    }
}
