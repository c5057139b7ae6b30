using System.Text;
using SerSync.Paths;
using SerSync.Rsync;
using SerSync.Targets;
using SerSync.Testing;

namespace SerSync.UnitTests.Targets;

/// <summary>What the delete guard holds or judges is left alone by rsync's own deletions: a listed directory's
/// held children become excludes, a gone path that leads to one is not listed, a full push excludes the held tops.</summary>
public sealed class ProtectedPathsTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly TempDirectory _tmp = new("sersync-protected-");

    public void Dispose() => _tmp.Dispose();

    private string Root => _tmp.Path;

    private void Write(string relative)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(Root, relative))!);
        File.WriteAllText(Path.Combine(Root, relative), "x");
    }

    private static ProtectedPaths Keep(params string[] paths) => new(paths.Select(RelativePath.FromString));

    private static string[] Split(byte[]? bytes) =>
        bytes is null ? [] : [.. Encoding.UTF8.GetString(bytes).Split('\0', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal)];

    private BatchList Build(ProtectedPaths keep, params FileChange[] changes)
    {
        var set = new PendingSet();
        foreach (var c in changes)
        {
            set.Add(c, T0);
        }

        return BatchListBuilder.Build(Root, set.Take(), filter: null, links: null, keep);
    }

    [Fact]
    public void The_snapshot_knows_the_ways_to_each_protected_path()
    {
        var keep = Keep("d/sub/x", "d/f1", "d", "e/g/h");

        Assert.True(keep.Covers(RelativePath.FromString("d/sub/x/y")));
        Assert.False(keep.Covers(RelativePath.FromString("e/g")));
        Assert.True(keep.Reaches(RelativePath.FromString("e/g")));
        Assert.False(keep.Reaches(RelativePath.FromString("e/z")));
        Assert.Equal(["d/f1", "d/sub"], keep.ChildrenOf(RelativePath.FromString("d")).Select(p => p.ToMatchString()).Order(StringComparer.Ordinal));
        Assert.Empty(ProtectedPaths.None.ChildrenOf(RelativePath.Root));
    }

    [Fact]
    public void Rm_rf_d_then_mkdir_d_lists_d_for_its_contents_with_the_held_children_excluded()
    {
        // rm -rf d && mkdir d && touch d/new: d's old children are held; d/ is synced with deletion.
        Write("d/new");
        var keep = Keep("d/f1", "d/f2", "d/sub/x", "d/sub");
        var list = Build(keep, new FileChange(ChangeKind.UpsertTree, RelativePath.FromString("d"), true));

        Assert.Equal(["./d/"], Split(list.Paths));
        Assert.Equal(["/d/f1", "/d/f2", "/d/sub"], Split(list.Excludes));
    }

    [Fact]
    public void A_held_child_the_source_has_again_is_not_excluded_and_a_file_where_a_held_directory_was_is()
    {
        Write("d/f1");
        Write("d/sub"); // a file now, where a directory with held entries was
        var list = Build(Keep("d/f1", "d/sub/x"), new FileChange(ChangeKind.UpsertContents, RelativePath.FromString("d"), true));

        Assert.Equal(["/d/sub"], Split(list.Excludes));
    }

    [Fact]
    public void A_gone_path_below_a_held_directory_is_not_listed_for_deletion()
    {
        // d/late was written, then rm -rf d: d's delete is held, so d must not go through --delete-missing-args.
        Directory.CreateDirectory(Path.Combine(Root, "other"));
        var list = Build(Keep("d", "d/a"),
            new FileChange(ChangeKind.Upsert, RelativePath.FromString("d/late"), false),
            new FileChange(ChangeKind.Upsert, RelativePath.FromString("gone-too"), false));

        Assert.Equal(["./gone-too"], Split(list.Paths));
    }

    [Fact]
    public void Without_a_hold_nothing_changes()
    {
        Write("d/new");
        var list = Build(ProtectedPaths.None, new FileChange(ChangeKind.UpsertContents, RelativePath.FromString("d"), true),
            new FileChange(ChangeKind.Upsert, RelativePath.FromString("gone/x"), false));

        Assert.Equal(["./d/", "./gone"], Split(list.Paths));
        Assert.Null(list.Excludes);
    }

    [Fact]
    public void A_full_push_excludes_the_held_paths_the_source_no_longer_has_walking_into_directories_made_again()
    {
        Write("back/f");   // "back" made again (its own delete not cleared yet); "back/old" still held
        Write("restored"); // a held file there again: sent as usual
        Write("was-dir");  // a file where a held directory's entries were
        var keep = Keep("gone", "gone/a", "back", "back/old", "restored", "was-dir/x");

        Assert.Equal(["/back/old", "/gone", "/was-dir"], Split(FullPush.ProtectedExcludes(Root, keep)));
        Assert.Null(FullPush.ProtectedExcludes(Root, ProtectedPaths.None));
        Assert.Null(FullPush.ProtectedExcludes(Root, Keep("restored")));
    }
}
