using SerSync.Paths;
using SerSync.Targets;

namespace SerSync.UnitTests.Queueing;

/// <summary>Which renames a <see cref="PendingSet"/> keeps for the target to replay, and in which order.</summary>
public sealed class PendingSetMoveTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static RelativePath P(string p) => RelativePath.FromString(p);

    /// <summary>What the watcher reports for a rename inside the tree: the delete, then the send naming the old path.</summary>
    private static void Move(PendingSet set, string from, string to, bool dir = false)
    {
        set.Add(new FileChange(ChangeKind.Delete, P(from), dir, ChangeEvent.MoveFrom) { MoveToFollows = true }, T0);
        Assert.Equal(!set.IsFullSync, set.AwaitsMoveTo); // under a full sync there is nothing to wait for
        set.Add(new FileChange(dir ? ChangeKind.UpsertTree : ChangeKind.Upsert, P(to), dir, ChangeEvent.MoveTo, P(from)), T0);
    }

    private static PathMove M(string from, string to, bool dir = false) => new(P(from), P(to), dir);

    [Fact]
    public void A_rename_is_kept_and_both_paths_stay_dirty_for_rsync()
    {
        var set = new PendingSet();
        Move(set, "d", "e", dir: true);
        var batch = set.Take();
        Assert.Equal([M("d", "e", true)], batch.MovesInOrder);
        Assert.Equal([(P("d"), Reach.Tree), (P("e"), Reach.Tree)], batch.Entries);
        Assert.Empty(set.Take().MovesInOrder);
    }

    [Fact]
    public void Chains_and_swaps_are_kept_in_order()
    {
        var set = new PendingSet();
        Move(set, "a", "b");
        Move(set, "b", "c");
        Move(set, "x", "t");
        Move(set, "y", "x");
        Move(set, "t", "y");
        Assert.Equal([M("a", "b"), M("b", "c"), M("x", "t"), M("y", "x"), M("t", "y")], set.Take().MovesInOrder);
    }

    [Fact]
    public void A_rename_over_an_existing_file_is_kept()
    {
        var set = new PendingSet();
        set.Add(new FileChange(ChangeKind.Upsert, P("other"), false, ChangeEvent.CloseWrite), T0);
        Move(set, "a", "b"); // b exists on both sides: rename(2) replaces it
        Assert.Equal([M("a", "b")], set.Take().MovesInOrder);
    }

    [Fact]
    public void The_atomic_save_pattern_is_a_send_never_a_rename_the_target_cannot_do()
    {
        var set = new PendingSet();
        set.Add(new FileChange(ChangeKind.Upsert, P("page.html.tmp"), false, ChangeEvent.CloseWrite), T0);
        Move(set, "page.html.tmp", "page.html");
        var batch = set.Take();
        Assert.Empty(batch.MovesInOrder);
        Assert.Contains((P("page.html"), Reach.Self), batch.Entries);
        Assert.Contains((P("page.html.tmp"), Reach.Self), batch.Entries);
    }

    [Fact]
    public void A_path_created_in_a_new_or_moved_directory_is_not_renamed_from_there()
    {
        var set = new PendingSet();
        set.Add(new FileChange(ChangeKind.UpsertTree, P("fresh"), true, ChangeEvent.Create), T0);
        Move(set, "fresh/f", "g"); // the target has no fresh/ yet
        Move(set, "old", "new", dir: true);
        Move(set, "new/kept", "new/renamed"); // was below old: the target has it under new/ once old is renamed
        set.Add(new FileChange(ChangeKind.Upsert, P("new/written"), false, ChangeEvent.CloseWrite), T0);
        Move(set, "new/written", "new/saved"); // written after the move: not on the target
        Assert.Equal([M("old", "new", true), M("new/kept", "new/renamed")], set.Take().MovesInOrder);
    }

    [Fact]
    public void A_new_path_changed_after_its_move_is_not_renamed_further()
    {
        var set = new PendingSet();
        Move(set, "a", "b");
        set.Add(new FileChange(ChangeKind.Delete, P("b"), false, ChangeEvent.Delete), T0);
        set.Add(new FileChange(ChangeKind.Upsert, P("b"), false, ChangeEvent.CloseWrite), T0);
        Move(set, "b", "c");
        Assert.Equal([M("a", "b")], set.Take().MovesInOrder);
    }

    [Fact]
    public void A_move_out_of_the_tree_awaits_nothing()
    {
        var set = new PendingSet();
        set.Add(new FileChange(ChangeKind.Delete, P("gone"), true, ChangeEvent.MoveFrom), T0);
        Assert.False(set.AwaitsMoveTo);
        Move(set, "a", "b");
        Assert.False(set.AwaitsMoveTo);
    }

    [Fact]
    public void A_send_without_its_delete_half_is_no_rename()
    {
        // moveFrom="false", or the old path excluded: the watcher reports no delete, the target keeps the old path.
        var set = new PendingSet();
        set.Add(new FileChange(ChangeKind.Upsert, P("b"), false, ChangeEvent.MoveTo, P("a")), T0);
        Assert.Empty(set.Take().MovesInOrder);
    }

    [Fact]
    public void A_full_sync_drops_the_renames_before_and_after_it()
    {
        var set = new PendingSet();
        Move(set, "a", "b");
        set.Add(new FileChange(ChangeKind.Rescan, RelativePath.Root, true), T0);
        Move(set, "c", "d");
        var batch = set.Take();
        Assert.True(batch.FullSync);
        Assert.Empty(batch.MovesInOrder);
    }

    [Fact]
    public void A_requeued_batchs_renames_go_before_those_that_came_meanwhile()
    {
        var set = new PendingSet();
        Move(set, "a", "b");
        var failed = set.Take();
        Move(set, "b", "c"); // after the batch left: b is not pending here, the target will have it after a -> b
        set.Requeue(failed, T0);
        var batch = set.Take();
        Assert.Equal([M("a", "b"), M("b", "c")], batch.MovesInOrder);
        Assert.Equal([P("a"), P("b"), P("c")], batch.Paths);
    }
}
