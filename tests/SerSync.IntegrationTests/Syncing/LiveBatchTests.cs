using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging.Abstractions;
using SerSync.Configuration;
using SerSync.Filtering;
using SerSync.Paths;
using SerSync.Processes;
using SerSync.Rsync;
using SerSync.Targets;
using SerSync.Testing;

namespace SerSync.IntegrationTests.Syncing;

/// <summary>One live batch (list on stdin, --no-r -d, --delete-missing-args) against a real rsync, local target.</summary>
public sealed class LiveBatchTests : IDisposable
{
    private readonly TempDirectory _temp = new("sersync-batch-");

    public void Dispose() => _temp.Dispose();

    private async Task<ProcessResult> SendAsync(string src, string dst, PendingSet set, PathFilter filter, bool delete = true)
    {
        var target = new SyncTarget(src, new RemoteConfig(RemoteKind.LocalDirectory, null, null, dst, 1), RsyncConfig.Stock, delete);
        var list = BatchListBuilder.Build(src, set.Take(), filter);
        string? excludeFile = null;
        if (list.Excludes is not null)
        {
            excludeFile = Path.Combine(_temp.Path, "excludes");
            File.WriteAllBytes(excludeFile, list.Excludes);
        }

        var runner = new ProcessRunner(NullLogger.Instance);
        return await runner.RunAsync(new ProcessInvocation(src, RsyncArguments.Batch(target, excludeFile), list.Paths), TimeSpan.FromMinutes(1), TestContext.Current.CancellationToken);
    }

    private static FileChange Change(ChangeKind kind, string path, bool dir = false) => new(kind, RelativePath.FromString(path), dir);

    [Fact]
    public async Task Each_reach_goes_exactly_as_far_as_it_says()
    {
        var src = _temp.Sub("src");
        var dst = _temp.Sub("dst");
        // Target state before: stale content everywhere.
        Directory.CreateDirectory(Path.Combine(dst, "gone", "deep"));
        File.WriteAllText(Path.Combine(dst, "gone", "deep", "x"), "old");
        Directory.CreateDirectory(Path.Combine(dst, "moved", "stale"));
        File.WriteAllText(Path.Combine(dst, "moved", "stale", "s"), "old");
        Directory.CreateDirectory(Path.Combine(dst, "attr"));
        File.WriteAllText(Path.Combine(dst, "attr", "untouched"), "must stay: only attrs of attr/ were listed");
        File.WriteAllText(Path.Combine(dst, "deleted.txt"), "old");
        Directory.CreateDirectory(Path.Combine(dst, "shallow", "sub"));
        File.WriteAllText(Path.Combine(dst, "shallow", "extra"), "delete me");
        File.WriteAllText(Path.Combine(dst, "shallow", "sub", "deeper"), "not in reach: stays");
        // Source now.
        Directory.CreateDirectory(Path.Combine(src, "moved", "a", "b"));
        File.WriteAllText(Path.Combine(src, "moved", "a", "b", "f"), "new");
        File.WriteAllText(Path.Combine(src, "moved", "skip.gz"), "excluded");
        Directory.CreateDirectory(Path.Combine(src, "moved", "info"));
        Directory.CreateDirectory(Path.Combine(src, "attr"));
        Directory.CreateDirectory(Path.Combine(src, "shallow", "sub"));
        File.WriteAllText(Path.Combine(src, "shallow", "kept"), "new");
        File.WriteAllText(Path.Combine(src, "-leading"), "dash");

        var set = new PendingSet();
        var now = DateTimeOffset.UtcNow;
        set.Add(Change(ChangeKind.Delete, "gone", dir: true), now);
        set.Add(Change(ChangeKind.UpsertTree, "moved", dir: true), now);
        set.Add(Change(ChangeKind.Upsert, "attr", dir: true), now);
        set.Add(Change(ChangeKind.Delete, "deleted.txt"), now);
        set.Add(Change(ChangeKind.UpsertContents, "shallow", dir: true), now);
        set.Add(Change(ChangeKind.Upsert, "-leading"), now);
        var filter = new PathFilter(new FilterConfig(true, [new ExcludeRule("(.*)\\.gz", new Regex("^(?:(.*)\\.gz)$"), 1), new ExcludeRule("moved/info", new Regex("^(?:moved/info)$"), 2)]));

        var result = await SendAsync(src, dst, set, filter);

        Assert.True(result.ExitCode == 0, result.Output);
        Assert.False(Directory.Exists(Path.Combine(dst, "gone")));
        Assert.False(Directory.Exists(Path.Combine(dst, "moved", "stale")));
        Assert.Equal("new", File.ReadAllText(Path.Combine(dst, "moved", "a", "b", "f")));
        Assert.False(File.Exists(Path.Combine(dst, "moved", "skip.gz")));
        Assert.False(Directory.Exists(Path.Combine(dst, "moved", "info")));
        Assert.True(File.Exists(Path.Combine(dst, "attr", "untouched")));
        Assert.False(File.Exists(Path.Combine(dst, "deleted.txt")));
        Assert.False(File.Exists(Path.Combine(dst, "shallow", "extra")));
        Assert.Equal("new", File.ReadAllText(Path.Combine(dst, "shallow", "kept")));
        Assert.True(File.Exists(Path.Combine(dst, "shallow", "sub", "deeper")));
        Assert.Equal("dash", File.ReadAllText(Path.Combine(dst, "-leading")));
    }

