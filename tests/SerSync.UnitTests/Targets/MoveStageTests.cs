using Microsoft.Extensions.Logging.Abstractions;
using SerSync.Configuration;
using SerSync.Paths;
using SerSync.Rsync;
using SerSync.Targets;
using SerSync.Testing;

namespace SerSync.UnitTests.Targets;

/// <summary>
/// The rename stages against real directories: rename(2) for a local target, and the ssh stage's script run by a
/// local <c>/bin/sh</c> standing in for ssh (the same argv shape: the "ssh" words, the host, the command), so the
/// quoting is proven by a real shell.
/// </summary>
public sealed class MoveStageTests : IDisposable
{
    private readonly TempDirectory _tmp = new("sersync-moves-");
    private readonly string _target;

    public MoveStageTests()
    {
        _target = _tmp.Sub("target");
    }

    public void Dispose() => _tmp.Dispose();

    private static RelativePath P(string p) => RelativePath.FromString(p);

    private static PathMove M(string from, string to, bool dir = false) => new(P(from), P(to), dir);

    private static PathMove M(byte[] from, byte[] to, bool dir = false) => new(new RelativePath(from), new RelativePath(to), dir);

    public static TheoryData<string> Kinds => ["local", "ssh"];

    private IMoveStage Stage(string kind, string? sshCommand = null) => kind == "local"
        ? new LocalMoveStage(_target)
        : MoveStages.For(SshTarget(sshCommand ?? "/bin/sh -c 'exec /bin/sh' fake-ssh"), NullLogger.Instance)!;

    private SyncTarget SshTarget(string sshCommand) => new(
        _tmp.Path,
        new RemoteConfig(RemoteKind.Ssh, "host.invalid", _target, null, 1),
        RsyncConfig.Stock with { Ssh = true, SshCommand = sshCommand, CommonParams = ["-az"] },
        Delete: true);

    private string T(string relative) => Path.Combine(_target, relative);

    private static ulong Inode(byte[] path) => FileSystemBytes.Stat(path)!.Value.Inode;

