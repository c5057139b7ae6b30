using System.Threading.Channels;
using SerSync.Journal;
using SerSync.Paths;
using SerSync.Targets;
using SerSync.Testing;

namespace SerSync.UnitTests.Queueing;

/// <summary>The journal's bound: a target away past it is collapsed into one full sync and the file is compacted to
/// what the others still need; a crash at any step leaves either journal, never a target acknowledged without its
/// full sync on record.</summary>
public sealed class JournalCollapseTests : IDisposable
{
    private const string Root = "/www";
    private const long Bound = 8192;
    private readonly TempDirectory _temp = new("sersync-collapse-");

    public void Dispose() => _temp.Dispose();

    private ChangeJournal Open(params string[] consumers)
    {
        var journal = ChangeJournal.Open(_temp.Path, Root, consumers, TimeProvider.System, TimeSpan.FromSeconds(5));
        journal.MaxBytes = Bound;
        return journal;
    }

    private string Dir => JournalStateReader.RootDirectory(_temp.Path, Root);

    private static FileChange Up(int i) => new(ChangeKind.Upsert, RelativePath.FromString($"dir/file-{i:D5}.html"), false);

    private static Func<string, CollapseKind> Kinds(params (string Id, CollapseKind Kind)[] kinds) =>
        id => kinds.FirstOrDefault(k => k.Id == id).Kind;

    /// <summary>Every consumer has changes 1-10 (acknowledged); then <paramref name="count"/> more, of which those in
    /// <paramref name="ackedToTipMinusFive"/> acknowledge all but the last five.</summary>
    private static void Fill(ChangeJournal journal, int count, params string[] ackedToTipMinusFive)
    {
        var consumers = journal.UnknownTargets; // a fresh state: every configured consumer
        journal.Append([.. Enumerable.Range(1, 10).Select(Up)]);
        foreach (var id in consumers)
        {
            journal.Acknowledge(id, 10);
        }

        for (var i = 11; i <= 10 + count; i++)
        {
            journal.Append([Up(i)]);
        }

        foreach (var id in ackedToTipMinusFive)
        {
            journal.Acknowledge(id, journal.LastSequence - 5);
        }
    }

    [Fact]
    public void Past_the_bound_an_away_target_becomes_one_full_sync_and_the_others_keep_exactly_what_they_lack()
    {
        long tip;
        using (var journal = Open("up", "down"))
        {
            Fill(journal, 300, "up");
            tip = journal.LastSequence;
            Assert.True(journal.Bytes > Bound);
            Assert.True(journal.OverBound);
            var collapse = journal.Collapse(Kinds(("down", CollapseKind.FullSync)));

            Assert.NotNull(collapse);
            var down = Assert.Single(collapse.Consumers);
            Assert.Equal(("down", CollapseKind.FullSync, tip + 1, tip - 10), (down.Id, down.Kind, down.FullSyncSequence, down.Skipped));
            Assert.True(collapse.BytesAfter <= Bound / 2, $"{collapse.BytesAfter} bytes after the compaction");
            Assert.Equal(new FileInfo(Path.Combine(Dir, "journal")).Length, journal.Bytes);
            Assert.Equal(collapse.BytesAfter, journal.Bytes);
            Assert.False(journal.OverBound);
            Assert.Equal(1, journal.Collapses);
            Assert.Equal(tip, journal.AcknowledgedOf("down"));

            // Appends go on after the compaction, into the new file.
            Assert.Equal(tip + 2, journal.Append([Up(9999)])[0]);
        }

        // A restart: "up" gets the five it lacked and the new one, nothing else; "down" its full sync and the new one.
        using var reopened = Open("up", "down");
        Assert.False(reopened.TornTail);
        Assert.Equal([.. Enumerable.Range((int)tip - 4, 5).Select(i => $"dir/file-{i:D5}.html"), "dir/file-09999.html"],
            reopened.PendingFor("up").Select(r => r.Change.Path.ToMatchString()));
        var forDown = reopened.PendingFor("down").ToList();
        Assert.Equal(2, forDown.Count);
        Assert.Equal((ChangeKind.Rescan, "down", tip + 1), (forDown[0].Change.Kind, forDown[0].Target, forDown[0].Sequence));
        Assert.Equal("dir/file-09999.html", forDown[1].Change.Path.ToMatchString());
        Assert.Equal(tip, JournalStateReader.ReadAck(Dir, "down"));
    }

