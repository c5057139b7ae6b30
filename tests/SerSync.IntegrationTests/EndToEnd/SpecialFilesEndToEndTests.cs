// Symlinks, fifos and device nodes make no IN_CLOSE_WRITE: creating one is a bare IN_CREATE (a symlink's carries no
// IN_ISDIR even when it points at a directory). The daemon reports such a creation whatever <createFile> says (it
// lstats the new name), so these tests run with the stock createFile="false". inotify_add_watch follows a symlink
// unless given IN_DONT_FOLLOW; a symlink to a directory must not be watched through, which these tests check by
// counting the daemon's watches in /proc/PID/fdinfo.
using SerSync.Testing;

namespace SerSync.IntegrationTests.EndToEnd;

/// <summary>The built daemon mirroring symlinks, fifos, device nodes and entries that change type, to a local
/// directory, a real rsync daemon and an ssh target (both running as the test's user: root in CI, so device nodes
/// can be made), each
/// step ending with both targets equal to the source in type, link target, mode, content and device numbers.</summary>
public sealed class SpecialFilesEndToEndTests
{
    private static readonly TreeCompareOptions Exact = new() { ComparePermissions = true };
    private static readonly EnumerationOptions NotThroughLinks = new() { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint };

    [Fact]
    public async Task Symlinks_created_retargeted_dangling_and_removed_arrive_as_symlinks_and_are_not_watched_through()
    {
        await using var s = await Setup.StartAsync("-a", s =>
        {
            File.WriteAllText(s.Src("file.txt"), "file");
            File.WriteAllText(s.Src("other.txt"), "other");
            Directory.CreateDirectory(s.Src("real/sub"));
            File.WriteAllText(s.Src("real/sub/in.txt"), "in");
            Directory.CreateDirectory(Path.Combine(s.Outside, "ext"));
            File.WriteAllText(Path.Combine(s.Outside, "ext/before.txt"), "outside");

            // Present at start: the initial walk must not follow them either.
            File.CreateSymbolicLink(s.Src("pre-inner"), "real");
            File.CreateSymbolicLink(s.Src("pre-ext"), "../outside/ext");
        });
        await s.ConvergeAsync("the -r push");
        var watches = s.WatchCount();
        Assert.Equal(s.SourceDirectories(), watches);

        // Created: to a file, dangling, to a directory in the tree, to a directory outside it (absolute).
        await Setup.RunAsync("ln", "-s", "file.txt", s.Src("link"));
        await Setup.RunAsync("ln", "-s", "no-such-file", s.Src("dangling"));
        await Setup.RunAsync("ln", "-s", "real", s.Src("inner"));
        // Absolute when the rsync daemon can chroot (as root): without chroot it strips the leading '/'.
        var outside = Environment.IsPrivilegedProcess ? Path.Combine(s.Outside, "ext") : "../outside/ext";
        await Setup.RunAsync("ln", "-s", outside, s.Src("extlink"));
        await s.ConvergeAsync("symlinks created");
        foreach (var target in s.Targets)
        {
            Assert.Equal("file.txt", new FileInfo(Path.Combine(target, "link")).LinkTarget);
            Assert.Equal("no-such-file", new FileInfo(Path.Combine(target, "dangling")).LinkTarget);
            Assert.Equal("real", new FileInfo(Path.Combine(target, "inner")).LinkTarget);
        }

        // Not watched through: neither symlink to a directory added a watch (the tree's directories are watched
        // once each, by their real paths), and a file written into the outside directory is not sent.
        await s.MarkAsync("after the links");
        Assert.Equal(watches, s.WatchCount());
        File.WriteAllText(Path.Combine(s.Outside, "ext/through.txt"), "written outside");
        File.WriteAllText(s.Src("inner/via-link.txt"), "written through the in-tree link"); // lands in real/
        await s.ConvergeAsync("writes through the links");
        foreach (var target in s.Targets)
        {
            // Not through the target's own extlink: on the local target it resolves to the same outside directory.
            Assert.Empty(Directory.EnumerateFiles(target, "through.txt", NotThroughLinks));
            Assert.Equal("written through the in-tree link", File.ReadAllText(Path.Combine(target, "real/via-link.txt")));
            Assert.NotNull(new FileInfo(Path.Combine(target, "extlink")).LinkTarget);
        }

        // The watch count is right: a real new directory does add one.
        Directory.CreateDirectory(s.Src("real/new-dir"));
        await Eventually.TrueAsync(() => s.WatchCount() == watches + 1, Mirror.SyncTimeout, $"a new directory is watched ({watches} before)\n{s.Describe()}", TestContext.Current.CancellationToken);

        // Retargeted (ln -sfn), also a link to a directory turned to another, and a dangling one made to resolve.
        await Setup.RunAsync("ln", "-sfn", "other.txt", s.Src("link"));
        await Setup.RunAsync("ln", "-sfn", "real/sub", s.Src("inner"));
        File.WriteAllText(s.Src("no-such-file"), "now it exists");
        await s.ConvergeAsync("symlinks retargeted");
        foreach (var target in s.Targets)
        {
            Assert.Equal("other.txt", new FileInfo(Path.Combine(target, "link")).LinkTarget);
            Assert.Equal("real/sub", new FileInfo(Path.Combine(target, "inner")).LinkTarget);
        }

        // Removed.
        File.Delete(s.Src("link"));
        File.Delete(s.Src("dangling"));
        File.Delete(s.Src("extlink"));
        await s.ConvergeAsync("symlinks removed");
        Assert.Equal(watches + 1, s.WatchCount());
        await s.StopAsync();
    }

