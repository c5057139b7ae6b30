using SerSync.Testing;

namespace SerSync.IntegrationTests.EndToEnd;

/// <summary>With <c>-H</c> a hard link made live arrives as a hard link (a local directory target, and an rsync
/// daemon module with <c>use chroot</c>); without it the target gets separate files, as rsync would make.</summary>
public sealed class HardLinkEndToEndTests
{
    private static readonly TimeSpan Sync = Mirror.SyncTimeout;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task With_H_links_made_live_share_an_inode_on_the_target(bool rsyncDaemonTarget)
    {
        var ct = TestContext.Current.CancellationToken;
        using var tmp = new TempDirectory("sersync-e2e-links-");
        var src = tmp.Sub("src");
        var dst = tmp.Sub("dst");
        string S(string r) => Path.Combine(src, r);
        string D(string r) => Path.Combine(dst, r);
        File.WriteAllText(S("a"), "shared");
        var names = Enumerable.Range(0, 200).Select(i => i % 2 == 0 ? $"f{i:D3}" : $"sub/f{i:D3}").ToList();
        Directory.CreateDirectory(S("dir/sub"));
        foreach (var n in names)
        {
            File.WriteAllText(S("dir/" + n), n);
        }

        await using var rsyncd = rsyncDaemonTarget ? new RsyncDaemon { UseChroot = true }.AddModule("mirror", dst).Start() : null;
        var builder = new ConfigBuilder(src, Path.Combine(tmp.Path, "state")) { CommonParams = "-artuzH" };
        _ = rsyncd is null ? builder.AddLocalTarget(dst) : builder.AddRsyncDaemonTarget(rsyncd, "mirror");
        var config = builder.Write(Path.Combine(tmp.Path, "confxml.xml"));
        using var daemon = DaemonProcess.Start("-r", "-o", config);
        await daemon.WaitForReadyAsync(Mirror.ReadyTimeout);

        bool Linked(string x, string y) => File.Exists(D(x)) && File.Exists(D(y)) && HardLinks.SameInode(D(x), D(y));
        Task WaitLinked(string x, string y, string because) => Eventually.TrueAsync(() => Linked(x, y), Sync, because + "\n" + daemon.Describe(), ct);

        HardLinks.Create(S("a"), S("b"));
        await WaitLinked("a", "b", "ln a b: the target's a and b share an inode");

        Directory.CreateDirectory(S("d"));
        HardLinks.Create(S("a"), S("d/b"));
        await WaitLinked("a", "d/b", "mkdir d; ln a d/b: the target's d/b is its a");

        var cp = await ChildProcess.RunAsync("cp", ["-al", S("dir"), S("dir2")], cancellationToken: ct);
        Assert.True(cp.ExitCode == 0, cp.ToString());
        await Eventually.TrueAsync(() => names.All(n => Linked("dir/" + n, "dir2/" + n)), Sync, "cp -al dir dir2: every pair shares an inode on the target\n" + daemon.Describe(), ct);

        // A write through one name changes them all on the source (inotify names only a): all follow on the target.
        File.AppendAllText(S("a"), " and more");
        await Eventually.TrueAsync(() => File.ReadAllText(D("d/b")) == "shared and more" && Linked("a", "d/b") && Linked("a", "b"), Sync, "a write through a reaches b and d/b\n" + daemon.Describe(), ct);

        // Deleting one name leaves the others, still linked.
        File.Delete(S("b"));
        await Eventually.TrueAsync(() => !File.Exists(D("b")), Sync, "rm b reaches the target\n" + daemon.Describe(), ct);
        Assert.True(Linked("a", "d/b"));
        Assert.Equal(2u, HardLinks.Of(D("a")).Links);

        // A rename of one name (replayed on a local target, a delete and a link on the daemon).
        File.Move(S("d/b"), S("d/c"));
        await WaitLinked("a", "d/c", "mv d/b d/c: the target's d/c is its a");
        Assert.False(File.Exists(D("d/b")));

        // Down to one name: the other stays, a file of its own, as on the source.
        File.Delete(S("d/c"));
        File.Delete(S("dir2/f000"));
        await Eventually.TrueAsync(() => !File.Exists(D("d/c")) && !File.Exists(D("dir2/f000")), Sync, "the deletes reach the target\n" + daemon.Describe(), ct);
        Assert.Equal(1u, HardLinks.Of(D("a")).Links);
        Assert.Equal(1u, HardLinks.Of(D("dir/f000")).Links);
        Assert.Equal("shared and more", File.ReadAllText(D("a")));
        await TreeConvergence.AssertConvergesAsync(src, dst, Sync, abandon: () => daemon.HasExited, diagnostics: daemon.Describe);
        await daemon.StopAsync();
    }

    [Fact]
    public async Task Without_H_the_target_gets_two_files()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var m = await Mirror.StartAsync(m =>
        {
            m.Config.CommonParams = "-artuz";
            File.WriteAllText(m.Src("a"), "one inode on the source");
        });

        HardLinks.Create(m.Src("a"), m.Src("b"));
        Directory.CreateDirectory(m.Src("d"));
        HardLinks.Create(m.Src("a"), m.Src("d/b"));
        await m.WaitForTargetAsync();
        Assert.True(HardLinks.SameInode(m.Src("a"), m.Src("d/b")));
        Assert.False(HardLinks.SameInode(m.Dst("a"), m.Dst("b")));
        Assert.False(HardLinks.SameInode(m.Dst("a"), m.Dst("d/b")));
        Assert.Equal(1u, HardLinks.Of(m.Dst("a")).Links);
        Assert.Equal("one inode on the source", await File.ReadAllTextAsync(m.Dst("d/b"), ct));
        await m.Daemon.StopAsync();
    }
}
