// Implementation notes. One pipeline per loaded configuration; a reload builds a new one. Threads: each root's
// watcher has its own reader thread writing to that root's channel; each root's dispatcher is a task reading the
// channel, journaling, then calling the targets' Enqueue; each target's worker is a task; the crontab and the
// fail-log replay are tasks that take the workers' holds. The pipeline's own methods are called from one thread
// at a time (the lifecycle loop in sersyncd), in the order Start, FullPushAsync?, StartWorkers, StopAsync,
// Dispose. Stopping order matters: schedules end first (they hold workers), then a cookie barrier proves every
// event the kernel queued before the stop was read, then the watchers go, the channels complete, the dispatchers
// hand over the rest, and the workers drain.
using System.Globalization;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using SerSync.Configuration;
using SerSync.FailLog;
using SerSync.Filtering;
using SerSync.Hooks;
using SerSync.Journal;
using SerSync.Paths;
using SerSync.Plugins;
using SerSync.Processes;
using SerSync.Rsync;
using SerSync.Scheduling;
using SerSync.Targets;
using SerSync.Watching;

namespace SerSync.Pipeline;

/// <summary>What the daemon was asked to do at start.</summary>
/// <param name="StateDirectory">Where journals live; null keeps no journal (pending changes die with the process).</param>
public sealed record MirrorOptions(int Workers, bool FullPushFirst, TimeSpan DrainTimeout, string? StateDirectory = null)
{
    /// <summary>How far before the last "everything journaled" mark the catch-up scan looks, for events that were
    /// still in the kernel's queue or the watcher's hands.</summary>
    public TimeSpan CatchUpMargin { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary><c>-m NAME</c>: the plugin run alone; a reload applies <see cref="SerSyncConfig.ForPluginAlone"/> again.</summary>
    public string? PluginAlone { get; init; }

    /// <summary>How long the stop waits for each watcher's cookie to come back before it gives up on the barrier.</summary>
    public TimeSpan BarrierTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Where the pipeline's loops register their heartbeats (the systemd watchdog reads it); null: none.</summary>
    public Liveness? Liveness { get; init; }

    /// <summary>As root, raise max_queued_events at start and max_user_watches when a new directory's watch does not
    /// fit (MirrorPipeline.Limits.cs, InotifyWatcher.Unwatched.cs). The daemon sets it unless
    /// SERSYNCD_RAISE_INOTIFY_LIMITS=0; tests that build pipelines in process leave the machine's settings alone.</summary>
    public bool RaiseInotifyLimits { get; init; }
}

/// <summary>Why a pipeline cannot go on.</summary>
public enum PipelineFault
{
    /// <summary>A watched root was deleted, moved or unmounted.</summary>
    RootLost,

    /// <summary>Out of inotify watches or instances.</summary>
    WatchLimit,

    /// <summary>Anything else (a reader error).</summary>
    Other,

    /// <summary>A loop of the pipeline (a worker, a hook, a dispatcher) ended with an error: a defect or an
    /// unexpected fault of the system (a missing temporary directory, a full disk under the journal).</summary>
    LoopCrashed,
}

/// <summary>Raised when the pipeline cannot go on; the lifecycle stops the process.</summary>
public sealed class PipelineFaultedEventArgs(PipelineFault fault, string message) : EventArgs
{
    public PipelineFault Fault { get; } = fault;

    public string Message { get; } = message;
}

/// <summary>
/// The composition of one pipeline for one configuration: per watched root a watcher, a channel, a journal, a
/// dispatcher and one worker per target, plus the crontab and the fail-log replay. It knows the order things must
/// start and stop in; when to start, reload and stop is the lifecycle's business (sersyncd's MirrorService).
/// </summary>
public sealed partial class MirrorPipeline : IDisposable
{
    private static readonly TimeSpan CoarseClock = TimeSpan.FromSeconds(1);
    private readonly SerSyncConfig _config;
    private readonly MirrorOptions _options;
    private readonly TimeProvider _time;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger _logger;
    private readonly PathFilter _filter;
    private readonly SemaphoreSlim _slots;
    private readonly FailLogWriter? _failLog;
    private readonly IProcessRunner _runner;
    private readonly List<Root> _roots = [];
    private readonly List<TargetWorker> _workers;
    private readonly List<HookWorker> _hooks;
    private readonly FullPush _fullPush;
    private readonly CancellationTokenSource _schedulesStop = new();
    private readonly List<Task> _schedules = [];
    private readonly CancellationTokenSource _workersStop = new();
    private readonly List<Task> _workerTasks = [];
    private readonly CancellationTokenSource _hooksStop = new();
    private readonly List<Task> _hookTasks = [];
    private readonly List<Heartbeat> _heartbeats = [];
    private readonly Heartbeat _lifecycle;
    private readonly SshConnections _ssh;
    private volatile bool _faulted;