    [Theory]
    [InlineData("-a")]
    [InlineData("-rtpD")]
    public async Task Fifos_and_device_nodes_arrive_with_a_or_D_in_commonParams(string commonParams)
    {
        Assert.SkipUnless(Environment.IsPrivilegedProcess, "needs root for mknod");
        await using var s = await Setup.StartAsync(commonParams, s =>
        {
            Directory.CreateDirectory(s.Src("dev"));
            Mknod(s.Src("dev/pre-null"), "c", 1, 3);
            Mknod(s.Src("pre-fifo"), "p");
        });
        await s.ConvergeAsync("the -r push");
        await s.AssertDevicesEqualAsync("the -r push");

        Mknod(s.Src("fifo"), "p");
        Mknod(s.Src("dev/null"), "c", 1, 3);
        Mknod(s.Src("dev/zero"), "c", 1, 5);
        Mknod(s.Src("dev/loop-ish"), "b", 7, 250);
        Mknod(s.Src("new/fifo-in-new-dir"), "p");
        await s.ConvergeAsync("fifos and devices made live");
        await s.AssertDevicesEqualAsync("fifos and devices made live");

        // A device node replaced by one with other numbers, then a fifo and a device removed.
        File.Delete(s.Src("dev/zero"));
        Mknod(s.Src("dev/zero"), "c", 1, 7);
        await s.ConvergeAsync("a device node replaced");
        await s.AssertDevicesEqualAsync("a device node replaced");
        File.Delete(s.Src("fifo"));
        File.Delete(s.Src("dev/loop-ish"));
        await s.ConvergeAsync("fifo and device removed");
        await s.StopAsync();
    }

