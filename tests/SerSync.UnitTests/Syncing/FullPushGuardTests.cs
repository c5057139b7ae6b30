using Microsoft.Extensions.Logging.Abstractions;
using SerSync.Configuration;
using SerSync.Paths;
using SerSync.Processes;
using SerSync.Rsync;
using SerSync.Testing;

namespace SerSync.UnitTests.Syncing;

/// <summary>The delete guard on full pushes: the census from a dry run's lines, the decision, the state file, and
/// whole guarded pushes with a real rsync between two local directories (held, cleared by itself, released once,
/// kept).</summary>
public sealed class FullPushGuardTests
{
    private const string P = ItemizedChangeParser.Prefix;
    private static readonly DeleteGuardConfig Guard = new(true, 50, 10, 0);

    [Fact]
    public void Census_counts_unchanged_differing_and_deleted_files_as_held_and_new_ones_not()
    {
        string[] lines =
        [
            P + ".d          ./",
            P + ".f          same1",
            P + ".f          same2",
            P + ".d          dir/",
            P + ">f.st...... dir/changed",
            P + ">f+++++++++ dir/new",
            P + "cd+++++++++ newdir/",
            P + "*deleting   gone1",
            P + "*deleting   gonedir/inner",
            P + "*deleting   gonedir/",
            "sent 120 bytes  received 30 bytes", // chatter is ignored
        ];
        var census = FullPushCensus.Count(lines, null);
        Assert.Equal(2, census.Deletes); // the directory's own line is not a file
        Assert.Equal(5, census.Held); // same1, same2, dir/changed, gone1, gonedir/inner
        Assert.False(census.SourceEmpty);
        Assert.Empty(census.ExcludedOnTarget);
    }

    [Fact]
    public void Census_of_an_empty_source_says_so_and_the_guard_holds_even_below_min_files()
    {
        string[] lines = [P + ".d..t...... ./", P + "*deleting   a", P + "*deleting   b"];
        var census = FullPushCensus.Count(lines, null);
        Assert.True(census.SourceEmpty);
        Assert.Equal(2, census.Held);
        Assert.True(census.MustHold(Guard)); // 2 files < minFiles 10, but the target would be left empty
        Assert.False(census.MustHold(Guard with { Enabled = false }));
    }

    [Fact]
    public void Census_leaves_target_only_paths_the_filter_excludes_out_and_protects_them()
    {
        string[] lines = [P + ".f          keep", P + "*deleting   logs/old.log", P + "*deleting   other"];
        var census = FullPushCensus.Count(lines, (path, _) => path.ToString().EndsWith(".log", StringComparison.Ordinal));
        Assert.Equal(1, census.Deletes);
        Assert.Equal(2, census.Held);
        Assert.Equal("logs/old.log", Assert.Single(census.ExcludedOnTarget).ToString());
    }

    [Theory]
    [InlineData(20, 10, false)] // exactly 50 %: allowed
    [InlineData(20, 11, true)]
    [InlineData(9, 8, false)] // under minFiles: only the empty-source rule applies
    [InlineData(1000, 0, false)]
    public void The_share_decides_for_roots_of_min_files_or_more(int held, int deletes, bool hold)
    {
        var census = new FullPushCensus(held, deletes, SourceEmpty: false, []);
        Assert.Equal(hold, census.MustHold(Guard));
    }

    [Fact]
    public void Delete_options_are_found_and_taken_out_and_the_source_and_destination_stay()
    {
        List<string> args = ["-artuz", "-R", "--delete", "--timeout=100", "--delete-after", "./", "/dst"];
        Assert.True(FullPushGuard.Deletes(args));
        Assert.Equal(["-artuz", "-R", "--timeout=100", "./", "/dst"], FullPushGuard.WithoutDelete(args));
        Assert.False(FullPushGuard.Deletes(["-a", "./", "--delete"])); // a destination named so is no option
        Assert.Equal(["-a", "./", "/dst"], FullPushGuard.WithoutDelete(["-a", "--del", "./", "/dst"])); // rsync's short spelling
        // The fail log is replayed by a shell, unguarded, later: a failed full push goes there without its deletes.
        var logged = FullPushGuard.ForFailLog(new SerSync.Processes.ProcessInvocation("/src", args, [1, 2]));
        Assert.Equal(["-artuz", "-R", "--timeout=100", "./", "/dst"], logged.Arguments);
        Assert.Equal("/src", logged.WorkingDirectory);
        Assert.Equal(new byte[] { 1, 2 }, logged.Stdin);
        var dry = FullPushGuard.DryRunArguments(args);
        Assert.Equal(["./", "/dst"], dry[^2..]);
        Assert.Contains("-ii", dry);
        Assert.Contains("--dry-run", dry);
    }

    [Fact]
    public async Task A_push_that_would_delete_most_of_the_target_sends_the_rest_and_holds_the_deletes_durably()
    {
        using var tmp = new TempDirectory();
        var (src, dst) = (tmp.Sub("src"), tmp.Sub("dst"));
        MakeFiles(src, "f", 20);
        MakeFiles(dst, "f", 20);
        for (var i = 0; i < 16; i++)
        {
            File.Delete(Path.Combine(src, $"f{i}"));
        }

        File.WriteAllText(Path.Combine(src, "new"), "arrives");
        var state = Path.Combine(tmp.Path, "state", "held");
        var guard = NewGuard(src, dst, state);
        var result = await PushAsync(guard);

        Assert.True(result.Succeeded, result.Output);
        Assert.Equal(21, Directory.GetFiles(dst).Length); // 20 kept, the new one sent
        var hold = Assert.IsType<FullPushHold>(guard.Current);
        Assert.Equal(16, hold.Deletes);
        Assert.Equal(20, hold.Held);
        Assert.False(hold.ReleaseOnce);

        // Durable: a new guard (a restart) reads it back.
        var again = NewGuard(src, dst, state);
        Assert.Equal(hold, again.Current);

        // Still the same source: held again, not deleted.
        await PushAsync(again);
        Assert.Equal(21, Directory.GetFiles(dst).Length);
        Assert.Equal(hold.Since, again.Current!.Since);
    }