    [Fact]
    public void Past_the_bound_a_reachable_target_that_holds_the_journal_back_gives_way_too()
    {
        using var journal = Open("up", "down");
        Fill(journal, 200); // nobody acknowledges: both hold the journal back
        Assert.True(journal.Bytes > Bound);

        // A storm larger than the bound, or an rsync that hangs: the reachable target is owed a full sync rather than
        // the journal growing past its bound (the "stays under its bound").
        var collapse = journal.Collapse(Kinds());
        Assert.NotNull(collapse);
        Assert.Equal(["down", "up"], collapse.Consumers.Select(c => c.Id).Order(StringComparer.Ordinal));
        Assert.All(collapse.Consumers, c => Assert.Equal(CollapseKind.FullSync, c.Kind));
        Assert.True(journal.Bytes <= Bound / 2);
    }

    [Fact]
    public void Past_the_bound_with_every_consumer_close_behind_the_records_all_have_acknowledged_are_dropped()
    {
        long tip;
        using (var journal = Open("up", "down"))
        {
            // Both keep up but never reach the tip (a long storm), so the file is never emptied: it must still shrink.
            Fill(journal, 300, "up", "down");
            tip = journal.LastSequence;
            Assert.True(journal.OverBound);

            Assert.Null(journal.Collapse(Kinds())); // nobody is collapsed: no full sync is owed
            Assert.Equal(0, journal.Collapses);
            Assert.False(journal.OverBound);
            Assert.True(journal.Bytes < Bound / 8, $"{journal.Bytes} bytes after dropping the acknowledged part");
            Assert.Equal(new FileInfo(Path.Combine(Dir, "journal")).Length, journal.Bytes);
            Assert.Equal(tip, journal.LastSequence);
            Assert.Equal(tip + 1, journal.Append([Up(9999)])[0]);
        }

        using var reopened = Open("up", "down");
        Assert.False(reopened.TornTail);
        foreach (var id in new[] { "up", "down" })
        {
            Assert.Equal([.. Enumerable.Range((int)tip - 4, 5).Select(i => $"dir/file-{i:D5}.html"), "dir/file-09999.html"],
                reopened.PendingFor(id).Select(r => r.Change.Path.ToMatchString()));
        }
    }

    [Fact]
    public void A_hook_far_behind_stops_holding_the_journal_back_without_a_full_sync_record()
    {
        long tip;
        using (var journal = Open("up", "hook"))
        {
            Fill(journal, 300, "up");
            tip = journal.LastSequence;
            var collapse = journal.Collapse(Kinds(("hook", CollapseKind.Skip)));
            var hook = Assert.Single(collapse!.Consumers);
            Assert.Equal(("hook", CollapseKind.Skip, 0L, tip - 10), (hook.Id, hook.Kind, hook.FullSyncSequence, hook.Skipped));
            Assert.Equal(tip, journal.LastSequence); // no record was added for it
            Assert.True(journal.Bytes <= Bound / 2);
        }

        using var reopened = Open("up", "hook");
        Assert.Empty(reopened.PendingFor("hook"));
        Assert.Equal(5, reopened.PendingFor("up").Count());
    }

    [Fact]
    public void A_crash_before_the_rename_leaves_the_old_journal_whole()
    {
        long tip;
        using (var journal = Open("up", "down"))
        {
            Fill(journal, 300, "up");
            tip = journal.LastSequence;
            journal.CrashPoint = step => throw new IOException("crash at " + step);
            var crash = Assert.Throws<IOException>(() => journal.Collapse(Kinds(("down", CollapseKind.FullSync))));
            Assert.Equal("crash at written", crash.Message);
            Assert.True(File.Exists(Path.Combine(Dir, "journal.compact"))); // the torn rewrite
        }

        using var reopened = Open("up", "down");
        Assert.False(File.Exists(Path.Combine(Dir, "journal.compact")));
        Assert.False(reopened.TornTail);
        Assert.Equal(10, reopened.AcknowledgedOf("down"));
        Assert.Equal(Enumerable.Range(11, (int)tip - 10).Select(i => (long)i), reopened.PendingFor("down").Select(r => r.Sequence));
        Assert.DoesNotContain(reopened.PendingFor("down"), r => r.Change.Kind == ChangeKind.Rescan);
    }

