using Microsoft.Extensions.Logging.Abstractions;
using SerSync.Configuration;
using SerSync.Processes;
using SerSync.Rsync;
using SerSync.Testing;

namespace SerSync.UnitTests.Syncing;

/// <summary>The limit on a guarded full push's deletes: what the dry run counts for <c>--max-delete</c>, how the
/// argv carries it, exit 25 as a failure that is retried, and a released push limited to what was held (real rsync
/// between local directories, its argv recorded on the way).</summary>
public sealed class FullPushMaxDeleteTests
{
    private const string P = ItemizedChangeParser.Prefix;
    private static readonly DeleteGuardConfig Guard = new(true, 50, 10, 0);

    [Fact]
    public void The_census_counts_every_entry_a_push_deletes_directories_included_for_the_limit()
    {
        string[] lines = [P + ".d          ./", P + ".f          keep", P + "*deleting   gone1", P + "*deleting   gonedir/inner", P + "*deleting   gonedir/", P + "*deleting   cache/x.log"];
        var census = FullPushCensus.Count(lines, (path, _) => path.ToString().EndsWith(".log", StringComparison.Ordinal));
        Assert.Equal(2, census.Deletes); // files, for the share
        Assert.Equal(3, census.DeleteEntries); // what rsync's --max-delete counts; the protected path is not deleted
    }

    [Fact]
    public void The_limit_goes_last_among_the_options_the_lower_of_it_and_the_configs_stands_and_none_drops_delete()
    {
        var invocation = new ProcessInvocation("/src", ["-artuz", "--delete", "./", "/dst"], [1]);
        var limited = FullPushGuard.WithDeleteLimit(invocation, 7);
        Assert.Equal(["-artuz", "--delete", "--max-delete=7", "./", "/dst"], limited.Arguments);
        Assert.Equal(new byte[] { 1 }, limited.Stdin);

        // The config's own --max-delete: at or under the count it acts alone, as before; above it, the count is last.
        Assert.Equal(["-a", "--max-delete=3", "--delete", "./", "/d"], FullPushGuard.WithDeleteLimit(invocation with { Arguments = ["-a", "--max-delete=3", "--delete", "./", "/d"] }, 7).Arguments);
        Assert.Equal(["-a", "--max-delete", "2", "--delete", "./", "/d"], FullPushGuard.WithDeleteLimit(invocation with { Arguments = ["-a", "--max-delete", "2", "--delete", "./", "/d"] }, 7).Arguments);
        Assert.Equal("--max-delete=7", FullPushGuard.WithDeleteLimit(invocation with { Arguments = ["-a", "--max-delete=100", "--delete", "./", "/d"] }, 7).Arguments[^3]);
        Assert.Equal($"--max-delete={int.MaxValue}", FullPushGuard.WithDeleteLimit(invocation, long.MaxValue).Arguments[^3]);

        // Nothing judged deletable: no delete option at all (rsync before 3.1 reads --max-delete=0 as no limit).
        Assert.Equal(["-artuz", "./", "/dst"], FullPushGuard.WithDeleteLimit(invocation, 0).Arguments);
    }

    [Fact]
    public void Exit_25_is_a_transient_failure_retried_not_a_success_nor_fatal()
    {
        Assert.Equal(FailureClass.Transient, RsyncExitCodes.Classify(RsyncExitCodes.MaxDeleteReached));
        Assert.False(new ProcessResult(RsyncExitCodes.MaxDeleteReached, "", TimeSpan.Zero, false).Succeeded);
    }

    [Fact]
    public void The_limits_warning_relayed_by_an_rsync_daemon_with_exit_0_is_exit_25()
    {
        var relayed = new ProcessResult(0, "Deletions stopped due to --max-delete limit (6 skipped)\n", TimeSpan.Zero, false);
        Assert.Equal(RsyncExitCodes.MaxDeleteReached, FullPushGuard.LimitReported(relayed).ExitCode);
        var clean = new ProcessResult(0, "", TimeSpan.Zero, false);
        Assert.Same(clean, FullPushGuard.LimitReported(clean));
        var other = new ProcessResult(23, "Deletions stopped due to --max-delete limit (1 skipped)\n", TimeSpan.Zero, false);
        Assert.Equal(23, FullPushGuard.LimitReported(other).ExitCode); // a worse failure stays what it is
    }

    [Fact]
    public void The_hold_file_keeps_the_entries_and_an_older_one_without_them_limits_to_its_files()
    {
        using var tmp = new TempDirectory();
        var file = Path.Combine(tmp.Path, "held");
        File.WriteAllText(file, "deletes=5\nheld=9\nsince=1000\nat=2000\nrelease=1\n");
        Assert.Equal(5, FullPushGuard.Read(file)!.Entries);
        File.WriteAllText(file, "deletes=5\nheld=9\nsince=1000\nat=2000\nrelease=1\nentries=8\n");
        Assert.Equal(8, FullPushGuard.Read(file)!.Entries);
    }

