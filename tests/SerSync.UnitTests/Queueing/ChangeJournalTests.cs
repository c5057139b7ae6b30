using SerSync.Filtering;
using SerSync.Journal;
using SerSync.Paths;
using SerSync.Testing;

namespace SerSync.UnitTests.Queueing;

public sealed class ChangeJournalTests : IDisposable
{
    private const string Root = "/www";
    private readonly TempDirectory _temp = new("sersync-journal-");

    public void Dispose() => _temp.Dispose();

    private ChangeJournal Open(params string[] targets) =>
        ChangeJournal.Open(_temp.Path, Root, targets, TimeProvider.System, TimeSpan.FromSeconds(5));

    private string JournalFile => Path.Combine(_temp.Path, StableId.Of(Root), "journal");

    private static FileChange Up(byte[] path) => new(ChangeKind.Upsert, new RelativePath(path), false);

    [Fact]
    public void Bytes_follows_the_journal_file_across_appends_a_reopen_and_compaction()
    {
        long length;
        using (var journal = Open("t"))
        {
            Assert.Equal(0, journal.Bytes);
            journal.Append([Up("a"u8.ToArray()), Up("b\nc"u8.ToArray())]);
            journal.Append([Up([0xff, 0x2f, 0x41])]);
            length = new FileInfo(Path.Combine(journal.Directory, "journal")).Length;
            Assert.True(length > 0);
            Assert.Equal(length, journal.Bytes);
        }

        using var reopened = Open("t");
        Assert.Equal(length, reopened.Bytes);
        reopened.Acknowledge("t", reopened.LastSequence);
        Assert.Equal(new FileInfo(Path.Combine(reopened.Directory, "journal")).Length, reopened.Bytes);
    }

    [Fact]
    public void A_delete_the_guard_judged_is_read_back_as_judged_with_its_event()
    {
        using (var journal = Open("t"))
        {
            journal.Append([
                new FileChange(ChangeKind.Delete, RelativePath.FromString("taken"), false, ChangeEvent.Delete),
                new FileChange(ChangeKind.Delete, RelativePath.FromString("sent"), true, ChangeEvent.MoveFrom) { Judged = true },
            ]);
        }

        using var reopened = Open("t");
        var pending = reopened.PendingFor("t").Select(r => r.Change).ToList();
        Assert.Equal([("taken", false, ChangeEvent.Delete, false), ("sent", true, ChangeEvent.MoveFrom, true)],
            pending.Select(c => (c.Path.ToMatchString(), c.IsDirectory, c.Event, c.Judged)));
    }

    [Fact]
    public void The_records_after_a_sequence_say_how_the_file_count_changed_as_the_delete_guard_counts()
    {
        FileChange F(ChangeKind kind, string path, ChangeEvent e) => new(kind, RelativePath.FromString(path), false, e);
        using (var journal = Open("t"))
        {
            journal.Append([F(ChangeKind.Upsert, "old", ChangeEvent.Create)]); // 1: before the census
            journal.Append([
                F(ChangeKind.Upsert, "a", ChangeEvent.Create),                          // +1
                F(ChangeKind.Upsert, "b", ChangeEvent.CloseWrite) with { Fresh = true }, // +1
                F(ChangeKind.Upsert, "old", ChangeEvent.CloseWrite),                    // a rewrite: 0
                F(ChangeKind.Delete, "x", ChangeEvent.Delete),                          // -1
                F(ChangeKind.Delete, "x", ChangeEvent.Delete) with { Judged = true },   // its judged copy: 0
                F(ChangeKind.Delete, "tmp", ChangeEvent.Delete) with { Fresh = true },  // never reported: 0
                new FileChange(ChangeKind.Delete, RelativePath.FromString("dir"), true, ChangeEvent.Delete), // a directory: 0
            ]);
        }

        using var reopened = Open("t");
        Assert.Equal(1, reopened.FileCountChangeSince(1));
        Assert.Equal(2, reopened.FileCountChangeSince(0));
        Assert.Equal(0, reopened.FileCountChangeSince(reopened.LastSequence));
        reopened.Acknowledge("t", reopened.LastSequence); // caught up: the file is emptied once past 1 MB only
        Assert.Equal(1, reopened.FileCountChangeSince(1));
    }

