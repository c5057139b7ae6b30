using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using SerSync.IntegrationTests.Watching;
using SerSync.Testing;
using SerSync.Watching;

namespace SerSync.IntegrationTests.EndToEnd;

/// <summary>
/// The daemon as <c>nobody</c> (it may not raise the limit) on a tree, state and local target owned by nobody, with
/// max_user_watches lowered for a few seconds to a little above what the machine uses: the directories past it are
/// unwatched, shown in status, and their files arrive through the rescans; once the limit is back they are watched.
/// </summary>
[Collection("kernel-limits")]
public sealed class WatchLimitNonRootEndToEndTests
{
    private const int Nobody = 65534;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task As_nobody_directories_past_the_limit_are_rescanned_shown_and_watched_once_it_is_raised()
    {
        WatcherBackend.SkipUnlessInotify("running out of max_user_watches");
        Assert.SkipUnless(Environment.IsPrivilegedProcess, "needs root to lower max_user_watches and to become nobody");
        var ct = TestContext.Current.CancellationToken;
        using var tmp = new TempDirectory("sersync-nobody-");
        File.SetUnixFileMode(tmp.Path, (UnixFileMode)0x1ED); // 0755: nobody reaches its home and reads the config
        var home = tmp.Sub("home");
        var (source, target, state) = (Path.Combine(home, "src"), Path.Combine(home, "dst"), Path.Combine(home, "state"));
        foreach (var dir in new[] { home, source, target, state })
        {
            Directory.CreateDirectory(dir);
            Chown(dir);
        }

        var config = new ConfigBuilder(source, state) { StatusSocket = Path.Combine(home, "status.sock") }.AddLocalTarget(target).Write(Path.Combine(tmp.Path, "confxml.xml"));
        var watchesBefore = InotifyLimits.Read(InotifyLimits.MaxUserWatchesFile)!.Value;
        await using var daemon = DaemonProcess.StartAsUser(Nobody, Nobody, "-o", config);
        await WaitForStatusAsync(config, r => r.GetProperty("watches").GetInt32() == 1, "the daemon (nobody) watching its root", ct);

        string unwatched;
        TimeSpan arrivedAfter;
        try
        {
            using (var limit = LoweredWatchLimit.ToInUsePlus(room: 16))
            {
                // Enough new directories to use up what is left to nobody under the lowered limit, and 20 more.
                var count = (int)(limit.Value - InotifyUse.OfProcess(daemon.Pid)) + 20;
                Assert.SkipWhen(count > 20_000, $"the machine holds {limit.Value} watches: too many directories to make here");
                for (var i = 0; i < count; i++)
                {
                    var dir = Path.Combine(source, $"n{i:D5}");
                    Directory.CreateDirectory(dir);
                    await File.WriteAllTextAsync(Path.Combine(dir, "f"), $"made with {i}", ct);
                }

                var degraded = await WaitForStatusAsync(config, r => r.GetProperty("unwatched").GetInt32() > 0, "status shows the unwatched directories", ct);
                Assert.False(daemon.HasExited, daemon.Describe());
                unwatched = degraded.GetProperty("unwatched_paths")[0].GetString()!;
                Assert.True(degraded.GetProperty("unwatched_paths").GetArrayLength() <= 5);
                await TreeConvergence.AssertConvergesAsync(source, target, Timeout, null, () => daemon.HasExited, daemon.Describe);

                // A file made in an unwatched directory arrives through the rescan (every 5 s).
                var clock = Stopwatch.StartNew();
                await File.WriteAllTextAsync(Path.Combine(source, unwatched, "late"), "while unwatched", ct);
                await Eventually.TrueAsync(() => File.Exists(Path.Combine(target, unwatched, "late")), TimeSpan.FromSeconds(30), "the late file arrives through the rescan", ct);
                arrivedAfter = clock.Elapsed;
                Assert.Contains(" is not watched (/proc/sys/fs/inotify/max_user_watches used up)", daemon.StandardError, StringComparison.Ordinal);
            }

            // The limit is back (the admin raised it): the next rescan places the watches and the status clears.
            var cleared = await WaitForStatusAsync(config, r => r.GetProperty("unwatched").GetInt32() == 0, "status clears once the watches fit", ct);
            Assert.Empty(cleared.GetProperty("unwatched_paths").EnumerateArray());
            Assert.True(cleared.GetProperty("watches").GetInt32() > 1);
            // The set empties first (what status reads), the summary line is logged after it: wait for the line.
            await Eventually.TrueAsync(() => daemon.StandardError.Contains("the degradation has ended", StringComparison.Ordinal), Timeout,
                "the log says the degradation has ended\n" + daemon.Describe(), ct);
            await File.WriteAllTextAsync(Path.Combine(source, unwatched, "watched"), "watched again", ct);
            await TreeConvergence.AssertConvergesAsync(source, target, Timeout, null, () => daemon.HasExited, daemon.Describe);
        }
        finally
        {
            if (InotifyLimits.Read(InotifyLimits.MaxUserWatchesFile) != watchesBefore)
            {
                File.WriteAllText(InotifyLimits.MaxUserWatchesFile, watchesBefore.ToString(CultureInfo.InvariantCulture));
            }
        }

        Assert.Equal(watchesBefore, InotifyLimits.Read(InotifyLimits.MaxUserWatchesFile));
        Assert.True(arrivedAfter < TimeSpan.FromSeconds(15), $"the late file took {arrivedAfter}");
        Assert.False(daemon.HasExited, daemon.Describe());
        TestContext.Current.SendDiagnosticMessage($"unwatched {unwatched}: a file made in it arrived after {arrivedAfter.TotalSeconds:F1} s");
    }

    private static void Chown(string path)
    {
        using var chown = Process.Start(new ProcessStartInfo("chown", [$"{Nobody}:{Nobody}", path]) { UseShellExecute = false })!;
        chown.WaitForExit();
        Assert.Equal(0, chown.ExitCode);
    }

    /// <summary>Polls <c>sersyncd status --json</c> until the (single) root satisfies <paramref name="done"/>.</summary>
    private static async Task<JsonElement> WaitForStatusAsync(string config, Func<JsonElement, bool> done, string because, CancellationToken ct)
    {
        string last = "";
        var polled = await Eventually.PollAsync(
            async () =>
            {
                using var run = await DaemonProcess.RunToExitAsync(["status", "-o", config, "--json"], TimeSpan.FromSeconds(30));
                last = run.StandardOutput + run.StandardError;
                if (run.ExitCode is not (0 or 1))
                {
                    return (JsonElement?)null;
                }

                using var doc = JsonDocument.Parse(run.StandardOutput);
                return doc.RootElement.GetProperty("roots")[0].Clone();
            },
            r => r is { } root && done(root),
            Timeout,
            interval: TimeSpan.FromMilliseconds(250),
            cancellationToken: ct);
        Assert.True(polled.Reached, $"{because}: last status: {last}");
        return polled.Value!.Value;
    }
}
