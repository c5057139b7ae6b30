using System.Diagnostics;
using SerSync.Configuration;
using SerSync.Filtering;
using SerSync.Paths;
using SerSync.Watching;
using static SerSync.UnitTests.Watching.WatcherHarness;

namespace SerSync.UnitTests.Watching;

[Collection("inotify")]
public sealed class InotifyWatcherTests
{
    [Fact]
    public void File_write_is_an_upsert()
    {
        using var h = new WatcherHarness();
        File.WriteAllText(h.P("a.txt"), "hello");
        var c = h.WaitFor(ChangeKind.Upsert, "a.txt");
        Assert.False(c.IsDirectory);
        Assert.Equal(1, h.Watcher.WatchCount);
    }

    [Fact]
    public void Nested_directories_created_at_once_miss_nothing_and_are_all_watched()
    {
        using var h = new WatcherHarness();
        var files = new List<string>();
        var dir = "";
        foreach (var part in new[] { "a", "b", "c", "d", "e" })
        {
            dir = dir.Length == 0 ? part : dir + "/" + part;
            Directory.CreateDirectory(h.P(dir));
            var f = dir + "/file-" + part;
            File.WriteAllText(h.P(f), part);
            files.Add(f);
        }

        var seen = h.Settle();
        foreach (var f in files)
        {
            var path = R(f);
            Assert.True(
                seen.Any(c => (c.Kind == ChangeKind.Upsert && c.Path == path) || (c.Kind == ChangeKind.UpsertTree && path.IsAtOrBelow(c.Path))),
                $"{f} not covered by: {Describe(seen)}");
        }

        Assert.Contains(seen, c => c.Kind == ChangeKind.UpsertTree && c.Path == R("a"));
        Assert.Equal(6, h.Watcher.WatchCount);

        File.WriteAllText(h.P("a/b/c/d/e/late"), "x");
        h.WaitFor(ChangeKind.Upsert, "a/b/c/d/e/late");
    }

    [Fact]
    public void Renamed_file_is_delete_plus_upsert()
    {
        using var h = new WatcherHarness();
        File.WriteAllText(h.P("x"), "1");
        h.WaitFor(ChangeKind.Upsert, "x");
        File.Move(h.P("x"), h.P("y"));
        var seen = h.Settle();
        Assert.Contains(new FileChange(ChangeKind.Delete, R("x"), false), seen);
        Assert.Contains(new FileChange(ChangeKind.Upsert, R("y"), false), seen);
    }

    [Fact]
    public void Renamed_directory_keeps_its_watches_and_paths_follow()
    {
        using var h = new WatcherHarness();
        Directory.CreateDirectory(h.P("d/s/t"));
        h.Settle();
        Assert.Equal(4, h.Watcher.WatchCount);

        Directory.Move(h.P("d"), h.P("d2"));
        var seen = h.Settle();
        Assert.Contains(new FileChange(ChangeKind.Delete, R("d"), true), seen);
        Assert.Contains(new FileChange(ChangeKind.UpsertTree, R("d2"), true), seen);
        Assert.Equal(4, h.Watcher.WatchCount);

        File.WriteAllText(h.P("d2/s/t/f"), "x");
        h.WaitFor(ChangeKind.Upsert, "d2/s/t/f");

        // And into a different parent.
        Directory.CreateDirectory(h.P("p"));
        h.Settle();
        Directory.Move(h.P("d2/s"), h.P("p/s"));
        File.WriteAllText(h.P("p/s/t/g"), "x");
        seen = h.Settle();
        Assert.Contains(new FileChange(ChangeKind.Delete, R("d2/s"), true), seen);
        Assert.Contains(new FileChange(ChangeKind.UpsertTree, R("p/s"), true), seen);
        Assert.Contains(new FileChange(ChangeKind.Upsert, R("p/s/t/g"), false), seen);
        Assert.DoesNotContain(seen, c => c.Path.ToMatchString().Contains("d2/s/", StringComparison.Ordinal));
    }

