using System.Runtime.InteropServices;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SerSync.Configuration;
using SerSync.FailLog;
using SerSync.Filtering;
using SerSync.Journal;
using SerSync.Paths;
using SerSync.Pipeline;
using SerSync.Processes;
using SerSync.Rsync;
using SerSync.Targets;
using SerSync.Watching;

namespace SerSync.Daemon;

/// <summary>What the daemon was asked to do at start.</summary>
/// <param name="StateDirectory">Where journals live; null keeps no journal (pending changes die with the process).</param>
public sealed record MirrorOptions(int Workers, bool FullPushFirst, TimeSpan DrainTimeout, string? StateDirectory = null)
{
    /// <summary>How far before the last "everything journaled" mark the catch-up scan looks, for events that were
    /// still in the kernel's queue or the watcher's hands.</summary>
    public TimeSpan CatchUpMargin { get; init; } = TimeSpan.FromSeconds(5);
}

/// <summary>
/// The running daemon: places every watch, runs the <c>-r</c> push if asked, reports READY=1, then feeds changes
/// from each root's watcher to that root's target workers until stopped. Ordering at start matters: watches go
/// first so nothing changed during the push is missed, and the workers start only after the push so a live batch
/// can never be overwritten by an older copy the push read earlier. On SIGTERM the watchers stop, the workers drain
/// what is pending within <see cref="MirrorOptions.DrainTimeout"/>, and the process exits 0.
/// </summary>
public sealed class MirrorService(
    SerSyncConfig config,
    MirrorOptions options,
    SystemdNotifier notifier,
    TimeProvider time,
    IHostApplicationLifetime lifetime,
    ILogger<MirrorService> logger) : BackgroundService
{
    private static readonly TimeSpan StatusInterval = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan ReloadDrainTimeout = TimeSpan.FromSeconds(10);
    private SerSyncConfig _config = config;
    private CancellationTokenSource? _reload;
    private HashSet<string>? _previousTargets;
    private volatile bool _fatal;
    private readonly List<InotifyWatcher> _watchers = [];
    private readonly List<TargetWorker> _workers = [];
    private readonly List<ChangeJournal> _journals = [];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var hup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
        {
            context.Cancel = true; // SIGHUP reloads; it must not end the process
            Reload();
        });
        var first = true;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                using var reload = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                Volatile.Write(ref _reload, reload);
                try
                {
                    await RunAsync(first && options.FullPushFirst, reload.Token, stoppingToken);
                }
                finally
                {
                    DisposeRun();
                }

                first = false;
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            logger.LogCritical("{Message}", ex.Message);
            notifier.Status("failed: " + ex.Message);
            Environment.ExitCode = ex is WatchLimitException or RootLostException ? 71 : 70;
            lifetime.StopApplication();
        }
    }

    /// <summary>
    /// SIGHUP: re-reads the config file. An invalid file is refused with the same message as <c>-t</c> and the running
    /// configuration stays. A valid one replaces the pipeline: watchers stop, workers send what they can within a
    /// short bound, and the new pipeline starts from the journal (nothing pending is lost) plus a catch-up scan for
    /// the moment without watches. The state directory, workers and log settings from the command line stay.
    /// </summary>
    private void Reload()
    {
        try
        {
            var next = ConfigLoader.Load(_config.SourceFile);
            Volatile.Write(ref _config, next);
            logger.LogInformation("SIGHUP: reloading {File}", next.SourceFile);
            notifier.Send("RELOADING=1\nSTATUS=reloading configuration");
            Volatile.Read(ref _reload)?.Cancel();
        }
        catch (ConfigException ex)
        {
            logger.LogError("SIGHUP: the new configuration is refused and the running one stays: {Message}", ex.Message);
            notifier.Status("reload refused: " + ex.Message);
        }
    }

    private void DisposeRun()
    {
        _previousTargets = [.. _workers.Select(w => w.JournalId)];
        foreach (var watcher in _watchers)
        {
            watcher.Dispose();
        }

        _journals.ForEach(j => j.Dispose());
        _workers.ForEach(w => w.Dispose());
        _watchers.Clear();
        _journals.Clear();
        _workers.Clear();
    }

    /// <param name="runToken">Cancelled to end this pipeline: on stop, or on a reload.</param>
    /// <param name="stoppingToken">Cancelled only when the process stops.</param>
    private async Task RunAsync(bool fullPushFirst, CancellationToken runToken, CancellationToken stoppingToken)
    {
        var config = Volatile.Read(ref _config);
        var filter = PipelineFactory.CreateFilter(config);
        var slots = new SemaphoreSlim(options.Workers);
        var failLog = PipelineFactory.CreateFailLog(config);
        var runner = new ProcessRunner(logger);
        var policy = BatchPolicy.Default;
        var dispatchers = new List<Task>();
        var channels = new List<ChannelWriter<FileChange>>();
        var placed = 0;

        notifier.Status("placing watches");
        var roots = new List<RootDispatcher>();
        foreach (var watch in config.Watches)
        {
            var channel = Channel.CreateUnbounded<FileChange>(new UnboundedChannelOptions { SingleReader = true });
            var rootWorkers = watch.Remotes
                .Select(r => new TargetWorker(new SyncTarget(watch.Path, r, config.Rsync, config.Inotify.Delete), runner, slots, failLog, policy, time, logger, filter))
                .ToList();
            _workers.AddRange(rootWorkers);
            ChangeJournal? journal = null;
            if (options.StateDirectory is { } state)
            {
                journal = ChangeJournal.Open(state, watch.Path, rootWorkers.Select(w => w.JournalId), time, options.CatchUpMargin);
                _journals.Add(journal);
                rootWorkers.ForEach(w => w.Journal = journal);
            }

            var offset = placed;
            var progress = new Progress<int>(n => notifier.Status($"placing watches: {offset + n} directories"));
            InotifyWatcher NewWatcher()
            {
                var w = new InotifyWatcher(watch.Path, config.Inotify, filter, channel.Writer, logger, progress);
                w.RootLost += (_, e) => Fail($"watched root {e.Root} was lost ({e.Reason}): stopping, since syncing a missing root would empty the targets");
                w.Faulted += (_, e) => Fail($"watching {watch.Path} failed: {e.Exception.Message}");
                return w;
            }

            var watcher = StartWatcher(NewWatcher, filter);
            _watchers.Add(watcher);
            placed += watcher.WatchCount;

            var dispatcher = new RootDispatcher(channel.Reader, rootWorkers, journal, time);
            roots.Add(dispatcher);
            channels.Add(channel.Writer);
            if (journal is not null)
            {
                Recover(watch.Path, journal, dispatcher, filter);
            }

            if (_previousTargets is { } previous)
            {
                // A target added by a reload has none of the tree yet: it gets one full sync, through its worker.
                foreach (var added in rootWorkers.Where(w => !previous.Contains(w.JournalId)))
                {
                    logger.LogInformation("{Target}: new in the reloaded configuration; a full sync is queued", added.Target.Label);
                    added.Enqueue(new FileChange(ChangeKind.Rescan, default, true));
                }
            }

            dispatchers.Add(dispatcher.RunAsync());
        }

        if (fullPushFirst)
        {
            notifier.Status($"watching {placed} directories; full push to {_workers.Count} target(s)");
            var push = new FullPush(runner, slots, failLog, time, logger);
            var results = await push.RunAsync([.. _workers.Select(w => w.Target)], PipelineFactory.FullPushExclusion(filter), [], runToken);
            foreach (var failed in results.Where(r => !r.Result.Succeeded))
            {
                // Not lost: the target gets a full sync from its own worker, with retries.
                var rescan = new FileChange(ChangeKind.Rescan, default, true);
                var root = roots.First(r => r.Workers.Any(w => w.Target == failed.Target));
                root.Submit([rescan]); // journaled; every target of the root re-checks, which is cheap when in sync
            }
        }

        using var drain = new CancellationTokenSource();
        var workerTasks = _workers.Select(w => w.RunAsync(drain.Token)).ToList();
        notifier.Ready(StatusLine());
        logger.LogInformation("sersyncd ready: {Status}", StatusLine());
        var background = StartSchedules(config, runner, slots, failLog, filter, runToken);

        try
        {
            while (!runToken.IsCancellationRequested)
            {
                await Task.Delay(StatusInterval, time, runToken);
                notifier.Status(StatusLine());
            }
        }
        catch (OperationCanceledException)
        {
        }

        var stopping = stoppingToken.IsCancellationRequested;
        if (stopping)
        {
            notifier.Stopping("stopping: sending pending changes");
        }

        await Task.WhenAll(background);
        // Let events already queued in the kernel be read before the watches go: wait until the watchers have been
        // quiet for a moment (bounded), so a change made just before SIGTERM is still sent.
        var settleUntil = time.GetUtcNow() + TimeSpan.FromSeconds(1);
        while (time.GetUtcNow() < settleUntil && roots.Any(r => time.GetUtcNow() - r.LastSubmit < TimeSpan.FromMilliseconds(150)))
        {
            await Task.Delay(TimeSpan.FromMilliseconds(25), time);
        }

        foreach (var watcher in _watchers)
        {
            watcher.Dispose();
        }

        // The watchers have stopped writing: close the channels so the dispatchers hand over the rest and end.
        channels.ForEach(c => c.TryComplete());
        await Task.WhenAll(dispatchers);
        await DrainAsync(drain, workerTasks, stopping ? options.DrainTimeout : ReloadDrainTimeout);
    }

    /// <summary>The crontab full push and the fail-log replay; both hold off the live batches of what they write.</summary>
    private List<Task> StartSchedules(SerSyncConfig config, IProcessRunner runner, SemaphoreSlim slots, FailLogWriter? failLog, PathFilter filter, CancellationToken stoppingToken)
    {
        var tasks = new List<Task>();
        if (config.Crontab.Enabled)
        {
            var push = new FullPush(runner, slots, failLog, time, logger);
            var cron = new Scheduling.CrontabScheduler(
                config.Crontab,
                () => [.. _workers.Select(w => w.Target)],
                PipelineFactory.FullPushExclusion(filter),
                async (targets, isExcluded, extra, ct) => await Task.WhenAll(targets.Select(async t =>
                {
                    using var hold = await WorkerOf(t).HoldAsync(ct);
                    return (await push.RunAsync([t], isExcluded, extra, ct))[0];
                })),
                behind => WorkerOf(behind.Target).Enqueue(new FileChange(ChangeKind.Rescan, default, true)),
                time,
                logger);
            tasks.Add(cron.RunAsync(stoppingToken));
        }

        if (failLog is not null)
        {
            var replayer = new FailLogReplayer(config.FailLog, RsyncExitCodes.Describe, time, logger);
            tasks.Add(new Scheduling.FailLogReplayScheduler(replayer, time, logger) { Exclusive = HoldAllAsync }.RunAsync(stoppingToken));
        }

        return tasks;
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

    private sealed class CompositeHold(List<IDisposable> holds) : IDisposable
    {
        public void Dispose() => holds.ForEach(h => h.Dispose());
    }

    /// <summary>
    /// Puts back what the previous run had not synced: the journal's unacknowledged changes per target, then what
    /// the catch-up scan finds changed since the last moment everything was journaled (journaled itself, so a
    /// second crash loses nothing either). Runs after the watches are placed, so nothing falls between.
    /// </summary>
    private void Recover(string root, ChangeJournal journal, RootDispatcher dispatcher, Filtering.PathFilter filter)
    {
        if (journal.TornTail)
        {
            logger.LogWarning("journal of {Root} ended in a damaged record (a crash while writing); it was cut there and the catch-up scan covers what followed", root);
        }

        var recovered = 0;
        foreach (var worker in dispatcher.Workers)
        {
            foreach (var record in journal.PendingFor(worker.JournalId))
            {
                worker.Enqueue(record.Change, record.Sequence);
                recovered++;
            }
        }

        var found = 0;
        if (journal.CatchUpSince is { } since)
        {
            var changes = CatchUpScan.Find(root, since, filter);
            dispatcher.Submit(changes);
            found = changes.Count;
        }

        if (recovered > 0 || found > 0)
        {
            logger.LogInformation(
                "{Root}: {Recovered} unsynced change(s) recovered from the journal, {Found} path(s) changed since {Since:u} found by the catch-up scan",
                root,
                recovered,
                found,
                journal.CatchUpSince);
        }
    }

    /// <summary>Places a root's watches. Out of watches and running as root: raises max_user_watches to what the
    /// tree needs (as sersync did, but said in the log) and places them again once; otherwise the error stands.</summary>
    private InotifyWatcher StartWatcher(Func<InotifyWatcher> create, Filtering.PathFilter filter)
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
            var raised = InotifyLimits.RaiseWatchLimitIfNeeded(ex.Needed ?? InotifyLimits.CountDirectories(root, filter));
            if (raised is null)
            {
                throw;
            }

            logger.LogWarning("{Message}", raised);
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

    private async Task DrainAsync(CancellationTokenSource drain, List<Task> workerTasks, TimeSpan timeout)
    {
        _workers.ForEach(w => w.Draining = true);
        var deadline = time.GetUtcNow() + timeout;
        // A target that is failing is not waited for (its changes stay in the journal); after a fatal error nothing is.
        bool Busy(TargetWorker w) => w.State == TargetState.Syncing || (w.PendingCount > 0 && w.State == TargetState.InSync);
        while (!_fatal && _workers.Any(Busy) && time.GetUtcNow() < deadline)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(50), time);
        }

        var left = _workers.Sum(w => w.PendingCount);
        if (left > 0)
        {
            logger.LogWarning("{Count} change(s) not yet sent; they stay in the journal for the next start", left);
        }

        await drain.CancelAsync();
        await Task.WhenAll(workerTasks);
    }

    private string StatusLine()
    {
        var watches = _watchers.Sum(w => w.WatchCount);
        var pending = _workers.Sum(w => w.PendingCount);
        var failed = _workers.Where(w => w.State is TargetState.Failed or TargetState.Retrying).Select(w => w.Target.Label).ToList();
        var line = $"watching {watches} directories; {pending} change(s) queued";
        return failed.Count == 0 ? line + "; all targets in sync or syncing" : line + "; retrying: " + string.Join(", ", failed);
    }

    private void Fail(string message)
    {
        _fatal = true;
        logger.LogCritical("{Message}", message);
        notifier.Status("failed: " + message);
        Environment.ExitCode = 71;
        lifetime.StopApplication();
    }
}
