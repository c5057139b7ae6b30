using SerSync.Paths;
using SerSync.Watching;

namespace SerSync.UnitTests.Watching;

public sealed class WatchTreeTests
{
    private readonly WatchTree _tree = new();
    private readonly List<int> _dropped = [];

    private static byte[] N(string s) => System.Text.Encoding.UTF8.GetBytes(s);

    private string P(int n) => _tree.GetPath(n).ToString();

    [Fact]
    public void Paths_are_built_from_parent_links()
    {
        var root = _tree.AddOrUpdate(1, WatchTree.None, [], _dropped);
        var a = _tree.AddOrUpdate(2, root, N("a"), _dropped);
        var b = _tree.AddOrUpdate(3, a, N("b"), _dropped);
        Assert.True(_tree.GetPath(root).IsRoot);
        Assert.Equal("a/b", P(b));
        Assert.Equal(b, _tree.Get(3));
        Assert.Equal(b, _tree.FindChild(a, N("b")));
        Assert.Equal(3, _tree.Count);
    }

    [Fact]
    public void Moving_a_directory_remaps_its_whole_subtree()
    {
        var root = _tree.AddOrUpdate(1, WatchTree.None, [], _dropped);
        var a = _tree.AddOrUpdate(2, root, N("a"), _dropped);
        var b = _tree.AddOrUpdate(3, a, N("b"), _dropped);
        var c = _tree.AddOrUpdate(4, b, N("c"), _dropped);
        var z = _tree.AddOrUpdate(5, root, N("z"), _dropped);

        _tree.Move(b, z, N("renamed"), _dropped);
        Assert.Equal("z/renamed/c", P(c));
        Assert.Equal("z/renamed", P(_tree.Get(3)));
        Assert.Equal(WatchTree.None, _tree.FindChild(a, N("b")));
        Assert.Empty(_dropped);
        Assert.Equal(5, _tree.Count);
    }

    [Fact]
    public void A_move_onto_an_existing_directory_drops_the_replaced_one()
    {
        var root = _tree.AddOrUpdate(1, WatchTree.None, [], _dropped);
        var a = _tree.AddOrUpdate(2, root, N("a"), _dropped);
        var old = _tree.AddOrUpdate(3, root, N("b"), _dropped);
        _tree.AddOrUpdate(4, old, N("inner"), _dropped);

        _tree.Move(a, root, N("b"), _dropped);
        Assert.Equal([3, 4], _dropped.Order());
        Assert.Equal(WatchTree.None, _tree.Get(3));
        Assert.Equal("b", P(a));
        Assert.Equal(2, _tree.Count);
    }

    [Fact]
    public void Removing_a_subtree_returns_its_wds_and_keeps_siblings()
    {
        var root = _tree.AddOrUpdate(1, WatchTree.None, [], _dropped);
        var a = _tree.AddOrUpdate(2, root, N("a"), _dropped);
        _tree.AddOrUpdate(3, a, N("b"), _dropped);
        _tree.AddOrUpdate(4, a, N("c"), _dropped);
        var keep = _tree.AddOrUpdate(5, root, N("keep"), _dropped);

        _tree.RemoveSubtree(a, _dropped);
        Assert.Equal([2, 3, 4], _dropped.Order());
        Assert.Equal(2, _tree.Count);
        Assert.Equal(WatchTree.None, _tree.FindChild(root, N("a")));
        Assert.Equal(keep, _tree.Get(5));
    }

    [Fact]
    public void A_known_wd_seen_at_a_new_place_moves_there()
    {
        var root = _tree.AddOrUpdate(1, WatchTree.None, [], _dropped);
        var a = _tree.AddOrUpdate(2, root, N("a"), _dropped);
        var b = _tree.AddOrUpdate(3, a, N("b"), _dropped);
        var moved = _tree.AddOrUpdate(2, root, N("a2"), _dropped);
        Assert.Equal(a, moved);
        Assert.Equal("a2/b", P(b));
        Assert.Equal(WatchTree.None, _tree.FindChild(root, N("a")));
    }

    [Fact]
    public void A_new_wd_at_an_occupied_place_replaces_the_stale_node()
    {
        var root = _tree.AddOrUpdate(1, WatchTree.None, [], _dropped);
        _tree.AddOrUpdate(2, root, N("a"), _dropped);
        var fresh = _tree.AddOrUpdate(7, root, N("a"), _dropped);
        Assert.Equal([2], _dropped);
        Assert.Equal(fresh, _tree.FindChild(root, N("a")));
        Assert.Equal(WatchTree.None, _tree.Get(2));
    }

