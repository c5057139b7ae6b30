using SerSync.Paths;
using SerSync.Targets;

namespace SerSync.UnitTests.Queueing;

public class PendingSetTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static FileChange Up(string p) => new(ChangeKind.Upsert, RelativePath.FromString(p), false);

    private static FileChange Tree(string p) => new(ChangeKind.UpsertTree, RelativePath.FromString(p), true);

    private static FileChange DelDir(string p) => new(ChangeKind.Delete, RelativePath.FromString(p), true);

    private static string[] Paths(Batch b) => [.. b.Paths.Select(p => p.ToString())];

    [Fact]
    public void Repeated_changes_to_one_path_are_one_entry()
    {
        var set = new PendingSet();
        set.Add(Up("a/f"), T0);
        set.Add(Up("a/f"), T0.AddMilliseconds(1));
        set.Add(new FileChange(ChangeKind.Delete, RelativePath.FromString("a/f"), false), T0.AddMilliseconds(2));
        set.Add(Up("a/f"), T0.AddMilliseconds(3));
        Assert.Equal(["a/f"], Paths(set.Take()));
        Assert.True(set.IsEmpty);
    }

    [Fact]
    public void A_deleted_directory_swallows_pending_children_and_absorbs_later_ones()
    {
        var set = new PendingSet();
        set.Add(Up("d/x"), T0);
        set.Add(Up("d/sub/y"), T0);
        set.Add(Up("dx"), T0); // a sibling whose name starts with "d" is not a child
        set.Add(DelDir("d"), T0);
        set.Add(Up("d/z"), T0);
        Assert.Equal(["d", "dx"], Paths(set.Take()));
    }

    [Fact]
    public void A_new_tree_covers_files_created_inside_it()
    {
        var set = new PendingSet();
        set.Add(Tree("a"), T0);
        for (var i = 0; i < 5; i++)
        {
            set.Add(Up($"a/b/f{i}"), T0);
        }

        var batch = set.Take();
        Assert.Equal(["a"], Paths(batch));
        Assert.Equal(Reach.Tree, batch.Entries[0].Reach);
    }

    [Fact]
    public void Rescan_turns_the_set_into_one_full_sync()
    {
        var set = new PendingSet();
        set.Add(Up("a"), T0);
        set.Add(new FileChange(ChangeKind.Rescan, RelativePath.Root, true), T0);
        set.Add(Up("b"), T0);
        var batch = set.Take();
        Assert.True(batch.FullSync);
        Assert.Empty(batch.Entries);
    }

    [Fact]
    public void Requeue_keeps_reach_and_merges_with_new_changes()
    {
        var set = new PendingSet();
        set.Add(Tree("a"), T0);
        set.Add(Up("b"), T0);
        var failed = set.Take();
        set.Add(Up("a/new"), T0.AddSeconds(1));
        set.Add(Up("c"), T0.AddSeconds(1));
        set.Requeue(failed, T0.AddSeconds(2));
        var retry = set.Take();
        Assert.Equal(["a", "b", "c"], Paths(retry));
        Assert.Equal(Reach.Tree, retry.Entries.Single(e => e.Path.ToString() == "a").Reach);
        Assert.Equal(T0, retry.OldestChange);
    }

    [Fact]
    public void Oldest_and_newest_change_times_drive_the_batch_policy()
    {
        var policy = new BatchPolicy(TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(500));
        Assert.Equal(T0.AddMilliseconds(20), policy.DueAt(T0, T0, null));
        // A steady stream: the quiet period keeps moving, the cap does not.
        Assert.Equal(T0.AddMilliseconds(500), policy.DueAt(T0, T0.AddMilliseconds(490), null));
        // Changes that waited out a whole rsync run leave when it ends.
        Assert.Equal(T0.AddMilliseconds(100), policy.DueAt(T0, T0.AddMilliseconds(99), T0.AddMilliseconds(100)));
    }

    [Fact]
    public void Backoff_grows_and_is_capped()
    {
        var backoff = new Backoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10), new Random(1));
        var waits = Enumerable.Range(0, 8).Select(_ => backoff.Next().TotalSeconds).ToArray();
        Assert.InRange(waits[0], 0.8, 1.2);
        Assert.InRange(waits[1], 1.6, 2.4);
        Assert.All(waits[4..], w => Assert.InRange(w, 8, 12));
        backoff.Reset();
        Assert.InRange(backoff.Next().TotalSeconds, 0.8, 1.2);
    }
}
