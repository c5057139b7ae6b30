using Microsoft.Extensions.Logging.Abstractions;
using SerSync.Configuration;
using SerSync.Paths;
using SerSync.Rsync;
using SerSync.Targets;
using SerSync.Testing;

namespace SerSync.UnitTests.Targets;

/// <summary>rsync options that protect target paths turn renames off (a rename cannot honour them); -u and
/// --ignore-existing let a rename go only onto a path the target does not hold.</summary>
public sealed class RenameSafetyTests : IDisposable
{
    private readonly TempDirectory _tmp = new("sersync-rename-safety-");

    public void Dispose() => _tmp.Dispose();

    [Theory]
    [InlineData("--exclude=/config.php")]
    [InlineData("--exclude-from=/etc/x")]
    [InlineData("--include=*.html")]
    [InlineData("--filter=P /keep")]
    [InlineData("-f")]
    [InlineData("-F")]
    [InlineData("-aC")]
    [InlineData("--cvs-exclude")]
    [InlineData("-ab")]
    [InlineData("--backup")]
    [InlineData("--backup-dir=/old")]
    [InlineData("--suffix=.orig")]
    [InlineData("--max-delete=10")]
    [InlineData("--existing")]
    [InlineData("-aK")]
    [InlineData("-an")]
    [InlineData("--dry-run")]
    public void Options_that_protect_target_paths_turn_renames_off(string option)
    {
        Assert.Equal(RenameMode.Off, RenameSafety.Of(["-az", option]).Mode);
        Assert.Null(MoveStages.For(Local(["-az", option]), NullLogger.Instance));
    }

    [Theory]
    [InlineData("-artuz")]
    [InlineData("-u")]
    [InlineData("--update")]
    [InlineData("--ignore-existing")]
    public void Update_and_ignore_existing_allow_renames_onto_free_paths_only(string option)
    {
        Assert.Equal(RenameMode.NoReplace, RenameSafety.Of([option]).Mode);
    }

    [Theory]
    [InlineData("-az")]
    [InlineData("-a --delete --numeric-ids")]
    [InlineData("-az -e ssh")]
    [InlineData("-azTfoo")] // a value after an option that takes one is not options: T's "foo" has an f
    [InlineData("--no-backup -a")]
    public void Plain_options_allow_renames_that_replace(string options)
    {
        Assert.Equal(RenameMode.Replace, RenameSafety.Of(options.Split(' ')).Mode);
    }

    [Fact]
    public async Task Under_u_a_local_rename_never_replaces_what_the_target_holds()
    {
        var target = Directory.CreateDirectory(Path.Combine(_tmp.Path, "target")).FullName;
        File.WriteAllText(Path.Combine(target, "a"), "old a");
        File.WriteAllText(Path.Combine(target, "b"), "target's own, newer b");
        File.WriteAllText(Path.Combine(target, "c"), "c");
        var stage = Assert.IsType<LocalMoveStage>(MoveStages.For(Local(["-artuz"], target), NullLogger.Instance));
        Assert.False(stage.Replace);

        var outcome = await stage.ApplyAsync(
            [new PathMove(RelativePath.FromString("c"), RelativePath.FromString("d"), false), new PathMove(RelativePath.FromString("a"), RelativePath.FromString("b"), false)],
            TestContext.Current.CancellationToken);

        Assert.Equal(1, outcome.Applied); // c -> d (free); a -> b left to rsync, whose -u keeps a newer b
        Assert.True(outcome.Reached);
        Assert.Equal("target's own, newer b", File.ReadAllText(Path.Combine(target, "b")));
        Assert.Equal("old a", File.ReadAllText(Path.Combine(target, "a")));
        Assert.Equal("c", File.ReadAllText(Path.Combine(target, "d")));
    }

    [Fact]
    public async Task Under_u_the_ssh_script_never_replaces_what_the_target_holds()
    {
        var target = Directory.CreateDirectory(Path.Combine(_tmp.Path, "over-ssh")).FullName;
        File.WriteAllText(Path.Combine(target, "a"), "old a");
        File.WriteAllText(Path.Combine(target, "b"), "target's own, newer b");
        File.WriteAllText(Path.Combine(target, "c"), "c");

        // The script runs in a local /bin/sh standing in for ssh (its words ignore the host and options).
        var ssh = new SyncTarget(
            _tmp.Path,
            new RemoteConfig(RemoteKind.Ssh, "host.invalid", target, null, 1),
            RsyncConfig.Stock with { Ssh = true, SshCommand = "/bin/sh -c 'exec /bin/sh' fake-ssh", CommonParams = ["-artuz"] },
            Delete: true);
        var stage = Assert.IsType<SshMoveStage>(MoveStages.For(ssh, NullLogger.Instance));
        Assert.False(stage.Replace);

        var outcome = await stage.ApplyAsync(
            [new PathMove(RelativePath.FromString("c"), RelativePath.FromString("d"), false), new PathMove(RelativePath.FromString("a"), RelativePath.FromString("b"), false)],
            TestContext.Current.CancellationToken);

        Assert.Equal(1, outcome.Applied);
        Assert.True(outcome.Reached);
        Assert.Equal("target's own, newer b", File.ReadAllText(Path.Combine(target, "b")));
        Assert.Equal("old a", File.ReadAllText(Path.Combine(target, "a")));
        Assert.Equal("c", File.ReadAllText(Path.Combine(target, "d")));
    }

    private SyncTarget Local(IReadOnlyList<string> commonParams, string? path = null) => new(
        _tmp.Path,
        new RemoteConfig(RemoteKind.LocalDirectory, null, null, path ?? Path.Combine(_tmp.Path, "t"), 1),
        RsyncConfig.Stock with { CommonParams = commonParams },
        Delete: true);
}
