using System.Text;
using SerSync.Testing;

namespace SerSync.IntegrationTests.EndToEnd;

/// <summary>The built daemon mirroring into a local directory target: start-up push, live changes, storms, editors,
/// moves and nasty names.</summary>
public sealed class LocalTargetEndToEndTests
{
    [Fact]
    public async Task Full_push_arrives_before_ready_and_live_changes_follow()
    {
        await using var m = await Mirror.StartAsync(m =>
        {
            Directory.CreateDirectory(m.Src("a/b/c"));
            File.WriteAllText(m.Src("top.txt"), "top");
            File.WriteAllText(m.Src("a/b/c/deep.txt"), "deep");
            File.WriteAllBytes(m.Src("a/big.bin"), Enumerable.Range(0, 200_000).Select(i => (byte)(i * 31)).ToArray());
            File.WriteAllText(m.Src("to-delete.txt"), "going");
        });

        // READY=1 promises the -r push is done: no waiting here.
        TreeComparer.AssertEqual(m.Source, m.Target);

        File.WriteAllText(m.Src("new.txt"), "new");
        File.AppendAllText(m.Src("top.txt"), " and more");
        File.Delete(m.Src("to-delete.txt"));
        Directory.CreateDirectory(m.Src("x/y"));
        File.WriteAllText(m.Src("x/y/z.txt"), "z");
        await m.WaitForTargetAsync();
        Assert.Equal("top and more", File.ReadAllText(m.Dst("top.txt")));
        Assert.False(File.Exists(m.Dst("to-delete.txt")));

        await m.Daemon.StopAsync();
    }

    [Fact]
    public async Task Nested_directories_made_and_filled_at_once_and_an_extracted_tarball_miss_nothing()
    {
        const int Tops = 200;
        string[] levels = ["", "a", "a/b", "a/b/c", "a/b/c/d", "a/b/c/d/e"];
        await using var m = await Mirror.StartAsync();

        for (var i = 0; i < Tops; i++)
        {
            var top = m.Src($"top{i:D3}");
            Directory.CreateDirectory(Path.Combine(top, "a/b/c/d/e")); // mkdir -p
            foreach (var level in levels)
            {
                File.WriteAllText(Path.Combine(top, level, $"f{i}.txt"), $"{i} at /{level}");
            }
        }

        // A tarball built outside the tree, extracted into it.
        var staging = Path.Combine(m.Outside, "staging");
        for (var d = 0; d < 20; d++)
        {
            var dir = Path.Combine(staging, "pkg", $"mod{d}", "lib", "inner");
            Directory.CreateDirectory(dir);
            for (var f = 0; f < 5; f++)
            {
                File.WriteAllText(Path.Combine(dir, $"file{f}.js"), $"module {d} file {f}\n");
                File.WriteAllText(Path.Combine(staging, "pkg", $"mod{d}", $"readme{f}.md"), $"readme {d}/{f}");
            }
        }

        var tarball = Path.Combine(m.Outside, "pkg.tar");
        var tar = await ChildProcess.RunAsync("tar", ["-cf", tarball, "-C", staging, "pkg"], cancellationToken: TestContext.Current.CancellationToken);
        Assert.True(tar.ExitCode == 0, tar.ToString());
        var extract = await ChildProcess.RunAsync("tar", ["-xf", tarball, "-C", m.Source], cancellationToken: TestContext.Current.CancellationToken);
        Assert.True(extract.ExitCode == 0, extract.ToString());

        Assert.Equal(Tops * levels.Length + (20 * 10), Directory.EnumerateFiles(m.Source, "*", SearchOption.AllDirectories).Count());
        await m.WaitForTargetAsync(timeout: TimeSpan.FromSeconds(60));
        await m.Daemon.StopAsync();
    }