    [Fact]
    public void Unacknowledged_changes_survive_a_reopen_per_target()
    {
        byte[] odd = [(byte)'n', (byte)'\n', 0xff];
        using (var j = Open("a", "b"))
        {
            Assert.Null(j.CatchUpSince); // a fresh state directory has nothing to catch up
            var seqs = j.Append([Up("one"u8.ToArray()), Up(odd), new FileChange(ChangeKind.Delete, RelativePath.FromString("d"), true)]);
            Assert.Equal([1L, 2, 3], seqs);
            j.Acknowledge("a", 2);
            j.Acknowledge("b", 3);
        }

        // What the read-only reader (used by the tests of the running daemon) finds in the same files.
        var dir = JournalStateReader.RootDirectory(_temp.Path, Root);
        Assert.Equal(2, JournalStateReader.ReadAck(dir, "a"));
        Assert.Equal(3, JournalStateReader.ReadAck(dir, "b"));
        Assert.Null(JournalStateReader.ReadAck(dir, "c"));
        Assert.Equal([1L, 2, 3], JournalStateReader.ReadRecords(dir, out var torn).Select(r => r.Sequence));
        Assert.False(torn);

        using var reopened = Open("a", "b");
        var pendingA = reopened.PendingFor("a").ToList();
        Assert.Single(pendingA);
        Assert.Equal(new FileChange(ChangeKind.Delete, RelativePath.FromString("d"), true), pendingA[0].Change);
        Assert.Empty(reopened.PendingFor("b"));
        Assert.NotNull(reopened.CatchUpSince);
        Assert.Equal(4, reopened.Append([Up(odd)])[0]); // sequences continue
    }

    [Fact]
    public void Targets_without_an_acknowledgement_are_unknown_until_they_first_acknowledge()
    {
        using (var j = Open("a", "b"))
        {
            Assert.True(j.Fresh);
            Assert.Equal(["a", "b"], j.UnknownTargets.Order());
            j.Acknowledge("a", 0); // a full sync that ran before anything was journaled still makes it known
            Assert.Equal(["b"], j.UnknownTargets);
        }

        using (var j = Open("a", "b", "c"))
        {
            Assert.False(j.Fresh);
            Assert.Equal(["b", "c"], j.UnknownTargets.Order()); // b never acknowledged; c is new to this root
        }

        // The operator deletes the state: everything is unknown again.
        Directory.Delete(Path.Combine(_temp.Path, StableId.Of(Root)), recursive: true);
        using var again = Open("a");
        Assert.True(again.Fresh);
        Assert.Equal(["a"], again.UnknownTargets);
    }

    [Fact]
    public void A_target_dropped_from_the_configuration_is_unknown_when_it_returns()
    {
        using (var j = Open("a", "b"))
        {
            j.Append([Up("x"u8.ToArray())]);
            j.Acknowledge("a", 1);
            j.Acknowledge("b", 1);
        }

        // b leaves the configuration; while it is away the journal may compact without it.
        using (var j = Open("a"))
        {
            Assert.Empty(j.UnknownTargets);
        }

        using var back = Open("a", "b");
        Assert.Equal(["b"], back.UnknownTargets);
        Assert.Empty(back.PendingFor("a"));
    }

    [Fact]
    public void A_damaged_acknowledgement_makes_its_target_unknown()
    {
        using (var j = Open("a"))
        {
            j.Append([Up("x"u8.ToArray())]);
            j.Acknowledge("a", 1);
        }

        File.WriteAllBytes(Path.Combine(_temp.Path, StableId.Of(Root), "ack-a"), [1, 2, 3]);
        using var reopened = Open("a");
        Assert.Equal(["a"], reopened.UnknownTargets);
    }