    /// <param name="plugins">Builds a plugin's transport from its settings (tests give their own); by default
    /// <see cref="PipelineFactory.CreatePlugin"/>.</param>
    public MirrorPipeline(SerSyncConfig config, MirrorOptions options, TimeProvider time, ILoggerFactory loggers, IProcessRunner? runner = null, Func<PluginConfig, IHookPlugin>? plugins = null)
    {
        _config = config;
        _options = options;
        _time = time;
        _loggers = loggers;
        _logger = loggers.CreateLogger<MirrorPipeline>();
        _filter = PipelineFactory.CreateFilter(config);
        _slots = new SemaphoreSlim(options.Workers);
        _failLog = PipelineFactory.CreateFailLog(config);
        _runner = runner ?? new ProcessRunner(loggers.CreateLogger<ProcessRunner>());
        _ssh = new SshConnections(options.StateDirectory, time, loggers);
        foreach (var watch in config.Watches)
        {
            var workers = watch.Remotes
                .Select(r => _ssh.Attach(new SyncTarget(watch.Path, r, SyncTarget.SettingsOf(r, config), config.Inotify.Delete)))
                .Select(NewWorker)
                .ToList();
            GuardFullPushes(watch, workers);
            var acks = new TargetAcknowledgements();
            _roots.Add(new Root(watch, workers, NewHooks(watch, acks, plugins ?? (p => PipelineFactory.CreatePlugin(p, time, loggers))), acks));
        }

        _workers = [.. _roots.SelectMany(r => r.Workers)];
        _hooks = [.. _roots.SelectMany(r => r.Hooks)];
        _fullPush = new FullPush(_runner, _slots, _failLog, _time, loggers.CreateLogger<FullPush>()) { Guards = t => WorkerOf(t).FullPushGuard, Protected = ProtectedFor };
        _lifecycle = Beat("pipeline start and stop");
        foreach (var worker in _workers)
        {
            worker.Heartbeat = Beat("worker for " + worker.Target.Label);
        }

        foreach (var root in _roots)
        {
            foreach (var hook in root.Hooks)
            {
                hook.Heartbeat = Beat($"plugin {hook.Plugin.Label} for {root.Watch.Path}");
            }
        }
    }

    /// <summary>A heartbeat registered with the options' liveness, or <see cref="Heartbeat.None"/> without one.</summary>
    private Heartbeat Beat(string name)
    {
        if (_options.Liveness is not { } liveness)
        {
            return Heartbeat.None;
        }

        var beat = liveness.Register(name);
        _heartbeats.Add(beat);
        return beat;
    }

    /// <summary>Raised (on a watcher's thread) when a root is lost or a watcher fails.</summary>
    public event EventHandler<PipelineFaultedEventArgs>? Faulted;

    public IReadOnlyList<TargetWorker> Workers => _workers;

    /// <summary>The plugins' hooks, one per enabled plugin and root it follows.</summary>
    public IReadOnlyList<HookWorker> Hooks => _hooks;

#pragma warning disable CA1416 // the watcher seam decides
    public int WatchCount => _roots.Sum(r => r.Watcher?.WatchCount ?? 0);
#pragma warning restore CA1416

    /// <summary>Every root's and target's state, for status and metrics: a few reads under each worker's lock, no
    /// I/O, so a status request never waits for the pipeline.</summary>
#pragma warning disable CA1416 // the watcher seam decides
    public PipelineSnapshot Snapshot() => new(
        _time.GetUtcNow(),
        [.. _roots.Select(r => new RootSnapshot(
            r.Watch.Path,
            r.Watcher?.WatchCount ?? 0,
            r.Watcher?.Overflows ?? 0,
            r.Dispatcher?.ChangesTotal ?? 0,
            r.Journal?.Bytes ?? 0,
            [.. r.Workers.Select(w => w.Snapshot())],
            [.. r.Hooks.Select(h => new HookSnapshot(h.Plugin.Name, h.PendingCount))],
            r.Workers.Select(w => (w.Id, Audit: _audits.For(w.Id))).Where(a => a.Audit is not null).ToDictionary(a => a.Id, a => a.Audit!, StringComparer.Ordinal),
            r.Watch.Journal.MaxBytes,
            r.Journal?.Collapses ?? 0)
        {
            Unwatched = r.Watcher?.Unwatched.Count ?? 0,
            UnwatchedPaths = UnwatchedSample(r.Watcher),
            Guard = r.Dispatcher?.Guard?.Snapshot(),
        })]);
#pragma warning restore CA1416