    [Fact]
    public async Task Vim_saves_never_put_swap_probe_or_backup_files_on_the_target()
    {
        const int Saves = 15;
        await using var m = await Mirror.StartAsync(m => File.WriteAllText(m.Src("x"), "original"));
        var seen = new System.Collections.Concurrent.ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        using var stopPolling = new CancellationTokenSource();
        var polls = 0;
        var poller = Task.Run(async () =>
        {
            while (!stopPolling.IsCancellationRequested)
            {
                foreach (var entry in SafeList(m.Target))
                {
                    if (entry.EndsWith(".swp", StringComparison.Ordinal) || entry.EndsWith(".swx", StringComparison.Ordinal) ||
                        entry == "4913" || entry.EndsWith('~'))
                    {
                        seen.AddOrUpdate(entry, 1, (_, n) => n + 1);
                    }
                }

                Interlocked.Increment(ref polls);
                await Task.Delay(2, TestContext.Current.CancellationToken);
            }
        }, TestContext.Current.CancellationToken);

        try
        {
            for (var i = 0; i < Saves; i++)
            {
                // Editing starts: the swap file (and its sibling) live while the user types.
                File.WriteAllText(m.Src(".x.swp"), $"swap {i}");
                File.WriteAllText(m.Src(".x.swx"), $"swx {i}");
                await SyncPointAsync(m, $"editing {i}");

                // :w — the writability probe, the backup rename, the new file, the backup removed.
                File.WriteAllText(m.Src("4913"), string.Empty);
                File.Delete(m.Src("4913"));
                File.Move(m.Src("x"), m.Src("x~"));
                File.WriteAllText(m.Src("x"), $"saved {i}");
                await SyncPointAsync(m, $"saved {i}");
                File.Delete(m.Src("x~"));

                // :q — the swap files go.
                File.Delete(m.Src(".x.swx"));
                File.Delete(m.Src(".x.swp"));
            }

            await m.WaitForTargetAsync();
            Assert.Equal($"saved {Saves - 1}", File.ReadAllText(m.Dst("x")));
        }
        finally
        {
            await stopPolling.CancelAsync();
            await poller;
        }

        Assert.True(polls > Saves, $"the target was polled only {polls} times");
        Assert.True(seen.IsEmpty, "editor files seen on the target: " + string.Join(", ", seen.Select(kv => $"{kv.Key} ({kv.Value} polls)")));
        await m.Daemon.StopAsync();
    }

    [Fact]
    public async Task Renames_moves_in_and_out_and_tree_deletes_are_mirrored()
    {
        await using var m = await Mirror.StartAsync(m =>
        {
            Directory.CreateDirectory(m.Src("d1/sub/deeper"));
            File.WriteAllText(m.Src("f"), "file f");
            File.WriteAllText(m.Src("d1/one.txt"), "one");
            File.WriteAllText(m.Src("d1/sub/two.txt"), "two");
            File.WriteAllText(m.Src("d1/sub/deeper/three.txt"), "three");
        });

        File.Move(m.Src("f"), m.Src("g"));
        await m.WaitForTargetAsync();
        Assert.False(File.Exists(m.Dst("f")));

        Directory.Move(m.Src("d1"), m.Src("d2"));
        await m.WaitForTargetAsync();
        Assert.False(Directory.Exists(m.Dst("d1")));

        // The renamed tree is still watched under its new name.
        File.WriteAllText(m.Src("d2/sub/deeper/after-rename.txt"), "after");
        File.WriteAllText(m.Src("d2/sub/two.txt"), "two, edited");
        await m.WaitForTargetAsync();

        // Moved in from outside: a whole tree, then watched.
        var incoming = Path.Combine(m.Outside, "incoming");
        Directory.CreateDirectory(Path.Combine(incoming, "p/q"));
        File.WriteAllText(Path.Combine(incoming, "p/q/r.txt"), "r");
        File.WriteAllText(Path.Combine(incoming, "s.txt"), "s");
        Directory.Move(incoming, m.Src("moved-in"));
        File.Move(WriteOutside(m, "loose.txt", "loose"), m.Src("d2/loose.txt"));
        await m.WaitForTargetAsync();
        File.WriteAllText(m.Src("moved-in/p/q/later.txt"), "later");
        await m.WaitForTargetAsync();

        // Moved out: gone from the target, and changes out there are not mirrored.
        Directory.Move(m.Src("d2"), Path.Combine(m.Outside, "d2-out"));
        File.Move(m.Src("g"), Path.Combine(m.Outside, "g-out"));
        await m.WaitForTargetAsync();
        Assert.False(Directory.Exists(m.Dst("d2")));
        File.WriteAllText(Path.Combine(m.Outside, "d2-out/sub/outside-only.txt"), "not watched");
        File.WriteAllText(m.Src("marker"), "after the move out");
        await m.WaitForTargetAsync();
        Assert.Empty(Directory.EnumerateFiles(m.Target, "outside-only.txt", SearchOption.AllDirectories));

        // A tree deleted.
        Directory.Delete(m.Src("moved-in"), recursive: true);
        await m.WaitForTargetAsync();
        Assert.False(Directory.Exists(m.Dst("moved-in")));
        await m.Daemon.StopAsync();
    }