    [Fact]
    public void A_torn_tail_is_cut_and_the_catch_up_starts_at_the_last_good_record()
    {
        var mark = DateTimeOffset.UtcNow.AddMinutes(10);
        using (var j = Open("a"))
        {
            j.Append([Up("good"u8.ToArray())]);
            j.MarkSeen(mark); // a later mark: the torn tail must win
            j.Append([Up("torn"u8.ToArray())]);
        }

        var length = new FileInfo(JournalFile).Length;
        using (var f = new FileStream(JournalFile, FileMode.Open))
        {
            f.SetLength(length - 3); // a crash in the middle of a write
        }

        // The read-only reader sees the damage and leaves it for the next start to cut.
        var dir = JournalStateReader.RootDirectory(_temp.Path, Root);
        Assert.Equal(["good"], JournalStateReader.ReadRecords(dir, out var torn).Select(r => r.Change.Path.ToString()));
        Assert.True(torn);
        Assert.Equal(length - 3, new FileInfo(JournalFile).Length);
        Assert.Equal(mark.ToUnixTimeMilliseconds(), JournalStateReader.ReadSeen(dir)?.ToUnixTimeMilliseconds());

        using var reopened = Open("a");
        Assert.True(reopened.TornTail);
        Assert.Equal(["good"], reopened.PendingFor("a").Select(r => r.Change.Path.ToString()));
        Assert.True(reopened.CatchUpSince < DateTimeOffset.UtcNow);
        Assert.Equal(2, reopened.Append([Up("next"u8.ToArray())])[0]);
    }

    [Fact]
    public void A_corrupted_record_ends_the_readable_journal()
    {
        using (var j = Open("a"))
        {
            j.Append([Up("first"u8.ToArray()), Up("second"u8.ToArray()), Up("third"u8.ToArray())]);
        }

        var bytes = File.ReadAllBytes(JournalFile);
        bytes[(bytes.Length / 2) + 2] ^= 0x5a; // inside the second record
        File.WriteAllBytes(JournalFile, bytes);

        using var reopened = Open("a");
        Assert.True(reopened.TornTail);
        Assert.Equal(["first"], reopened.PendingFor("a").Select(r => r.Change.Path.ToString()));
    }

    [Fact]
    public void Catch_up_scan_finds_files_and_directories_changed_since_a_time()
    {
        var root = _temp.Sub("tree");
        Directory.CreateDirectory(Path.Combine(root, "old", "deep"));
        File.WriteAllText(Path.Combine(root, "old", "deep", "f"), "old");
        Directory.CreateDirectory(Path.Combine(root, "skip"));
        var since = DateTimeOffset.UtcNow.AddSeconds(1);
        // Everything so far predates 'since'; now change some of it, as if the daemon were down.
        var before = FileSystemBytes.Stat(FileSystemBytes.Combine(root, RelativePath.FromString("old/deep/f")))!.Value.ChangeTime;
        Assert.True(before < since);
        SpinUntilPast(since);
        File.WriteAllText(Path.Combine(root, "old", "new.txt"), "new");
        File.WriteAllText(Path.Combine(root, "skip", "x.gz"), "excluded");

        var filter = new PathFilter(new SerSync.Configuration.FilterConfig(true, [new("(.*)\\.gz", new System.Text.RegularExpressions.Regex("^(?:(.*)\\.gz)$"), 1)]));
        var found = CatchUpScan.Find(root, since, filter).Select(c => (c.Kind, c.Path.ToString())).ToList();

        Assert.Contains((ChangeKind.Upsert, "old/new.txt"), found);
        Assert.Contains((ChangeKind.UpsertContents, "old"), found); // an entry was added to it
        Assert.Contains((ChangeKind.UpsertContents, "skip"), found);
        Assert.DoesNotContain((ChangeKind.Upsert, "skip/x.gz"), found);
        Assert.DoesNotContain((ChangeKind.Upsert, "old/deep/f"), found);
        Assert.DoesNotContain((ChangeKind.UpsertContents, "old/deep"), found);
    }