    /// <summary>
    /// Places every watch (out of watches as root: raises the limit once and places them again), opens the journals,
    /// puts back what the previous run left unsynced and what the catch-up scan finds, queues one full sync for every
    /// target that the state has no record of (a first start, state deleted, a target new in the configuration or
    /// back in it), and starts the dispatchers. Workers are not running yet, so a <c>-r</c> push can go
    /// first; with <paramref name="fullPushFollows"/> the targets without a record wait for that push instead.
    /// </summary>
    /// <exception cref="WatchLimitException">Out of watches or inotify instances.</exception>
    /// <exception cref="DirectoryNotFoundException">A watched root is missing.</exception>
    public void Start(Action<string>? status = null, bool fullPushFollows = false)
    {
        _ssh.StartAll(); // the handshakes run while the watches are placed
        RaiseQueuedEventsBeforeWatching();
        var placed = 0;
        foreach (var root in _roots)
        {
            if (_options.StateDirectory is { } state)
            {
                root.Journal = ChangeJournal.Open(state, root.Watch.Path, root.Sinks.Select(s => s.Id), _time, _options.CatchUpMargin);
                root.Journal.MaxBytes = root.Watch.Journal.MaxBytes;
            }

            var journal = root.Journal;
            foreach (var worker in root.Workers)
            {
                root.Acks.Add(worker.Id, worker.Target.Label, journal?.AcknowledgedOf(worker.Id) ?? 0, () => worker.State is TargetState.Retrying or TargetState.Failed);
                worker.MaxPendingPaths = root.Watch.Journal.MaxPendingPaths;
                worker.Synced = seq =>
                {
                    journal?.Acknowledge(worker.Id, root.Dispatcher?.CapAcknowledgement(seq) ?? seq);
                    root.Acks.Acknowledge(worker.Id, seq);
                };
            }

            foreach (var hook in root.Hooks)
            {
                if (journal is not null && journal.StartFromEndIfUnknown(hook.Id) && !journal.Fresh)
                {
                    HookStartsNow(hook.Plugin.Label, root.Watch.Path);
                }

                hook.Delivered = journal is null ? null : seq => journal.Acknowledge(hook.Id, seq);
            }

            var offset = placed;
            var progress = new Progress<int>(n => status?.Invoke($"placing watches: {offset + n} directories"));
            var reader = Beat("inotify reader for " + root.Watch.Path);
            TakeRootIdentity(root);
#pragma warning disable CA1416 // the watcher seam decides
            root.Watcher = StartWatcher(() => NewWatcher(root, progress, reader));
            placed += root.Watcher.WatchCount;
            CheckQueuedEventsFor(root.Watch.Path, root.Watcher.WatchCount);
#pragma warning restore CA1416
            root.Dispatcher = new RootDispatcher(root.Channel.Reader, root.Sinks, root.Journal, _time) { Heartbeat = Beat("dispatcher for " + root.Watch.Path), CollapseKindOf = CollapseKindOf(root), Collapsed = c => JournalCollapsed(root, c), Guard = NewGuard(root) };
            root.Dispatcher.Guard?.Load();
            if (root.Journal is not null)
            {
                // The catch-up scan of a big tree runs here, on the caller's thread: it beats per directory.
                _lifecycle.Start();
                try
                {
                    Recover(root, fullPushFollows);
                }
                finally
                {
                    _lifecycle.Stop();
                }

                CheckRootIdentity(root, fullPushFollows);
                if (!fullPushFollows)
                {
                    QueueFullSyncForUnknownTargets(root);
                }
            }

            root.DispatchTask = Observed(root.Dispatcher.RunAsync(), "the dispatcher for " + root.Watch.Path);
        }
    }

