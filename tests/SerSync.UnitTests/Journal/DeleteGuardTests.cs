using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using SerSync.Configuration;
using SerSync.Filtering;
using SerSync.Journal;
using SerSync.Paths;
using SerSync.Targets;
using SerSync.Testing;

namespace SerSync.UnitTests.Journal;

/// <summary>The delete guard between the journal and the queues, on a real tree and a real journal, its clock driven
/// by hand: what is held, what passes, and when.</summary>
public sealed class DeleteGuardTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 1, 9, 0, 0, TimeSpan.Zero));
    private readonly string _root;
    private readonly string _state;
    private readonly List<ChangeJournal> _journals = [];

    public DeleteGuardTests()
    {
        _root = _temp.Sub("root");
        _state = _temp.Sub("state");
    }

    public void Dispose()
    {
        _journals.ForEach(j => j.Dispose());
        _temp.Dispose();
    }

    [Fact]
    public void Deleting_more_than_the_share_holds_every_delete_while_a_write_still_passes()
    {
        MakeFiles(1000);
        var (dispatcher, sink) = Start();
        Submit(dispatcher, Delete(Enumerable.Range(0, 600)));
        Settle(dispatcher);

        Assert.Empty(sink.Deletes);
        Assert.Equal(600, dispatcher.Guard!.HeldCount);
        Assert.True(File.Exists(Path.Combine(_state, StableId.Of(_root), "held-deletes")));

        File.WriteAllText(Path.Combine(_root, "new.txt"), "x");
        Submit(dispatcher, [new FileChange(ChangeKind.Upsert, RelativePath.FromString("new.txt"), false, ChangeEvent.CloseWrite)]);
        Assert.Equal(["new.txt"], sink.Upserts);
        Assert.Empty(sink.Deletes);
        var snapshot = dispatcher.Guard.Snapshot();
        Assert.Equal(600, snapshot.HeldFiles);
        Assert.Equal(1, snapshot.Holds);
        Assert.Equal(_time.GetUtcNow(), snapshot.HeldSince);
    }

    [Fact]
    public void Deleting_what_was_made_within_the_trailing_window_is_churn_and_is_never_held()
    {
        MakeFiles(1000);
        var (dispatcher, sink) = Start();
        // A build writes 1,500 new files (and a directory of 100), then removes them all seconds later.
        var made = new List<FileChange>();
        for (var i = 1000; i < 2500; i++)
        {
            File.WriteAllText(Path.Combine(_root, "f" + i), "");
            made.Add(new FileChange(ChangeKind.Upsert, RelativePath.FromString("f" + i), false, ChangeEvent.Create));
        }

        Directory.CreateDirectory(Path.Combine(_root, "tmpdir"));
        for (var i = 0; i < 100; i++)
        {
            File.WriteAllText(Path.Combine(_root, "tmpdir", "x" + i), "");
        }

        made.Add(new FileChange(ChangeKind.UpsertTree, RelativePath.FromString("tmpdir"), true, ChangeEvent.Create));
        Submit(dispatcher, made);
        Assert.Equal(2600, dispatcher.Guard!.TargetFiles);

        _time.Advance(TimeSpan.FromSeconds(5));
        var gone = Delete(Enumerable.Range(1000, 1500));
        Directory.Delete(Path.Combine(_root, "tmpdir"), recursive: true);
        gone.AddRange(Enumerable.Range(0, 100).Select(i => new FileChange(ChangeKind.Delete, RelativePath.FromString("tmpdir/x" + i), false, ChangeEvent.Delete)));
        gone.Add(new FileChange(ChangeKind.Delete, RelativePath.FromString("tmpdir"), true, ChangeEvent.Delete));
        Submit(dispatcher, gone);
        Settle(dispatcher);

        Assert.Equal(0, dispatcher.Guard.HeldCount);
        Assert.Equal(1601, sink.Deletes.Count); // at once: nothing of them settles
        Assert.Equal(1000, dispatcher.Guard.TargetFiles);

        // Past the window the same names are what the targets hold: an rm of most of them is held again.
        foreach (var i in Enumerable.Range(1000, 1500))
        {
            File.WriteAllText(Path.Combine(_root, "f" + i), "");
        }

        Submit(dispatcher, [.. Enumerable.Range(1000, 1500).Select(i => new FileChange(ChangeKind.Upsert, RelativePath.FromString("f" + i), false, ChangeEvent.Create))]);
        _time.Advance(DeleteGuard.Trailing + TimeSpan.FromSeconds(1));
        dispatcher.TickGuard();
        Submit(dispatcher, Delete(Enumerable.Range(0, 2000)));
        Settle(dispatcher);
        Assert.Equal(2000, dispatcher.Guard.HeldCount);
    }

    [Fact]
    public void Deletes_of_names_written_with_createFile_off_moments_ago_are_churn_and_never_held()
    {
        MakeFiles(1000);
        var (dispatcher, sink) = Start();
        // An overflow test's burst: 5,000 short-lived files, each reported once at its close_write (fresh) or never
        // (a fresh delete), then removed; and 200 of the 1,000 old files deleted (20 %).
        var changes = new List<FileChange>();
        for (var i = 0; i < 5000; i++)
        {
            var tmp = RelativePath.FromString("tmp" + i);
            if (i % 2 == 0)
            {
                changes.Add(new FileChange(ChangeKind.Upsert, tmp, false, ChangeEvent.CloseWrite) { Fresh = true });
                changes.Add(new FileChange(ChangeKind.Delete, tmp, false, ChangeEvent.Delete));
            }
            else
            {
                changes.Add(new FileChange(ChangeKind.Delete, tmp, false, ChangeEvent.Delete) { Fresh = true });
            }
        }

        changes.AddRange(Delete(Enumerable.Range(0, 200)));
        Submit(dispatcher, changes);
        Settle(dispatcher);

        Assert.Equal(0, dispatcher.Guard!.HeldCount);
        Assert.Equal(5200, sink.Deletes.Count);
        Assert.Equal(800, dispatcher.Guard.TargetFiles);
    }

    [Fact]
    public void Deletes_within_the_share_go_once_the_burst_is_quiet_journaled_after_what_came_before()
    {
        MakeFiles(1000);
        var (dispatcher, sink) = Start();
        Submit(dispatcher, Delete(Enumerable.Range(0, 100)));
        _time.Advance(DeleteGuard.Quiet);
        dispatcher.TickGuard();
        Assert.Empty(sink.Deletes); // a burst of many waits for a longer quiet period

        _time.Advance(DeleteGuard.QuietAfterMany - DeleteGuard.Quiet);
        dispatcher.TickGuard();
        Assert.Equal(100, sink.Deletes.Count);
        Assert.True(sink.Received.Select(r => r.Sequence).Order().SequenceEqual(sink.Received.Select(r => r.Sequence)));
        Assert.All(sink.Received, r => Assert.True(r.Sequence > 100)); // journaled again, after the originals
        Assert.Equal(900, dispatcher.Guard!.TargetFiles);
        Assert.Equal(0, dispatcher.Guard.HeldCount);
    }

    [Fact]
    public void A_burst_that_trickles_in_is_judged_whole_and_a_slow_one_by_the_trailing_window()
    {
        MakeFiles(1000);
        var (dispatcher, sink) = Start();
        // 300 deletes in bursts 500 ms apart (an rm -rf on a loaded machine): one burst, judged whole.
        for (var i = 0; i < 6; i++)
        {
            Submit(dispatcher, Delete(Enumerable.Range(i * 50, 50)));
            _time.Advance(TimeSpan.FromMilliseconds(500));
            dispatcher.TickGuard();
        }

        Assert.Empty(sink.Deletes);
        Settle(dispatcher);
        Assert.Equal(300, sink.Deletes.Count); // 30 %: within the share

        // Ten seconds later, another 300: 600 of the 1,000 within the trailing window, over the share.
        _time.Advance(TimeSpan.FromSeconds(10));
        Submit(dispatcher, Delete(Enumerable.Range(300, 300)));
        Settle(dispatcher);
        Assert.Equal(300, sink.Deletes.Count);
        Assert.Equal(300, dispatcher.Guard!.HeldCount);

        // While a hold lasts, any later delete joins it (the operator decides), even one within the share.
        _time.Advance(DeleteGuard.Trailing + TimeSpan.FromSeconds(1));
        Submit(dispatcher, Delete([700]));
        Settle(dispatcher);
        Assert.Equal(301, dispatcher.Guard.HeldCount);
        Assert.Equal(300, sink.Deletes.Count);
    }

    [Fact]
    public void Churn_that_deletes_what_it_wrote_meanwhile_is_no_mass_delete()
    {
        MakeFiles(1000);
        var (dispatcher, sink) = Start();
        // Every 2 s, 200 new files written (close_write: createFile off, so the census cannot tell they are new) and
        // the 200 written before deleted: 2,000 deletes within 30 s, yet the tree never shrinks.
        var next = 1000;
        for (var round = 0; round < 10; round++)
        {
            var written = new List<FileChange>();
            for (var i = 0; i < 200; i++, next++)
            {
                File.WriteAllText(Path.Combine(_root, "f" + next), "");
                written.Add(new FileChange(ChangeKind.Upsert, RelativePath.FromString("f" + next), false, ChangeEvent.CloseWrite));
            }

            Submit(dispatcher, written);
            Submit(dispatcher, Delete(Enumerable.Range(next - 400, 200)));
            Settle(dispatcher);
            _time.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.Equal(0, dispatcher.Guard!.HeldCount);
        Assert.Equal(2000, sink.Deletes.Count);
    }

    [Fact]
    public void Files_written_live_count_toward_the_share_of_a_later_mass_delete()
    {
        var (dispatcher, sink) = Start(); // an empty root at start: the census begins at 0
        var written = new List<FileChange>();
        for (var i = 0; i < 2000; i++)
        {
            File.WriteAllText(Path.Combine(_root, "f" + i), "");
            written.Add(new FileChange(ChangeKind.Upsert, RelativePath.FromString("f" + i), false, ChangeEvent.CloseWrite));
        }

        Submit(dispatcher, written);
        Submit(dispatcher, Delete(Enumerable.Range(0, 1600)));
        Settle(dispatcher);
        Assert.Empty(sink.Deletes);
        Assert.Equal(1600, dispatcher.Guard!.HeldCount);
    }

    [Fact]
    public void An_isolated_delete_waits_only_the_short_quiet_period()
    {
        MakeFiles(1000);
        var (dispatcher, sink) = Start();
        Submit(dispatcher, Delete([7]));
        _time.Advance(DeleteGuard.Quiet - TimeSpan.FromMilliseconds(1));
        dispatcher.TickGuard();
        Assert.Empty(sink.Deletes);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        dispatcher.TickGuard();
        Assert.Equal(["f7"], sink.Deletes);
    }

    [Fact]
    public void A_small_root_is_guarded_against_being_emptied_only()
    {
        MakeFiles(3);
        var (dispatcher, sink) = Start();
        Submit(dispatcher, Delete([0, 1]));
        Settle(dispatcher);
        Assert.Equal(2, sink.Deletes.Count); // 2 of 3 files: below minFiles, the share does not apply

        Submit(dispatcher, Delete([2]));
        Settle(dispatcher);
        Assert.Equal(2, sink.Deletes.Count);
        Assert.Equal(1, dispatcher.Guard!.HeldCount); // it would leave the root empty
    }

    [Fact]
    public void Held_deletes_whose_paths_come_back_clear_by_themselves_and_nothing_is_sent()
    {
        MakeFiles(1000);
        var (dispatcher, sink) = Start();
        Submit(dispatcher, Delete(Enumerable.Range(0, 800)));
        Settle(dispatcher);
        Assert.Equal(800, dispatcher.Guard!.HeldCount);

        MakeFiles(800); // restored
        _time.Advance(DeleteGuard.Recheck);
        dispatcher.TickGuard();
        Assert.Equal(0, dispatcher.Guard.HeldCount);
        Assert.Null(dispatcher.Guard.Snapshot().HeldSince);
        Assert.Empty(sink.Deletes);
        Assert.False(File.Exists(Path.Combine(_state, StableId.Of(_root), "held-deletes")));
    }

    [Fact]
    public void Release_sends_the_held_deletes_whose_path_is_still_gone()
    {
        MakeFiles(1000);
        var (dispatcher, sink) = Start();
        Submit(dispatcher, Delete(Enumerable.Range(0, 800)));
        Settle(dispatcher);
        File.WriteAllText(Path.Combine(_root, "f5"), "back");

        var done = dispatcher.ReleaseHeld(keep: false)!.Value;
        Assert.Equal(799, done.Released);
        Assert.Equal(1, done.Cleared);
        Assert.Equal(799, sink.Deletes.Count);
        Assert.DoesNotContain("f5", sink.Deletes);
        Assert.Equal(0, dispatcher.Guard!.HeldCount);
        Assert.Equal(201, dispatcher.Guard.TargetFiles);
    }

    [Fact]
    public void Release_with_keep_drops_them_and_sends_nothing()
    {
        MakeFiles(1000);
        var (dispatcher, sink) = Start();
        Submit(dispatcher, Delete(Enumerable.Range(0, 800)));
        Settle(dispatcher);

        var done = dispatcher.ReleaseHeld(keep: true)!.Value;
        Assert.Equal(800, done.Released);
        Assert.Empty(sink.Deletes);
        Assert.Equal(0, dispatcher.Guard!.HeldCount);
        Assert.Equal(1000, dispatcher.Guard.TargetFiles); // the targets keep them
        Assert.False(File.Exists(Path.Combine(_state, StableId.Of(_root), "held-deletes")));
    }

    [Fact]
    public void Held_deletes_come_back_held_after_a_restart()
    {
        MakeFiles(1000);
        var (dispatcher, _) = Start();
        Submit(dispatcher, Delete(Enumerable.Range(0, 800)));
        Settle(dispatcher);

        var (again, sink) = Start();
        Assert.Equal(800, again.Guard!.HeldCount);
        Assert.Equal(1000, again.Guard.TargetFiles);
        Settle(again);
        Assert.Empty(sink.Deletes);
        Assert.Equal(800, again.ReleaseHeld(keep: false)!.Value.Released);
        Assert.Equal(800, sink.Deletes.Count);
    }

    [Fact]
    public void A_crash_before_the_hold_was_written_replays_the_journaled_deletes_through_the_guard()
    {
        MakeFiles(1000);
        var (dispatcher, _) = Start("a", "b");
        Submit(dispatcher, Delete(Enumerable.Range(0, 800)));
        // No tick: killed while the burst settled. The targets' acknowledgement may not pass the first delete.
        Assert.Equal(0, dispatcher.CapAcknowledgement(5000));

        var (again, a) = Start("a", "b");
        var b = new RecordingSink("b");
        var journal = _journals[^1];
        foreach (var sink in new[] { a, b })
        {
            foreach (var record in journal.PendingFor(sink.Id))
            {
                if (!again.TakeReplayed(record.Change, record.Sequence))
                {
                    sink.Enqueue(record.Change, record.Sequence);
                }
            }
        }

        again.Guard!.ReplayDone();
        Settle(again);
        Assert.Empty(a.Deletes);
        Assert.Empty(b.Deletes);
        Assert.Equal(800, again.Guard.HeldCount);
    }

    [Fact]
    public void A_rename_inside_the_tree_passes_at_once_and_a_re_created_path_is_not_deleted_after_it()
    {
        MakeFiles(1000);
        var (dispatcher, sink) = Start();
        Submit(dispatcher, [new FileChange(ChangeKind.Delete, RelativePath.FromString("f1"), false, ChangeEvent.MoveFrom) { MoveToFollows = true }]);
        Assert.Equal(["f1"], sink.Deletes); // not held back: renames must not wait

        File.Delete(Path.Combine(_root, "f2"));
        Submit(dispatcher, Delete([2]));
        File.WriteAllText(Path.Combine(_root, "f2"), "again");
        Submit(dispatcher, [new FileChange(ChangeKind.Upsert, RelativePath.FromString("f2"), false, ChangeEvent.Create)]);
        Settle(dispatcher);
        Assert.Equal(["f2"], sink.Upserts);
        Assert.Equal(["f1"], sink.Deletes); // the older delete of f2 no longer applies
    }

    [Fact]
    public void A_directory_moved_out_of_the_tree_counts_as_every_file_it_held()
    {
        MakeFiles(400);
        var sub = Directory.CreateDirectory(Path.Combine(_root, "big")).FullName;
        for (var i = 0; i < 600; i++)
        {
            File.WriteAllText(Path.Combine(sub, "g" + i), "");
        }

        var (dispatcher, sink) = Start();
        Assert.Equal(1000, dispatcher.Guard!.TargetFiles);
        Directory.Move(sub, Path.Combine(_temp.Path, "elsewhere"));
        Submit(dispatcher, [new FileChange(ChangeKind.Delete, RelativePath.FromString("big"), true, ChangeEvent.MoveFrom)]);
        Settle(dispatcher);
        Assert.Empty(sink.Deletes);
        Assert.Equal(600, dispatcher.Guard.Snapshot().HeldFiles);
    }

    [Fact]
    public void Off_changes_nothing()
    {
        MakeFiles(10);
        var journal = OpenJournal("a");
        var sink = new RecordingSink("a");
        var dispatcher = new RootDispatcher(System.Threading.Channels.Channel.CreateUnbounded<FileChange>().Reader, [sink], journal, _time);
        Submit(dispatcher, Delete(Enumerable.Range(0, 10)));
        Assert.Equal(10, sink.Deletes.Count);
        Assert.Null(dispatcher.Guard);
    }

    [Fact]
    public void A_burst_judged_at_the_journal_bound_is_appended_after_the_collapse_so_the_file_passes_the_bound_by_one_append_at_most()
    {
        MakeFiles(1000);
        var journal = OpenJournal("up", "down");
        const long bound = 8192;
        journal.MaxBytes = bound;
        var up = new RecordingSink("up");
        var down = new RecordingSink("down");
        var collapses = new List<JournalCollapse>();
        var guard = new DeleteGuard(_root, DeleteGuardConfig.Default, journal.Directory, PathFilter.None, _time, NullLogger.Instance);
        guard.Load();
        var dispatcher = new RootDispatcher(System.Threading.Channels.Channel.CreateUnbounded<FileChange>().Reader, [up, down], journal, _time)
        {
            Guard = guard,
            CollapseKindOf = id => id == "down" ? CollapseKind.FullSync : CollapseKind.Keep,
            Collapsed = collapses.Add,
        };

        // 200 writes (30 bytes a record), acknowledged by "up"; then 100 deletes cross the bound while they settle.
        Submit(dispatcher, [.. Enumerable.Range(0, 200).Select(i => new FileChange(ChangeKind.Upsert, RelativePath.FromString("f" + i), false, ChangeEvent.CloseWrite))]);
        journal.Acknowledge("up", journal.LastSequence);
        var before = journal.Bytes;
        Submit(dispatcher, Delete(Enumerable.Range(800, 100)));
        var oneAppend = 100 * 30;
        Assert.True(before + oneAppend > bound, "the deletes' append must cross the bound for this test");

        // Judged at once (10 % of 1,000: they go), and sent again only once the journal has room for them.
        Assert.Equal(100, up.Deletes.Count);
        Assert.NotEmpty(collapses);
        Assert.All(collapses, c => Assert.True(c.BytesBefore <= bound + oneAppend, $"a collapse at {c.BytesBefore} bytes: past the bound by more than one append"));
        Assert.True(journal.Bytes <= bound, $"{journal.Bytes} bytes after");
        Assert.DoesNotContain(up.Received, r => r.Change.Kind == ChangeKind.Rescan);
        Assert.Contains(down.Received, r => r.Change.Kind == ChangeKind.Rescan);
    }

    private (RootDispatcher Dispatcher, RecordingSink Sink) Start(params string[] targets)
    {
        targets = targets.Length == 0 ? ["a"] : targets;
        _journals.ForEach(j => j.Dispose()); // a restart: the previous run's journal is closed first
        _journals.Clear();
        var journal = OpenJournal(targets);
        var sink = new RecordingSink(targets[0]);
        var guard = new DeleteGuard(_root, DeleteGuardConfig.Default, journal.Directory, PathFilter.None, _time, NullLogger.Instance);
        guard.Load();
        var dispatcher = new RootDispatcher(System.Threading.Channels.Channel.CreateUnbounded<FileChange>().Reader, [sink], journal, _time) { Guard = guard };
        return (dispatcher, sink);
    }

    private ChangeJournal OpenJournal(params string[] targets)
    {
        var journal = ChangeJournal.Open(_state, _root, targets, _time, TimeSpan.FromSeconds(5));
        _journals.Add(journal);
        return journal;
    }

    private void MakeFiles(int count)
    {
        for (var i = 0; i < count; i++)
        {
            File.WriteAllText(Path.Combine(_root, "f" + i), "");
        }
    }

    /// <summary>Deletes the files on disk and returns their changes, as inotify reports an rm.</summary>
    private List<FileChange> Delete(IEnumerable<int> files)
    {
        var changes = new List<FileChange>();
        foreach (var i in files)
        {
            File.Delete(Path.Combine(_root, "f" + i));
            changes.Add(new FileChange(ChangeKind.Delete, RelativePath.FromString("f" + i), false, ChangeEvent.Delete));
        }

        return changes;
    }

    private static void Submit(RootDispatcher dispatcher, List<FileChange> changes) => dispatcher.Submit(changes);

    private void Settle(RootDispatcher dispatcher)
    {
        _time.Advance(DeleteGuard.QuietAfterMany);
        dispatcher.TickGuard();
    }

    private sealed class RecordingSink(string id) : IChangeSink
    {
        public string Id => id;

        public List<(FileChange Change, long Sequence)> Received { get; } = [];

        public List<string> Deletes => [.. Received.Where(r => r.Change.Kind == ChangeKind.Delete).Select(r => r.Change.Path.ToMatchString())];

        public List<string> Upserts => [.. Received.Where(r => r.Change.Kind != ChangeKind.Delete).Select(r => r.Change.Path.ToMatchString())];

        public void Enqueue(FileChange change, long sequence) => Received.Add((change, sequence));
    }
}
