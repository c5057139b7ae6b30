using SerSync.Daemon;
using SerSync.Daemon.Operations;
using SerSync.Pipeline;

namespace SerSync.UnitTests.Daemon;

/// <summary><c>sersyncd release [--keep]</c>: its command line, and the answer it prints.</summary>
public sealed class ReleaseCommandTests
{
    [Fact]
    public void Release_and_keep_parse_and_keep_belongs_to_release_alone()
    {
        var release = CommandLine.Parse(["release", "-o", "/etc/a.xml"]);
        Assert.Equal(CommandVerb.Release, release.Verb);
        Assert.False(release.Keep);
        Assert.Equal("/etc/a.xml", release.ConfigFile);
        Assert.True(CommandLine.Parse(["release", "--keep"]).Keep);
        Assert.Throws<UsageException>(() => CommandLine.Parse(["status", "--keep"]));
        Assert.Throws<UsageException>(() => CommandLine.Parse(["--keep"]));
        Assert.Throws<UsageException>(() => CommandLine.Parse(["release", "-r"]));
        Assert.Contains("sersyncd release [-o FILE] [--keep]", CommandLine.Usage, StringComparison.Ordinal);
    }

    [Fact]
    public void The_answer_says_per_root_and_target_how_many_and_the_total()
    {
        var text = ReleaseReply.Render(new ReleaseResult(false, [new RootRelease("/www", 4040, 2, 4000)], [new TargetRelease("/www", "10.0.0.1::www", 7)]));
        Assert.Equal(
            "/www: 4040 held delete(s) released (queued to the targets), 4000 file(s); 2 cleared (the path exists again)\n"
            + "/www -> 10.0.0.1::www: 7 delete(s) held by a full push released (queued to the targets)\n"
            + "total: 4047 delete(s) released (queued to the targets)\n",
            text);
        Assert.Contains("dropped (the targets keep the files)", ReleaseReply.Render(new ReleaseResult(true, [new RootRelease("/www", 1, 0, 1)], [])), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Release_without_a_daemon_exits_3_and_says_so()
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await ReleaseCommand.RunAsync("/nonexistent/sersyncd-test.sock", keep: false, stdout, stderr);
        Assert.Equal(ExitCodes.NotRunning, code);
        Assert.Contains("no daemon answers", stderr.ToString(), StringComparison.Ordinal);
        Assert.Empty(stdout.ToString());
    }
}