    /// <summary>The <c>-r</c> push of every root to every target; a target that fails gets a journaled full sync
    /// from its own worker, with retries.</summary>
    public async Task FullPushAsync(CancellationToken cancellationToken)
    {
        // What was journaled before the push began is on a target the push reached; a target without a record
        // becomes known at that point, so the next start does not push it in full again.
        var before = _roots.ToDictionary(r => r, r => r.Journal?.LastSequence ?? 0);
        IReadOnlyList<TargetPushResult> results;
        _lifecycle.Start();
        try
        {
            // Each rsync of the push is bounded by its own timeouts; the wait for them is alive while it lasts.
            results = await _lifecycle.AwaitAsync(_fullPush.RunAsync([.. _workers.Select(w => w.Target)], _filter.RulesOrNull, [], cancellationToken));
        }
        finally
        {
            _lifecycle.Stop();
        }

        foreach (var result in results)
        {
            var (root, worker) = Find(result.Target);
            if (!result.Result.Succeeded)
            {
                RequestFullSync(result.Target);
            }
            else
            {
                root.Journal?.Acknowledge(worker.Id, before[root]);
                root.Acks.Acknowledge(worker.Id, before[root]);
                StandInForPendingIfHeld(root, worker);
            }
        }
    }

    /// <summary>Starts the workers and the schedules (crontab, fail-log replay).</summary>
    public void StartWorkers()
    {
        foreach (var worker in _workers)
        {
            _workerTasks.Add(Observed(worker.RunAsync(_workersStop.Token), "the worker for " + worker.Target.Label));
        }

        foreach (var hook in _hooks)
        {
            _hookTasks.Add(Observed(hook.RunAsync(_hooksStop.Token), $"the {hook.Plugin.Name} plugin's hook"));
        }

        StartSchedules();
    }

    /// <summary>
    /// Stops: the schedules end, a cookie barrier on every root proves that every event queued before now has been
    /// read, the watchers go, the dispatchers hand over the rest, and the workers send what is pending within
    /// <paramref name="drainTimeout"/> (a failing target is not waited for: its changes stay in the journal).
    /// </summary>
    public async Task StopAsync(TimeSpan drainTimeout)
    {
        _lifecycle.Start();
        try
        {
            await StopInOrderAsync(drainTimeout);
            await _ssh.StopAsync();
        }
        finally
        {
            _lifecycle.Stop();
        }
    }

    private async Task StopInOrderAsync(TimeSpan drainTimeout)
    {
        await _schedulesStop.CancelAsync();
        await Task.WhenAll(_schedules);

        // Everything the kernel queued before this moment must be read before the watches go, or a change made just
        // before SIGTERM would be lost. A cookie file per root is that barrier (timing is not: a busy machine can
        // leave events unread for longer than any quiet period).
        var barriers = _roots.Where(r => r.Watcher is not null).Select(async r =>
        {
            var began = _time.GetUtcNow();
#pragma warning disable CA1416 // the watcher seam decides
            if (!_faulted && !await r.Watcher!.SyncAsync(_options.BarrierTimeout))
#pragma warning restore CA1416
            {
                BarrierMissed(r.Watch.Path, _options.BarrierTimeout.TotalSeconds);
            }
            else if (!_faulted)
            {
                r.Barrier = (began, _time.GetUtcNow());
            }
        });
        await _lifecycle.AwaitAsync(Task.WhenAll(barriers)); // bounded by the barrier timeout

        foreach (var root in _roots)
        {
#pragma warning disable CA1416 // the watcher seam decides
            root.Watcher?.Dispose();
#pragma warning restore CA1416
            root.Channel.Writer.TryComplete();
        }

        await Task.WhenAll(_roots.Select(r => r.DispatchTask ?? Task.CompletedTask));
        foreach (var root in _roots.Where(r => !_faulted))
        {
            if (root.Barrier is { } barrier)
            {
                root.Journal?.MarkCleanStop(barrier.Began, barrier.Ended); // journaled now: all the kernel queued before
            }
        }

        await DrainAsync(drainTimeout);
    }

    /// <summary>How many targets that are behind <see cref="StatusLine"/> names before "and N more".</summary>
    internal const int StatusTargets = 3;

