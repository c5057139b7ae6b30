// Implementation notes. A hook is one more consumer of the root's journal, beside the targets: the dispatcher
// hands it every change (Enqueue, under the dispatcher's lock, so sequences arrive in order) and it acknowledges
// under its own id once the plugin has them, so a crash or restart gives back exactly what was not delivered. A
// change becomes deliverable when every target of the root has acknowledged its sequence, or when it has waited
// MaxDelay (a target that keeps failing); since acknowledgements only grow and arrival times follow sequences,
// the deliverable entries are always a prefix of the queue. Failed changes are carried into the next attempt, in
// front of newer ones, with backoff; the acknowledgement never passes the oldest change still carried. Threads:
// Enqueue (dispatcher), RunAsync (one task), status readers and the acknowledgement callback share state under
// _gate; no I/O and no awaiting under it. Timers: a TimeProvider arms a timer for a span computed from one reading
// of the clock, so a clock moved in between (a test's FakeTimeProvider) leaves it late by the jump; TimerDue is shown
// only once the timer is armed and no wake is queued behind it (wakes clear it under _gate), so whoever moves the
// clock after seeing it moves a timer that exists, for a wait that is still current.
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using SerSync.FailLog;
using SerSync.Paths;
using SerSync.Plugins;
using SerSync.Targets;

namespace SerSync.Hooks;

/// <summary>
/// One plugin's queue and worker for one root: waits until the targets have a change (at most
/// <see cref="MaxDelay"/>), batches what is deliverable, coalesced by path, hands it to the plugin, retries what
/// failed with backoff (1 s doubling to 30 s), writes the third failure in a row to sersync's fail log (when the
/// plugin can), and acknowledges what was delivered to the journal.
/// </summary>
public sealed partial class HookWorker : IChangeSink
{
    private const int FailLogAfterAttempts = 3;