    [Fact]
    public async Task Without_D_or_l_special_files_and_symlinks_are_skipped_and_nothing_retries()
    {
        Assert.SkipUnless(Environment.IsPrivilegedProcess, "needs root for mknod");

        // -rtuz is the stock -artuz without -a (so without -l, -D, -p, -o, -g): rsync says "skipping non-regular
        // file" and exits 0. (-artuz itself holds -a, so it copies them.)
        await using var s = await Setup.StartAsync("-rtuz", s => File.WriteAllText(s.Src("file.txt"), "file"));
        var skipped = TreeCompareOptions.Ignoring("fifo", "null", "link");
        await s.ConvergeAsync("the -r push", skipped);
        Mknod(s.Src("fifo"), "p");
        Mknod(s.Src("null"), "c", 1, 3);
        await Setup.RunAsync("ln", "-s", "file.txt", s.Src("link"));
        File.WriteAllText(s.Src("after.txt"), "after the special files");
        await s.ConvergeAsync("regular files next to special ones", skipped);
        foreach (var target in s.Targets)
        {
            Assert.False(Path.Exists(Path.Combine(target, "fifo")) || Path.Exists(Path.Combine(target, "null")) || new FileInfo(Path.Combine(target, "link")).Exists);
        }

        // Nothing failed, so nothing is retried: later changes flow, the daemon said no target failed.
        await s.MarkAsync("later");
        foreach (var daemon in new[] { s.Daemon, s.SshDaemon })
        {
            Assert.DoesNotContain("failed", daemon.LastStatus ?? string.Empty, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("exit code", daemon.StandardError, StringComparison.OrdinalIgnoreCase);
        }
        await s.StopAsync();
    }

    [Fact]
    public async Task Entries_that_change_type_arrive_as_their_new_type()
    {
        await using var s = await Setup.StartAsync("-a", s =>
        {
            Directory.CreateDirectory(s.Src("d/deep"));
            File.WriteAllText(s.Src("d/deep/x.txt"), "x");
            File.WriteAllText(s.Src("f"), "a file");
            File.WriteAllText(s.Src("somewhere.txt"), "link target");
            File.SetUnixFileMode(s.Src("somewhere.txt"), UnixFileMode.UserRead | UnixFileMode.UserWrite);
            File.CreateSymbolicLink(s.Src("sl"), "somewhere.txt");
            Directory.CreateDirectory(s.Src("dd/inner"));
            File.WriteAllText(s.Src("dd/inner/y.txt"), "y");
        });
        await s.ConvergeAsync("the -r push");

        // A directory (with a tree inside) replaced by a file of the same name, and back.
        Directory.Delete(s.Src("d"), recursive: true);
        File.WriteAllText(s.Src("d"), "now a file");
        await s.ConvergeAsync("directory replaced by a file");
        File.Delete(s.Src("d"));
        Directory.CreateDirectory(s.Src("d/again"));
        File.WriteAllText(s.Src("d/again/z.txt"), "a directory again");
        await s.ConvergeAsync("file replaced by a directory again");

        // A file replaced by a directory.
        File.Delete(s.Src("f"));
        Directory.CreateDirectory(s.Src("f"));
        File.WriteAllText(s.Src("f/inside.txt"), "f is a directory");
        await s.ConvergeAsync("file replaced by a directory");

        // A symlink replaced by a directory, and a directory (with a tree) by a symlink.
        File.Delete(s.Src("sl"));
        Directory.CreateDirectory(s.Src("sl"));
        File.WriteAllText(s.Src("sl/z.txt"), "sl is a directory");
        await s.ConvergeAsync("symlink replaced by a directory");
        Directory.Delete(s.Src("dd"), recursive: true);
        File.CreateSymbolicLink(s.Src("dd"), "sl");
        await s.ConvergeAsync("directory replaced by a symlink");

        // And at once, in one batch: each of them swapped back.
        File.Delete(s.Src("dd"));
        Directory.CreateDirectory(s.Src("dd"));
        Directory.Delete(s.Src("sl"), recursive: true);
        File.CreateSymbolicLink(s.Src("sl"), "dd");
        Directory.Delete(s.Src("f"), recursive: true);
        File.WriteAllText(s.Src("f"), "a file again");
        await s.ConvergeAsync("all swapped back at once");
        Assert.Equal(s.SourceDirectories(), s.WatchCount());
        await s.StopAsync();
    }

    private static void Mknod(string path, string type, int major = 0, int minor = 0)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        string[] args = type == "p" ? ["-m", "0640", path, "p"] : ["-m", "0660", path, type, $"{major}", $"{minor}"];
        var result = ChildProcess.Run("mknod", args);
        Assert.True(result.ExitCode == 0, result.ToString());
    }

    /// <summary>A source, a local directory target and an rsync daemon module target watched by one daemon, and an
    /// ssh target (a real sshd on loopback) by a second one: sersync's one <c>&lt;ssh&gt;</c> switch is shared, as in
    /// <see cref="RemoteTargetsEndToEndTests"/>.</summary>
    private sealed class Setup : IAsyncDisposable
    {
        private readonly TempDirectory _tmp = new("sersync-special-");
        private RsyncDaemon? _rsyncd;
        private SshServer? _sshd;
        private int _marks;

        private Setup()
        {
            Source = _tmp.Sub("src");
            Outside = _tmp.Sub("outside");
            Local = Path.Combine(_tmp.Path, "local");
            Module = _tmp.Sub("module");
            OverSsh = Path.Combine(_tmp.Path, "over-ssh");
        }

        public string Source { get; }

        public string Outside { get; }

        public string Local { get; }

        public string Module { get; }

        public string OverSsh { get; }

        public string[] Targets => [Local, Module, OverSsh];

        /// <summary>The daemon of the local and rsync daemon targets.</summary>
        public DaemonProcess Daemon { get; private set; } = null!;

        /// <summary>The daemon of the ssh target.</summary>
        public DaemonProcess SshDaemon { get; private set; } = null!;

        public static async Task<Setup> StartAsync(string commonParams, Action<Setup> prepare)
        {
            var s = new Setup();
            try
            {
                prepare(s);
                s._rsyncd = new RsyncDaemon { UseChroot = Environment.IsPrivilegedProcess }.AddModule("mirror", s.Module).Start();
                var config = new ConfigBuilder(s.Source, Path.Combine(s._tmp.Path, "state")) { CommonParams = commonParams }
                    .AddLocalTarget(s.Local)
                    .AddRsyncDaemonTarget(s._rsyncd, "mirror")
                    .Write(Path.Combine(s._tmp.Path, "confxml.xml"));
                s._sshd = new SshServer();
                var sshConfig = new ConfigBuilder(s.Source, Path.Combine(s._tmp.Path, "state-ssh")) { CommonParams = commonParams }
                    .AddSshTarget(s._sshd, s.OverSsh)
                    .Write(Path.Combine(s._tmp.Path, "ssh.xml"));
                s.Daemon = DaemonProcess.Start("-r", "-o", config);
                s.SshDaemon = DaemonProcess.Start("-r", "-o", sshConfig);
                await s.Daemon.WaitForReadyAsync(Mirror.ReadyTimeout);
                await s.SshDaemon.WaitForReadyAsync(Mirror.ReadyTimeout);
                return s;
            }
            catch
            {
                await s.DisposeAsync();
                throw;
            }
        }