    /// <summary>
    /// systemd's STATUS= line: one line, bounded, naming the targets that are behind (the failing ones first, then
    /// by lag) with their pending changes and lag: "watching 120 directories; 2 target(s) behind: 127.0.0.1::www 35
    /// changes 12 s (retrying), /srv/copy 3 changes 0.4 s".
    /// </summary>
    public string StatusLine()
    {
        var snapshot = Snapshot();
        var targets = snapshot.Roots.SelectMany(r => r.Targets).ToList();
        var behind = targets
            .Where(t => t.Pending > 0 || t.State is ReportedState.Retrying or ReportedState.Failed)
            .OrderBy(t => t.State is ReportedState.Retrying or ReportedState.Failed ? 0 : 1)
            .ThenByDescending(t => t.LagAt(snapshot.At))
            .ToList();
        var line = new System.Text.StringBuilder($"watching {WatchCount} directories; ");
        if (behind.Count == 0)
        {
            line.Append(targets.Count == 1 ? "the target is in sync" : $"all {targets.Count} targets in sync");
        }
        else
        {
            line.Append(CultureInfo.InvariantCulture, $"{behind.Count} of {targets.Count} target(s) behind: ");
            for (var i = 0; i < behind.Count && i < StatusTargets; i++)
            {
                var t = behind[i];
                line.Append(i > 0 ? ", " : "").Append(t.Label)
                    .Append(CultureInfo.InvariantCulture, $" {t.Pending} change(s) {Lag(t.LagAt(snapshot.At))}");
                if (t.State is ReportedState.Retrying or ReportedState.Failed)
                {
                    line.Append(t.State == ReportedState.Failed ? " (failed)" : " (retrying)");
                }
            }

            if (behind.Count > StatusTargets)
            {
                line.Append(CultureInfo.InvariantCulture, $" and {behind.Count - StatusTargets} more");
            }
        }

        AppendUnwatched(line, snapshot);
        AppendHeld(line, snapshot);
        if (FullPushHoldCount is > 0 and var held)
        {
            line.Append(CultureInfo.InvariantCulture, $"; HOLDING the deletes of a full push to {held} target(s) (sersyncd release [--keep])");
        }

        var hooks = _hooks.Sum(h => h.PendingCount);
        if (_hooks.Count > 0 && hooks > 0)
        {
            line.Append(CultureInfo.InvariantCulture, $"; {hooks} plugin change(s) pending");
        }

        return line.ToString();
    }

    private static string Lag(TimeSpan lag) => lag switch
    {
        _ when lag < TimeSpan.FromSeconds(10) => lag.TotalSeconds.ToString("0.0 's'", CultureInfo.InvariantCulture),
        _ when lag < TimeSpan.FromMinutes(2) => lag.TotalSeconds.ToString("0 's'", CultureInfo.InvariantCulture),
        _ when lag < TimeSpan.FromHours(2) => lag.TotalMinutes.ToString("0 'min'", CultureInfo.InvariantCulture),
        _ => lag.TotalHours.ToString("0 'h'", CultureInfo.InvariantCulture),
    };

    public void Dispose()
    {
        foreach (var root in _roots)
        {
#pragma warning disable CA1416 // the watcher seam decides
            root.Watcher?.Dispose();
#pragma warning restore CA1416
            root.Journal?.Dispose();
        }

        foreach (var hook in _hooks)
        {
            (hook.Plugin as IDisposable)?.Dispose();
        }

        _workers.ForEach(w => w.Dispose());
        _ssh.Dispose();

        _schedulesStop.Dispose();
        _workersStop.Dispose();
        _hooksStop.Dispose();
        _options.Liveness?.Remove(_heartbeats);
    }

    private TargetWorker NewWorker(SyncTarget target) => new(
        new TargetBatchBuilder(target, _filter, protectedPaths: () => ProtectedFor(target)),
        _runner,
        _slots,
        _failLog,
        BatchPolicy.Default,
        new RetryPolicy(),
        _time,
        _loggers.CreateLogger<TargetWorker>())
    {
        Probe = ReachabilityProbe.For(target, _time), // while retrying only: a return is seen within a second
    };

