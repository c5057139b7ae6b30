using SerSync.Configuration;
using SerSync.Paths;
using SerSync.Testing;
using static SerSync.UnitTests.Watching.WatcherHarness;

namespace SerSync.UnitTests.Watching;

/// <summary>A bare truncate(2) raises IN_MODIFY alone: a change with modify on (nothing waits for a close), nothing
/// with the stock switches. A hard link is a whole file at its IN_CREATE (no close follows), createFile or not.</summary>
[Collection("inotify")]
public sealed class InotifyWatcherTruncateTests
{
    [Fact]
    public void With_modify_on_a_bare_truncate_is_an_upsert()
    {
        using var h = new WatcherHarness(InotifyConfig.Stock with { Modify = true }, start: false);
        File.WriteAllBytes(h.P("f"), new byte[4096]);
        h.Watcher.Start();

        HardLinks.Truncate(h.P("f"), 100);
        var c = h.WaitFor(ChangeKind.Upsert, "f");
        Assert.Equal(ChangeEvent.Modify, c.Event);
    }

    [Fact]
    public void With_the_stock_switches_a_bare_truncate_raises_nothing()
    {
        using var h = new WatcherHarness(start: false);
        File.WriteAllBytes(h.P("f"), new byte[4096]);
        h.Watcher.Start();

        HardLinks.Truncate(h.P("f"), 100);
        var seen = h.Settle();
        Assert.DoesNotContain(seen, c => c.Path == R("f"));
    }

    [Fact]
    public void A_hard_link_is_reported_at_its_creation_with_createFile_off()
    {
        using var h = new WatcherHarness(start: false);
        File.WriteAllText(h.P("a"), "x");
        h.Watcher.Start();

        HardLinks.Create(h.P("a"), h.P("b"));
        var c = h.WaitFor(ChangeKind.Upsert, "b");
        Assert.Equal(ChangeEvent.Create, c.Event);
    }
}