        public string Src(string relative) => Path.Combine(Source, relative);

        public string Describe() => Daemon.Describe() + "\nrsyncd log:\n" + _rsyncd?.ReadLog() + "\nssh target's daemon: " + SshDaemon?.Describe();

        public bool AnyExited => Daemon.HasExited || SshDaemon.HasExited;

        public async Task StopAsync()
        {
            await Daemon.StopAsync();
            await SshDaemon.StopAsync();
        }

        public async Task ConvergeAsync(string step, TreeCompareOptions? options = null)
        {
            var compare = options is null ? Exact : new TreeCompareOptions { ComparePermissions = true, Ignore = options.Ignore };
            await TreeConvergence.AssertConvergesAsync(Source, Targets, Mirror.SyncTimeout, compare, () => AnyExited, () => $"step: {step}\n{Describe()}");
        }

        /// <summary>Writes a marker and waits until both targets have it: what was written before had its chance.</summary>
        public async Task MarkAsync(string content)
        {
            var name = $"marker{++_marks}";
            File.WriteAllText(Src(name), content);
            await Eventually.TrueAsync(() => Targets.All(t => ReadOrNull(Path.Combine(t, name)) == content), Mirror.SyncTimeout, $"marker '{content}' reached both targets\n{Describe()}", TestContext.Current.CancellationToken);
        }

        public static async Task RunAsync(string program, params string[] args)
        {
            var result = await ChildProcess.RunAsync(program, args, cancellationToken: TestContext.Current.CancellationToken);
            Assert.True(result.ExitCode == 0, result.ToString());
        }

        /// <summary>Directories of the source, the root included, never through a symlink.</summary>
        public int SourceDirectories() =>
            1 + new DirectoryInfo(Source).EnumerateDirectories("*", NotThroughLinks).Count(d => d.LinkTarget is null);

        /// <summary>The daemon's inotify watches: the "inotify wd:" lines of its inotify descriptors' fdinfo.</summary>
        public int WatchCount()
        {
            var count = 0;
            foreach (var fd in Directory.EnumerateFileSystemEntries($"/proc/{Daemon.Pid}/fd"))
            {
                string? link;
                try
                {
                    link = new FileInfo(fd).LinkTarget;
                }
                catch (IOException)
                {
                    continue; // closed while we looked
                }

                if (link != "anon_inode:inotify")
                {
                    continue;
                }

                var info = $"/proc/{Daemon.Pid}/fdinfo/{Path.GetFileName(fd)}";
                count += File.ReadLines(info).Count(l => l.StartsWith("inotify wd:", StringComparison.Ordinal));
            }

            return count;
        }

        /// <summary>Waits until every fifo and device node of the source has its twin in each target: same type,
        /// mode, and major and minor numbers (which the tree comparison does not look at, so a device node replaced
        /// by one with other numbers passes it before its batch ran).</summary>
        public async Task AssertDevicesEqualAsync(string step)
        {
            var specials = Describe(Source);
            Assert.NotEmpty(specials);
            await Eventually.TrueAsync(() => Targets.All(t => Describe(t).SequenceEqual(specials)), Mirror.SyncTimeout, $"step: {step}: special files equal", TestContext.Current.CancellationToken);
        }

        private static List<string> Describe(string root)
        {
            var find = ChildProcess.Run("find", [root, "(", "-type", "p", "-o", "-type", "c", "-o", "-type", "b", ")", "-printf", "%P\\0"]);
            Assert.True(find.ExitCode == 0, find.ToString());
            var paths = find.StandardOutput.Split('\0', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal).ToList();
            if (paths.Count == 0)
            {
                return [];
            }

            var stat = ChildProcess.Run("stat", ["--printf=%F %a %t:%T\\n", .. paths.Select(p => Path.Combine(root, p))]);
            Assert.True(stat.ExitCode == 0, stat.ToString());
            return [.. paths.Zip(stat.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries), (p, st) => $"{p}: {st}")];
        }

        private static string? ReadOrNull(string path)
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

        public async ValueTask DisposeAsync()
        {
            try
            {
                Daemon?.Dispose();
                SshDaemon?.Dispose();
                if (_rsyncd is not null)
                {
                    await _rsyncd.DisposeAsync();
                }

                if (_sshd is not null)
                {
                    await _sshd.DisposeAsync();
                }
            }
            finally
            {
                _tmp.Dispose();
            }
        }
    }
}
