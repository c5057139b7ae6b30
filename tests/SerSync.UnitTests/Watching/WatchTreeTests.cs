using SerSync.Paths;
using SerSync.Watching;

namespace SerSync.UnitTests.Watching;

public sealed class WatchTreeTests
{
    private readonly WatchTree _tree = new();
    private readonly List<int> _dropped = [];

    private static byte[] N(string s) => System.Text.Encoding.UTF8.GetBytes(s);

    private static string P(WatchNode n) => WatchTree.GetPath(n).ToString();

    [Fact]
    public void Paths_are_built_from_parent_links()
    {
        var root = _tree.AddOrUpdate(1, null, [], _dropped);
        var a = _tree.AddOrUpdate(2, root, N("a"), _dropped);
        var b = _tree.AddOrUpdate(3, a, N("b"), _dropped);
        Assert.True(WatchTree.GetPath(root).IsRoot);
        Assert.Equal("a/b", P(b));
        Assert.Same(b, _tree.Get(3));
        Assert.Same(b, WatchTree.FindChild(a, N("b")));
        Assert.Equal(3, _tree.Count);
    }

    [Fact]
    public void Moving_a_directory_remaps_its_whole_subtree()
    {
        var root = _tree.AddOrUpdate(1, null, [], _dropped);
        var a = _tree.AddOrUpdate(2, root, N("a"), _dropped);
        var b = _tree.AddOrUpdate(3, a, N("b"), _dropped);
        var c = _tree.AddOrUpdate(4, b, N("c"), _dropped);
        var z = _tree.AddOrUpdate(5, root, N("z"), _dropped);

        _tree.Move(b, z, N("renamed"), _dropped);
        Assert.Equal("z/renamed/c", P(c));
        Assert.Equal("z/renamed", P(_tree.Get(3)!));
        Assert.Null(WatchTree.FindChild(a, N("b")));
        Assert.Empty(_dropped);
        Assert.Equal(5, _tree.Count);
    }

    [Fact]
    public void A_move_onto_an_existing_directory_drops_the_replaced_one()
    {
        var root = _tree.AddOrUpdate(1, null, [], _dropped);
        var a = _tree.AddOrUpdate(2, root, N("a"), _dropped);
        var old = _tree.AddOrUpdate(3, root, N("b"), _dropped);
        _tree.AddOrUpdate(4, old, N("inner"), _dropped);

        _tree.Move(a, root, N("b"), _dropped);
        Assert.Equal([3, 4], _dropped.Order());
        Assert.Null(_tree.Get(3));
        Assert.Equal("b", P(a));
        Assert.Equal(2, _tree.Count);
    }

    [Fact]
    public void Removing_a_subtree_returns_its_wds_and_keeps_siblings()
    {
        var root = _tree.AddOrUpdate(1, null, [], _dropped);
        var a = _tree.AddOrUpdate(2, root, N("a"), _dropped);
        _tree.AddOrUpdate(3, a, N("b"), _dropped);
        _tree.AddOrUpdate(4, a, N("c"), _dropped);
        var keep = _tree.AddOrUpdate(5, root, N("keep"), _dropped);

        _tree.RemoveSubtree(a, _dropped);
        Assert.Equal([2, 3, 4], _dropped.Order());
        Assert.Equal(2, _tree.Count);
        Assert.Null(WatchTree.FindChild(root, N("a")));
        Assert.Same(keep, _tree.Get(5));
    }

    [Fact]
    public void A_known_wd_seen_at_a_new_place_moves_there()
    {
        var root = _tree.AddOrUpdate(1, null, [], _dropped);
        var a = _tree.AddOrUpdate(2, root, N("a"), _dropped);
        var b = _tree.AddOrUpdate(3, a, N("b"), _dropped);
        var moved = _tree.AddOrUpdate(2, root, N("a2"), _dropped);
        Assert.Same(a, moved);
        Assert.Equal("a2/b", P(b));
        Assert.Null(WatchTree.FindChild(root, N("a")));
    }

    [Fact]
    public void A_new_wd_at_an_occupied_place_replaces_the_stale_node()
    {
        var root = _tree.AddOrUpdate(1, null, [], _dropped);
        _tree.AddOrUpdate(2, root, N("a"), _dropped);
        var fresh = _tree.AddOrUpdate(7, root, N("a"), _dropped);
        Assert.Equal([2], _dropped);
        Assert.Same(fresh, WatchTree.FindChild(root, N("a")));
        Assert.Null(_tree.Get(2));
    }

    [Fact]
    public void Non_utf8_names_are_distinct_keys()
    {
        var root = _tree.AddOrUpdate(1, null, [], _dropped);
        var x = _tree.AddOrUpdate(2, root, [0xff], _dropped);
        var y = _tree.AddOrUpdate(3, root, [0xfe], _dropped);
        Assert.NotSame(x, y);
        Assert.Equal(new RelativePath([0xff]), WatchTree.GetPath(x));
    }

    [Fact]
    public void A_directory_cannot_move_below_itself()
    {
        var root = _tree.AddOrUpdate(1, null, [], _dropped);
        var a = _tree.AddOrUpdate(2, root, N("a"), _dropped);
        var b = _tree.AddOrUpdate(3, a, N("b"), _dropped);
        Assert.Throws<InvalidOperationException>(() => _tree.Move(a, b, N("x"), _dropped));
    }
}