    [Fact]
    public void Directory_moved_in_from_outside_is_watched_and_sent_whole()
    {
        using var h = new WatcherHarness();
        var outside = h.Temp.Sub("outside");
        Directory.CreateDirectory(Path.Combine(outside, "m/n"));
        File.WriteAllText(Path.Combine(outside, "m/n/old"), "x");

        Directory.Move(Path.Combine(outside, "m"), h.P("m"));
        h.WaitFor(ChangeKind.UpsertTree, "m");
        Assert.Equal(3, h.Watcher.WatchCount);
        File.WriteAllText(h.P("m/n/new"), "x");
        h.WaitFor(ChangeKind.Upsert, "m/n/new");

        File.WriteAllText(Path.Combine(outside, "file"), "x");
        File.Move(Path.Combine(outside, "file"), h.P("file"));
        h.WaitFor(ChangeKind.Upsert, "file");
    }

    [Fact]
    public void Directory_moved_out_is_a_delete_and_unwatched()
    {
        using var h = new WatcherHarness();
        Directory.CreateDirectory(h.P("gone/deep"));
        h.Settle();
        Assert.Equal(3, h.Watcher.WatchCount);

        var outside = h.Temp.Sub("outside");
        Directory.Move(h.P("gone"), Path.Combine(outside, "gone"));
        h.WaitFor(ChangeKind.Delete, "gone");
        File.WriteAllText(Path.Combine(outside, "gone/deep/f"), "x");
        var seen = h.Settle();
        Assert.Empty(seen);
        Assert.Equal(1, h.Watcher.WatchCount);
    }

    [Fact]
    public void Deleted_tree_is_reported_and_its_watches_dropped()
    {
        using var h = new WatcherHarness();
        Directory.CreateDirectory(h.P("t/u/v"));
        File.WriteAllText(h.P("t/u/v/f"), "x");
        h.Settle();
        Assert.Equal(4, h.Watcher.WatchCount);

        Directory.Delete(h.P("t"), recursive: true);
        var seen = h.Settle();
        Assert.Contains(new FileChange(ChangeKind.Delete, R("t"), true), seen);
        Assert.Equal(1, h.Watcher.WatchCount);
    }

    [Fact]
    public void Awkward_names_keep_their_bytes()
    {
        using var h = new WatcherHarness();
        string[] names = ["new\nline", "with space", "-leading-dash", " "];
        foreach (var n in names)
        {
            File.WriteAllText(h.P(n), "x");
        }

        byte[] bad = [(byte)'b', 0xff, 0xfe, (byte)'d'];
        Python("import sys,os; os.mkdir(bytes.fromhex(sys.argv[1])); open(bytes.fromhex(sys.argv[2]),'wb').write(b'x')",
            Hex(h.Root, bad), Hex(h.Root, [.. bad, (byte)'/', 0x80, (byte)'f']));
        Python("import sys; open(bytes.fromhex(sys.argv[1]),'wb').write(b'x')", Hex(h.Root, [(byte)'x', 0xc3]));

        var seen = h.Settle();
        foreach (var n in names)
        {
            Assert.Contains(new FileChange(ChangeKind.Upsert, R(n), false), seen);
        }

        Assert.Contains(new FileChange(ChangeKind.UpsertTree, new RelativePath(bad), true), seen);
        Assert.Contains(new FileChange(ChangeKind.Upsert, new RelativePath([(byte)'x', 0xc3]), false), seen);
        Assert.Equal(2, h.Watcher.WatchCount);

        // The non-UTF-8 directory is watched under its exact bytes.
        Python("import sys; open(bytes.fromhex(sys.argv[1]),'wb').write(b'y')", Hex(h.Root, [.. bad, (byte)'/', (byte)'g']));
        h.WaitFor(c => c.Kind == ChangeKind.Upsert && c.Path == new RelativePath([.. bad, (byte)'/', (byte)'g']), "upsert in non-UTF-8 dir");
    }

