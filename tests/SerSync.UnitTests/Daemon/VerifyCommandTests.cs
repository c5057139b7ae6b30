using SerSync.Configuration;
using SerSync.Daemon.Operations;
using SerSync.Paths;
using SerSync.Rsync;

namespace SerSync.UnitTests.Daemon;

/// <summary>What <c>sersyncd verify</c> prints per target, and what <c>--target NAME</c> selects.</summary>
public sealed class VerifyCommandTests
{
    private static readonly DateTimeOffset T0 = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static readonly SyncTarget Local = new("/www", new RemoteConfig(RemoteKind.LocalDirectory, null, null, "/mirror/www", 1), RsyncConfig.Stock, true);
    private static readonly SyncTarget Daemon = new("/www", new RemoteConfig(RemoteKind.RsyncDaemon, "10.0.0.2", "www", null, 2), RsyncConfig.Stock, true);
    private static readonly SyncTarget Other = new("/img", new RemoteConfig(RemoteKind.RsyncDaemon, "10.0.0.2", "www", null, 3), RsyncConfig.Stock, true);

    private static DriftReport Report(SyncTarget target, IReadOnlyList<DriftEntry> entries, DriftFailure? failure = null, bool checksum = false) =>
        new(target, T0, TimeSpan.FromSeconds(1), checksum, target.Delete, entries, failure);

    [Fact]
    public void A_name_selects_the_targets_with_that_label()
    {
        IReadOnlyList<SyncTarget> all = [Local, Daemon, Other];
        Assert.Equal(all, VerifyCommand.Select(all, null));
        Assert.Equal([Daemon, Other], VerifyCommand.Select(all, "10.0.0.2::www")); // one label under two roots: both
        Assert.Equal([Local], VerifyCommand.Select(all, "/mirror/www"));
        Assert.Equal([Local], VerifyCommand.Select(all, "/mirror/www/"));
        Assert.Empty(VerifyCommand.Select(all, "/mirror"));
        Assert.Empty(VerifyCommand.Select(all, "/"));
        Assert.Empty(VerifyCommand.Select(all, "10.0.0.2::ww"));
    }

    [Fact]
    public void In_sync_is_one_line()
    {
        Assert.Equal("/www -> 10.0.0.2::www: in sync\n", VerifyCommand.Format(Report(Daemon, [])));
        Assert.Equal(
            "/www -> /mirror/www: in sync (contents compared; delete is off: paths only on the target are not checked)\n",
            VerifyCommand.Format(Report(Local with { Delete = false }, [], checksum: true)));
    }

    [Fact]
    public void Each_path_is_one_line_with_its_kind_and_an_escaped_name()
    {
        var text = VerifyCommand.Format(Report(Local,
        [
            new DriftEntry(DriftKind.Differs, RelativePath.Root, true, "time"),
            new DriftEntry(DriftKind.Missing, new RelativePath("new\nline"u8.ToArray()), false, "file"),
            new DriftEntry(DriftKind.Missing, RelativePath.FromString("dir"), true, "directory"),
            new DriftEntry(DriftKind.Differs, new RelativePath([(byte)'b', 0xff]), false, "size, time"),
            new DriftEntry(DriftKind.OnlyOnTarget, RelativePath.FromString("caf\u00e9"), false, "entry"),
        ]));
        Assert.Equal(
            "/www -> /mirror/www: 5 differences\n" +
            "  differs (time): ./\n" +
            "  missing: new\\x0aline\n" +
            "  missing: dir/\n" +
            "  differs (size, time): b\\xff\n" +
            "  only on target: caf\u00e9\n",
            text);
    }

    [Fact]
    public void A_target_not_checked_says_why_with_rsyncs_last_lines()
    {
        var text = VerifyCommand.Format(Report(Daemon, [], new DriftFailure(5, "error starting client-server protocol", "one\n@ERROR: auth failed on module www\nrsync error: error starting client-server protocol (code 5)\n", false)));
        Assert.Equal(
            "/www -> 10.0.0.2::www: not checked: rsync exit 5 (error starting client-server protocol)\n" +
            "  rsync: one\n" +
            "  rsync: @ERROR: auth failed on module www\n" +
            "  rsync: rsync error: error starting client-server protocol (code 5)\n",
            text);
    }
}
