using SerSync.Testing;

namespace SerSync.IntegrationTests.EndToEnd;

/// <summary>A watched root that disappears is never silent success, and no longer the daemon's end: it says so
/// loudly, stays up, the targets keep their files, and once the directory is back it is watched again and a guarded
/// full sync brings the targets in line.</summary>
public sealed class RootLostEndToEndTests
{
    [Theory]
    [InlineData("deleted")]
    [InlineData("moved")]
    public async Task Losing_the_watched_root_keeps_the_daemon_up_and_the_target_whole_until_it_is_back(string how)
    {
        await using var m = await Mirror.StartAsync(m => File.WriteAllText(m.Src("f.txt"), "x"));
        await m.WaitForTargetAsync();

        if (how == "deleted")
        {
            Directory.Delete(m.Source, recursive: true);
        }
        else
        {
            Directory.Move(m.Source, m.Source + ".away");
        }

        await Eventually.TrueAsync(
            () => m.Daemon.StatusLines.Any(s => s.StartsWith("idle, root lost: ", StringComparison.Ordinal)) || m.Daemon.HasExited,
            Mirror.SyncTimeout,
            "STATUS= saying the root is lost\n" + m.Daemon.Describe(),
            TestContext.Current.CancellationToken);
        Assert.False(m.Daemon.HasExited, m.Daemon.Describe());
        Assert.Contains("was lost", m.Daemon.StandardOutput + m.Daemon.StandardError, StringComparison.Ordinal);
        Assert.Equal("x", File.ReadAllText(m.Dst("f.txt"))); // the target was not emptied

        if (how == "deleted")
        {
            Directory.CreateDirectory(m.Source);
            File.WriteAllText(m.Src("f.txt"), "x again");
        }
        else
        {
            Directory.Move(m.Source + ".away", m.Source);
        }

        await Eventually.TrueAsync(
            () => m.Daemon.MessageLines.Count(l => l == "READY=1") >= 2 || m.Daemon.HasExited,
            Mirror.SyncTimeout,
            "the pipeline built again\n" + m.Daemon.Describe(),
            TestContext.Current.CancellationToken);
        File.WriteAllText(m.Src("back.txt"), "watched again");
        await m.WaitForTargetAsync();
        Assert.False(m.Daemon.HasExited);
    }
}