    /// <summary>One hook per enabled plugin that follows this root: the command plugin follows every root, the others
    /// the root their own <c>localpath</c> lies in.</summary>
    private List<HookWorker> NewHooks(WatchConfig watch, TargetAcknowledgements acks, Func<PluginConfig, IHookPlugin> create)
    {
        var hooks = new List<HookWorker>();
        foreach (var name in _config.EnabledPlugins)
        {
            var settings = _config.Plugins.Get(name)!;
            if (settings.Watch is { } dir && !ConfigAttributeReader.IsSameOrInside(dir, watch.Path))
            {
                continue;
            }

            hooks.Add(new HookWorker(
                create(settings),
                new HookScope(watch.Path, settings.Watch ?? watch.Path),
                acks,
                settings.MaxDelay,
                BatchPolicy.Default,
                _failLog,
                _time,
                _loggers.CreateLogger<HookWorker>()));
        }

        return hooks;
    }

#pragma warning disable CA1416 // the watcher seam decides
    private InotifyWatcher NewWatcher(Root root, IProgress<int> progress, Heartbeat heartbeat)
    {
        var watcher = new InotifyWatcher(root.Watch.Path, _config.Inotify, _filter, root.Channel.Writer, _loggers.CreateLogger<InotifyWatcher>(), progress) { Heartbeat = heartbeat, MayRaiseWatchLimit = _options.RaiseInotifyLimits };
        watcher.RootLost += (_, e) => LoseRoot(root, Reason(e.Reason));
        watcher.Faulted += (_, e) => Fail(e.Exception is WatchLimitException ? PipelineFault.WatchLimit : PipelineFault.Other, $"watching {root.Watch.Path} failed: {e.Exception.Message}");
        return watcher;
    }

    /// <summary>Places a root's watches. Out of watches and running as root: raises max_user_watches to what the
    /// tree needs (as sersync did, but said in the log) and places them again once; otherwise the error stands.</summary>
    private InotifyWatcher StartWatcher(Func<InotifyWatcher> create)
    {
        var watcher = create();
        try
        {
            watcher.Start();
            return watcher;
        }
        catch (WatchLimitException ex) when (ex.LimitFile == InotifyLimits.MaxUserWatchesFile)
        {
            var root = watcher.Root;
            watcher.Dispose();
            var raised = InotifyLimits.RaiseWatchLimitIfNeeded(ex.Needed ?? InotifyLimits.CountDirectories(root, _filter));
            if (raised is null)
            {
                throw;
            }

            WatchLimitRaised(raised);
        }
        catch
        {
            watcher.Dispose();
            throw;
        }

        var retry = create();
        try
        {
            retry.Start();
            return retry;
        }
        catch
        {
            retry.Dispose();
            throw;
        }
    }
#pragma warning restore CA1416

    /// <summary>
    /// Puts back what the previous run had not synced: the journal's unacknowledged changes per target, then what
    /// the catch-up scan finds changed since the last moment everything was journaled (journaled itself, so a
    /// second crash loses nothing either). Runs after the watches are placed, so nothing falls between.
    /// </summary>
    private void Recover(Root root, bool fullPushFollows)
    {
        var journal = root.Journal!;
        if (journal.TornTail)
        {
            JournalTornTail(root.Watch.Path);
        }

        var recovered = 0;
        root.Dispatcher!.Guard?.NoteMadeBeforeStart(journal.MadeRecently(DeleteGuard.Trailing));
        foreach (var sink in root.Sinks)
        {
            // A path this consumer's own unacknowledged records created: its delete is no loss of what the target
            // held before (a storm's churn cut by a crash), so it goes with its create, not to the guard's judgement.
            // A delete the guard judged before the crash (sent again as Judged, not yet acknowledged) is decided: it
            // goes as it is, and so does the first record of the same delete, which the guard took to judge.
            var madeSince = new HashSet<RelativePath>();
            var pending = journal.PendingFor(sink.Id).ToList();
            var judged = pending.Where(r => r.Change is { Kind: ChangeKind.Delete, Judged: true }).Select(r => r.Change.Path).ToHashSet();
            foreach (var record in pending)
            {
                var change = record.Change;
                if (change.Kind != ChangeKind.Delete)
                {
                    madeSince.Add(change.Path);
                }

                if ((change.Kind == ChangeKind.Delete && (madeSince.Contains(change.Path) || judged.Contains(change.Path)))
                    || !root.Dispatcher!.TakeReplayed(change, record.Sequence))
                {
                    sink.Enqueue(change, record.Sequence);
                }

                recovered++;
            }
        }

        root.Dispatcher!.Guard?.ReplayDone();
        // The replayed deletes settled before the crash: judge them now, as one burst, so each consumer gets them
        // beside the records they followed (a hook coalesces a create and its delete, as it did before the stop).
        root.Dispatcher.TickGuard(force: true);

        var found = 0;
        if (journal.CatchUpSince is not null && root.Dispatcher.Guard is { PreviousCensusSequence: { } censusAt } guard
            && guard.LossWhileDown(journal.FileCountChangeSince(censusAt)) is not null)
        {
            if (!fullPushFollows) // -r: the start's own full push is guarded already
            {
                // An rm -rf (or an emptied mount) while the daemon was down: the scan would sync each changed directory
                // with deletion, unjudged. A full sync per target judges on the target itself, and past the share holds.
                foreach (var worker in root.Workers)
                {
                    root.Dispatcher.RequestFullSync(worker);
                }
            }
        }
        else if (journal.CatchUpSince is { } since)
        {
            // The scan looks a margin before the last "everything journaled" mark, so it finds again what the journal
            // has: the targets check those paths again (harmless), the plugins must not fire for them twice.
            // After a clean stop, the root's ctime within the barrier is the barrier's own cookie, no change either.
            // The window is widened by a second each way: the kernel stamps ctime from a coarser clock than ours.
            // (A real entry change of the root in it was journaled on its own; only the directory's summary goes.)
            var journaled = journal.LatestRecordTimes();
            var barrier = journal.StopBarrier;
            var changes = CatchUpScan.FindWithTimes(root.Watch.Path, since, _filter, _lifecycle)
                .Select(f => (journaled.TryGetValue(f.Change.Path, out var at) && f.ChangeTime <= at + TimeSpan.FromMilliseconds(1))
                    || (f.Change.Path.IsRoot && barrier is { } b && f.ChangeTime >= b.Began - CoarseClock && f.ChangeTime <= b.Ended + CoarseClock)
                    ? f.Change with { Event = ChangeEvent.Recheck }
                    : f.Change)
                .ToList();
            root.Dispatcher!.Submit(changes);
            found = changes.Count;
        }

        if (recovered > 0 || found > 0)
        {
            Recovered(root.Watch.Path, recovered, found, journal.CatchUpSince);
        }
    }

