using System.Threading.Channels;
using Microsoft.Extensions.Time.Testing;
using SerSync.Journal;
using SerSync.Paths;
using SerSync.Targets;
using SerSync.Testing;

namespace SerSync.UnitTests.Targets;

/// <summary>The dispatcher between the watcher and the targets, against recording sinks and a real journal.</summary>
public sealed class RootDispatcherTests : IDisposable
{
    private const string Root = "/srv/www";
    private readonly TempDirectory _temp = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 1, 9, 0, 0, TimeSpan.Zero));

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Changes_are_journaled_then_handed_to_every_target_in_order()
    {
        var a = new RecordingSink("a");
        var b = new RecordingSink("b");
        var channel = Channel.CreateUnbounded<FileChange>();
        using (var journal = Open("a", "b"))
        {
            var dispatcher = new RootDispatcher(channel.Reader, [a, b], journal, _time);
            var run = dispatcher.RunAsync();
            channel.Writer.TryWrite(Change("x"));
            channel.Writer.TryWrite(Change("y"));
            channel.Writer.TryComplete();
            await run.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        }

        Assert.Equal([("x", 1L), ("y", 2L)], a.Received);
        Assert.Equal(a.Received, b.Received);
        using var reopened = Open("a", "b");
        Assert.Equal(["x", "y"], reopened.PendingFor("b").Select(r => r.Change.Path.ToMatchString()));
    }

    [Fact]
    public void A_full_sync_for_one_target_is_journaled_for_that_target_alone()
    {
        var a = new RecordingSink("a");
        var b = new RecordingSink("b");
        using (var journal = Open("a", "b"))
        {
            var dispatcher = new RootDispatcher(Channel.CreateUnbounded<FileChange>().Reader, [a, b], journal, _time);
            dispatcher.RequestFullSync(b);
        }

        Assert.Empty(a.Received);
        Assert.Equal([(string.Empty, 1L)], b.Received);
        Assert.Equal(ChangeKind.Rescan, b.Kinds.Single());

        // A crash now loses nothing: the next start gives b, and only b, its full sync back.
        using var reopened = Open("a", "b");
        Assert.Empty(reopened.PendingFor("a"));
        var pending = Assert.Single(reopened.PendingFor("b"));
        Assert.Equal(ChangeKind.Rescan, pending.Change.Kind);
        Assert.True(pending.Change.Path.IsRoot);
    }

    [Fact]
    public void A_full_sync_for_a_target_of_another_root_is_refused()
    {
        var dispatcher = new RootDispatcher(Channel.CreateUnbounded<FileChange>().Reader, [new RecordingSink("a")], null, _time);
        Assert.Throws<ArgumentException>(() => dispatcher.RequestFullSync(new RecordingSink("elsewhere")));
    }

    private ChangeJournal Open(params string[] targets) => ChangeJournal.Open(_temp.Path, Root, targets, _time, TimeSpan.FromSeconds(5));

    private static FileChange Change(string path) => new(ChangeKind.Upsert, new RelativePath(System.Text.Encoding.UTF8.GetBytes(path)), false);

    private sealed class RecordingSink(string id) : IChangeSink
    {
        public string Id => id;

        public List<(string Path, long Sequence)> Received { get; } = [];

        public List<ChangeKind> Kinds { get; } = [];

        public void Enqueue(FileChange change, long sequence)
        {
            Received.Add((change.Path.ToMatchString(), sequence));
            Kinds.Add(change.Kind);
        }
    }
}
