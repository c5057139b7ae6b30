using System.Diagnostics;
using SerSync.Paths;
using SerSync.Testing;

namespace SerSync.IntegrationTests.EndToEnd;

/// <summary>
/// Renames inside the tree reach a local and an ssh target (real sshd on loopback, its directory on this machine)
/// as renames: the targets hold the same inodes under the new names afterwards, so nothing was copied, and match
/// the source byte for byte.
/// </summary>
public sealed class RenameEndToEndTests
{
    private static readonly TimeSpan MoveTimeout = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task A_200_MB_directory_of_2000_files_moved_inside_the_tree_is_renamed_on_local_and_ssh_targets()
    {
        using var tmp = new TempDirectory("sersync-e2e-rename-");
        var src = tmp.Sub("src");
        var local = tmp.Sub("local");
        var overSsh = tmp.Sub("over-ssh");
        var random = new Random(11);
        var content = new byte[100 * 1024];
        for (var d = 0; d < 20; d++)
        {
            var dir = Path.Combine(src, "site", $"d{d:00}");
            Directory.CreateDirectory(dir);
            for (var f = 0; f < 100; f++)
            {
                random.NextBytes(content);
                File.WriteAllBytes(Path.Combine(dir, $"f{f:000}.bin"), content);
            }
        }

        // Made before the start: a directory created an instant before a move into it may not be watched yet when
        // the kernel queues the IN_MOVED_TO, and then the move is seen as a move out and a new tree (sent again).
        Directory.CreateDirectory(Path.Combine(src, "archive"));
        await using var sshd = new SshServer();
        var config = new ConfigBuilder(src, Path.Combine(tmp.Path, "state"))
            .AddLocalTarget(local)
            .AddSshTarget(sshd, overSsh)
            .Write(Path.Combine(tmp.Path, "confxml.xml"));
        using var daemon = DaemonProcess.Start("-r", "-o", config);
        await daemon.WaitForReadyAsync(TimeSpan.FromMinutes(3));
        TreeComparer.AssertEqual(src, local);
        TreeComparer.AssertEqual(src, overSsh);
        var before = new[] { Inodes(Path.Combine(local, "site")), Inodes(Path.Combine(overSsh, "site")) };
        Assert.All(before, b => Assert.Equal(2020, b.Count)); // 2,000 files and 20 directories

        var watch = Stopwatch.StartNew();
        Directory.Move(Path.Combine(src, "site"), Path.Combine(src, "archive", "site-2026"));
        await TreeConvergence.AssertConvergesAsync(src, local, MoveTimeout, abandon: () => daemon.HasExited, diagnostics: daemon.Describe);
        var localTime = watch.Elapsed;
        await TreeConvergence.AssertConvergesAsync(src, overSsh, MoveTimeout, abandon: () => daemon.HasExited, diagnostics: daemon.Describe);
        var sshTime = watch.Elapsed;
        TestContext.Current.TestOutputHelper?.WriteLine($"200 MB / 2,000 files moved: local in sync after {localTime.TotalMilliseconds:0} ms, ssh after {sshTime.TotalMilliseconds:0} ms");

        Assert.True(before[0].SequenceEqual(Inodes(Path.Combine(local, "archive", "site-2026"))), "local: copied, not renamed\n" + daemon.Describe());
        Assert.True(before[1].SequenceEqual(Inodes(Path.Combine(overSsh, "archive", "site-2026"))), "ssh: copied, not renamed\n" + daemon.Describe());
        Assert.False(Directory.Exists(Path.Combine(local, "site")));
        Assert.False(Directory.Exists(Path.Combine(overSsh, "site")));
        TreeComparer.AssertEqual(src, local);
        TreeComparer.AssertEqual(src, overSsh);
        await daemon.StopAsync();
    }

