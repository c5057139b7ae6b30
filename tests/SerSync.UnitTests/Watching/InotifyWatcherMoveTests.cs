using System.Text.RegularExpressions;
using SerSync.Configuration;
using SerSync.Filtering;
using SerSync.Journal;
using SerSync.Paths;

namespace SerSync.UnitTests.Watching;

/// <summary>A rename inside the tree reaches the targets as a pair they can replay; one that leaves or enters the
/// filtered part of the tree does not.</summary>
public sealed class InotifyWatcherMoveTests
{
    private static RelativePath R(string p) => RelativePath.FromString(p);

    [Fact]
    public void A_rename_inside_the_tree_is_a_delete_then_a_send_naming_the_old_path()
    {
        using var h = new WatcherHarness();
        Directory.CreateDirectory(h.P("d/s"));
        File.WriteAllText(h.P("f"), "1");
        h.Settle();

        File.Move(h.P("f"), h.P("d/g"));
        Directory.Move(h.P("d"), h.P("e"));
        var seen = h.Settle();

        Assert.Equal(4, seen.Count);
        Assert.Equal((ChangeKind.Delete, R("f"), ChangeEvent.MoveFrom, true), (seen[0].Kind, seen[0].Path, seen[0].Event, seen[0].MoveToFollows));
        Assert.Equal((ChangeKind.Upsert, R("d/g"), ChangeEvent.MoveTo, (RelativePath?)R("f")), (seen[1].Kind, seen[1].Path, seen[1].Event, seen[1].MovedFrom));
        Assert.Equal((ChangeKind.Delete, R("d"), true, true), (seen[2].Kind, seen[2].Path, seen[2].IsDirectory, seen[2].MoveToFollows));
        Assert.Equal((ChangeKind.UpsertTree, R("e"), (RelativePath?)R("d")), (seen[3].Kind, seen[3].Path, seen[3].MovedFrom));
    }

    [Fact]
    public void Renames_into_or_out_of_the_excluded_part_are_a_send_or_a_delete_alone()
    {
        var rule = new ExcludeRule("attic", new Regex("^(?:attic)$"), 1);
        using var h = new WatcherHarness(filter: new PathFilter(new FilterConfig(true, [rule])));
        Directory.CreateDirectory(h.P("keep"));
        h.Settle();

        Directory.Move(h.P("keep"), h.P("attic"));
        var seen = h.Settle();
        var delete = Assert.Single(seen);
        Assert.False(delete.MoveToFollows);

        Directory.Move(h.P("attic"), h.P("back"));
        seen = h.Settle();
        var send = Assert.Single(seen);
        Assert.Equal(ChangeKind.UpsertTree, send.Kind);
        Assert.Null(send.MovedFrom);
    }

    [Fact]
    public void A_move_out_of_the_tree_awaits_no_second_half_and_the_journal_keeps_no_old_path()
    {
        using var h = new WatcherHarness();
        File.WriteAllText(h.P("f"), "1");
        h.Settle();
        File.Move(h.P("f"), Path.Combine(h.Temp.Path, "f"));
        var gone = Assert.Single(h.Settle());
        Assert.Equal((ChangeKind.Delete, false), (gone.Kind, gone.MoveToFollows));

        // The journal format is unchanged (an older version reads it): a replayed rename is a delete and a send.
        using var stream = new MemoryStream();
        ChangeJournal.WriteRecord(stream, new JournalRecord(1, DateTimeOffset.UnixEpoch, new FileChange(ChangeKind.Upsert, R("g"), false, ChangeEvent.MoveTo, R("f"))));
        var read = Assert.Single(ChangeJournal.ReadAll(stream, out _)).Change;
        Assert.Equal((ChangeKind.Upsert, R("g"), ChangeEvent.MoveTo), (read.Kind, read.Path, read.Event));
        Assert.Null(read.MovedFrom);
    }
}
