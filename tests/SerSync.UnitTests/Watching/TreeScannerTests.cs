using System.Text;
using SerSync.Configuration;
using SerSync.Filtering;
using SerSync.Paths;
using SerSync.Testing;
using SerSync.Watching;

namespace SerSync.UnitTests.Watching;

/// <summary>The comparisons the scanning backends run: what a pass over a real directory reports.</summary>
public sealed class TreeScannerTests : IDisposable
{
    private static readonly InotifyConfig Everything = new(Delete: true, CreateFolder: true, CreateFile: true,
        CloseWrite: true, MoveFrom: true, MoveTo: true, Attrib: true, Modify: true);

    private readonly TempDirectory _temp = new("sersync-scan-");
    private readonly string _root;
    private readonly TreeScanner _scanner;

    public TreeScannerTests()
    {
        _root = _temp.Sub("root");
        _scanner = new TreeScanner(Encoding.UTF8.GetBytes(_root), new PathFilter());
    }

    public void Dispose() => _temp.Dispose();

    private string P(string relative) => Path.Combine(_root, relative);

    private static RelativePath R(string relative) => RelativePath.FromString(relative);

    private List<FileChange> Full(InotifyConfig? config = null)
    {
        var pass = new ScanPass(config ?? Everything);
        _scanner.Rescan(RelativePath.Root, recursive: true, pass);
        return pass.Drain();
    }

    private static string Show(IEnumerable<FileChange> changes) =>
        string.Join("; ", changes.Select(c => $"{c.Kind} {c.Path}{(c.IsDirectory ? "/" : "")} {c.Event}{(c.MovedFrom is { } f ? " from " + f : "")}{(c.MoveToFollows ? " +follows" : "")}"));

    [Fact]
    public void The_first_scan_reports_nothing_and_a_second_one_over_an_unchanged_tree_neither()
    {
        Directory.CreateDirectory(P("a/b"));
        File.WriteAllText(P("a/b/f"), "x");
        Assert.True(_scanner.Build());
        Assert.Equal(3, _scanner.DirectoryCount);
        Assert.Equal(3, _scanner.EntryCount);
        Assert.Empty(Full());
    }

    [Fact]
    public void A_new_file_a_written_file_and_a_deleted_file_are_each_reported_once()
    {
        File.WriteAllText(P("old"), "x");
        File.WriteAllText(P("kept"), "x");
        Assert.True(_scanner.Build());

        File.WriteAllText(P("new"), "x");
        File.AppendAllText(P("kept"), "more");
        File.Delete(P("old"));
        var changes = Full();
        Assert.Equal("Delete old Delete; Upsert new Create; Upsert kept CloseWrite", Show(changes));
        Assert.Empty(Full());
    }

    [Fact]
    public void With_createFile_off_a_new_file_is_reported_as_written_and_marked_fresh()
    {
        Assert.True(_scanner.Build());
        File.WriteAllText(P("f"), "x");
        var change = Assert.Single(Full(InotifyConfig.Stock));
        Assert.Equal((ChangeKind.Upsert, ChangeEvent.CloseWrite, true), (change.Kind, change.Event, change.Fresh));
    }

    [Fact]
    public void A_new_directory_is_one_tree_and_everything_below_it_is_tracked()
    {
        Assert.True(_scanner.Build());
        Directory.CreateDirectory(P("d/e"));
        File.WriteAllText(P("d/e/f"), "x");
        Assert.Equal("UpsertTree d/ Create", Show(Full()));
        Assert.Equal(3, _scanner.DirectoryCount);
        File.WriteAllText(P("d/e/f"), "changed, longer");
        Assert.Equal("Upsert d/e/f CloseWrite", Show(Full()));
    }

    [Fact]
    public void A_file_and_a_directory_renamed_are_reported_as_moves_with_both_halves()
    {
        Directory.CreateDirectory(P("dir/sub"));
        File.WriteAllText(P("dir/sub/f"), "x");
        File.WriteAllText(P("file"), "content");
        Assert.True(_scanner.Build());

        File.Move(P("file"), P("dir/renamed"));
        Directory.Move(P("dir/sub"), P("moved"));
        var changes = Full();
        Assert.Contains(changes, c => c is { Kind: ChangeKind.Delete, Event: ChangeEvent.MoveFrom, MoveToFollows: true } && c.Path == R("file"));
        Assert.Contains(changes, c => c.Kind == ChangeKind.Upsert && c.Path == R("dir/renamed") && c.MovedFrom == R("file"));
        Assert.Contains(changes, c => c.Kind == ChangeKind.UpsertTree && c.Path == R("moved") && c.MovedFrom == R("dir/sub"));
        Assert.DoesNotContain(changes, c => c.Event == ChangeEvent.Delete);

        // Each Delete half comes right before its Upsert half, as the targets' rename pairing expects.
        var i = changes.FindIndex(c => c.Path == R("file"));
        Assert.Equal(R("dir/renamed"), changes[i + 1].Path);
    }