    [Fact]
    public async Task The_source_coming_back_clears_the_hold_by_itself()
    {
        using var tmp = new TempDirectory();
        var (src, dst) = (tmp.Sub("src"), tmp.Sub("dst"));
        MakeFiles(dst, "f", 20);
        var state = Path.Combine(tmp.Path, "held");
        var guard = NewGuard(src, dst, state);
        await PushAsync(guard); // an empty source (an unmounted root)
        Assert.Equal(20, Directory.GetFiles(dst).Length);
        Assert.True(guard.Current is { Deletes: 20 });

        MakeFiles(src, "f", 19); // restored, but for one file: under the share
        var result = await PushAsync(guard);
        Assert.True(result.Succeeded, result.Output);
        Assert.Null(guard.Current);
        Assert.False(File.Exists(state));
        Assert.Equal(19, Directory.GetFiles(dst).Length); // that one delete went through
    }

    [Fact]
    public async Task Release_lets_the_next_push_delete_once_and_keep_forgets_the_hold()
    {
        using var tmp = new TempDirectory();
        var (src, dst) = (tmp.Sub("src"), tmp.Sub("dst"));
        MakeFiles(src, "f", 2);
        MakeFiles(dst, "f", 20);
        var state = Path.Combine(tmp.Path, "held");
        var guard = NewGuard(src, dst, state);
        await PushAsync(guard);
        Assert.Equal(20, Directory.GetFiles(dst).Length);

        Assert.NotNull(guard.Release(keep: false));
        Assert.True(NewGuard(src, dst, state).Current is { ReleaseOnce: true }); // the release is durable too
        await PushAsync(guard);
        Assert.Equal(2, Directory.GetFiles(dst).Length);
        Assert.Null(guard.Current);

        // Once only: the next mass delete is held again.
        MakeFiles(dst, "g", 20);
        await PushAsync(guard);
        Assert.Equal(22, Directory.GetFiles(dst).Length);
        Assert.NotNull(guard.Current);

        Assert.NotNull(guard.Release(keep: true));
        Assert.Null(guard.Current);
        Assert.False(File.Exists(state));
        Assert.Null(guard.Release(keep: true)); // nothing held: nothing to do
        Assert.Equal(22, Directory.GetFiles(dst).Length); // kept: the target keeps the files
    }

    [Fact]
    public async Task With_the_guard_off_or_without_delete_the_push_runs_as_it_is()
    {
        using var tmp = new TempDirectory();
        var (src, dst) = (tmp.Sub("src"), tmp.Sub("dst"));
        MakeFiles(dst, "f", 20);
        var noDelete = NewGuard(src, dst, null, delete: false);
        await PushAsync(noDelete);
        Assert.Equal(20, Directory.GetFiles(dst).Length);
        Assert.Null(noDelete.Current);

        var off = new FullPushGuard(Target(src, dst, true), Guard with { Enabled = false }, null, TimeProvider.System, NullLogger.Instance);
        await PushAsync(off);
        Assert.Empty(Directory.GetFiles(dst));
        Assert.Null(off.Current);
    }

    [Fact]
    public void A_torn_or_missing_state_file_is_no_hold()
    {
        using var tmp = new TempDirectory();
        var file = Path.Combine(tmp.Path, "held");
        Assert.Null(FullPushGuard.Read(file));
        File.WriteAllText(file, "deletes=5\nheld=");
        Assert.Null(FullPushGuard.Read(file));
        File.WriteAllText(file, "deletes=5\nheld=9\nsince=1000\nat=2000\nrelease=1\n");
        Assert.Equal(new FullPushHold(5, 9, DateTimeOffset.FromUnixTimeMilliseconds(1000), DateTimeOffset.FromUnixTimeMilliseconds(2000), true), FullPushGuard.Read(file));
    }

    private static void MakeFiles(string dir, string prefix, int count)
    {
        for (var i = 0; i < count; i++)
        {
            File.WriteAllText(Path.Combine(dir, prefix + i), "content " + i);
        }
    }

    private static SyncTarget Target(string src, string dst, bool delete) =>
        new(src, new RemoteConfig(RemoteKind.LocalDirectory, null, null, dst, 1), RsyncConfig.Stock with { CommonParams = ["-artuz"] }, delete);

    private static FullPushGuard NewGuard(string src, string dst, string? state, bool delete = true) =>
        new(Target(src, dst, delete), Guard, state, TimeProvider.System, NullLogger.Instance);

    private static async Task<ProcessResult> PushAsync(FullPushGuard guard)
    {
        var runner = new ProcessRunner(NullLogger.Instance);
        var invocation = FullPush.Invocation(guard.Target, null, []);
        var (_, result) = await FullPush.RunGuardedAsync(runner, invocation, null, guard, NullLogger.Instance, TestContext.Current.CancellationToken);
        return result;
    }
}