    private static void SpinUntilPast(DateTimeOffset when)
    {
        // ctime comes from the kernel's clock; wait (bounded) until it has passed 'when'.
        Eventually.True(() => DateTimeOffset.UtcNow > when.AddMilliseconds(20), TimeSpan.FromSeconds(5), $"the clock passes {when:O}");
    }

    [Fact]
    public void The_event_of_a_change_survives_the_journal_and_old_records_read_as_unknown()
    {
        using (var j = Open("a"))
        {
            j.Append([new FileChange(ChangeKind.Delete, RelativePath.FromString("x"), true, ChangeEvent.MoveFrom), new FileChange(ChangeKind.Upsert, RelativePath.FromString("y"), false, ChangeEvent.Recheck)]);
        }

        using var reopened = Open("a");
        var records = reopened.PendingFor("a").ToList();
        Assert.Equal([ChangeEvent.MoveFrom, ChangeEvent.Recheck], records.Select(r => r.Change.Event));
        Assert.True(records[0].Change.IsDirectory);
        Assert.False(records[1].Change.IsDirectory);

        // A record written before events were kept has 0 or 1 in the flags byte: a directory or not, event unknown.
        using var old = new MemoryStream();
        ChangeJournal.WriteRecord(old, new JournalRecord(1, DateTimeOffset.UnixEpoch, new FileChange(ChangeKind.Upsert, RelativePath.FromString("z"), true)));
        var read = Assert.Single(ChangeJournal.ReadAll(old, out _));
        Assert.Equal((true, ChangeEvent.Unknown), (read.Change.IsDirectory, read.Change.Event));
    }

    [Fact]
    public void A_clean_stop_lets_the_next_catch_up_start_where_its_barrier_began_once()
    {
        var seen = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        var began = seen - TimeSpan.FromMilliseconds(300);
        using (var j = Open("a"))
        {
            j.MarkCleanStop(began, began + TimeSpan.FromMilliseconds(20));
            j.MarkSeen(seen);
        }

        using (var clean = Open("a"))
        {
            // The barrier proved everything before it began journaled; what came after it may not be.
            Assert.Equal(began - TimeSpan.FromSeconds(1), clean.CatchUpSince); // less a tick of the kernel's clock
            Assert.Equal((began, began + TimeSpan.FromMilliseconds(21)), clean.StopBarrier);
        }

        using var crashed = Open("a"); // no clean stop recorded since: the margin is back
        Assert.Equal(seen - TimeSpan.FromSeconds(5), crashed.CatchUpSince);
    }

    [Fact]
    public void Latest_record_times_cover_each_path_and_its_parent_directory()
    {
        using (var j = Open("a"))
        {
            j.Append([Up("d/f"u8.ToArray())]);
        }

        using var reopened = Open("a");
        var times = reopened.LatestRecordTimes();
        Assert.True(times.ContainsKey(RelativePath.FromString("d/f")));
        Assert.True(times.ContainsKey(RelativePath.FromString("d")));
        Assert.False(times.ContainsKey(RelativePath.FromString("e")));
    }

    [Fact]
    public void A_new_hook_starts_at_the_journals_end_and_one_whose_acknowledgement_is_damaged_gets_everything_again()
    {
        using (var j = Open("t"))
        {
            j.Append([Up("a"u8.ToArray()), Up("b"u8.ToArray())]);
        }

        using (var j = Open("t", "plugin-socket"))
        {
            Assert.True(j.StartFromEndIfUnknown("plugin-socket"));
            Assert.Equal(2, j.AcknowledgedOf("plugin-socket"));
        }

        File.WriteAllBytes(Path.Combine(_temp.Path, StableId.Of(Root), "ack-plugin-socket"), [1, 2, 3]); // torn
        using var damaged = Open("t", "plugin-socket");
        Assert.False(damaged.StartFromEndIfUnknown("plugin-socket"));
        Assert.Equal(2, damaged.PendingFor("plugin-socket").Count());
    }
}
