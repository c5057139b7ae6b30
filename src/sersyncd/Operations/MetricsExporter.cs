// Implementation notes. Two kinds of source feed the metrics. (1) Values read from StatusSource at each scrape:
// gauges are set from the current snapshot, and the series of roots, targets and plugins it no longer has are removed
// (a reload dropped them). Counters in a snapshot count from 0 in each pipeline (a SIGHUP builds a new one), so a
// counter here is what the retired pipelines counted (their final snapshot, from StatusSource.Retired) plus what the
// current one has counted so far. A scrape that still sees a retired pipeline (between Retired and the next Publish)
// adds nothing live for it, so a value never goes down; prometheus-net's IncTo ignores a lower value anyway.
// (2) Events: each finished rsync run (StatusSource.RunCompleted, on the target's worker) counts in
// sersyncd_rsync_runs_total and observes sersyncd_rsync_duration_seconds, so these survive reloads by themselves.
using System.Globalization;
using Prometheus;
using SerSync.Pipeline;
using SerSync.Rsync;
using SerSync.Targets;

namespace SerSync.Daemon.Operations;

/// <summary>
/// The <c>/metrics</c> document: prometheus-net's registry (a private one, so none of its default .NET collectors
/// or event listeners start), filled from <see cref="StatusSource"/> when scraped.
/// </summary>
public sealed class MetricsExporter
{
    /// <summary>rsync runs last from a few milliseconds (one small file to a local target) to many minutes (a full
    /// sync of a big tree over a slow link).</summary>
    private static readonly double[] DurationBuckets = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];

    private static readonly string[] Results = [.. Enum.GetValues<FailureClass>().Select(ResultName)];
    private static readonly ReportedState[] States = Enum.GetValues<ReportedState>();

    private readonly StatusSource _source;
    private readonly CollectorRegistry _registry = Metrics.NewCustomRegistry();
    private readonly Lock _gate = new();

    // Counters of retired pipelines, by series; the current pipeline's values are added at each scrape.
    private readonly Dictionary<(string Root, string Target), long> _failuresBase = [];
    private readonly Dictionary<string, (long Changes, long Overflows)> _rootBase = [];

    // The last values read from the current pipeline, folded into the bases if it is replaced without Retired.
    private PipelineSnapshot? _lastSeen;
    private int _lastSeenGeneration;
    private int _foldedGeneration;

    private readonly Gauge _pending, _lag, _up, _state, _drift, _watches, _journalBytes, _pluginPending, _info, _generation;
    private readonly Counter _runs, _failures, _changes, _overflows;
    private readonly Histogram _duration;
    private readonly Gauge _resident, _virtual, _openFds, _maxFds, _startTime, _threads;
    private readonly Counter _cpu;

    public MetricsExporter(StatusSource source)
    {
        _source = source;
        var f = Metrics.WithCustomRegistry(_registry);
        string[] target = ["root", "target"];
        string[] root = ["root"];
        _pending = f.CreateGauge("sersyncd_target_pending_changes", "Paths waiting for the target or in its running batch (a full sync counts as one).", target);
        _lag = f.CreateGauge("sersyncd_target_lag_seconds", "Age of the oldest change the target does not have yet; 0 when it has every change.", target);
        _up = f.CreateGauge("sersyncd_target_up", "1 when the target's last rsync attempt succeeded (also before any attempt), 0 when it failed.", target);
        _state = f.CreateGauge("sersyncd_target_state", "The target's state: 1 for the current one of in_sync, syncing, retrying, failed; 0 for the others.", ["root", "target", "state"]);
        _failures = f.CreateCounter("sersyncd_target_failures_total", "Failed rsync runs of the target (transient, partial and fatal).", target);
        _drift = f.CreateGauge("sersyncd_target_drift_paths", "Paths the last drift audit found different on the target.", target);
        _runs = f.CreateCounter("sersyncd_rsync_runs_total", "Finished rsync runs of live batches, by result (success, partial, transient, fatal).", ["root", "target", "result"]);
        _duration = f.CreateHistogram("sersyncd_rsync_duration_seconds", "How long the rsync runs of live batches took.", target, new HistogramConfiguration { Buckets = DurationBuckets });
        _changes = f.CreateCounter("sersyncd_changes_total", "Changes the root's watcher and catch-up scan journaled and queued.", root);
        _watches = f.CreateGauge("sersyncd_watches", "inotify watches placed on the root's tree.", root);
        _overflows = f.CreateCounter("sersyncd_queue_overflows_total", "inotify queue overflows on the root (each is followed by a rescan).", root);
        _journalBytes = f.CreateGauge("sersyncd_journal_bytes", "Size of the root's change journal.", root);
        _pluginPending = f.CreateGauge("sersyncd_plugin_pending_changes", "Changes waiting for the targets or for delivery to the plugin.", ["root", "plugin"]);
        _info = f.CreateGauge("sersyncd_build_info", "Always 1; the daemon's version in a label.", ["version"]);
        _generation = f.CreateGauge("sersyncd_pipeline_generation", "Pipelines built since the start: 1, then one more per accepted SIGHUP reload.");
        _resident = f.CreateGauge("process_resident_memory_bytes", "Resident memory size in bytes.");
        _virtual = f.CreateGauge("process_virtual_memory_bytes", "Virtual memory size in bytes.");
        _cpu = f.CreateCounter("process_cpu_seconds_total", "User and system CPU time spent in seconds.");
        _openFds = f.CreateGauge("process_open_fds", "Number of open file descriptors.");
        _maxFds = f.CreateGauge("process_max_fds", "Maximum number of open file descriptors.");
        _startTime = f.CreateGauge("process_start_time_seconds", "Start time of the process since the Unix epoch in seconds.");
        _threads = f.CreateGauge("process_threads", "Number of OS threads in the process.");
        _info.WithLabels(StatusSource.Version).Set(1);
        source.RunCompleted += OnRunCompleted;
        source.Retired += OnRetired;
    }

    /// <summary>
    /// WIRE (lead, with helper A's audit): the last audit's count of differing paths for a target (root path,
    /// target), or null when no audit ran yet (no series then). Unset: <c>sersyncd_target_drift_paths</c> is absent.
    /// </summary>
    public Func<string, TargetSnapshot, long?>? DriftPaths { get; set; }

    /// <summary>Reads the daemon's status and writes the text exposition format (version 0.0.4) to
    /// <paramref name="output"/>.</summary>
    public async Task WriteAsync(Stream output, CancellationToken cancellationToken)
    {
        Update(_source.Read());
        await _registry.CollectAndExportAsTextAsync(output, cancellationToken);
    }

    /// <summary>Sets every series from <paramref name="status"/>: the scrape's work, apart from writing.</summary>
    public void Update(DaemonStatus status)
    {
        lock (_gate)
        {
            _generation.Set(status.Generation);
            if (status.Pipeline is { } pipeline)
            {
                if (_lastSeen is { } previous && _lastSeenGeneration < status.Generation && _foldedGeneration < _lastSeenGeneration)
                {
                    // Replaced without a Retired call (a failed stop): what the last scrape saw is the best known.
                    Fold(_lastSeenGeneration, previous);
                }

                // A pipeline already folded adds nothing live: its counts are in the bases.
                var live = status.Generation > _foldedGeneration;
                UpdatePipeline(pipeline, live);
                if (live)
                {
                    (_lastSeen, _lastSeenGeneration) = (pipeline, status.Generation);
                }
            }

            UpdateProcess();
        }
    }

    private void UpdatePipeline(PipelineSnapshot pipeline, bool live)
    {
        var targets = new HashSet<(string, string)>();
        var roots = new HashSet<string>(StringComparer.Ordinal);
        var plugins = new HashSet<(string, string)>();
        foreach (var root in pipeline.Roots)
        {
            roots.Add(root.Path);
            _watches.WithLabels(root.Path).Set(root.Watches);
            _journalBytes.WithLabels(root.Path).Set(root.JournalBytes);
            var rootBase = _rootBase.GetValueOrDefault(root.Path);
            _changes.WithLabels(root.Path).IncTo(rootBase.Changes + (live ? root.ChangesTotal : 0));
            _overflows.WithLabels(root.Path).IncTo(rootBase.Overflows + (live ? root.Overflows : 0));
            foreach (var hook in root.Hooks)
            {
                plugins.Add((root.Path, hook.Plugin));
                _pluginPending.WithLabels(root.Path, hook.Plugin).Set(hook.Pending);
            }

            foreach (var t in root.Targets)
            {
                var key = (root.Path, t.Label);
                targets.Add(key);
                _pending.WithLabels(root.Path, t.Label).Set(t.Pending);
                _lag.WithLabels(root.Path, t.Label).Set(t.LagAt(pipeline.At).TotalSeconds);
                _up.WithLabels(root.Path, t.Label).Set(t.LastAttemptSucceeded == false ? 0 : 1);
                foreach (var state in States)
                {
                    _state.WithLabels(root.Path, t.Label, StatusJson.StateName(state)).Set(t.State == state ? 1 : 0);
                }

                _failures.WithLabels(root.Path, t.Label).IncTo(_failuresBase.GetValueOrDefault(key) + (live ? t.FailuresTotal : 0));
                foreach (var result in Results)
                {
                    // Every result from the start, so rate() and increase() see the first run of each.
                    _runs.WithLabels(root.Path, t.Label, result);
                }

                _duration.WithLabels(root.Path, t.Label);
                if (DriftPaths?.Invoke(root.Path, t) is { } drift)
                {
                    _drift.WithLabels(root.Path, t.Label).Set(drift);
                }
            }
        }

        // A reload removed these roots, targets and plugins: their series go, and so do the counts kept for them
        // (one that comes back starts again from 0, which Prometheus reads as a counter reset).
        RemoveMissing(_watches, l => roots.Contains(l[0]));
        RemoveMissing(_journalBytes, l => roots.Contains(l[0]));
        RemoveMissing(_changes, l => roots.Contains(l[0]));
        RemoveMissing(_overflows, l => roots.Contains(l[0]));
        RemoveMissing(_pluginPending, l => plugins.Contains((l[0], l[1])));
        foreach (var collector in new Collector[] { _pending, _lag, _up, _state, _failures, _drift, _runs, _duration })
        {
            RemoveMissing(collector, l => targets.Contains((l[0], l[1])));
        }

        foreach (var key in _failuresBase.Keys.Where(k => !targets.Contains(k)).ToList())
        {
            _failuresBase.Remove(key);
        }

        foreach (var key in _rootBase.Keys.Where(k => !roots.Contains(k)).ToList())
        {
            _rootBase.Remove(key);
        }
    }

    private static void RemoveMissing(Collector collector, Func<string[], bool> keep)
    {
        var labelled = collector switch
        {
            Gauge g => (g.GetAllLabelValues(), (Action<string[]>)(l => g.RemoveLabelled(l))),
            Counter c => (c.GetAllLabelValues(), l => c.RemoveLabelled(l)),
            Histogram h => (h.GetAllLabelValues(), l => h.RemoveLabelled(l)),
            _ => throw new ArgumentException(collector.Name, nameof(collector)),
        };
        foreach (var labels in labelled.Item1.Where(l => !keep(l)).ToList())
        {
            labelled.Item2(labels);
        }
    }

    private void OnRetired(int generation, PipelineSnapshot final)
    {
        lock (_gate)
        {
            Fold(generation, final);
        }
    }

    /// <summary>Adds a retired pipeline's final counts to the bases, once per generation.</summary>
    private void Fold(int generation, PipelineSnapshot final)
    {
        if (generation <= _foldedGeneration)
        {
            return;
        }

        _foldedGeneration = generation;
        foreach (var root in final.Roots)
        {
            var b = _rootBase.GetValueOrDefault(root.Path);
            _rootBase[root.Path] = (b.Changes + root.ChangesTotal, b.Overflows + root.Overflows);
            foreach (var t in root.Targets)
            {
                var key = (root.Path, t.Label);
                _failuresBase[key] = _failuresBase.GetValueOrDefault(key) + t.FailuresTotal;
            }
        }
    }

    private void OnRunCompleted(string root, TargetSnapshot target, TargetRun run)
    {
        _runs.WithLabels(root, target.Label, ResultName(run.Result)).Inc();
        _duration.WithLabels(root, target.Label).Observe(run.Duration.TotalSeconds);
    }

    public static string ResultName(FailureClass result) => result switch
    {
        FailureClass.Success => "success",
        FailureClass.Partial => "partial",
        FailureClass.Transient => "transient",
        _ => "fatal",
    };

    /// <summary>The standard process collector's series, from /proc/self (what Prometheus' own clients export).</summary>
    private void UpdateProcess()
    {
        using var self = System.Diagnostics.Process.GetCurrentProcess();
        _resident.Set(self.WorkingSet64); // VmRSS
        _virtual.Set(self.VirtualMemorySize64);
        _cpu.IncTo(self.TotalProcessorTime.TotalSeconds);
        _threads.Set(self.Threads.Count);
        _startTime.Set(new DateTimeOffset(self.StartTime.ToUniversalTime()).ToUnixTimeMilliseconds() / 1000.0);
        try
        {
            _openFds.Set(Directory.EnumerateFileSystemEntries("/proc/self/fd").Count());
            if (MaxOpenFiles() is { } max)
            {
                _maxFds.Set(max);
            }
        }
        catch (IOException)
        {
            // No /proc: the two series keep their last value.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>The soft limit from /proc/self/limits ("Max open files  1024  524288  files").</summary>
    private static long? MaxOpenFiles()
    {
        foreach (var line in File.ReadLines("/proc/self/limits"))
        {
            if (line.StartsWith("Max open files", StringComparison.Ordinal))
            {
                var fields = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return fields.Length > 0 && long.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out var soft) ? soft : null;
            }
        }

        return null;
    }
}