    [Fact]
    public async Task Nasty_names_in_a_batch_arrive_exactly_and_the_root_contents_entry_works()
    {
        var src = _temp.Sub("src");
        var dst = _temp.Sub("dst");
        NastyNames.CreateTree(src);
        File.WriteAllText(Path.Combine(dst, "stale-at-root"), "delete me");
        var set = new PendingSet();
        foreach (var name in NastyNames.All)
        {
            set.Add(new FileChange(ChangeKind.Upsert, new RelativePath(name), false), DateTimeOffset.UtcNow);
            set.Add(new FileChange(ChangeKind.UpsertTree, new RelativePath([.. "dir-"u8, .. name]), true), DateTimeOffset.UtcNow);
        }

        set.Add(new FileChange(ChangeKind.UpsertContents, RelativePath.Root, true), DateTimeOffset.UtcNow);

        var result = await SendAsync(src, dst, set, new PathFilter());

        Assert.True(result.ExitCode == 0, result.Output);
        TreeComparer.AssertEqual(src, dst);
    }

    [Fact]
    public async Task Root_level_names_that_look_like_list_comments_are_sent()
    {
        var src = _temp.Sub("src");
        var dst = _temp.Sub("dst");
        File.WriteAllText(Path.Combine(src, "#hash"), "h");
        File.WriteAllText(Path.Combine(src, ";semi"), "s");
        var set = new PendingSet();
        set.Add(Change(ChangeKind.Upsert, "#hash"), DateTimeOffset.UtcNow);
        set.Add(Change(ChangeKind.Upsert, ";semi"), DateTimeOffset.UtcNow);

        var result = await SendAsync(src, dst, set, new PathFilter());

        Assert.True(result.ExitCode == 0, result.Output);
        Assert.Equal("h", File.ReadAllText(Path.Combine(dst, "#hash")));
        Assert.Equal("s", File.ReadAllText(Path.Combine(dst, ";semi")));
    }

    [Fact]
    public async Task A_file_rewritten_at_the_same_size_within_the_same_second_is_sent_again()
    {
        var src = _temp.Sub("src");
        var dst = _temp.Sub("dst");
        var file = Path.Combine(src, "x");
        var stamp = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        File.WriteAllText(file, "saved 12");
        File.SetLastWriteTimeUtc(file, stamp.AddMilliseconds(100));
        var set = new PendingSet();
        set.Add(Change(ChangeKind.Upsert, "x"), DateTimeOffset.UtcNow);
        Assert.Equal(0, (await SendAsync(src, dst, set, new PathFilter())).ExitCode);
        File.WriteAllText(file, "saved 14");
        File.SetLastWriteTimeUtc(file, stamp.AddMilliseconds(200)); // same size, same second: the quick check would skip it
        set.Add(Change(ChangeKind.Upsert, "x"), DateTimeOffset.UtcNow);

        var result = await SendAsync(src, dst, set, new PathFilter());

        Assert.True(result.ExitCode == 0, result.Output);
        Assert.Equal("saved 14", File.ReadAllText(Path.Combine(dst, "x")));
    }

    [Fact]
    public async Task A_deleted_file_whose_parent_is_gone_too_is_deleted_through_the_gone_ancestor()
    {
        var src = _temp.Sub("src");
        var dst = _temp.Sub("dst");
        Directory.CreateDirectory(Path.Combine(dst, "gone", "deep"));
        File.WriteAllText(Path.Combine(dst, "gone", "deep", "f"), "old");
        File.WriteAllText(Path.Combine(dst, "gone", "g"), "old");
        var set = new PendingSet();
        set.Add(Change(ChangeKind.Delete, "gone/deep/f"), DateTimeOffset.UtcNow);
        set.Add(Change(ChangeKind.Delete, "gone/g"), DateTimeOffset.UtcNow);

        var result = await SendAsync(src, dst, set, new PathFilter());

        Assert.True(result.ExitCode == 0, result.Output); // rsync gave 24 on every try for "./gone/deep/f"
        Assert.False(Directory.Exists(Path.Combine(dst, "gone")));
    }

    [Fact]
    public async Task Without_delete_a_vanished_path_is_left_on_the_target()
    {
        var src = _temp.Sub("src");
        var dst = _temp.Sub("dst");
        File.WriteAllText(Path.Combine(dst, "old.txt"), "kept");
        var set = new PendingSet();
        set.Add(Change(ChangeKind.Delete, "old.txt"), DateTimeOffset.UtcNow);

        var result = await SendAsync(src, dst, set, new PathFilter(), delete: false);

        Assert.True(result.ExitCode == 0, result.Output);
        Assert.Equal("kept", File.ReadAllText(Path.Combine(dst, "old.txt")));
    }
}