    /// <summary>A target the state has no acknowledgement of may hold anything: it gets a journaled full sync, so a
    /// crash before it finishes queues it again.</summary>
    private void QueueFullSyncForUnknownTargets(Root root)
    {
        var journal = root.Journal!;
        var unknown = journal.UnknownTargets;
        var workers = root.Workers.Where(w => unknown.Contains(w.Id)).ToList();
        if (workers.Count == 0)
        {
            return;
        }

        if (journal.Fresh)
        {
            FirstStart(root.Watch.Path, journal.Directory, workers.Count);
        }

        foreach (var worker in workers)
        {
            if (!journal.Fresh)
            {
                TargetUnknown(worker.Target.Label, root.Watch.Path);
            }

            root.Dispatcher!.RequestFullSync(worker);
        }
    }

    private void RequestFullSync(SyncTarget target)
    {
        var (root, worker) = Find(target);
        root.Dispatcher!.RequestFullSync(worker);
    }

    /// <summary>The root and worker of one of this pipeline's targets.</summary>
    private (Root Root, TargetWorker Worker) Find(SyncTarget target)
    {
        foreach (var root in _roots)
        {
            if (root.Workers.FirstOrDefault(w => w.Target == target) is { } worker)
            {
                return (root, worker);
            }
        }

        throw new ArgumentException($"{target.Label} is not a target of this pipeline", nameof(target));
    }

    /// <summary>The crontab full push and the fail-log replay; both hold off the live batches of what they write.</summary>
    private void StartSchedules()
    {
        var token = _schedulesStop.Token;
        if (_config.Crontab.Enabled)
        {
            var cron = new CrontabScheduler(
                _config.Crontab,
                () => [.. _workers.Select(w => w.Target)],
                _filter.RulesOrNull,
                async (targets, isExcluded, extra, ct) => await Task.WhenAll(targets.Select(async t =>
                {
                    using var hold = await WorkerOf(t).HoldAsync(ct);
                    return (await _fullPush.RunAsync([t], isExcluded, extra, ct))[0];
                })),
                behind => RequestFullSync(behind.Target),
                _time,
                _loggers.CreateLogger<CrontabScheduler>());
            _schedules.Add(cron.RunAsync(token));
        }

        if (_failLog is not null)
        {
            var replayer = new FailLogReplayer(_config.FailLog, RsyncExitCodes.Describe, _time, _loggers.CreateLogger<FailLogReplayer>());
            var replays = new FailLogReplayScheduler(replayer, _time, _loggers.CreateLogger<FailLogReplayScheduler>()) { Exclusive = HoldAllAsync };
            _schedules.Add(replays.RunAsync(token));
        }

        StartAudit(token);
        _schedules.Add(WatchRootIdentityAsync(token));
    }

    private TargetWorker WorkerOf(SyncTarget target) => _workers.First(w => w.Target == target);

