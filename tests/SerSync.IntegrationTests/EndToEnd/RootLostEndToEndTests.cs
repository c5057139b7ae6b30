namespace SerSync.IntegrationTests.EndToEnd;

/// <summary>A watched root that disappears is never silent success: a loud error and a non-zero exit.</summary>
public sealed class RootLostEndToEndTests
{
    [Theory]
    [InlineData("deleted")]
    [InlineData("moved")]
    public async Task Losing_the_watched_root_exits_non_zero_with_a_clear_message(string how)
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

        var code = await m.Daemon.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(71, code);
        Assert.Contains("was lost", m.Daemon.StandardOutput + m.Daemon.StandardError, StringComparison.Ordinal);
        Assert.Contains(m.Daemon.StatusLines, s => s.StartsWith("failed: ", StringComparison.Ordinal));
        Assert.Equal("x", File.ReadAllText(m.Dst("f.txt"))); // the target was not emptied
    }
}
