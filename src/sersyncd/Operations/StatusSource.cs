using SerSync.Pipeline;
using SerSync.Scheduling;
using SerSync.Targets;

namespace SerSync.Daemon.Operations;

/// <summary>What the daemon is doing as a whole, beside the pipeline's own state.</summary>
public enum DaemonPhase
{
    /// <summary>Placing watches, catching up, or the <c>-r</c> push.</summary>
    Starting,

    Running,

    /// <summary>A SIGHUP: the old pipeline drains and a new one starts.</summary>
    Reloading,

    /// <summary>SIGTERM: pending changes are being sent before the exit.</summary>
    Stopping,

    /// <summary>A watched root was lost (unmounted, deleted, moved): no pipeline until a directory is at its path
    /// again; the targets keep their files.</summary>
    WaitingForRoot,
}

/// <summary>One reading of the daemon for the status socket, <c>/status</c>, <c>/healthz</c> and <c>/metrics</c>.</summary>
/// <param name="Generation">Counts the pipelines built (1 for the first, +1 per reload): a counter in
/// <see cref="Pipeline"/> that went down is a new pipeline's, not a lost count.</param>
public sealed record DaemonStatus(string Version, int Pid, TimeSpan Uptime, DaemonPhase Phase, int Generation, PipelineSnapshot? Pipeline, string ConfigFile);

/// <summary>
/// The current pipeline, published by <see cref="MirrorService"/> as it builds and replaces them; read from the
/// socket's and the HTTP listener's threads. A read takes each worker's lock for a few field reads (no I/O), so a
/// status request never blocks the pipeline and the pipeline never waits for a request.
/// </summary>
public sealed class StatusSource(TimeProvider time, string configFile)
{
    private readonly DateTimeOffset _started = time.GetUtcNow();
    private readonly Lock _gate = new();
    private MirrorPipeline? _pipeline;
    private int _generation;
    private DaemonPhase _phase = DaemonPhase.Starting;

    public static string Version { get; } = typeof(StatusSource).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    /// <summary>Called after each run of a live batch, with its root and target, on that target's worker.</summary>
    public event Action<string, TargetSnapshot, TargetRun>? RunCompleted;

    /// <summary>A pipeline has stopped (a reload or the stop), with its generation and its last snapshot: the final
    /// values of its counters, which the metrics add to what earlier pipelines counted.</summary>
    public event Action<int, PipelineSnapshot>? Retired;

    /// <summary>A new pipeline replaces the previous one (the first at start, then one per reload).</summary>
    public void Publish(MirrorPipeline pipeline)
    {
        foreach (var worker in pipeline.Workers)
        {
            var w = worker;
            w.RunCompleted = run => RunCompleted?.Invoke(w.Target.WatchRoot, w.Snapshot(), run);
        }

        lock (_gate)
        {
            _pipeline = pipeline;
            _generation++;
        }
    }

    /// <summary>Called once the pipeline has stopped and before it is disposed.</summary>
    public void Retire(MirrorPipeline pipeline)
    {
        int generation;
        lock (_gate)
        {
            if (!ReferenceEquals(pipeline, _pipeline))
            {
                return;
            }

            generation = _generation;
        }

        PipelineSnapshot final;
        try
        {
            final = pipeline.Snapshot();
        }
        catch (ObjectDisposedException)
        {
            return; // the metrics then keep what the last scrape saw
        }

        Retired?.Invoke(generation, final);
    }

    /// <summary>The current pipeline's last audit results (<c>sersyncd_target_drift_paths</c>); null before the first.</summary>
    public AuditResults? Audits
    {
        get
        {
            lock (_gate)
            {
                return _pipeline?.Audits;
            }
        }
    }

    /// <summary><c>sersyncd release [--keep]</c> on the current pipeline; null when none runs (starting, stopped).</summary>
    public async Task<ReleaseResult?> ReleaseAsync(bool keep, CancellationToken cancellationToken)
    {
        MirrorPipeline? pipeline;
        lock (_gate)
        {
            pipeline = _pipeline;
        }

        return pipeline is null ? null : await pipeline.ReleaseHeldDeletesAsync(keep, cancellationToken);
    }

    public void SetPhase(DaemonPhase phase)
    {
        lock (_gate)
        {
            _phase = phase;
        }
    }

    public DaemonStatus Read()
    {
        MirrorPipeline? pipeline;
        int generation;
        DaemonPhase phase;
        lock (_gate)
        {
            (pipeline, generation, phase) = (_pipeline, _generation, _phase);
        }

        PipelineSnapshot? snapshot = null;
        try
        {
            snapshot = pipeline?.Snapshot();
        }
        catch (ObjectDisposedException)
        {
            // Replaced and disposed between the read and the snapshot: the next request sees the new one.
        }

        return new DaemonStatus(Version, Environment.ProcessId, time.GetUtcNow() - _started, phase, generation, snapshot, configFile);
    }
}