    [Fact]
    public void Non_utf8_names_are_distinct_keys()
    {
        var root = _tree.AddOrUpdate(1, WatchTree.None, [], _dropped);
        var x = _tree.AddOrUpdate(2, root, [0xff], _dropped);
        var y = _tree.AddOrUpdate(3, root, [0xfe], _dropped);
        Assert.NotEqual(x, y);
        Assert.Equal(new RelativePath([0xff]), _tree.GetPath(x));
    }

    [Fact]
    public void A_directory_cannot_move_below_itself()
    {
        var root = _tree.AddOrUpdate(1, WatchTree.None, [], _dropped);
        var a = _tree.AddOrUpdate(2, root, N("a"), _dropped);
        var b = _tree.AddOrUpdate(3, a, N("b"), _dropped);
        Assert.Throws<InvalidOperationException>(() => _tree.Move(a, b, N("x"), _dropped));
    }

    [Fact]
    public void A_new_root_replaces_the_old_tree_and_displaces_its_wds()
    {
        var root = _tree.AddOrUpdate(1, WatchTree.None, [], _dropped);
        var a = _tree.AddOrUpdate(2, root, N("a"), _dropped);
        _tree.AddOrUpdate(3, a, N("b"), _dropped);
        Assert.Equal(root, _tree.AddOrUpdate(1, WatchTree.None, [], _dropped));
        Assert.Empty(_dropped);

        var fresh = _tree.AddOrUpdate(9, WatchTree.None, [], _dropped);
        Assert.Equal([1, 2, 3], _dropped.Order());
        Assert.Equal(fresh, _tree.Root);
        Assert.Equal(1, _tree.Count);
        Assert.True(_tree.GetPath(fresh).IsRoot);
    }

    [Fact]
    public void A_path_with_a_child_name_is_built_in_one_piece()
    {
        var root = _tree.AddOrUpdate(1, WatchTree.None, [], _dropped);
        var a = _tree.AddOrUpdate(2, root, N("a"), _dropped);
        var b = _tree.AddOrUpdate(3, a, N("bb"), _dropped);
        Assert.Equal("f", _tree.GetPath(root, N("f")).ToString());
        Assert.Equal("a/bb/f.txt", _tree.GetPath(b, N("f.txt")).ToString());
        Assert.Equal(4, _tree.PathLength(b));
        var buffer = new byte[16];
        Assert.Equal(6, _tree.WritePath(b, buffer, N("x")));
        Assert.Equal("a/bb/x", System.Text.Encoding.UTF8.GetString(buffer, 0, 6));
    }

    [Fact]
    public void Removed_nodes_are_reused_and_their_ids_are_told_apart_by_wd()
    {
        var root = _tree.AddOrUpdate(1, WatchTree.None, [], _dropped);
        var ids = Enumerable.Range(0, 100).Select(i => _tree.AddOrUpdate(10 + i, root, N($"d{i}"), _dropped)).ToList();
        var slots = _tree.NodeSlots;
        foreach (var id in ids)
        {
            _tree.RemoveSubtree(id, _dropped);
        }

        Assert.Equal(1, _tree.Count);
        Assert.Equal(WatchTree.None, _tree.FirstChildOf(root));
        var again = Enumerable.Range(0, 100).Select(i => _tree.AddOrUpdate(500 + i, root, N($"e{i}"), _dropped)).ToList();
        Assert.Equal(slots, _tree.NodeSlots);
        Assert.Equal(ids.Order(), again.Order());
        Assert.False(_tree.IsLive(ids[0], 10));
        Assert.True(_tree.IsLive(_tree.Get(500), 500));
        Assert.Equal("e0", P(_tree.Get(500)));
        Assert.Equal(WatchTree.None, _tree.FindChild(root, N("d0")));
    }

    [Fact]
    public void Name_garbage_is_compacted_away_and_live_names_survive()
    {
        var root = _tree.AddOrUpdate(1, WatchTree.None, [], _dropped);
        var keep = _tree.AddOrUpdate(2, root, N("keep"), _dropped);
        var deep = _tree.AddOrUpdate(3, keep, N("deep"), _dropped);
        var name = new string('n', 200);
        for (var round = 0; round < 5; round++)
        {
            var ids = Enumerable.Range(0, 1000).Select(i => _tree.AddOrUpdate(1000 + (round * 1000) + i, root, N($"{name}{i}"), _dropped)).ToList();
            foreach (var id in ids)
            {
                _tree.RemoveSubtree(id, _dropped);
            }
        }

        // 5 x 1000 x ~203 bytes were written; garbage never outgrows the live names by much before it is compacted.
        Assert.True(_tree.NameBytesUsed < 300_000, $"{_tree.NameBytesUsed} bytes in the arena");
        Assert.Equal("keep/deep", P(deep));
        Assert.Equal(deep, _tree.FindChild(keep, N("deep")));
        Assert.Equal(3, _tree.Count);
    }