    [Fact]
    public void Vim_save_sequence_reports_only_the_real_file()
    {
        using var h = new WatcherHarness();
        File.WriteAllText(h.P("x"), "v1");
        h.WaitFor(ChangeKind.Upsert, "x");

        // What vim does on :w with backupcopy=auto: swap file, write probe, backup by rename, new file, cleanup.
        File.WriteAllText(h.P(".x.swp"), "swap");
        File.WriteAllText(h.P(".x.swx"), "swap");
        File.Delete(h.P(".x.swx"));
        File.WriteAllText(h.P("4913"), "");
        File.Delete(h.P("4913"));
        File.Move(h.P("x"), h.P("x~"));
        File.WriteAllText(h.P("x"), "v2");
        File.Delete(h.P("x~"));
        File.AppendAllText(h.P(".x.swp"), "more");
        File.Delete(h.P(".x.swp"));
        File.WriteAllText(h.P(".htaccess"), "real");

        var seen = h.Settle();
        Assert.DoesNotContain(seen, c => c.Path == R(".x.swp") || c.Path == R(".x.swx") || c.Path == R("4913") || c.Path == R("x~"));
        Assert.Contains(new FileChange(ChangeKind.Upsert, R("x"), false), seen);
        Assert.Contains(new FileChange(ChangeKind.Upsert, R(".htaccess"), false), seen);
    }

    [Fact]
    public void Symlinks_hardlinks_and_fifos_are_reported_although_createFile_is_off()
    {
        using var h = new WatcherHarness();
        Assert.False(h.Watcher.Config.CreateFile);
        File.WriteAllText(h.P("target"), "x");
        h.WaitFor(ChangeKind.Upsert, "target");

        File.CreateSymbolicLink(h.P("link"), "target");
        h.WaitFor(ChangeKind.Upsert, "link");
        Python("import sys,os; os.link(sys.argv[1], sys.argv[2])", h.P("target"), h.P("hard"));
        h.WaitFor(ChangeKind.Upsert, "hard");
        Python("import sys,os; os.mkfifo(sys.argv[1])", h.P("fifo"));
        h.WaitFor(ChangeKind.Upsert, "fifo");

        // A symlink to a directory is a link, never a watched directory.
        File.CreateSymbolicLink(h.P("dirlink"), h.Temp.Sub("elsewhere"));
        h.WaitFor(ChangeKind.Upsert, "dirlink");
        Assert.Equal(1, h.Watcher.WatchCount);
    }

    [Fact]
    public void With_createFile_off_a_new_names_first_report_is_marked_fresh_and_so_is_the_delete_of_one_never_reported()
    {
        using var h = new WatcherHarness();
        File.WriteAllText(h.P("old"), "x");
        Assert.True(h.WaitFor(ChangeKind.Upsert, "old").Fresh); // created: its close_write is its first report
        File.AppendAllText(h.P("old"), "y");
        Assert.False(h.WaitFor(c => c.Kind == ChangeKind.Upsert && c.Path == R("old") && !c.Fresh, "a rewrite, not fresh").Fresh);

        // Created and removed while open: never reported, so its delete removes nothing any target had.
        using (var open = new FileStream(h.P("tmp"), FileMode.CreateNew))
        {
            File.Delete(h.P("tmp"));
        }

        Assert.True(h.WaitFor(ChangeKind.Delete, "tmp").Fresh);
        File.Delete(h.P("old"));
        Assert.False(h.WaitFor(ChangeKind.Delete, "old").Fresh);
    }

    [Fact]
    public void New_directories_are_watched_even_when_createFolder_is_off()
    {
        using var h = new WatcherHarness(InotifyConfig.Stock with { CreateFolder = false });
        Directory.CreateDirectory(h.P("n/o"));
        var seen = h.Settle();
        Assert.DoesNotContain(seen, c => c.Kind == ChangeKind.UpsertTree);
        Assert.Equal(3, h.Watcher.WatchCount);
        File.WriteAllText(h.P("n/o/f"), "x");
        h.WaitFor(ChangeKind.Upsert, "n/o/f");
    }