    [Fact]
    public async Task Hostile_names_chains_swaps_and_the_atomic_save_pattern_reach_both_kinds_of_target()
    {
        using var tmp = new TempDirectory("sersync-e2e-rename-names-");
        var src = tmp.Sub("src");
        var local = tmp.Sub("local");
        var overSsh = tmp.Sub("over-ssh");
        var nasty = NastyNames.All;
        NastyNames.CreateDirectory(NastyNames.Join(src, "dir"u8.ToArray()));
        foreach (var name in nasty)
        {
            NastyNames.CreateFile(NastyNames.Join(src, "dir"u8.ToArray(), name), name);
        }

        NastyNames.CreateDirectory(NastyNames.Join(src, nasty[7]));
        NastyNames.CreateFile(NastyNames.Join(src, nasty[7], nasty[19]), "inside"u8.ToArray());
        File.WriteAllText(Path.Combine(src, "a"), "a");
        File.WriteAllText(Path.Combine(src, "x"), "x");
        File.WriteAllText(Path.Combine(src, "y"), "y");
        File.WriteAllText(Path.Combine(src, "page.html"), "old page");

        // Made before the start: a directory created an instant before a move into it may not be watched yet when
        // the kernel queues the IN_MOVED_TO, and then the move is seen as a move out and a new tree (sent again).
        Directory.CreateDirectory(Path.Combine(src, "archive"));
        await using var sshd = new SshServer();
        var config = new ConfigBuilder(src, Path.Combine(tmp.Path, "state"))
            .AddLocalTarget(local)
            .AddSshTarget(sshd, overSsh)
            .Write(Path.Combine(tmp.Path, "confxml.xml"));
        using var daemon = DaemonProcess.Start("-r", "-o", config);
        await daemon.WaitForReadyAsync(Mirror.ReadyTimeout);
        var targets = new[] { local, overSsh };
        var names = targets.Select(t => Inodes(Path.Combine(t, "dir"))).ToArray();
        var dollar = targets.Select(t => Inodes(RootBytes(t, nasty[7]))).ToArray();
        var swapped = targets.Select(t => (X: Inode(Path.Combine(t, "x")), Y: Inode(Path.Combine(t, "y")))).ToArray();
        var chained = targets.Select(t => Inode(Path.Combine(t, "a"))).ToArray();

        // Every nasty file renamed within its directory to a nasty name; a nasty directory renamed to another; a
        // chain a -> b -> c; a swap x <-> y; and an atomic save (the target never had the temporary file).
        foreach (var name in nasty)
        {
            Rename(NastyNames.Join(src, "dir"u8.ToArray(), name), NastyNames.Join(src, "dir"u8.ToArray(), [.. "-moved\n'"u8, .. name]));
        }

        Rename(NastyNames.Join(src, nasty[7]), NastyNames.Join(src, nasty[20]));
        File.Move(Path.Combine(src, "a"), Path.Combine(src, "b"));
        File.Move(Path.Combine(src, "b"), Path.Combine(src, "c"));
        File.Move(Path.Combine(src, "x"), Path.Combine(src, "t"));
        File.Move(Path.Combine(src, "y"), Path.Combine(src, "x"));
        File.Move(Path.Combine(src, "t"), Path.Combine(src, "y"));
        File.WriteAllText(Path.Combine(src, "page.html.tmp"), "new page");
        File.Move(Path.Combine(src, "page.html.tmp"), Path.Combine(src, "page.html"), overwrite: true);

        foreach (var target in targets)
        {
            await TreeConvergence.AssertConvergesAsync(src, target, MoveTimeout, abandon: () => daemon.HasExited, diagnostics: daemon.Describe);
        }

        for (var i = 0; i < targets.Length; i++)
        {
            var t = targets[i];
            var after = Inodes(Path.Combine(t, "dir"));
            var copied = names[i].Where(n => after["-moved\n'" + n.Key] != n.Value).Select(n => n.Key).ToList();
            Assert.True(copied.Count == 0, $"{t}: sent again instead of renamed: {string.Join(", ", copied)}\n{daemon.Describe()}");

            Assert.Equal(dollar[i].Values.Order(), Inodes(RootBytes(t, nasty[20])).Values.Order());
            if (WatcherBackend.IsInotify)
            {
                // inotify sees the swap's three renames in order; a scan sees only two names whose inodes changed
                // places, which it sends again (a rename across a swap needs an order the scan cannot know).
                Assert.Equal((swapped[i].Y, swapped[i].X), (Inode(Path.Combine(t, "x")), Inode(Path.Combine(t, "y"))));
            }

            Assert.Equal(chained[i], Inode(Path.Combine(t, "c")));
            Assert.Equal("new page", File.ReadAllText(Path.Combine(t, "page.html")));
        }

        Assert.False(File.Exists(Path.Combine(overSsh, "pwned")) || File.Exists(Path.Combine(src, "pwned")));
        await daemon.StopAsync();
    }