    /// <summary>Holds every target's batches, taken in one fixed order so two holders cannot deadlock.</summary>
    private async Task<IDisposable> HoldAllAsync(CancellationToken cancellationToken)
    {
        var holds = new List<IDisposable>();
        try
        {
            foreach (var worker in _workers)
            {
                holds.Add(await worker.HoldAsync(cancellationToken));
            }
        }
        catch
        {
            holds.ForEach(h => h.Dispose());
            throw;
        }

        return new CompositeHold(holds);
    }

    private async Task DrainAsync(TimeSpan timeout)
    {
        var workers = _workers;
        foreach (var worker in workers)
        {
            worker.Draining = true;
        }

        var deadline = _time.GetUtcNow() + timeout;
        // After a fatal error nothing is waited for: the journal keeps what is left.
        while (!_faulted && workers.Any(w => w.HasWorkToDrain) && _time.GetUtcNow() < deadline)
        {
            _lifecycle.Beat();
            await Task.Delay(TimeSpan.FromMilliseconds(50), _time);
        }

        var left = workers.Sum(w => w.PendingCount);
        if (left > 0)
        {
            NotAllSent(left);
        }

        await _workersStop.CancelAsync();
        await Task.WhenAll(_workerTasks);

        // Then the hooks: what the targets now have is deliverable; what waits for a failing target stays in the
        // journal, as does what a failing plugin could not take.
        foreach (var hook in _hooks)
        {
            hook.Draining = true;
        }

        while (!_faulted && _hooks.Any(h => h.HasWorkToDrain) && _time.GetUtcNow() < deadline)
        {
            _lifecycle.Beat();
            await Task.Delay(TimeSpan.FromMilliseconds(50), _time);
        }

        var hooksLeft = _hooks.Sum(h => h.PendingCount);
        if (hooksLeft > 0)
        {
            HooksNotAllDelivered(hooksLeft);
        }

        await _hooksStop.CancelAsync();
        await Task.WhenAll(_hookTasks);
    }

    /// <summary>A loop that ends with an error stops the pipeline (the daemon exits 70 and systemd starts it again,
    /// from the journal) instead of leaving its target silently unsynced while status says "syncing".
    /// The task returned ends with the loop and never faults: the error is reported here, once, and a stop that
    /// waits for the loop goes on with the others.</summary>
    private Task Observed(Task loop, string what) => loop.ContinueWith(
        t =>
        {
            if (t.Exception?.GetBaseException() is { } error)
            {
                LoopCrashed(what, error);
                Fail(PipelineFault.LoopCrashed, $"{what} ended with an error: {error.Message}");
            }
        },
        CancellationToken.None,
        TaskContinuationOptions.ExecuteSynchronously,
        TaskScheduler.Default);

    private void Fail(PipelineFault fault, string message)
    {
        _faulted = true;
        Faulted?.Invoke(this, new PipelineFaultedEventArgs(fault, message));
    }

    private sealed class CompositeHold(List<IDisposable> holds) : IDisposable
    {
        public void Dispose() => holds.ForEach(h => h.Dispose());
    }

    /// <summary>One watched root's part of the pipeline.</summary>
    private sealed class Root(WatchConfig watch, List<TargetWorker> workers, List<HookWorker> hooks, TargetAcknowledgements acks)
    {
        public WatchConfig Watch { get; } = watch;

        public List<TargetWorker> Workers { get; } = workers;

        public List<HookWorker> Hooks { get; } = hooks;

        /// <summary>Every consumer of the root's journal: the targets, then the hooks.</summary>
        public List<IChangeSink> Sinks { get; } = [.. workers, .. hooks];

        /// <summary>What the targets have acknowledged: the hooks wait on it. Shared by this root's hooks.</summary>
        public TargetAcknowledgements Acks { get; } = acks;

        public Channel<FileChange> Channel { get; } = System.Threading.Channels.Channel.CreateUnbounded<FileChange>(new UnboundedChannelOptions { SingleReader = true });

        public ChangeJournal? Journal { get; set; }

        public InotifyWatcher? Watcher { get; set; }

        public RootDispatcher? Dispatcher { get; set; }

        public Task? DispatchTask { get; set; }

        /// <summary>When the stop's cookie barrier began and came back (every event queued before it began was read);
        /// null when it did not come back.</summary>
        public (DateTimeOffset Began, DateTimeOffset Ended)? Barrier { get; set; }
    }
}