    [Fact]
    public void A_swap_is_one_rename_and_a_send_and_an_atomic_save_a_change()
    {
        // Same size and mtime on both sides of a swap would let rsync's quick check keep the old content of a plain
        // change; a rename on the target cannot. One rename (b over a), then b is sent: no name is a rename's source
        // and another's destination.
        File.WriteAllText(P("a"), "aaa");
        File.WriteAllText(P("b"), "bbb");
        File.WriteAllText(P("page"), "v1");
        Assert.True(_scanner.Build());

        File.Move(P("a"), P("t"));
        File.Move(P("b"), P("a"));
        File.Move(P("t"), P("b"));
        File.WriteAllText(P("page.tmp"), "version 2");
        File.Move(P("page.tmp"), P("page"), overwrite: true);
        var shown = Show(Full());
        Assert.True(
            shown is "Delete b MoveFrom +follows; Upsert a MoveTo from b; Upsert b CloseWrite; Upsert page CloseWrite"
                or "Delete a MoveFrom +follows; Upsert b MoveTo from a; Upsert a CloseWrite; Upsert page CloseWrite"
                or "Delete b MoveFrom +follows; Upsert a MoveTo from b; Upsert page CloseWrite; Upsert b CloseWrite"
                or "Delete a MoveFrom +follows; Upsert b MoveTo from a; Upsert page CloseWrite; Upsert a CloseWrite",
            shown); // which of the two becomes the rename follows the listing's order
    }

    [Fact]
    public void A_file_renamed_over_another_is_a_rename_of_it()
    {
        File.WriteAllText(P("old"), "same");
        File.WriteAllText(P("new"), "new!");
        Assert.True(_scanner.Build());
        File.Move(P("old"), P("new"), overwrite: true);
        Assert.Equal("Delete old MoveFrom +follows; Upsert new MoveTo from old", Show(Full()));
    }

    [Fact]
    public void A_file_replaced_by_a_directory_is_a_delete_then_a_tree()
    {
        File.WriteAllText(P("x"), "x");
        Assert.True(_scanner.Build());
        File.Delete(P("x"));
        Directory.CreateDirectory(P("x"));
        Assert.Equal("Delete x Delete; UpsertTree x/ Create", Show(Full()));
    }

    [Fact]
    public void A_name_that_is_not_utf8_is_found_and_its_delete_reported_with_the_same_bytes()
    {
        Assert.True(_scanner.Build());
        byte[] name = [(byte)'n', 0xff, (byte)'x'];
        var full = FileSystemBytes.Combine(Encoding.UTF8.GetBytes(_root), new RelativePath(name));
        Assert.True(FileSystemBytes.TryCreateNew(full, 0x1a4, out var error), error);
        var added = Assert.Single(Full());
        Assert.Equal(name, added.Path.Bytes.ToArray());
        Assert.True(FileSystemBytes.TryDelete(full));
        var deleted = Assert.Single(Full());
        Assert.Equal(ChangeKind.Delete, deleted.Kind);
        Assert.Equal(name, deleted.Path.Bytes.ToArray());
    }

    [Fact]
    public void Excluded_names_and_the_watchers_own_files_are_never_tracked_or_reported()
    {
        var scanner = new TreeScanner(Encoding.UTF8.GetBytes(_root), new PathFilter()) { IsOwnName = n => n.StartsWith(".#sersyncd-"u8) };
        Assert.True(scanner.Build());
        File.WriteAllText(P(".#sersyncd-probe-1-1"), "");
        File.WriteAllText(P(".page.swp"), "");
        File.WriteAllText(P("real"), "");
        var pass = new ScanPass(Everything);
        scanner.Rescan(RelativePath.Root, recursive: true, pass);
        Assert.Equal("Upsert real Create", Show(pass.Drain()));
    }

    [Fact]
    public void A_recheck_of_one_name_finds_it_and_one_in_a_directory_new_to_the_scans_finds_the_directory()
    {
        Assert.True(_scanner.Build());
        File.WriteAllText(P("f"), "x");
        Directory.CreateDirectory(P("n/m"));
        File.WriteAllText(P("n/m/g"), "x");
        var pass = new ScanPass(Everything);
        _scanner.Recheck(R("f"), pass);
        _scanner.Recheck(R("n/m/g"), pass);
        Assert.Equal("Upsert f Create; UpsertTree n/ Create", string.Join("; ", Show(pass.Drain()).Split("; ").Order()));
    }

    [Fact]
    public void A_name_hinted_deleted_that_the_scans_never_saw_is_still_reported_deleted_once()
    {
        // Made and removed between two comparisons, while a directory sync may have copied it to a target.
        Assert.True(_scanner.Build());
        var pass = new ScanPass(Everything);
        _scanner.Recheck(R("brief"), pass, gone: true);
        _scanner.Recheck(R("never-hinted-gone"), pass);
        Assert.Equal("Delete brief Delete", Show(pass.Drain()));

        _scanner.Recheck(R("brief"), pass, gone: true);
        Assert.Empty(pass.Drain(p => p == R("brief"))); // reported a moment ago: not twice
    }

    [Fact]
    public void The_switches_gate_what_is_reported_as_inotify_applies_them()
    {
        File.WriteAllText(P("gone"), "x");
        Assert.True(_scanner.Build());
        File.Delete(P("gone"));
        Directory.CreateDirectory(P("d"));
        var none = new InotifyConfig(Delete: false, CreateFolder: false, CreateFile: false, CloseWrite: false, MoveFrom: false, MoveTo: false, Attrib: false, Modify: false);
        Assert.Empty(Full(none));
    }

    [Fact]
    public void A_missing_root_is_not_a_delete_of_everything()
    {
        File.WriteAllText(P("f"), "x");
        Assert.True(_scanner.Build());
        Directory.Delete(_root, recursive: true);
        Assert.False(_scanner.RootExists());
        Assert.Empty(Full());
    }
}
