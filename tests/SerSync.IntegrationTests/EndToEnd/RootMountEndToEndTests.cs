using SerSync.IntegrationTests.Faults;
using SerSync.Testing;

namespace SerSync.IntegrationTests.EndToEnd;

/// <summary>
/// A root on a real mount (as root only): unmounted while the daemon runs, the daemon stays up, watches the empty
/// mount point and its guarded full sync holds (the targets keep every file); mounted again, it is watched again (a
/// new file arrives), the targets match, and no hold is left. "bind": a bind mount, whose unmount sends no
/// IN_UNMOUNT (the watched inodes live on), remounted with the same tree; "tmpfs": a file system of its own
/// (IN_UNMOUNT), back as a new tmpfs that holds the same files, moved into place (<c>mount --move</c>). Every mount
/// made is unmounted again, whatever the outcome.
/// </summary>
public sealed class RootMountEndToEndTests
{
    [Theory]
    [InlineData("bind")]
    [InlineData("tmpfs")]
    public async Task An_unmounted_root_holds_the_deletes_and_a_remounted_one_is_watched_again(string kind)
    {
        Assert.SkipUnless(Environment.IsPrivilegedProcess, "needs root to mount");
        using var tmp = new TempDirectory("sersync-e2e-mount-");
        var src = tmp.Sub("src");
        var dst = Path.Combine(tmp.Path, "dst");
        var real = tmp.Sub("real");
        var staging = tmp.Sub("staging");
        var mounts = new List<string>();
        DaemonProcess? daemon = null;
        try
        {
            if (kind == "bind")
            {
                Fill(real);
                Mount(mounts, src, "--bind", real, src);
            }
            else
            {
                Mount(mounts, src, "-t", "tmpfs", "-o", "size=8m", "sersync-test-root", src);
                Fill(src);
            }

            var config = new ConfigBuilder(src, Path.Combine(tmp.Path, "state")).AddLocalTarget(dst).Write(Path.Combine(tmp.Path, "confxml.xml"));
            daemon = DaemonProcess.Start("-o", config);
            await daemon.WaitForReadyAsync(Mirror.ReadyTimeout);
            await TreeConvergence.AssertConvergesAsync(src, dst, Mirror.SyncTimeout, abandon: () => daemon.HasExited, diagnostics: daemon.Describe);
            var files = FullPushGuardEndToEndTests.CountFiles(dst);

            await UnmountAsync(mounts, src);
            Assert.Empty(Directory.GetFileSystemEntries(src)); // the empty mount point
            await Eventually.TrueAsync(
                () => daemon.StatusLines.Any(s => s.Contains("HOLDING the deletes of a full push", StringComparison.Ordinal)) || daemon.HasExited,
                Mirror.SyncTimeout,
                "the guarded full sync of the empty mount point holding its deletes\n" + daemon.Describe(),
                TestContext.Current.CancellationToken);
            Assert.False(daemon.HasExited, daemon.Describe());
            Assert.Equal(files, FullPushGuardEndToEndTests.CountFiles(dst));

            if (kind == "bind")
            {
                Mount(mounts, src, "--bind", real, src);
            }
            else
            {
                Mount(mounts, staging, "-t", "tmpfs", "-o", "size=8m", "sersync-test-root", staging);
                Fill(staging);
                FaultMeasure.Must("mount", "--move", staging, src);
                mounts.Remove(staging);
                mounts.Add(src);
            }

            // Watched again: the new pipeline's READY=1 follows the remount; a file written then arrives.
            var readies = daemon.MessageLines.Count(l => l == "READY=1");
            await Eventually.TrueAsync(
                () => daemon.MessageLines.Count(l => l == "READY=1") > readies || daemon.HasExited,
                Mirror.SyncTimeout,
                "the pipeline built again on the remounted root\n" + daemon.Describe(),
                TestContext.Current.CancellationToken);
            File.WriteAllText(Path.Combine(src, "after-remount.txt"), "arrives");
            await TreeConvergence.AssertConvergesAsync(src, dst, Mirror.SyncTimeout, abandon: () => daemon.HasExited, diagnostics: daemon.Describe);
            await Eventually.TrueAsync(
                () => Directory.GetFiles(Path.Combine(tmp.Path, "state"), "held-full-push-*", SearchOption.AllDirectories).Length == 0,
                Mirror.SyncTimeout,
                "no hold left after the remount\n" + daemon.Describe(),
                TestContext.Current.CancellationToken);
            await daemon.StopAsync();
        }
        finally
        {
            daemon?.Dispose();
            foreach (var mount in Enumerable.Reverse(mounts).ToList())
            {
                if (ChildProcess.Run("umount", [mount]).ExitCode != 0)
                {
                    ChildProcess.Run("umount", ["-l", mount]);
                }
            }
        }
    }

    private static void Fill(string dir)
    {
        for (var d = 0; d < 4; d++)
        {
            var sub = Directory.CreateDirectory(Path.Combine(dir, $"d{d}")).FullName;
            for (var f = 0; f < 10; f++)
            {
                File.WriteAllText(Path.Combine(sub, $"f{f}"), $"file {d} {f}");
            }
        }
    }

    private static void Mount(List<string> mounts, string at, params string[] arguments)
    {
        FaultMeasure.Must("mount", arguments);
        mounts.Add(at);
    }

    /// <summary>An rsync of the daemon's may be running in the root for a moment (its cwd is the root), and then the
    /// kernel says "target is busy": try again until a deadline, and name who holds it if it never lets go.</summary>
    private static async Task UnmountAsync(List<string> mounts, string at)
    {
        var polled = await Eventually.PollAsync(
            () => ChildProcess.Run("umount", [at], timeout: TimeSpan.FromSeconds(30)),
            r => r.ExitCode == 0,
            TimeSpan.FromSeconds(20),
            interval: TimeSpan.FromMilliseconds(200),
            cancellationToken: TestContext.Current.CancellationToken);
        Assert.True(polled.Value.ExitCode == 0, $"umount {at} never succeeded: {polled.Value}\n{ChildProcess.Run("fuser", ["-vm", at], timeout: TimeSpan.FromSeconds(10))}");
        mounts.Remove(at);
    }
}