    [Fact]
    public async Task Nasty_names_created_live_arrive_byte_for_byte()
    {
        // In a directory that is watched from the start, so each name travels as a single-file change (a new
        // directory is synced whole). Root-level names starting with '#' or ';': see the report on rsync's
        // files-from comment lines.
        await using var m = await Mirror.StartAsync(m =>
        {
            m.Config.CreateFile = true; // symlinks need createFile
            Directory.CreateDirectory(m.Src("live"));
        });
        var live = m.Src("live");
        foreach (var name in NastyNames.All)
        {
            NastyNames.CreateFile(NastyNames.Join(live, name), [.. Encoding.UTF8.GetBytes("live "), .. name]);
        }

        await m.WaitForTargetAsync();

        Directory.CreateDirectory(Path.Combine(live, "tree"));
        var count = NastyNames.CreateTree(Path.Combine(live, "tree"));
        Assert.Equal(NastyNames.All.Count * 4, count);
        await m.WaitForTargetAsync();

        // Deletes and rewrites of such names too.
        NastyNames.Delete(NastyNames.Join(live, NastyNames.All[2]));  // newline
        NastyNames.Delete(NastyNames.Join(live, NastyNames.All[19])); // not UTF-8
        NastyNames.CreateFile(NastyNames.Join(live, NastyNames.All[13]), "rewritten -rf"u8.ToArray());
        NastyNames.CreateFile(NastyNames.Join(live, NastyNames.All[20]), "rewritten lone 0x80"u8.ToArray());
        await m.WaitForTargetAsync();
        Assert.False(File.Exists(m.Src("pwned")) || File.Exists(m.Dst("pwned")), "a name reached a shell");
        await m.Daemon.StopAsync();
    }

    private static string WriteOutside(Mirror m, string name, string content)
    {
        var path = Path.Combine(m.Outside, name);
        File.WriteAllText(path, content);
        return path;
    }

    /// <summary>Writes a marker file and waits until the target has it: everything written before it has had its
    /// chance to be sent.</summary>
    private static async Task SyncPointAsync(Mirror m, string content)
    {
        File.WriteAllText(m.Src("marker"), content);
        await Eventually.TrueAsync(() => SafeRead(m.Dst("marker")) == content, Mirror.SyncTimeout, $"marker '{content}' reached the target\n{m.Daemon.Describe()}");
    }

    private static string? SafeRead(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static string[] SafeList(string dir)
    {
        try
        {
            return [.. Directory.EnumerateFileSystemEntries(dir).Select(Path.GetFileName).OfType<string>()];
        }
        catch (IOException)
        {
            return [];
        }
    }
}