    private ulong Inode(string relative) => Inode(FileSystemBytes.Combine(_target, P(relative)));

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Files_and_directories_are_renamed_in_order_keeping_their_inodes(string kind)
    {
        File.WriteAllText(T("a"), "a");
        File.WriteAllText(T("x"), "x");
        File.WriteAllText(T("y"), "y");
        File.WriteAllText(T("over"), "replaced");
        Directory.CreateDirectory(T("d/sub"));
        File.WriteAllText(T("d/sub/f"), "f");
        var a = Inode("a");
        var d = Inode("d");
        var (x, y) = (Inode("x"), Inode("y"));

        var outcome = await Stage(kind).ApplyAsync(
            [M("a", "b"), M("b", "c"), M("x", "t"), M("y", "x"), M("t", "y"), M("d", "e", dir: true), M("c", "over")],
            TestContext.Current.CancellationToken);

        Assert.Equal(new MoveOutcome(7, true), outcome);
        Assert.Equal(a, Inode("over"));
        Assert.Equal("a", File.ReadAllText(T("over")));
        Assert.Equal((x, y), (Inode("y"), Inode("x")));
        Assert.Equal(d, Inode("e"));
        Assert.Equal("f", File.ReadAllText(T("e/sub/f")));
        Assert.False(File.Exists(T("a")) || File.Exists(T("b")) || File.Exists(T("c")) || File.Exists(T("t")) || Directory.Exists(T("d")));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Hostile_names_are_renamed_byte_for_byte(string kind)
    {
        var canary = Path.Combine(_target, "pwned");
        var moves = new List<PathMove>();
        var inodes = new List<ulong>();
        for (var i = 0; i < NastyNames.All.Count; i++)
        {
            var name = NastyNames.All[i];
            NastyNames.CreateFile(NastyNames.Join(_target, name), name);
            inodes.Add(Inode(NastyNames.Join(_target, name)));
            // Into a directory with a nasty name too, under a new nasty name (the name reversed, and a prefix).
            moves.Add(M(name, [.. "moved-"u8, .. name.Reverse()]));
        }

        NastyNames.CreateDirectory(NastyNames.Join(_target, "-rf dir $(x)\n'"u8.ToArray()));
        moves.Add(M("-rf dir $(x)\n'"u8.ToArray(), [0xff, (byte)'\'', (byte)'\n', (byte)'-'], dir: true));

        var outcome = await Stage(kind).ApplyAsync(moves, TestContext.Current.CancellationToken);

        Assert.Equal(new MoveOutcome(moves.Count, true), outcome);
        for (var i = 0; i < NastyNames.All.Count; i++)
        {
            var moved = FileSystemBytes.Combine(_target, moves[i].To);
            Assert.Equal(inodes[i], Inode(moved));
            Assert.Null(FileSystemBytes.Stat(NastyNames.Join(_target, NastyNames.All[i])));
        }

        Assert.Equal(EntryType.Directory, FileSystemBytes.Stat(NastyNames.Join(_target, [0xff, (byte)'\'', (byte)'\n', (byte)'-']))!.Value.Type);
        Assert.False(File.Exists(canary));
        Assert.False(File.Exists(Path.Combine(_tmp.Path, "pwned")));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_missing_old_path_stops_the_stage_there(string kind)
    {
        File.WriteAllText(T("a"), "a");
        File.WriteAllText(T("later"), "l");
        var outcome = await Stage(kind).ApplyAsync([M("a", "b"), M("never-sent", "c"), M("later", "l2")], TestContext.Current.CancellationToken);
        Assert.Equal(1, outcome.Applied);
        Assert.True(outcome.Reached);
        Assert.NotNull(outcome.Failure);
        Assert.True(File.Exists(T("b")));
        Assert.True(File.Exists(T("later"))); // not tried: a later rename may build on the one that failed
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task An_old_path_of_another_type_is_left_to_rsync(string kind)
    {
        Directory.CreateDirectory(T("was-dir"));
        File.WriteAllText(T("was-file"), "f");
        var stage = Stage(kind);
        Assert.Equal(0, (await stage.ApplyAsync([M("was-dir", "x")], TestContext.Current.CancellationToken)).Applied);
        Assert.Equal(0, (await stage.ApplyAsync([M("was-file", "y", dir: true)], TestContext.Current.CancellationToken)).Applied);
        Assert.True(Directory.Exists(T("was-dir")));
        Assert.True(File.Exists(T("was-file")));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Nothing_is_moved_into_a_directory_at_the_new_path(string kind)
    {
        Directory.CreateDirectory(T("full/inside"));
        Directory.CreateDirectory(T("src-dir"));
        File.WriteAllText(T("file"), "f");
        Directory.CreateDirectory(T("real"));
        Directory.CreateSymbolicLink(T("link-to-dir"), T("real"));
        var stage = Stage(kind);
        Assert.Equal(0, (await stage.ApplyAsync([M("src-dir", "full", dir: true)], TestContext.Current.CancellationToken)).Applied);
        Assert.Equal(0, (await stage.ApplyAsync([M("file", "full")], TestContext.Current.CancellationToken)).Applied);
        Assert.True(Directory.Exists(T("src-dir")));
        Assert.True(File.Exists(T("file")));

        // A symlink to a directory: rename(2) replaces the link, as the source's rename did; mv would move into
        // the directory it points to, so the remote script leaves that case to rsync.
        var renamed = (await stage.ApplyAsync([M("file", "link-to-dir")], TestContext.Current.CancellationToken)).Applied;
        Assert.Equal(kind == "local" ? 1 : 0, renamed);
        Assert.Equal(kind == "local" ? EntryType.File : EntryType.Symlink, FileSystemBytes.Stat(FileSystemBytes.Combine(_target, P("link-to-dir")))!.Value.Type);
        Assert.Empty(Directory.GetFileSystemEntries(T("real")));
        Assert.Equal([T("full/inside")], Directory.GetFileSystemEntries(T("full")));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task The_new_paths_missing_parents_are_created_but_never_over_a_file(string kind)
    {
        Directory.CreateDirectory(T("site/d"));
        File.WriteAllText(T("site/d/f"), "f");
        File.WriteAllText(T("blocker"), "a file where a directory would go");
        Directory.CreateDirectory(T("other"));
        var site = Inode("site");
        var stage = Stage(kind);
        Assert.Equal(1, (await stage.ApplyAsync([M("site", "archive/2026/site", dir: true)], TestContext.Current.CancellationToken)).Applied);
        Assert.Equal(site, Inode("archive/2026/site"));
        Assert.Equal("f", File.ReadAllText(T("archive/2026/site/d/f")));
        Assert.Equal(0, (await stage.ApplyAsync([M("other", "blocker/x", dir: true)], TestContext.Current.CancellationToken)).Applied);
        Assert.True(Directory.Exists(T("other")));
        Assert.True(File.Exists(T("blocker")));
    }

    [Fact]
    public async Task A_local_rename_across_file_systems_is_left_to_rsync()
    {
        // /dev/shm is a tmpfs, the temp directory is not: a symlink in the target crosses to it.
        var shm = Path.Combine("/dev/shm", "sersync-moves-" + Guid.NewGuid().ToString("N"));
        Assert.NotEqual(FileSystemBytes.Stat("/dev/shm"u8)!.Value.Device, FileSystemBytes.Stat(FileSystemBytes.RootBytes(_target))!.Value.Device);
        Directory.CreateDirectory(shm);
        try
        {
            File.WriteAllText(Path.Combine(shm, "f"), "f");
            Directory.CreateSymbolicLink(T("elsewhere"), shm);
            var outcome = await Stage("local").ApplyAsync([M("elsewhere/f", "g")], TestContext.Current.CancellationToken);
            Assert.Equal(0, outcome.Applied);
            Assert.True(outcome.Reached);
            Assert.Contains("rename", outcome.Failure, StringComparison.Ordinal);
            Assert.True(File.Exists(Path.Combine(shm, "f")));
        }
        finally
        {
            Directory.Delete(shm, recursive: true);
        }
    }

    [Fact]
    public async Task A_local_directory_replaces_an_empty_one_but_not_a_full_one()
    {
        Directory.CreateDirectory(T("a/x"));
        Directory.CreateDirectory(T("empty"));
        Directory.CreateDirectory(T("b"));
        Directory.CreateDirectory(T("full/inside"));
        var stage = Stage("local");
        Assert.Equal(1, (await stage.ApplyAsync([M("a", "empty", dir: true)], TestContext.Current.CancellationToken)).Applied);
        Assert.True(Directory.Exists(T("empty/x")));
        Assert.Equal(0, (await stage.ApplyAsync([M("b", "full", dir: true)], TestContext.Current.CancellationToken)).Applied);
        Assert.True(Directory.Exists(T("b")));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task A_target_that_cannot_be_reached_keeps_its_moves(string kind)
    {
        File.WriteAllText(T("a"), "a");
        if (kind == "local")
        {
            Directory.Delete(_target, recursive: true);
        }

        var outcome = await Stage(kind, sshCommand: "/bin/sh -c 'echo ssh: connect to host refused >&2; exit 255' fake-ssh")
            .ApplyAsync([M("a", "b")], TestContext.Current.CancellationToken);
        Assert.Equal(new MoveOutcome(0, false), outcome with { Failure = null });
    }

    [Fact]
    public async Task A_remote_shell_that_fails_leaves_the_moves_to_rsync()
    {
        File.WriteAllText(T("a"), "a");
        // The shell runs but cannot enter the directory: reached, nothing done, rsync sends.
        var target = SshTarget("/bin/sh -c 'exec /bin/sh' fake-ssh") with
        {
            Remote = new RemoteConfig(RemoteKind.Ssh, "host.invalid", Path.Combine(_target, "missing"), null, 1),
        };
        var outcome = await MoveStages.For(target, NullLogger.Instance)!.ApplyAsync([M("a", "b")], TestContext.Current.CancellationToken);
        Assert.Equal(0, outcome.Applied);
        Assert.True(outcome.Reached);
        Assert.True(File.Exists(T("a")));
    }

    [Fact]
    public void Rsync_daemons_and_targets_that_keep_deleted_paths_get_no_stage()
    {
        var rsync = RsyncConfig.Stock;
        Assert.Null(MoveStages.For(new SyncTarget(_tmp.Path, new RemoteConfig(RemoteKind.RsyncDaemon, "127.0.0.1", "m", null, 1), rsync, true), NullLogger.Instance));
        Assert.Null(MoveStages.For(new SyncTarget(_tmp.Path, new RemoteConfig(RemoteKind.LocalDirectory, null, null, _target, 1), rsync, false), NullLogger.Instance));
        Assert.IsType<LocalMoveStage>(MoveStages.For(new SyncTarget(_tmp.Path, new RemoteConfig(RemoteKind.LocalDirectory, null, null, _target, 1), rsync, true), NullLogger.Instance));
    }
}
