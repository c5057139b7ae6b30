using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using SerSync.Configuration;
using SerSync.Filtering;
using SerSync.Paths;
using SerSync.Processes;
using SerSync.Rsync;
using SerSync.Scheduling;
using SerSync.Testing;

namespace SerSync.UnitTests.Scheduling;

/// <summary>The scheduled audit on a fake clock, with a runner that prints itemized lines as rsync would: each target
/// audited under its hold, its result kept, and with repair the paths queued as changes (never a full sync).</summary>
public sealed class AuditSchedulerTests
{
    private static readonly DateTimeOffset T0 = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);
    private const string P = ItemizedChangeParser.Prefix;

    private static SyncTarget Target(string name) =>
        new("/www", new RemoteConfig(RemoteKind.LocalDirectory, null, null, "/mirror/" + name, 1), RsyncConfig.Stock, Delete: true);

    /// <summary>Answers each dry run with the lines and exit code given for its destination; records whether the
    /// target's hold was held while it ran.</summary>
    private sealed class PrintingRunner(Func<string, (int Code, string[] Lines)> answer, Func<string, bool> held) : IProcessRunner
    {
        private int _running;
        private int _maxRunning;

        public List<(string Destination, bool Held, IReadOnlyList<string> Arguments)> Runs { get; } = [];

        /// <summary>When set, each run lasts until this completes.</summary>
        public TaskCompletionSource? Block { get; set; }

        public int MaxConcurrent => Volatile.Read(ref _maxRunning);

        public string Program => "rsync";

        public async Task<ProcessResult> RunAsync(ProcessInvocation invocation, TimeSpan lifetime, CancellationToken cancellationToken, Action<string>? stdoutLine = null)
        {
            var destination = invocation.Arguments[^1];
            lock (Runs)
            {
                Runs.Add((destination, held(destination), invocation.Arguments));
                _maxRunning = Math.Max(_maxRunning, ++_running);
            }

            try
            {
                if (Block is { } block)
                {
                    await block.Task.WaitAsync(cancellationToken);
                }

                var (code, lines) = answer(destination);
                foreach (var line in lines)
                {
                    stdoutLine?.Invoke(line);
                }

                return new ProcessResult(code, code == 0 ? string.Empty : "rsync: failed to connect to 127.0.0.1: Connection refused (111)", TimeSpan.FromMilliseconds(5), false);
            }
            finally
            {
                lock (Runs)
                {
                    _running--;
                }
            }
        }
    }

    private sealed class Fixture
    {
        private readonly HashSet<string> _held = [];

        public Fixture(bool repair, Func<string, (int Code, string[] Lines)> answer, params SyncTarget[] targets)
            : this(repair, null, answer, targets)
        {
        }

        public Fixture(bool repair, SemaphoreSlim? slots, Func<string, (int Code, string[] Lines)> answer, params SyncTarget[] targets)
            : this(repair, slots, null, answer, targets)
        {
        }

        public Fixture(bool repair, SemaphoreSlim? slots, Func<SyncTarget, RelativePath, bool>? pending, Func<string, (int Code, string[] Lines)> answer, params SyncTarget[] targets)
        {
            Targets = targets;
            Runner = new PrintingRunner(answer, d => { lock (_held) { return _held.Contains(d); } });
            Scheduler = new AuditScheduler(
                new AuditConfig(true, 10, repair),
                () => Targets,
                new PathFilter(),
                new DriftAudit(Runner, Time, NullLogger.Instance),
                HoldAsync,
                (t, changes) =>
                {
                    lock (Repairs)
                    {
                        Repairs.Add((t, changes));
                    }

                    return changes.Count;
                },
                Results,
                Time,
                NullLogger.Instance,
                slots,
                pending);
        }

        public FakeTimeProvider Time { get; } = new(T0);

        public IReadOnlyList<SyncTarget> Targets { get; }

        public PrintingRunner Runner { get; }

        public AuditResults Results { get; } = new();

        public List<(SyncTarget Target, IReadOnlyList<FileChange> Changes)> Repairs { get; } = [];

        public AuditScheduler Scheduler { get; }

        private Task<IDisposable> HoldAsync(SyncTarget target, CancellationToken cancellationToken)
        {
            lock (_held)
            {
                Assert.True(_held.Add(target.Destination), "a target held twice at once");
            }

            return Task.FromResult<IDisposable>(new Release(() =>
            {
                lock (_held)
                {
                    _held.Remove(target.Destination);
                }
            }));
        }

        private sealed class Release(Action release) : IDisposable
        {
            public void Dispose() => release();
        }
    }

    private static readonly string[] Drifted =
    [
        "sending incremental file list",
        P + "*deleting   extra.txt",
        P + "*deleting   .#lock", // editor noise: never drift
        P + ">f.st...... changed.txt",
        P + "cd+++++++++ newdir/",
        P + ">f+++++++++ newdir/new\\#012line",
        P + ".f...p..... chmodded.sh",
    ];

    [Fact]
    public async Task Runs_on_the_clock_audits_each_target_under_its_hold_and_keeps_the_result()
    {
        var a = Target("a");
        var b = Target("b");
        var f = new Fixture(repair: false, d => d == a.Destination ? (0, Drifted) : (0, []), a, b);
        using var cts = new CancellationTokenSource();
        var loop = f.Scheduler.RunAsync(cts.Token);

        await Eventually.TrueAsync(() => f.Scheduler.NextRunDue == T0.AddMinutes(10), Timeout, "the first audit waits one period", TestContext.Current.CancellationToken);
        f.Time.Advance(TimeSpan.FromMinutes(10) - TimeSpan.FromSeconds(1));
        Assert.Empty(f.Runner.Runs);
        Assert.Null(f.Results.For(a));
        f.Time.Advance(TimeSpan.FromSeconds(1));
        await Eventually.TrueAsync(() => f.Results.For(a) is not null && f.Results.For(b) is not null, Timeout, "both targets audited", TestContext.Current.CancellationToken);

        Assert.All(f.Runner.Runs, r => Assert.True(r.Held, $"{r.Destination} audited without its hold"));
        Assert.All(f.Runner.Runs, r => Assert.Contains("--dry-run", r.Arguments));
        Assert.Equal(new AuditSummary(T0.AddMinutes(10), 5, 2, 2, 1, 0, null), f.Results.For(a));
        Assert.Equal(new AuditSummary(T0.AddMinutes(10), 0, 0, 0, 0, 0, null), f.Results.For(b.Id));
        Assert.Empty(f.Repairs); // repair is off

        await cts.CancelAsync();
        await loop.WaitAsync(Timeout, TestContext.Current.CancellationToken);
        Assert.Equal(1, f.Scheduler.Runs);
    }

    [Fact]
    public async Task Repair_queues_the_paths_as_rechecks_a_target_only_path_as_a_delete()
    {
        var a = Target("a");
        var f = new Fixture(repair: true, _ => (0, Drifted), a);
        await f.Scheduler.RunOnceAsync(TestContext.Current.CancellationToken);

        var (target, changes) = Assert.Single(f.Repairs);
        Assert.Equal(a, target);
        FileChange Change(ChangeKind kind, string path, bool dir) => new(kind, RelativePath.FromString(path), dir, ChangeEvent.Recheck);
        Assert.Equal(
            [
                Change(ChangeKind.Delete, "extra.txt", false),
                Change(ChangeKind.Upsert, "changed.txt", false),
                Change(ChangeKind.Upsert, "newdir", true),
                Change(ChangeKind.Upsert, "newdir/new\nline", false),
                Change(ChangeKind.Upsert, "chmodded.sh", false),
            ],
            changes);
        Assert.All(changes, c => Assert.Equal(ChangeEvent.Recheck, c.Event)); // record equality ignores the event
        Assert.DoesNotContain(changes, c => c.Kind == ChangeKind.Rescan);
        Assert.Equal(5, f.Results.For(a)!.Queued);
    }

    [Fact]
    public async Task A_target_that_cannot_be_reached_is_recorded_with_why_and_the_others_are_still_audited()
    {
        var down = Target("down");
        var up = Target("up");
        var f = new Fixture(repair: true, d => d == down.Destination ? (10, []) : (0, Drifted), down, up);
        await f.Scheduler.RunOnceAsync(TestContext.Current.CancellationToken);

        var failed = f.Results.For(down)!;
        Assert.False(failed.Succeeded);
        Assert.Equal("rsync exit 10 (error in socket I/O)", failed.Error);
        Assert.Equal(0, failed.DriftPaths);
        Assert.Equal(5, f.Results.For(up)!.DriftPaths);
        Assert.Equal(up, Assert.Single(f.Repairs).Target); // nothing queued for the target that was not checked
    }

    [Fact]
    public async Task A_target_that_does_not_delete_is_audited_without_delete()
    {
        var keeps = Target("keeps") with { Delete = false };
        var f = new Fixture(repair: false, _ => (0, []), keeps);
        await f.Scheduler.RunOnceAsync(TestContext.Current.CancellationToken);
        Assert.DoesNotContain("--delete", Assert.Single(f.Runner.Runs).Arguments);
        Assert.True(f.Results.For(keeps)!.Succeeded);
    }

    [Fact]
    public async Task Audits_share_the_rsync_slots_with_the_batches()
    {
        using var slots = new SemaphoreSlim(1);
        var f = new Fixture(false, slots, _ => (0, []), Target("a"), Target("b"), Target("c"));
        f.Runner.Block = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var run = f.Scheduler.RunOnceAsync(TestContext.Current.CancellationToken);
        await Eventually.TrueAsync(() => f.Runner.Runs.Count == 1, Timeout, "the first audit runs", TestContext.Current.CancellationToken);
        Assert.Equal(0, slots.CurrentCount); // the audit holds the only slot; the others wait for it
        f.Runner.Block.SetResult();
        await run.WaitAsync(Timeout, TestContext.Current.CancellationToken);
        Assert.Equal(3, f.Runner.Runs.Count);
        Assert.Equal(1, f.Runner.MaxConcurrent);
        Assert.Equal(1, slots.CurrentCount);
    }

    [Fact]
    public async Task Paths_with_changes_already_queued_are_not_drift_and_not_queued_again()
    {
        var a = Target("a");
        var f = new Fixture(true, null, (t, path) => t == a && path.IsAtOrBelow(RelativePath.FromString("newdir")), _ => (0, Drifted), a);
        await f.Scheduler.RunOnceAsync(TestContext.Current.CancellationToken);
        Assert.Equal(new AuditSummary(T0, 3, 0, 2, 1, 3, null), f.Results.For(a));
        Assert.DoesNotContain(Assert.Single(f.Repairs).Changes, c => c.Path.IsAtOrBelow(RelativePath.FromString("newdir")));
    }
}