    [Fact]
    public void Attrib_on_a_directory_upserts_it_and_keeps_its_watches()
    {
        using var h = new WatcherHarness(InotifyConfig.Stock with { Attrib = true });
        Directory.CreateDirectory(h.P("d/e"));
        h.Settle();
        Python("import sys,os; os.chmod(sys.argv[1], 0o700)", h.P("d"));
        h.WaitFor(c => c.Kind == ChangeKind.Upsert && c.Path == R("d") && c.IsDirectory, "upsert d/");
        Assert.Equal(3, h.Watcher.WatchCount);
        File.WriteAllText(h.P("d/e/f"), "x");
        h.WaitFor(ChangeKind.Upsert, "d/e/f");
    }

    [Fact]
    public void Switches_select_what_is_reported()
    {
        var quiet = new InotifyConfig(Delete: false, CreateFolder: true, CreateFile: true, CloseWrite: false,
            MoveFrom: false, MoveTo: true, Attrib: false, Modify: false);
        using var h = new WatcherHarness(quiet with { CreateFile = true });
        File.WriteAllText(h.P("f"), "x"); // reported at IN_CREATE, no CLOSE_WRITE asked
        h.WaitFor(ChangeKind.Upsert, "f");
        File.Move(h.P("f"), h.P("g"));
        File.Delete(h.P("g"));
        // The sentinel needs a report for a new file: createFile is on.
        var seen = h.Settle();
        Assert.Equal([new FileChange(ChangeKind.Upsert, R("g"), false)], seen);
    }

    [Fact]
    public void Excluded_directories_are_never_watched_nor_reported()
    {
        var rule = new ExcludeRule("cache|attic", new System.Text.RegularExpressions.Regex("^(?:cache|attic)$"), 1);
        var rule2 = new ExcludeRule(@"(.*)\.gz", new System.Text.RegularExpressions.Regex(@"^(?:(.*)\.gz)$"), 2);
        using var h = new WatcherHarness(filter: new PathFilter(new FilterConfig(true, [rule, rule2])), start: false);
        Directory.CreateDirectory(h.P("cache/sub"));
        Directory.CreateDirectory(h.P("keep/cache"));
        h.Watcher.Start();
        Assert.Equal(3, h.Watcher.WatchCount); // root, keep, keep/cache

        File.WriteAllText(h.P("cache/sub/f"), "x");
        File.WriteAllText(h.P("keep/a.gz"), "x");
        Directory.CreateDirectory(h.P("keep/x.gz/y"));
        File.WriteAllText(h.P("keep/cache/f"), "x");
        var seen = h.Settle();
        Assert.Equal([new FileChange(ChangeKind.Upsert, R("keep/cache/f"), false)], seen);
        Assert.Equal(3, h.Watcher.WatchCount);

        // Moving a watched directory to an excluded name drops its watches.
        Directory.Move(h.P("keep"), h.P("attic"));
        seen = h.Settle();
        Assert.Equal([new FileChange(ChangeKind.Delete, R("keep"), true)], seen);
        Assert.Equal(1, h.Watcher.WatchCount);

        // And back: watched again (with what is below it) and sent whole.
        Directory.Move(h.P("attic"), h.P("back"));
        seen = h.Settle();
        Assert.Equal([new FileChange(ChangeKind.UpsertTree, R("back"), true)], seen);
        Assert.Equal(3, h.Watcher.WatchCount);
    }

