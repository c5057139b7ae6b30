using System.Text;
using System.Text.RegularExpressions;
using SerSync.Configuration;
using SerSync.Filtering;
using SerSync.Paths;
using SerSync.Rsync;
using SerSync.Targets;
using SerSync.Testing;

namespace SerSync.UnitTests.Targets;

/// <summary>A -H target's batch lists every name of a multiply-linked file it lists (<see cref="LinkGroups"/>):
/// found nearest first, kept, checked again on use, forgotten when deleted.</summary>
public sealed class LinkGroupsTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly TempDirectory _tmp = new("sersync-links-");

    public void Dispose() => _tmp.Dispose();

    private string Root => _tmp.Path;

    private string P(string relative) => Path.Combine(Root, relative);

    private void Write(string relative, string text = "x")
    {
        Directory.CreateDirectory(Path.GetDirectoryName(P(relative))!);
        File.WriteAllText(P(relative), text);
    }

    private static FileChange Up(string p) => new(ChangeKind.Upsert, RelativePath.FromString(p), false);

    private static FileChange Tree(string p) => new(ChangeKind.UpsertTree, RelativePath.FromString(p), true);

    private static FileChange Del(string p, bool dir = false) => new(ChangeKind.Delete, RelativePath.FromString(p), dir);

    private string[] List(LinkGroups? links, PathFilter? filter = null, params FileChange[] changes)
    {
        var set = new PendingSet();
        foreach (var c in changes)
        {
            set.Add(c, T0);
        }

        var list = BatchListBuilder.Build(Root, set.Take(), filter, links);
        return [.. Encoding.UTF8.GetString(list.Paths).Split('\0', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal)];
    }

    [Fact]
    public void Ln_a_b_lists_a_with_b_and_reads_only_bs_directory()
    {
        Write("dir/a");
        Write("dir/other");
        Write("elsewhere/x");
        HardLinks.Create(P("dir/a"), P("dir/b"));
        var links = new LinkGroups(Root);

        Assert.Equal(["./dir/a", "./dir/b"], List(links, null, Up("dir/b")));
        Assert.Equal(1, links.Searches);
        Assert.Equal(1, links.DirectoriesRead);
        Assert.Equal(2, links.Names);
        Assert.Equal(1, links.Groups);
    }

    [Fact]
    public void A_link_in_a_fresh_directory_brings_the_name_in_its_parent()
    {
        Write("a");
        Directory.CreateDirectory(P("d"));
        HardLinks.Create(P("a"), P("d/b"));
        var links = new LinkGroups(Root);

        Assert.Equal(["./a", "./d/"], List(links, null, Tree("d")));
        Assert.Equal(2, links.DirectoriesRead); // d, then the root: found before any full walk
    }

    [Fact]
    public void Cp_al_of_a_directory_lists_every_original_in_one_search()
    {
        for (var i = 0; i < 20; i++)
        {
            Write($"dir/sub/f{i}", $"{i}");
        }

        Directory.CreateDirectory(P("dir2/sub"));
        for (var i = 0; i < 20; i++)
        {
            HardLinks.Create(P($"dir/sub/f{i}"), P($"dir2/sub/f{i}"));
        }

        var links = new LinkGroups(Root);
        var listed = List(links, null, Tree("dir2"));

        Assert.Equal(["./dir/sub/f0", "./dir/sub/f1"], listed.Where(l => l.StartsWith("./dir/", StringComparison.Ordinal)).Take(2));
        Assert.Equal(20, listed.Count(l => l.StartsWith("./dir/sub/f", StringComparison.Ordinal)));
        Assert.Contains("./dir2/sub/", listed);
        Assert.Equal(1, links.Searches);
        Assert.Equal(40, links.Names);
    }

    [Fact]
    public void A_known_group_needs_no_second_search_and_a_write_through_one_name_lists_both()
    {
        Write("a");
        HardLinks.Create(P("a"), P("b"));
        var links = new LinkGroups(Root);
        List(links, null, Up("b"));
        var reads = links.DirectoriesRead;

        Assert.Equal(["./a", "./b"], List(links, null, Up("a")));
        Assert.Equal(1, links.Searches);
        Assert.Equal(reads, links.DirectoriesRead);
    }

    [Fact]
    public void A_new_name_of_a_known_group_joins_it_without_a_search()
    {
        Write("a");
        HardLinks.Create(P("a"), P("b"));
        var links = new LinkGroups(Root);
        List(links, null, Up("b"));
        HardLinks.Create(P("a"), P("c"));

        Assert.Equal(["./a", "./b", "./c"], List(links, null, Up("c")));
        Assert.Equal(1, links.Searches);
        Assert.Equal(3, links.Names);
    }

    [Fact]
    public void Deleting_one_name_forgets_it_and_leaves_the_other_alone()
    {
        Write("a");
        HardLinks.Create(P("a"), P("b"));
        var links = new LinkGroups(Root);
        List(links, null, Up("b"));
        File.Delete(P("b"));

        Assert.Equal(["./b"], List(links, null, Del("b"))); // a is not listed: the target keeps its own a
        Assert.Equal(1, links.Names);
        Assert.Equal(["./a"], List(links, null, Up("a"))); // nlink 1 now: a is no group any more
        Assert.Equal(0, links.Names);
        Assert.Equal(0, links.Groups);
    }

    [Fact]
    public void Renaming_one_name_keeps_the_group_under_the_new_name()
    {
        Write("a");
        HardLinks.Create(P("a"), P("b"));
        var links = new LinkGroups(Root);
        List(links, null, Up("b"));
        File.Move(P("b"), P("c"));

        var moved = new FileChange(ChangeKind.Upsert, RelativePath.FromString("c"), false, ChangeEvent.MoveTo, RelativePath.FromString("b"));
        Assert.Equal(["./a", "./b", "./c"], List(links, null, Del("b") with { Event = ChangeEvent.MoveFrom, MoveToFollows = true }, moved));
        Assert.Equal(2, links.Names);
        Assert.Equal(1, links.Searches);
    }

    [Fact]
    public void A_deleted_directory_forgets_every_name_below_it()
    {
        Write("a");
        Write("d/e/keep");
        HardLinks.Create(P("a"), P("d/e/b"));
        HardLinks.Create(P("a"), P("d/c"));
        var links = new LinkGroups(Root);
        Assert.Equal(["./a", "./d/c", "./d/e/b"], List(links, null, Up("a")));
        Directory.Delete(P("d"), recursive: true);

        Assert.Equal(["./d"], List(links, null, Del("d", dir: true)));
        Assert.Equal(1, links.Names);
    }

    [Fact]
    public void A_link_from_outside_the_root_walks_the_tree_once_then_never_again()
    {
        using var outside = new TempDirectory("sersync-links-out-");
        File.WriteAllText(Path.Combine(outside.Path, "o"), "o");
        Write("deep/er/f");
        HardLinks.Create(Path.Combine(outside.Path, "o"), P("deep/er/f2"));
        var links = new LinkGroups(Root);

        Assert.Equal(["./deep/er/f2"], List(links, null, Up("deep/er/f2")));
        Assert.Equal(1, links.Searches);
        Assert.Equal(3, links.DirectoriesRead); // deep/er, deep, and the root (the walk skips what it read)
        Assert.Equal(["./deep/er/f2"], List(links, null, Up("deep/er/f2")));
        Assert.Equal(1, links.Searches);
    }

    [Fact]
    public void Excluded_names_are_not_brought_along()
    {
        Write("a");
        Directory.CreateDirectory(P("cache"));
        HardLinks.Create(P("a"), P("cache/b"));
        HardLinks.Create(P("a"), P("c.tmp"));
        var filter = new PathFilter(new FilterConfig(true, [new ExcludeRule("cache", new Regex("^(?:cache)$"), 1), new ExcludeRule("(.*)\\.tmp", new Regex("^(?:(.*)\\.tmp)$"), 2)]));
        var links = new LinkGroups(Root, filter);

        Assert.Equal(["./a"], List(links, filter, Up("a")));
    }

    [Fact]
    public void Without_links_nothing_is_added()
    {
        Write("a");
        HardLinks.Create(P("a"), P("b"));
        Assert.Equal(["./b"], List(null, null, Up("b")));
    }

    [Fact]
    public void A_full_sync_batch_clears_the_groups_of_a_hard_link_target()
    {
        Write("a");
        HardLinks.Create(P("a"), P("b"));
        var target = new SyncTarget(Root, new RemoteConfig(RemoteKind.LocalDirectory, null, null, _tmp.Sub("dst"), 1), RsyncConfig.Stock with { CommonParams = ["-artuzH"] }, Delete: true);
        var builder = new TargetBatchBuilder(target, new PathFilter(FilterConfig.Disabled), _tmp.Path);
        var set = new PendingSet();
        set.Add(Up("b"), T0);
        using (var live = builder.Build(set.Take()))
        {
            Assert.Equal("./b\0./a\0", Encoding.UTF8.GetString(live.Invocation.Stdin!));
        }

        Assert.Equal(2, builder.Links!.Names);
        set.Add(new FileChange(ChangeKind.Rescan, RelativePath.Root, true), T0);
        using (builder.Build(set.Take()))
        {
            Assert.Equal(0, builder.Links.Names);
        }

        var plain = new TargetBatchBuilder(target with { Rsync = RsyncConfig.Stock }, new PathFilter(FilterConfig.Disabled), _tmp.Path);
        Assert.Null(plain.Links);
    }
}