    [Fact]
    public async Task A_judged_push_carries_the_count_its_dry_run_found()
    {
        using var tmp = new TempDirectory();
        var (src, dst) = (tmp.Sub("src"), tmp.Sub("dst"));
        MakeFiles(src, "f", 20);
        MakeFiles(dst, "f", 20);
        Directory.CreateDirectory(Path.Combine(dst, "old", "sub"));
        File.WriteAllText(Path.Combine(dst, "old", "sub", "x"), "");
        File.Delete(Path.Combine(src, "f0"));
        var runner = new RecordingRunner();
        var guard = NewGuard(src, dst, null);
        var (_, result) = await FullPush.RunGuardedAsync(runner, FullPush.Invocation(guard.Target, null, []), null, guard, NullLogger.Instance, TestContext.Current.CancellationToken);

        Assert.True(result.Succeeded, result.Output);
        Assert.Equal(2, runner.Runs.Count); // the dry run, the push
        Assert.Contains("--max-delete=4", runner.Runs[1]); // f0, old/, old/sub/, old/sub/x
        Assert.DoesNotContain(runner.Runs[0], a => a.StartsWith("--max-delete", StringComparison.Ordinal));
        Assert.False(Directory.Exists(Path.Combine(dst, "old")));
        Assert.Equal(19, Directory.GetFiles(dst).Length);
    }

    [Fact]
    public async Task A_released_push_deletes_at_most_what_was_held_and_more_since_spends_the_release_and_holds_again()
    {
        using var tmp = new TempDirectory();
        var (src, dst) = (tmp.Sub("src"), tmp.Sub("dst"));
        MakeFiles(src, "f", 20);
        MakeFiles(dst, "f", 20);
        for (var i = 0; i < 15; i++)
        {
            File.Delete(Path.Combine(src, "f" + i));
        }

        var state = Path.Combine(tmp.Path, "held");
        var guard = NewGuard(src, dst, state);
        var runner = new RecordingRunner();
        await PushAsync(runner, guard);
        Assert.Equal(15, guard.Current!.Entries);
        Assert.Equal(20, Directory.GetFiles(dst).Length);
        guard.Release(keep: false);

        // Two more gone after the hold the operator saw: the released push stops at 15.
        File.Delete(Path.Combine(src, "f15"));
        File.Delete(Path.Combine(src, "f16"));
        runner.Runs.Clear();
        var result = await PushAsync(runner, guard);
        Assert.Equal(RsyncExitCodes.MaxDeleteReached, result.ExitCode);
        Assert.Equal(2, runner.Runs.Count); // the dry run (unlimited), the push
        Assert.Contains("--max-delete=15", runner.Runs[1]);
        Assert.DoesNotContain(runner.Runs[0], a => a.StartsWith("--max-delete", StringComparison.Ordinal));
        Assert.Equal(5, Directory.GetFiles(dst).Length); // 20 - 15
        var spent = Assert.IsType<FullPushHold>(guard.Current);
        Assert.False(spent.ReleaseOnce);
        Assert.False(FullPushGuard.Read(state)!.ReleaseOnce); // durable

        // The retry judges again: 2 deletes of the 5 files left, under minFiles (10): they go.
        result = await PushAsync(runner, guard);
        Assert.True(result.Succeeded, result.Output);
        Assert.Equal(3, Directory.GetFiles(dst).Length);
        Assert.Null(guard.Current);
    }

    [Fact]
    public async Task A_released_push_keeps_the_filters_target_only_paths_out_of_its_count()
    {
        using var tmp = new TempDirectory();
        var (src, dst) = (tmp.Sub("src"), tmp.Sub("dst"));
        MakeFiles(src, "f", 2);
        MakeFiles(dst, "f", 20);
        File.WriteAllText(Path.Combine(dst, "keep.log"), "the filter excludes it: never deleted, never counted");
        static bool IsExcluded(SerSync.Paths.RelativePath path, bool isDirectory) => path.ToString().EndsWith(".log", StringComparison.Ordinal);
        var guard = NewGuard(src, dst, null);
        var runner = new RecordingRunner();
        await PushAsync(runner, guard, IsExcluded);
        Assert.Equal(18, guard.Current!.Entries);
        guard.Release(keep: false);

        var result = await PushAsync(runner, guard, IsExcluded);
        Assert.True(result.Succeeded, result.Output); // a probe with --max-delete=18 would have counted keep.log: 19
        Assert.Null(guard.Current);
        Assert.Equal(["f0", "f1", "keep.log"], Directory.GetFiles(dst).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    private static void MakeFiles(string dir, string prefix, int count)
    {
        for (var i = 0; i < count; i++)
        {
            File.WriteAllText(Path.Combine(dir, prefix + i), "content " + i);
        }
    }

    private static FullPushGuard NewGuard(string src, string dst, string? state) =>
        new(new SyncTarget(src, new RemoteConfig(RemoteKind.LocalDirectory, null, null, dst, 1), RsyncConfig.Stock with { CommonParams = ["-artuz"] }, true), Guard, state, TimeProvider.System, NullLogger.Instance);

    private static async Task<ProcessResult> PushAsync(IProcessRunner runner, FullPushGuard guard, Func<SerSync.Paths.RelativePath, bool, bool>? isExcluded = null)
    {
        var invocation = FullPush.Invocation(guard.Target, FullPush.ExcludeListFor(guard.Target.WatchRoot, isExcluded), []);
        var (_, result) = await FullPush.RunGuardedAsync(runner, invocation, isExcluded, guard, NullLogger.Instance, TestContext.Current.CancellationToken);
        return result;
    }

    /// <summary>The real rsync, each argv kept.</summary>
    private sealed class RecordingRunner : IProcessRunner
    {
        private readonly ProcessRunner _inner = new(NullLogger.Instance);

        public List<IReadOnlyList<string>> Runs { get; } = [];

        public string Program => _inner.Program;

        public Task<ProcessResult> RunAsync(ProcessInvocation invocation, TimeSpan lifetime, CancellationToken cancellationToken, Action<string>? stdoutLine = null)
        {
            Runs.Add(invocation.Arguments);
            return _inner.RunAsync(invocation, lifetime, cancellationToken, stdoutLine);
        }
    }
}
