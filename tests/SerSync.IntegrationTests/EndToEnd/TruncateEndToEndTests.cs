using SerSync.Testing;

namespace SerSync.IntegrationTests.EndToEnd;

/// <summary>
/// A bare truncate(2) raises IN_MODIFY alone (no open, no close). With <c>&lt;modify start="true"/&gt;</c> it is
/// mirrored; the stock switches (modify off) never see it, and <c>sersyncd verify</c> reports the drift. ftruncate
/// (and fallocate) through a descriptor kept open for writing raise IN_MODIFY too, and IN_CLOSE_WRITE at the close.
/// </summary>
public sealed class TruncateEndToEndTests
{
    private const int Megabyte = 1 << 20;
    private static readonly TimeSpan Sync = Mirror.SyncTimeout;

    private static void Prepare(Mirror m) =>
        File.WriteAllBytes(m.Src("big.bin"), [.. Enumerable.Range(0, Megabyte).Select(i => (byte)(i * 7))]);

    private static long Length(string path) => File.Exists(path) ? new FileInfo(path).Length : -1;

    [Fact]
    public async Task With_modify_on_a_bare_truncate_and_an_ftruncate_on_a_file_kept_open_are_mirrored()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var m = await Mirror.StartAsync(m =>
        {
            Prepare(m);
            m.Config.Modify = true;
        });
        Assert.Equal(Megabyte, Length(m.Dst("big.bin")));

        HardLinks.Truncate(m.Src("big.bin"), 100);
        await Eventually.TrueAsync(() => Length(m.Dst("big.bin")) == 100, Sync, "os.truncate(p, 100) reaches the target\n" + m.Daemon.Describe(), ct);
        await m.WaitForTargetAsync();

        using (var held = new FileStream(m.Src("big.bin"), FileMode.Open, FileAccess.Write))
        {
            held.SetLength(40); // ftruncate, and the descriptor stays open
            await Eventually.TrueAsync(() => Length(m.Dst("big.bin")) == 40, Sync, "an ftruncate reaches the target while the file is open\n" + m.Daemon.Describe(), ct);
        }

        await m.WaitForTargetAsync();
        await m.Daemon.StopAsync();
    }

    [Fact]
    public async Task With_the_stock_switches_a_bare_truncate_is_not_seen_and_verify_reports_it()
    {
        WatcherBackend.SkipUnlessInotify("a bare truncate going unseen with the stock switches (a scan sees the size change)");
        var ct = TestContext.Current.CancellationToken;
        await using var m = await Mirror.StartAsync(Prepare);

        HardLinks.Truncate(m.Src("big.bin"), 100);
        File.WriteAllText(m.Src("marker"), "made after the truncate");
        await Eventually.TrueAsync(() => File.Exists(m.Dst("marker")), Sync, "the marker arrives\n" + m.Daemon.Describe(), ct);
        Assert.Equal(Megabyte, Length(m.Dst("big.bin"))); // batches after the truncate ran: it raised nothing

        using var verify = await DaemonProcess.RunToExitAsync(["verify", "-o", m.ConfigPath], TimeSpan.FromMinutes(2));
        Assert.True(verify.ExitCode == 1, verify.Describe());
        Assert.Contains(verify.StandardOutput.Split('\n'), l => l.StartsWith("  differs (", StringComparison.Ordinal) && l.EndsWith("): big.bin", StringComparison.Ordinal));

        // Opened for writing, truncated, kept open: nothing yet; the close (IN_CLOSE_WRITE) sends it.
        using (var held = new FileStream(m.Src("big.bin"), FileMode.Open, FileAccess.Write))
        {
            held.SetLength(40);
            File.WriteAllText(m.Src("marker2"), "made while big.bin is open");
            await Eventually.TrueAsync(() => File.Exists(m.Dst("marker2")), Sync, "the second marker arrives\n" + m.Daemon.Describe(), ct);
            Assert.Equal(Megabyte, Length(m.Dst("big.bin")));
        }

        await Eventually.TrueAsync(() => Length(m.Dst("big.bin")) == 40, Sync, "the close after the ftruncate sends it\n" + m.Daemon.Describe(), ct);
        await m.WaitForTargetAsync();
        await m.Daemon.StopAsync();
    }
}