    [Fact]
    public void Queue_overflow_is_repaired_and_reported_as_rescan()
    {
        // max_queued_events is not lowered: other processes on this machine may create inotify instances meanwhile.
        // Instead nobody reads while more events than the queue holds are generated.
        using var h = new WatcherHarness(start: false);
        var limit = InotifyLimits.Read(InotifyLimits.MaxQueuedEventsFile);
        Assert.NotNull(limit);
        h.Watcher.PlaceInitialWatches();
        File.WriteAllText(h.P("a"), "");
        File.WriteAllText(h.P("b"), "");
        for (var i = 0; i < limit.Value + 100; i++)
        {
            // Opening for write and closing is one IN_CLOSE_WRITE; alternating names keeps the kernel from merging
            // them with the previous event.
            File.OpenHandle(h.P(i % 2 == 0 ? "a" : "b"), FileMode.Open, FileAccess.Write).Dispose();
        }

        Directory.CreateDirectory(h.P("late/sub")); // its IN_CREATE is lost: only the rescan can find it

        h.Watcher.StartReader();
        h.WaitFor(c => c.Kind == ChangeKind.Rescan && c.Path.IsRoot, "rescan");
        Assert.Equal(3, h.Watcher.WatchCount);
        File.WriteAllText(h.P("late/sub/f"), "x");
        h.WaitFor(ChangeKind.Upsert, "late/sub/f");
    }

    [Fact]
    public void Dispose_returns_promptly_and_completes()
    {
        var h = new WatcherHarness();
        var sw = Stopwatch.StartNew();
        h.Dispose();
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(2), $"dispose took {sw.Elapsed}");
        Assert.True(h.Watcher.Completion.IsCompletedSuccessfully);
    }

    [Fact]
    public async Task Losing_the_root_is_loud()
    {
        using var h = new WatcherHarness();
        var lost = new TaskCompletionSource<RootLostReason>();
        h.Watcher.RootLost += (_, e) => lost.TrySetResult(e.Reason);
        Directory.Move(h.Root, h.Root + "-moved");
        Assert.Equal(RootLostReason.Moved, await lost.Task.WaitAsync(Deadline, TestContext.Current.CancellationToken));
        var ex = await Assert.ThrowsAsync<RootLostException>(() => h.Watcher.Completion.WaitAsync(Deadline, TestContext.Current.CancellationToken));
        Assert.Equal(RootLostReason.Moved, ex.Reason);
        Directory.Move(h.Root + "-moved", h.Root); // so the temp directory cleans up
    }

    [Fact]
    public async Task Deleting_the_root_is_loud()
    {
        using var h = new WatcherHarness();
        var lost = new TaskCompletionSource<RootLostReason>();
        h.Watcher.RootLost += (_, e) => lost.TrySetResult(e.Reason);
        Directory.Delete(h.Root);
        Assert.Equal(RootLostReason.Deleted, await lost.Task.WaitAsync(Deadline, TestContext.Current.CancellationToken));
    }

    [Fact]
    public void Missing_root_throws()
    {
        using var temp = new SerSync.Testing.TempDirectory();
        using var w = new InotifyWatcher(Path.Combine(temp.Path, "nope"), InotifyConfig.Stock, new PathFilter(),
            System.Threading.Channels.Channel.CreateUnbounded<FileChange>().Writer);
        Assert.Throws<DirectoryNotFoundException>(w.Start);
    }
}

[Collection("inotify")]
public sealed class InotifyWatcherChurnTests
{
    [Fact]
    public void Progress_reports_the_watches_placed_by_the_clock_not_by_count()
    {
        using var temp = new SerSync.Testing.TempDirectory();
        for (var i = 0; i < 1500; i++)
        {
            Directory.CreateDirectory(Path.Combine(temp.Path, $"d{i % 30}", $"e{i}"));
        }

        // A slow tree: every look at the clock finds 100 ms more passed, so a report is due every fifth watch.
        var reports = new List<int>();
        var clock = new SteppingClock(TimeSpan.FromMilliseconds(100));
        using var w = new InotifyWatcher(temp.Path, InotifyConfig.Stock, new PathFilter(),
            System.Threading.Channels.Channel.CreateUnbounded<FileChange>().Writer, progress: new SyncProgress(reports),
            timeProvider: clock);
        w.Start();
        Assert.Equal(1531, w.WatchCount);
        Assert.Equal(1531, reports[^1]);
        Assert.Equal(reports.Order(), reports);
        Assert.InRange(reports.Count, 1531 / 5, (1531 / 5) + 2);
        Assert.All(reports.Zip(reports.Skip(1)).SkipLast(1), p => Assert.Equal(5, p.Second - p.First));
    }