    [Fact]
    public void A_crash_after_the_rename_and_before_the_acknowledgement_still_gives_the_full_sync()
    {
        long tip;
        using (var journal = Open("up", "down"))
        {
            Fill(journal, 300, "up");
            tip = journal.LastSequence;
            journal.CrashPoint = step =>
            {
                if (step == "renamed")
                {
                    throw new IOException("crash at " + step);
                }
            };
            Assert.Throws<IOException>(() => journal.Collapse(Kinds(("down", CollapseKind.FullSync))));
        }

        // The old acknowledgement stands, below records the compaction dropped: the full sync above it covers them.
        using var reopened = Open("up", "down");
        Assert.Equal(10, JournalStateReader.ReadAck(Dir, "down"));
        var forDown = reopened.PendingFor("down").ToList();
        Assert.Contains(forDown, r => r.Change.Kind == ChangeKind.Rescan && r.Target == "down" && r.Sequence == tip + 1);
        Assert.Equal(5, reopened.PendingFor("up").Count());
    }

    [Fact]
    public void No_acknowledgement_moves_before_the_full_sync_is_on_disk()
    {
        // At every step of the collapse the acknowledgement on disk is either the old one, or the tip with the full
        // sync in the journal file that is on disk at that moment.
        using var journal = Open("up", "down");
        Fill(journal, 300, "up");
        var tip = journal.LastSequence;
        var seen = new List<(string Step, long? Ack, bool FullSyncOnDisk)>();
        journal.CrashPoint = step => seen.Add((step, JournalStateReader.ReadAck(Dir, "down"),
            JournalStateReader.ReadRecords(Dir, out _).Any(r => r.Change.Kind == ChangeKind.Rescan && r.Target == "down")));
        journal.Collapse(Kinds(("down", CollapseKind.FullSync)));
        Assert.Equal([("written", 10L, false), ("renamed", 10L, true)], seen.Select(s => (s.Step, s.Ack ?? -1, s.FullSyncOnDisk)));
        Assert.Equal(tip, JournalStateReader.ReadAck(Dir, "down"));
        Assert.Contains(JournalStateReader.ReadRecords(Dir, out _), r => r.Change.Kind == ChangeKind.Rescan && r.Target == "down");
    }

    [Fact]
    public void The_dispatcher_keeps_the_file_under_the_bound_and_queues_the_full_sync_on_the_away_target()
    {
        var up = new Sink("up");
        var down = new Sink("down");
        var collapses = new List<JournalCollapse>();
        using var journal = Open("up", "down");
        var dispatcher = new RootDispatcher(Channel.CreateUnbounded<FileChange>().Reader, [up, down], journal, TimeProvider.System)
        {
            CollapseKindOf = Kinds(("down", CollapseKind.FullSync)),
            Collapsed = collapses.Add,
        };
        long peak = 0;
        for (var i = 0; i < 5000; i++)
        {
            dispatcher.Submit([Up(i), Up(i + 1)]);
            journal.Acknowledge("up", journal.LastSequence); // a healthy target keeps up
            peak = Math.Max(peak, journal.Bytes);
        }

        Assert.True(peak <= Bound, $"peak {peak} bytes over the bound of {Bound}");
        Assert.True(collapses.Count > 10, $"{collapses.Count} collapse(s)");
        Assert.Equal(collapses.Count, journal.Collapses);
        Assert.Equal(collapses.Count, down.Full.Count);
        Assert.Empty(up.Full);
        Assert.Equal(10000, up.Count); // the healthy target got every change, in order
        Assert.All(collapses, c => Assert.Equal("down", Assert.Single(c.Consumers).Id));
        Assert.Equal(collapses.Select(c => c.Consumers[0].FullSyncSequence), down.Full);
    }

    private sealed class Sink(string id) : IChangeSink
    {
        private long _last;

        public string Id => id;

        public int Count { get; private set; }

        public List<long> Full { get; } = [];

        public void Enqueue(FileChange change, long sequence)
        {
            Assert.True(sequence > _last, $"{id}: sequence {sequence} after {_last}");
            _last = sequence;
            if (change.Kind == ChangeKind.Rescan)
            {
                Full.Add(sequence);
            }
            else
            {
                Count++;
            }
        }
    }
}
