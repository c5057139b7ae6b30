// Implementation notes. Two kinds of source feed the metrics. (1) Values read from StatusSource at each scrape:
// gauges are set from the current snapshot, and the series of roots, targets and plugins it no longer has are removed
// (a reload dropped them). Counters in a snapshot count from 0 in each pipeline (a SIGHUP builds a new one), so a
// counter here is what the retired pipelines counted (their final snapshot, from StatusSource.Retired) plus what the
// current one has counted so far. A scrape that still sees a retired pipeline (between Retired and the next Publish)
// adds nothing live for it, so a value never goes down; prometheus-net's IncTo ignores a lower value anyway.
// (2) Events: each finished rsync run (StatusSource.RunCompleted, on the target's worker) counts in
// sersyncd_rsync_runs_total and observes sersyncd_rsync_duration_seconds, so these survive reloads by themselves.
using System.Globalization;
using System.IO.Enumeration;
using Prometheus;
using SerSync.Configuration;
using SerSync.Pipeline;
using SerSync.Rsync;
using SerSync.Targets;

namespace SerSync.Daemon.Operations;

/// <summary>
/// The <c>/metrics</c> document: prometheus-net's registry (a private one, so none of its default .NET collectors
/// or event listeners start), filled from <see cref="StatusSource"/> when scraped.
/// </summary>
public sealed partial class MetricsExporter
{
    /// <summary>rsync runs last from a few milliseconds (one small file to a local target) to many minutes (a full
    /// sync of a big tree over a slow link).</summary>
    private static readonly double[] DurationBuckets = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];

    private static readonly string[] Results = [.. Enum.GetValues<FailureClass>().Select(ResultName)];
    private static readonly ReportedState[] States = Enum.GetValues<ReportedState>();

    private readonly StatusSource _source;
    private readonly CollectorRegistry _registry = Metrics.NewCustomRegistry();
    private readonly Lock _gate = new();

    // The series of each root, target and plugin; with the counts of retired pipelines, to which the current
    // pipeline's values are added at each scrape.
    private readonly Dictionary<string, RootSeries> _roots = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Root, string Target), TargetSeries> _targets = [];
    private readonly Dictionary<(string Root, string Plugin), PluginSeries> _plugins = [];
    private long _sweep;

    // The last values read from the current pipeline, folded into the bases if it is replaced without Retired.
    private PipelineSnapshot? _lastSeen;
    private int _lastSeenGeneration;
    private int _foldedGeneration;

    private readonly Gauge _pending, _lag, _up, _state, _drift, _watches, _journalBytes, _pluginPending, _info, _generation, _unwatched, _watcher;
    private readonly Gauge _journalMax, _journalCollapses, _collapseOwed; // the bounded journal
    private readonly Counter _runs, _failures, _changes, _overflows;
    private readonly Gauge _fullPushHeld;
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
        _fullPushHeld = f.CreateGauge("sersyncd_target_full_push_held_deletes", "Deletes the delete guard holds from the target's full pushes (0 when none): the push ran without deleting; sersyncd release lets the next one delete.", target);
        _drift = f.CreateGauge("sersyncd_target_drift_paths", "Paths the last drift audit found different on the target.", target);
        _runs = f.CreateCounter("sersyncd_rsync_runs_total", "Finished rsync runs of live batches, by result (success, partial, transient, fatal).", ["root", "target", "result"]);
        _duration = f.CreateHistogram("sersyncd_rsync_duration_seconds", "How long the rsync runs of live batches took.", target, new HistogramConfiguration { Buckets = DurationBuckets });
        _changes = f.CreateCounter("sersyncd_changes_total", "Changes the root's watcher and catch-up scan journaled and queued.", root);
        _watches = f.CreateGauge("sersyncd_watches", "inotify watches placed on the root's tree.", root);
        _overflows = f.CreateCounter("sersyncd_queue_overflows_total", "inotify queue overflows on the root (each is followed by a rescan).", root);
        _unwatched = f.CreateGauge("sersyncd_unwatched_directories", "Directories of the root that could not be watched (max_user_watches used up) and are rescanned on a timer instead; 0 when all are watched.", root);
        _watcher = f.CreateGauge("sersyncd_watcher_backend", "The root's watcher backend: 1 for the one running (inotify, portable, poll), 0 for the others; only inotify sees every change as it happens.", ["root", "backend"]);
        _journalBytes = f.CreateGauge("sersyncd_journal_bytes", "Size of the root's change journal.", root);
        _journalMax = f.CreateGauge("sersyncd_journal_max_bytes", "The root's journal bound (<journal maxSize>): past it a target that is away is collapsed into a full sync.", root);
        _journalCollapses = f.CreateGauge("sersyncd_journal_collapses", "Collapses of the root's journal since the pipeline started (a target away past the bound).", root);
        _collapseOwed = f.CreateGauge("sersyncd_target_full_sync_owed", "1 while the target owes a full sync because the journal collapsed what it was owed, 0 otherwise.", target);
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
        _held = f.CreateGauge("sersyncd_deletes_held", "Deletes the root's delete guard holds (sent by sersyncd release, dropped by release --keep).", root);
        _holds = f.CreateCounter("sersyncd_delete_holds_total", "Holds the root's delete guard began (a mass delete, or one that would empty the root).", root);
        _info.WithLabels(StatusSource.Version).Set(1);
        DriftPaths = (_, t) => source.Audits?.For(t.Id) is { Succeeded: true } audit ? audit.DriftPaths : null;
        source.RunCompleted += OnRunCompleted;
        source.Retired += Retire;
    }

    /// <summary>
    /// The last audit's count of differing paths for a target (root path, target), or null when none is known (no
    /// series then). By default the current pipeline's scheduled audit (<c>&lt;audit&gt;</c>); an audit that could
    /// not finish says nothing about drift, so it leaves no series either.
    /// </summary>
    public Func<string, TargetSnapshot, long?>? DriftPaths { get; set; }

    /// <summary>Reads the daemon's status and writes the text exposition format (version 0.0.4) to
    /// <paramref name="output"/>.</summary>
    public async Task WriteAsync(Stream output, CancellationToken cancellationToken)
    {
        Update(_source.Read());
        await ExportAsync(output, cancellationToken);
    }

    /// <summary>Writes the series as the last <see cref="Update"/> left them.</summary>
    public Task ExportAsync(Stream output, CancellationToken cancellationToken) =>
        _registry.CollectAndExportAsTextAsync(output, cancellationToken);

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
        // The series' children are kept per root, target and plugin, so a scrape only sets values; the ones a
        // scrape did not touch (removed by a reload) are removed with their children after it.
        var sweep = ++_sweep;
        foreach (var root in pipeline.Roots)
        {
            var r = RootFor(root.Path);
            r.Sweep = sweep;
            r.Watches.Set(root.Watches);
            _unwatched.WithLabels(root.Path).Set(root.Unwatched);
            foreach (var backend in Backends)
            {
                _watcher.WithLabels(root.Path, WatcherConfig.Name(backend)).Set(root.Watcher == backend ? 1 : 0);
            }

            r.JournalBytes.Set(root.JournalBytes);
            _journalMax.WithLabels(root.Path).Set(root.JournalMaxBytes);
            _journalCollapses.WithLabels(root.Path).Set(root.JournalCollapses);
            r.Changes.IncTo(r.ChangesBase + (live ? root.ChangesTotal : 0));
            r.Overflows.IncTo(r.OverflowsBase + (live ? root.Overflows : 0));
            UpdateGuard(root, live);
            foreach (var hook in root.Hooks)
            {
                if (!_plugins.TryGetValue((root.Path, hook.Plugin), out var h))
                {
                    _plugins[(root.Path, hook.Plugin)] = h = new PluginSeries(_pluginPending.WithLabels(root.Path, hook.Plugin));
                }

                h.Sweep = sweep;
                h.Pending.Set(hook.Pending);
            }

            foreach (var t in root.Targets)
            {
                var series = TargetFor(root.Path, t.Label);
                series.Sweep = sweep;
                series.Pending.Set(t.Pending);
                series.Lag.Set(t.LagAt(pipeline.At).TotalSeconds);
                series.Up.Set(t.LastAttemptSucceeded == false ? 0 : 1);
                for (var k = 0; k < States.Length; k++)
                {
                    series.States[k].Set(t.State == States[k] ? 1 : 0);
                }

                series.Failures.IncTo(series.FailuresBase + (live ? t.FailuresTotal : 0));
                _collapseOwed.WithLabels(root.Path, t.Label).Set(t.FullSyncOwedByCollapse ? 1 : 0);
                _fullPushHeld.WithLabels(root.Path, t.Label).Set(t.HeldFullPush is { ReleaseOnce: false } held ? held.Deletes : 0);
                if (DriftPaths?.Invoke(root.Path, t) is { } drift)
                {
                    _drift.WithLabels(root.Path, t.Label).Set(drift);
                }
            }
        }

        // A reload removed these roots, targets and plugins: their series go, and so do the counts kept for them
        // (one that comes back starts again from 0, which Prometheus reads as a counter reset).
        foreach (var (path, r) in _roots)
        {
            if (r.Sweep != sweep)
            {
                _roots.Remove(path);
                _watches.RemoveLabelled(path);
                _journalBytes.RemoveLabelled(path);
                _journalMax.RemoveLabelled(path);
                _journalCollapses.RemoveLabelled(path);
                _changes.RemoveLabelled(path);
                _overflows.RemoveLabelled(path);
                _unwatched.RemoveLabelled(path);
                foreach (var backend in Backends)
                {
                    _watcher.RemoveLabelled(path, WatcherConfig.Name(backend));
                }
            }
        }

        foreach (var (key, h) in _plugins)
        {
            if (h.Sweep != sweep)
            {
                _plugins.Remove(key);
                _pluginPending.RemoveLabelled(key.Root, key.Plugin);
            }
        }

        foreach (var (key, series) in _targets)
        {
            if (series.Sweep != sweep)
            {
                _targets.Remove(key);
                RemoveTarget(key.Root, key.Target);
            }
        }
    }

    private static readonly WatcherKind[] Backends = [WatcherKind.Inotify, WatcherKind.Portable, WatcherKind.Poll];

    private RootSeries RootFor(string path)
    {
        if (!_roots.TryGetValue(path, out var r))
        {
            _roots[path] = r = new RootSeries(_watches.WithLabels(path), _journalBytes.WithLabels(path), _changes.WithLabels(path), _overflows.WithLabels(path))
            {
                Sweep = _sweep,
            };
        }

        return r;
    }

    private TargetSeries TargetFor(string root, string target)
    {
        if (!_targets.TryGetValue((root, target), out var series))
        {
            _targets[(root, target)] = series = NewTarget(root, target);
            series.Sweep = _sweep;
        }

        return series;
    }

    private TargetSeries NewTarget(string root, string target)
    {
        foreach (var result in Results)
        {
            // Every result from the start, so rate() and increase() see the first run of each.
            _runs.WithLabels(root, target, result);
        }

        _duration.WithLabels(root, target);
        return new TargetSeries(
            _pending.WithLabels(root, target), _lag.WithLabels(root, target), _up.WithLabels(root, target),
            [.. States.Select(s => _state.WithLabels(root, target, StatusJson.StateName(s)))], _failures.WithLabels(root, target));
    }

    private void RemoveTarget(string root, string target)
    {
        _pending.RemoveLabelled(root, target);
        _lag.RemoveLabelled(root, target);
        _up.RemoveLabelled(root, target);
        _failures.RemoveLabelled(root, target);
        _drift.RemoveLabelled(root, target);
        _collapseOwed.RemoveLabelled(root, target);
        _fullPushHeld.RemoveLabelled(root, target);
        _duration.RemoveLabelled(root, target);
        foreach (var state in States)
        {
            _state.RemoveLabelled(root, target, StatusJson.StateName(state));
        }

        foreach (var result in Results)
        {
            _runs.RemoveLabelled(root, target, result);
        }
    }

    /// <summary>A pipeline stopped (<see cref="StatusSource.Retired"/>): its final counts join the bases.</summary>
    public void Retire(int generation, PipelineSnapshot final)
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
            // Created if no scrape saw them yet; the next scrape removes them if the new pipeline lacks them.
            var r = RootFor(root.Path);
            r.ChangesBase += root.ChangesTotal;
            r.OverflowsBase += root.Overflows;
            foreach (var t in root.Targets)
            {
                TargetFor(root.Path, t.Label).FailuresBase += t.FailuresTotal;
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

    /// <summary>The standard process collector's series (the names Prometheus' own clients use), read from /proc/self
    /// into stack buffers: a scrape every few seconds must not feed the GC (see the README on memory).</summary>
    private void UpdateProcess()
    {
        Span<byte> buffer = stackalloc byte[1024];
        if (Fields(ReadProc("/proc/self/statm", buffer), 0, 2) is [var size, var resident])
        {
            _virtual.Set(size * (double)Environment.SystemPageSize);
            _resident.Set(resident * (double)Environment.SystemPageSize);
        }

        // /proc/self/stat: "PID (COMM) STATE ..." with COMM free to hold spaces; num_threads is the 20th field, the
        // 18th after the closing parenthesis.
        var stat = ReadProc("/proc/self/stat", buffer);
        var close = stat.LastIndexOf((byte)')');
        if (close >= 0 && close + 2 <= stat.Length && Fields(stat[(close + 2)..], 17, 1) is [var threads])
        {
            _threads.Set(threads);
        }

        _cpu.IncTo(Environment.CpuUsage.TotalTime.TotalSeconds);
        _startTime.Set(_started);
        _maxFds.Set(_maxOpenFiles);
        _openFds.Set(CountOpenFiles());
    }

    private readonly double _started = ProcessStart();
    private readonly long _maxOpenFiles = MaxOpenFiles() ?? 0;

    private static double ProcessStart()
    {
        using var self = System.Diagnostics.Process.GetCurrentProcess();
        return new DateTimeOffset(self.StartTime.ToUniversalTime()).ToUnixTimeMilliseconds() / 1000.0;
    }

    private static int CountOpenFiles()
    {
        try
        {
            // Counted without a string per entry.
            return new FileSystemEnumerable<byte>("/proc/self/fd", (ref FileSystemEntry _) => 0).Count();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    private static ReadOnlySpan<byte> ReadProc(string path, Span<byte> buffer)
    {
        try
        {
            using var handle = File.OpenHandle(path);
            return buffer[..RandomAccess.Read(handle, buffer, 0)];
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    /// <summary><paramref name="count"/> space-separated decimal fields from the <paramref name="skip"/>th on; empty
    /// when the line has fewer.</summary>
    private static long[] Fields(ReadOnlySpan<byte> line, int skip, int count)
    {
        var values = new long[count];
        var field = 0;
        foreach (var range in line.Split((byte)' '))
        {
            if (field >= skip && field < skip + count)
            {
                if (!System.Buffers.Text.Utf8Parser.TryParse(line[range].TrimEnd((byte)'\n'), out long value, out _))
                {
                    return [];
                }

                values[field - skip] = value;
            }

            if (++field == skip + count)
            {
                return values;
            }
        }

        return [];
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

    private sealed class RootSeries(Gauge.Child watches, Gauge.Child journalBytes, Counter.Child changes, Counter.Child overflows)
    {
        public Gauge.Child Watches { get; } = watches;

        public Gauge.Child JournalBytes { get; } = journalBytes;

        public Counter.Child Changes { get; } = changes;

        public Counter.Child Overflows { get; } = overflows;

        public long ChangesBase { get; set; }

        public long OverflowsBase { get; set; }

        public long Sweep { get; set; }
    }

    private sealed class TargetSeries(Gauge.Child pending, Gauge.Child lag, Gauge.Child up, Gauge.Child[] states, Counter.Child failures)
    {
        public Gauge.Child Pending { get; } = pending;

        public Gauge.Child Lag { get; } = lag;

        public Gauge.Child Up { get; } = up;

        /// <summary>One per <see cref="ReportedState"/>, in <see cref="States"/> order.</summary>
        public Gauge.Child[] States { get; } = states;

        public Counter.Child Failures { get; } = failures;

        public long FailuresBase { get; set; }

        public long Sweep { get; set; }
    }

    private sealed class PluginSeries(Gauge.Child pending)
    {
        public Gauge.Child Pending { get; } = pending;

        public long Sweep { get; set; }
    }
}