    [Fact]
    public void A_fast_start_reports_progress_once()
    {
        using var temp = new SerSync.Testing.TempDirectory();
        for (var i = 0; i < 50; i++)
        {
            Directory.CreateDirectory(Path.Combine(temp.Path, $"d{i}"));
        }

        var reports = new List<int>();
        using var w = new InotifyWatcher(temp.Path, InotifyConfig.Stock, new PathFilter(),
            System.Threading.Channels.Channel.CreateUnbounded<FileChange>().Writer, progress: new SyncProgress(reports),
            timeProvider: new Microsoft.Extensions.Time.Testing.FakeTimeProvider());
        w.Start();
        Assert.Equal([51], reports);
    }

    [Fact]
    public void Directories_vanishing_while_being_scanned_are_not_errors()
    {
        using var h = new WatcherHarness();
        var faulted = false;
        h.Watcher.Faulted += (_, _) => faulted = true;
        for (var i = 0; i < 150; i++)
        {
            Directory.CreateDirectory(h.P($"c{i}/x/y/z"));
            if (i % 3 == 0)
            {
                Directory.Move(h.P($"c{i}"), h.P($"m{i}"));
                Directory.Delete(h.P($"m{i}"), recursive: true);
            }
            else
            {
                Directory.Delete(h.P($"c{i}"), recursive: true);
            }
        }

        Directory.CreateDirectory(h.P("last/x"));
        var seen = h.Settle();
        Assert.False(faulted);
        Assert.False(h.Watcher.Completion.IsCompleted);
        Assert.Equal(3, h.Watcher.WatchCount);
        Assert.Contains(new FileChange(ChangeKind.UpsertTree, R("last"), true), seen);
    }

    [Fact]
    public void A_tree_copied_in_with_cp_r_is_covered_completely()
    {
        using var h = new WatcherHarness();
        var source = h.Temp.Sub("src/site");
        var files = new List<string>();
        for (var d = 0; d < 30; d++)
        {
            var dir = $"l1-{d % 5}/l2-{d}/l3";
            Directory.CreateDirectory(Path.Combine(source, dir));
            for (var f = 0; f < 10; f++)
            {
                File.WriteAllText(Path.Combine(source, dir, $"f{f}"), "x");
                files.Add($"site/{dir}/f{f}");
            }
        }

        var psi = new System.Diagnostics.ProcessStartInfo("cp") { ArgumentList = { "-r", "--", source, h.Root + "/" } };
        using (var cp = System.Diagnostics.Process.Start(psi)!)
        {
            cp.WaitForExit();
            Assert.Equal(0, cp.ExitCode);
        }

        var seen = h.Settle();
        var trees = seen.Where(c => c.Kind == ChangeKind.UpsertTree).Select(c => c.Path).ToList();
        var upserts = seen.Where(c => c.Kind == ChangeKind.Upsert).Select(c => c.Path).ToHashSet();
        foreach (var f in files)
        {
            var path = R(f);
            Assert.True(upserts.Contains(path) || trees.Any(path.IsAtOrBelow), $"{f} not covered");
        }

        Assert.Equal(1 + 1 + 5 + 30 + 30, h.Watcher.WatchCount);
    }

    /// <summary>A clock that moves on by <paramref name="step"/> each time it is read.</summary>
    private sealed class SteppingClock(TimeSpan step) : TimeProvider
    {
        private long _ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Interlocked.Add(ref _ticks, step.Ticks);
    }

    private sealed class SyncProgress(List<int> reports) : IProgress<int>
    {
        public void Report(int value)
        {
            lock (reports)
            {
                reports.Add(value);
            }
        }
    }
}