    [Fact]
    public async Task A_rename_the_target_cannot_do_is_sent_instead_and_the_batch_succeeds()
    {
        using var tmp = new TempDirectory("sersync-e2e-rename-fallback-");
        var src = tmp.Sub("src");
        var local = tmp.Sub("local");
        var overSsh = tmp.Sub("over-ssh");
        File.WriteAllText(Path.Combine(src, "lost-on-target"), "the target lost its copy");
        File.WriteAllText(Path.Combine(src, "then"), "renamed after the one that cannot be done");
        Directory.CreateDirectory(Path.Combine(src, "dir"));
        File.WriteAllText(Path.Combine(src, "dir", "inside"), "x");
        await using var sshd = new SshServer();
        var config = new ConfigBuilder(src, Path.Combine(tmp.Path, "state"))
            .AddLocalTarget(local)
            .AddSshTarget(sshd, overSsh)
            .Write(Path.Combine(tmp.Path, "confxml.xml"));
        using var daemon = DaemonProcess.Start("-r", "-o", config);
        await daemon.WaitForReadyAsync(Mirror.ReadyTimeout);
        foreach (var target in new[] { local, overSsh })
        {
            // Behind sersyncd's back: the old path is gone, and a non-empty directory sits where "dir" goes.
            File.Delete(Path.Combine(target, "lost-on-target"));
            Directory.CreateDirectory(Path.Combine(target, "dir-renamed", "in-the-way"));
        }

        File.Move(Path.Combine(src, "lost-on-target"), Path.Combine(src, "found"));
        File.Move(Path.Combine(src, "then"), Path.Combine(src, "then-renamed"));
        Directory.Move(Path.Combine(src, "dir"), Path.Combine(src, "dir-renamed"));
        foreach (var target in new[] { local, overSsh })
        {
            await TreeConvergence.AssertConvergesAsync(src, target, MoveTimeout, abandon: () => daemon.HasExited, diagnostics: daemon.Describe);
        }

        // Converged means the batch's rsync succeeded (it deleted what was in the way and sent the lost file).
        Assert.False(Directory.Exists(Path.Combine(overSsh, "dir-renamed", "in-the-way")));
        await daemon.StopAsync();
    }

    private static void Rename(byte[] from, byte[] to)
    {
        // .NET's File.Move takes strings, which cannot carry names that are not UTF-8.
        Assert.Equal(0, FileSystemBytes.TryRename(from, to));
    }

    private static byte[] RootBytes(string root, byte[] name) => NastyNames.Join(root, name);

    private static ulong Inode(string path) => FileSystemBytes.Stat(FileSystemBytes.RootBytes(path))!.Value.Inode;

    private static Dictionary<string, ulong> Inodes(string root) => Inodes(FileSystemBytes.RootBytes(root));

    /// <summary>Every entry below <paramref name="root"/> by its path (bytes as Latin-1, so any name is a key) and
    /// its inode.</summary>
    private static Dictionary<string, ulong> Inodes(byte[] root)
    {
        var result = new Dictionary<string, ulong>(StringComparer.Ordinal);
        var pending = new Stack<RelativePath>();
        pending.Push(RelativePath.Root);
        while (pending.Count > 0)
        {
            var dir = pending.Pop();
            foreach (var entry in FileSystemBytes.ListDirectory(FileSystemBytes.Combine(root, dir)) ?? [])
            {
                var path = dir.Append(entry.Name);
                var status = FileSystemBytes.Stat(FileSystemBytes.Combine(root, path))!.Value;
                result[System.Text.Encoding.Latin1.GetString(path.Bytes)] = status.Inode;
                if (status.Type == EntryType.Directory)
                {
                    pending.Push(path);
                }
            }
        }

        return result;
    }
}
