using SerSync.Testing;

namespace SerSync.IntegrationTests.EndToEnd;

/// <summary>SIGHUP re-reads the config: a valid one takes effect without losing changes, an invalid one is refused.</summary>
public sealed class ReloadEndToEndTests
{
    private const int SIGHUP = 1;

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