    [Fact]
    public void A_move_may_take_its_new_name_from_the_arena_itself()
    {
        var root = _tree.AddOrUpdate(1, WatchTree.None, [], _dropped);
        var a = _tree.AddOrUpdate(2, root, N("a"), _dropped);
        var other = _tree.AddOrUpdate(3, root, N("other"), _dropped);
        var x = _tree.AddOrUpdate(4, other, N("x"), _dropped);

        // Fill the arena so that the rename must grow or compact it while the new name is a slice of it.
        for (var i = 0; i < 300; i++)
        {
            _tree.RemoveSubtree(_tree.AddOrUpdate(100 + i, root, N(new string('g', 250) + i), _dropped), _dropped);
        }

        _tree.Move(x, a, _tree.NameOf(other), _dropped);
        Assert.Equal("a/other", P(x));
        Assert.Equal("other", P(other));
        Assert.DoesNotContain(_dropped, wd => wd < 100);
    }

    [Fact]
    public void Many_random_adds_moves_and_removes_agree_with_a_plain_model()
    {
        var rnd = new Random(8);
        var model = new Dictionary<int, (int Parent, string Name)>(); // wd → (parent wd, name); the root has parent 0
        var root = _tree.AddOrUpdate(1, WatchTree.None, [], _dropped);
        model[1] = (0, "");
        var nextWd = 2;
        string ModelPath(int wd) => model[wd].Parent == 0 ? "" : ModelPath(model[wd].Parent) is var p && p.Length == 0 ? model[wd].Name : p + "/" + model[wd].Name;
        bool ModelBelow(int wd, int ancestor)
        {
            for (var w = wd; w != 0; w = model[w].Parent)
            {
                if (w == ancestor)
                {
                    return true;
                }
            }

            return false;
        }

        void ModelRemove(int top)
        {
            foreach (var wd in model.Keys.Where(w => ModelBelow(w, top)).ToList())
            {
                model.Remove(wd);
            }
        }

        for (var step = 0; step < 20_000; step++)
        {
            var wds = model.Keys.ToList();
            var op = rnd.Next(10);
            _dropped.Clear();
            if (op < 6 || model.Count < 3)
            {
                var parent = wds[rnd.Next(wds.Count)];
                var name = $"n{rnd.Next(40)}";
                var occupant = model.FirstOrDefault(kv => kv.Value.Parent == parent && kv.Value.Name == name).Key;
                if (occupant != 0)
                {
                    ModelRemove(occupant);
                }

                var wd = nextWd++;
                _tree.AddOrUpdate(wd, _tree.Get(parent), N(name), _dropped);
                model[wd] = (parent, name);
            }
            else if (op < 8)
            {
                var node = wds[rnd.Next(wds.Count)];
                var parent = wds[rnd.Next(wds.Count)];
                if (node == 1 || ModelBelow(parent, node))
                {
                    continue;
                }

                var name = rnd.Next(3) == 0 ? model[node].Name : $"n{rnd.Next(40)}";
                var occupant = model.FirstOrDefault(kv => kv.Value.Parent == parent && kv.Value.Name == name).Key;
                model[node] = (parent, name); // first: a node moved up onto its own ancestor's place survives it
                if (occupant != 0 && occupant != node)
                {
                    ModelRemove(occupant);
                }

                _tree.Move(_tree.Get(node), _tree.Get(parent), N(name), _dropped);
            }
            else
            {
                var node = wds[rnd.Next(wds.Count)];
                if (node == 1)
                {
                    continue;
                }

                var expected = model.Keys.Where(w => ModelBelow(w, node)).Order().ToList();
                ModelRemove(node);
                _tree.RemoveSubtree(_tree.Get(node), _dropped);
                Assert.Equal(expected, _dropped.Order());
            }

            if (step % 500 == 0 || step > 19_900)
            {
                Assert.Equal(model.Count, _tree.Count);
                foreach (var (wd, (parent, name)) in model)
                {
                    var n = _tree.Get(wd);
                    Assert.NotEqual(WatchTree.None, n);
                    Assert.Equal(ModelPath(wd), P(n));
                    if (parent != 0)
                    {
                        Assert.Equal(n, _tree.FindChild(_tree.Get(parent), N(name)));
                    }
                }

                Assert.Equal(model.Keys.Order(), _tree.CopyWds().Order());
            }
        }

        Assert.Equal(root, _tree.Root);
    }
}
