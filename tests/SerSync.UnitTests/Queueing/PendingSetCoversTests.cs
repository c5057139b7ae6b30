using SerSync.Paths;
using SerSync.Targets;

namespace SerSync.UnitTests.Queueing;

/// <summary><see cref="PendingSet.Covers"/>: which paths the audit finds different are already on their way.</summary>
public sealed class PendingSetCoversTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static RelativePath P(string p) => RelativePath.FromString(p);

    [Fact]
    public void A_path_is_covered_by_itself_a_pending_tree_above_its_parents_entries_and_anything_below_it()
    {
        var set = new PendingSet();
        Assert.False(set.Covers(P("a")));
        Assert.False(set.Covers(RelativePath.Root));

        set.Add(new FileChange(ChangeKind.Upsert, P("a/b/f"), false), T0);
        set.Add(new FileChange(ChangeKind.UpsertTree, P("t"), true), T0);
        set.Add(new FileChange(ChangeKind.UpsertContents, P("c"), true), T0);

        Assert.True(set.Covers(P("a/b/f")));  // itself
        Assert.True(set.Covers(P("a/b")));    // below it: the batch sends a/b's attributes too (-R)
        Assert.True(set.Covers(P("a")));
        Assert.True(set.Covers(RelativePath.Root));
        Assert.True(set.Covers(P("t/x/y")));  // a whole tree above it
        Assert.True(set.Covers(P("c/entry"))); // its parent's entries
        Assert.False(set.Covers(P("c/entry/deeper")));
        Assert.False(set.Covers(P("a/b/g")));  // a sibling of a pending file
        Assert.False(set.Covers(P("a/bb")));
        Assert.False(set.Covers(P("other")));
    }

    [Fact]
    public void A_pending_full_sync_covers_everything()
    {
        var set = new PendingSet();
        set.Add(new FileChange(ChangeKind.Rescan, RelativePath.Root, true), T0);
        Assert.True(set.Covers(P("anything/at/all")));
        set.Take();
        Assert.False(set.Covers(P("anything/at/all")));
    }
}
