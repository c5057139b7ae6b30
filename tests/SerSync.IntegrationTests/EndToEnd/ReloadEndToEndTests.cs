using SerSync.Testing;

namespace SerSync.IntegrationTests.EndToEnd;

/// <summary>SIGHUP re-reads the config: a valid one takes effect without losing changes, an invalid one is refused.</summary>
public sealed class ReloadEndToEndTests
{
    private const int SIGHUP = 1;
    private const int SIGTERM = 15;

    /// <summary>SIGHUP used to cancel a token source that a finished reload had already disposed (the handler read
    /// it without a lock): a SIGHUP during a reload or at stop threw ObjectDisposedException on the signal thread.
    /// Now the handler only writes to a channel the service owns for its life.</summary>
    [Fact]
    public async Task A_storm_of_sighups_ending_in_sigterm_loses_nothing_and_exits_0()
    {
        await using var m = await Mirror.StartAsync();
        var pid = m.Daemon.Pid;
        for (var i = 0; i < 40; i++)
        {
            File.WriteAllText(m.Src($"storm-{i:D2}"), $"written between SIGHUPs {i}");
            DaemonProcess.SendSignal(pid, SIGHUP);
        }

        // SIGHUPs that arrive while one is pending coalesce, so the storm alone may be one reload. One more SIGHUP
        // after the first reload has begun is a second one for sure; and one more lands during that reload.
        int Reloads() => m.Daemon.MessageLines.Count(l => l == "RELOADING=1");
        await Eventually.TrueAsync(() => Reloads() >= 1, TimeSpan.FromSeconds(30), "the daemon to start reloading", TestContext.Current.CancellationToken);
        DaemonProcess.SendSignal(pid, SIGHUP);
        await Eventually.TrueAsync(() => Reloads() >= 2, TimeSpan.FromSeconds(30), "a second reload", TestContext.Current.CancellationToken);
        DaemonProcess.SendSignal(pid, SIGHUP);
        DaemonProcess.SendSignal(pid, SIGTERM);
        DaemonProcess.SendSignal(pid, SIGHUP);
        var code = await m.Daemon.WaitForExitAsync(DaemonProcess.DefaultStopTimeout);
        var output = m.Daemon.StandardOutput + m.Daemon.StandardError;
        Assert.True(code == 0, $"exit {code}: {m.Daemon.Describe()}");
        Assert.DoesNotContain("ObjectDisposedException", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", output, StringComparison.Ordinal);
        TreeComparer.AssertEqual(m.Source, m.Target);
    }

    [Fact]
    public async Task Sighup_adds_a_target_and_a_bad_config_keeps_the_running_one()
    {
        await using var m = await Mirror.StartAsync(m =>
        {
            Directory.CreateDirectory(m.Src("old/deep"));
            File.WriteAllText(m.Src("old/deep/existing.txt"), "there before the daemon started");
        });
        var second = Path.Combine(m.Tmp.Path, "second");
        Directory.CreateDirectory(second);
        File.WriteAllText(m.Src("before.txt"), "before reload");
        await m.WaitForTargetAsync();

        m.Config.AddLocalTarget(second);
        m.Config.Write(m.ConfigPath);
        var pid = m.Daemon.Pid;
        DaemonProcess.SendSignal(pid, SIGHUP);
        File.WriteAllText(m.Src("during.txt"), "written around the reload");

        // The new target gets everything: the tree as it was (a full sync for a target it never had), the journal's
        // and catch-up scan's changes, and what comes after.
        await TreeConvergence.AssertConvergesAsync(m.Source, second, Mirror.SyncTimeout, abandon: () => m.Daemon.HasExited, diagnostics: m.Daemon.Describe);
        await m.WaitForTargetAsync();
        Assert.Contains(m.Daemon.MessageLines, l => l == "RELOADING=1");

        File.WriteAllText(m.ConfigPath, "<head version=\"2.5\"><sersync><bogus/></sersync></head>");
        DaemonProcess.SendSignal(pid, SIGHUP);
        await Eventually.TrueAsync(
            () => m.Daemon.StatusLines.Any(s => s.StartsWith("reload refused: ", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(20),
            "a refused reload is reported in STATUS",
            TestContext.Current.CancellationToken);
        Assert.Contains("bogus", m.Daemon.StatusLines.Last(s => s.StartsWith("reload refused: ", StringComparison.Ordinal)), StringComparison.Ordinal);

        File.WriteAllText(m.Src("after.txt"), "after the refused reload");
        await m.WaitForTargetAsync();
        await TreeConvergence.AssertConvergesAsync(m.Source, second, Mirror.SyncTimeout, abandon: () => m.Daemon.HasExited, diagnostics: m.Daemon.Describe);
        Assert.True(DaemonProcess.IsAlive(pid));
        Assert.Equal(pid, m.Daemon.Pid);
        await m.Daemon.StopAsync();
    }
}