    private readonly IHookPlugin _plugin;
    private readonly HookScope _scope;
    private readonly TargetAcknowledgements _targets;
    private readonly BatchPolicy _batching;
    private readonly FailLogWriter? _failLog;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly LinkedList<Entry> _queue = new();
    private readonly Dictionary<RelativePath, LinkedListNode<Entry>> _queued = [];
    private readonly List<(HookChange Change, long Sequence)> _carry = [];
    private readonly Backoff _backoff = new(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30));
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private DateTimeOffset? _retryAt;
    private DateTimeOffset? _timerDue;
    private DateTimeOffset? _lastRunEnded;
    private long _lastTaken;
    private long _acknowledged;
    private int _failures;
    private bool _running;
    private volatile bool _draining;

    public HookWorker(IHookPlugin plugin, HookScope scope, TargetAcknowledgements targets, TimeSpan maxDelay, BatchPolicy batching, FailLogWriter? failLog, TimeProvider time, ILogger<HookWorker> logger)
    {
        _plugin = plugin;
        _scope = scope;
        _targets = targets;
        MaxDelay = maxDelay;
        _batching = batching;
        _failLog = failLog;
        _time = time;
        _logger = logger;
        targets.Changed += Wake;
    }

    /// <summary>The journal id of this hook: one per plugin within a root's journal.</summary>
    public static string IdOf(string pluginName) => "plugin-" + pluginName;

    public string Id => IdOf(_plugin.Name);

    public IHookPlugin Plugin => _plugin;

    /// <summary>The hook loop's proof that it turns, for the watchdog; <see cref="Heartbeat.None"/> unless watched.</summary>
    public Heartbeat Heartbeat { get; set; } = Heartbeat.None;

    public HookScope Scope => _scope;

    /// <summary>How long a change waits for targets that do not have it before the hook fires anyway.</summary>
    public TimeSpan MaxDelay { get; }

    /// <summary>Called with the highest journal sequence delivered (or not for this plugin) with nothing older left.</summary>
    public Action<long>? Delivered { get; set; }

    /// <summary>For tests: when the armed timer of the worker's wait goes off (a batch due, a retry, maxDelay), while
    /// nothing newer has woken it; null otherwise. A fake clock moved once this is set moves a timer that exists.</summary>
    internal DateTimeOffset? TimerDue
    {
        get
        {
            lock (_gate)
            {
                return _timerDue;
            }
        }
    }

    /// <summary>Changes waiting (for the targets, or to be retried).</summary>
    public int PendingCount
    {
        get
        {
            lock (_gate)
            {
                return _queue.Count + _carry.Count;
            }
        }
    }

    /// <summary>True while a stop should wait: a delivery runs, or something is deliverable and the plugin is not
    /// failing (what a failing plugin, or a failing target, holds back stays in the journal instead).</summary>
    public bool HasWorkToDrain
    {
        get
        {
            lock (_gate)
            {
                return _running || (_failures == 0 && (_carry.Count > 0 || (_queue.First is { } head && IsDeliverable(head.Value, _time.GetUtcNow()))));
            }
        }
    }

    /// <summary>Set when the pipeline stops: deliverable changes leave at once.</summary>
    public bool Draining
    {
        get => _draining;
        set
        {
            _draining = value;
            Wake();
        }
    }

    /// <summary>
    /// Queues a change. A path already waiting (not yet taken) is merged into this newer entry: it then fires once,
    /// when the targets have the newer change, and keeps the older arrival for <see cref="MaxDelay"/>. The journal
    /// can be acknowledged past the older record, since the newer one for the same path stays unacknowledged.
    /// </summary>
    public void Enqueue(FileChange change, long sequence)
    {
        lock (_gate)
        {
            var arrived = _time.GetUtcNow();
            if (change.Event != ChangeEvent.Recheck && _queued.Remove(change.Path, out var older))
            {
                _queue.Remove(older);
                arrived = older.Value.Arrived;
                change = change with { Event = CoalesceEvent(older.Value.Change.Event, change.Event) };
            }

            var node = _queue.AddLast(new Entry(sequence, change, arrived));
            if (change.Event != ChangeEvent.Recheck)
            {
                _queued[change.Path] = node;
            }
        }

        Wake();
    }

    /// <summary>Wakes the worker; the timer it waits on is no longer the whole story until it has looked again.</summary>
    private void Wake()
    {
        lock (_gate)
        {
            _wake.Writer.TryWrite(true);
            _timerDue = null;
        }
    }

    public async Task RunAsync(CancellationToken stoppingToken)
    {
        Heartbeat.Start();
        var crashed = false;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                Heartbeat.Beat();
                var work = await WaitForWorkAsync(stoppingToken);
                if (work is null)
                {
                    return;
                }

                await DeliverAsync(work, stoppingToken);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            crashed = true; // stays counted: its beats stop, so the watchdog sees it
            throw;
        }
        finally
        {
            if (!crashed)
            {
                Heartbeat.Stop();
            }
        }
    }

    // After maxDelay only a failing target is given up on: a healthy one that is slow (a large file) is waited for.
    private bool IsDeliverable(Entry entry, DateTimeOffset now) =>
        _targets.AllHave(entry.Sequence) || (now >= entry.Arrived + MaxDelay && _targets.AllLackingFail(entry.Sequence));

    private async Task<Work?> WaitForWorkAsync(CancellationToken token)
    {
        while (true)
        {
            DateTimeOffset? wakeAt = null;
            lock (_gate)
            {
                var now = _time.GetUtcNow();
                var deliverable = 0;
                DateTimeOffset? oldest = null, newest = null;
                for (var node = _queue.First; node is not null && deliverable < _plugin.MaxBatch && IsDeliverable(node.Value, now); node = node.Next)
                {
                    deliverable++;
                    oldest ??= node.Value.Arrived;
                    newest = node.Value.Arrived;
                }

                if (deliverable > 0 || _carry.Count > 0)
                {
                    var due = Draining || oldest is null ? now : _batching.DueAt(oldest.Value, newest!.Value, _lastRunEnded);
                    if (_retryAt is { } retry && retry > due)
                    {
                        due = retry;
                    }

                    if (due <= now)
                    {
                        _running = true;
                        return Take(deliverable, now);
                    }

                    wakeAt = due;
                }

                if (_queue.First is { } waiting && !IsDeliverable(waiting.Value, now))
                {
                    // Past maxDelay with a healthy target still syncing: look again each second (a target's state
                    // change wakes nobody; its acknowledgement does).
                    var limit = waiting.Value.Arrived + MaxDelay;
                    limit = limit > now ? limit : now + TimeSpan.FromSeconds(1);
                    wakeAt = wakeAt is { } w && w < limit ? w : limit;
                }
            }

            try
            {
                var wake = _wake.Reader.WaitToReadAsync(token).AsTask();
                if (wakeAt is { } at)
                {
                    using var cancelDelay = CancellationTokenSource.CreateLinkedTokenSource(token);
                    var wait = at - _time.GetUtcNow();
                    var delay = Task.Delay(wait > TimeSpan.Zero ? wait : TimeSpan.Zero, _time, cancelDelay.Token);
                    lock (_gate)
                    {
                        // Armed now; not shown if a wake came in since the queue was read (it is looked at again).
                        _timerDue = _wake.Reader.Count == 0 ? at : null;
                    }

                    await Heartbeat.AwaitAsync(Task.WhenAny(wake, delay));
                    await cancelDelay.CancelAsync();
                    lock (_gate)
                    {
                        _timerDue = null;
                    }
                }
                else
                {
                    await Heartbeat.AwaitAsync(wake);
                }

                _wake.Reader.TryRead(out _);
            }
            catch (OperationCanceledException)
            {
                return null;
            }

            if (token.IsCancellationRequested)
            {
                return null;
            }
        }
    }

    /// <summary>Takes the carried changes and <paramref name="count"/> deliverable entries, coalesced by path (under _gate).</summary>
    private Work Take(int count, DateTimeOffset now)
    {
        var merged = new Dictionary<RelativePath, (HookChange Change, long Sequence)>();
        var order = new List<RelativePath>();
        void Add(HookChange change, long sequence)
        {
            if (merged.TryGetValue(change.Path, out var older))
            {
                order.Remove(change.Path);
                change = Coalesce(older.Change, change);
                sequence = Math.Min(sequence, older.Sequence);
            }

            merged[change.Path] = (change, sequence);
            order.Add(change.Path);
        }

        foreach (var (change, sequence) in _carry)
        {
            Add(change, sequence);
        }

        _carry.Clear();
        long lateUpTo = 0;
        for (var i = 0; i < count; i++)
        {
            var entry = _queue.First!.Value;
            _queue.RemoveFirst();
            if (_queued.TryGetValue(entry.Change.Path, out var node) && node.Value == entry)
            {
                _queued.Remove(entry.Change.Path);
            }

            _lastTaken = entry.Sequence;
            if (!_targets.AllHave(entry.Sequence))
            {
                lateUpTo = entry.Sequence; // deliverable only because it waited MaxDelay
            }

            if (_scope.Map(entry.Change) is { } change)
            {
                Add(change, entry.Sequence);
            }
        }

        var lacking = lateUpTo > 0 ? _targets.Lacking(lateUpTo) : [];
        return new Work([.. order.Select(p => merged[p])], lacking, now);
    }

    /// <summary>Two changes of one path in one batch: the later wins, except that a path created (or moved in) and
    /// then written is still reported as created, since the receiver has not seen it before.</summary>
    internal static HookChange Coalesce(HookChange older, HookChange newer) => newer with { Event = CoalesceEvent(older.Event, newer.Event) };

    private static ChangeEvent CoalesceEvent(ChangeEvent older, ChangeEvent newer) =>
        older is ChangeEvent.Create or ChangeEvent.MoveTo
        && newer is ChangeEvent.Modify or ChangeEvent.CloseWrite or ChangeEvent.Attrib or ChangeEvent.Unknown
            ? older
            : newer;

    private async Task DeliverAsync(Work work, CancellationToken token)
    {
        if (work.Lacking.Count > 0 && work.Changes.Count > 0)
        {
            FiringWithoutTargets(_plugin.Label, string.Join(", ", work.Lacking), MaxDelay.TotalSeconds);
        }

        HookOutcome outcome = HookOutcome.Delivered;
        var batch = new HookBatch(_scope.Root, _scope.PluginRoot, [.. work.Changes.Select(c => c.Change)]);
        if (batch.Changes.Count > 0)
        {
            try
            {
                // Each transport bounds its own delivery (a command's lifetime, a socket's or a request's timeout).
                outcome = await Heartbeat.AwaitAsync(_plugin.DeliverAsync(batch, token));
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // A plugin bug must not end the hook: report it as a failure of the whole batch, retried like any.
                outcome = new HookOutcome(batch.Changes, token.IsCancellationRequested ? "stopped" : ex.Message);
            }
        }

        var ended = _time.GetUtcNow();
        long? acknowledge = null;
        lock (_gate)
        {
            _running = false;
            _lastRunEnded = ended;
            if (outcome.Succeeded)
            {
                _failures = 0;
                _retryAt = null;
                _backoff.Reset();
            }
            else
            {
                var failed = outcome.Failed.Select(c => c.Path).ToHashSet();
                _carry.AddRange(work.Changes.Where(c => failed.Contains(c.Change.Path)));
                _failures++;
                _retryAt = ended + _backoff.Next();
            }

            var floor = _carry.Count > 0 ? Math.Min(_carry.Min(c => c.Sequence) - 1, _lastTaken) : _lastTaken;
            if (floor > _acknowledged)
            {
                _acknowledged = floor;
                acknowledge = floor;
            }
        }

        if (acknowledge is { } sequence)
        {
            Delivered?.Invoke(sequence);
        }

        if (outcome.Succeeded)
        {
            if (batch.Changes.Count > 0)
            {
                BatchDelivered(_plugin.Label, batch.Changes.Count);
            }

            return;
        }

        if (token.IsCancellationRequested)
        {
            return; // stopping: what was not delivered stays in the journal
        }

        int failures;
        DateTimeOffset retryAt;
        lock (_gate)
        {
            failures = _failures;
            retryAt = _retryAt!.Value;
        }

        var retryIn = (retryAt - ended).TotalSeconds;
        if (outcome.ExitCode is { } exit)
        {
            RunFailed(_plugin.Label, outcome.Failed.Count, batch.Changes.Count, exit, outcome.Message, failures, retryIn);
        }
        else
        {
            BatchFailed(_plugin.Label, outcome.Failed.Count, batch.Changes.Count, outcome.Message, failures, retryIn);
        }

        if (failures == FailLogAfterAttempts && _failLog is not null)
        {
            var failedBatch = batch with { Changes = outcome.Failed };
            try
            {
                _plugin.WriteFailLog(_failLog, failedBatch, outcome, _time.GetLocalNow());
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // Never the end of the hook: the run is still retried; only the record is missing.
                FailLogUnwritable(_plugin.Label, _failLog.Path, ex.Message);
            }
        }
    }

    private sealed record Entry(long Sequence, FileChange Change, DateTimeOffset Arrived);

    private sealed record Work(IReadOnlyList<(HookChange Change, long Sequence)> Changes, List<string> Lacking, DateTimeOffset Taken);
}
