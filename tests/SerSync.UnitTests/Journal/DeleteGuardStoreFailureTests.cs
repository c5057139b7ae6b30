using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using SerSync.Configuration;
using SerSync.Filtering;
using SerSync.Journal;
using SerSync.Paths;
using SerSync.Targets;
using SerSync.Testing;

namespace SerSync.UnitTests.Journal;

/// <summary>The guard's timer loop when <c>held-deletes</c> cannot be written (a full state disk; here the store's
/// path is a directory, which fails for root too): the loop goes on judging, the hold stays in memory and unsent,
/// the journal keeps its records, status says why, one error line a minute; healed, the hold is written.</summary>
public sealed class DeleteGuardStoreFailureTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 1, 9, 0, 0, TimeSpan.Zero));
    private readonly string _root;
    private readonly string _state;

    public DeleteGuardStoreFailureTests()
    {
        _root = _temp.Sub("root");
        _state = _temp.Sub("state");
    }

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task A_store_that_cannot_be_written_keeps_the_loop_judging_and_the_hold_in_memory_until_it_heals()
    {
        for (var i = 0; i < 1000; i++)
        {
            File.WriteAllText(Path.Combine(_root, "f" + i), "");
        }

        using var journal = ChangeJournal.Open(_state, _root, ["a"], _time, TimeSpan.FromSeconds(5));
        var store = Path.Combine(journal.Directory, "held-deletes");
        Directory.CreateDirectory(Path.Combine(store, "in-the-way")); // rename(2) of the new store over it fails: EISDIR
        var log = new LogCapture();
        var guard = new DeleteGuard(_root, DeleteGuardConfig.Default, journal.Directory, PathFilter.None, _time, log);
        guard.Load();
        var channel = Channel.CreateUnbounded<FileChange>();
        var sink = new Sink();
        var dispatcher = new RootDispatcher(channel.Reader, [sink], journal, _time) { Guard = guard };
        var run = Task.Run(dispatcher.RunAsync, TestContext.Current.CancellationToken);

        foreach (var change in Delete(0, 600))
        {
            channel.Writer.TryWrite(change);
        }

        await PumpUntilAsync(() => guard.HeldCount == 600 && guard.Snapshot().Settling == 0, "the first burst held");
        var failing = guard.Snapshot();
        Assert.False(string.IsNullOrEmpty(failing.StoreError));
        Assert.True(Directory.Exists(store));
        Assert.Empty(sink.Deletes);
        // Not on the disk: the journal's records of those deletes are the only ones, so no acknowledgement passes them.
        Assert.Equal(0, guard.CapAcknowledgement(journal.LastSequence));

        // The loop is alive: a later burst is judged too (it joins the hold), with the store still failing.
        foreach (var change in Delete(600, 10))
        {
            channel.Writer.TryWrite(change);
        }

        await PumpUntilAsync(() => guard.HeldCount == 610 && guard.Snapshot().Settling == 0, "the second burst judged while the store fails");
        Assert.Empty(sink.Deletes);
        Assert.NotNull(guard.Snapshot().StoreError);
        // Many failed ticks, one error line: the same failure is told again only after a minute.
        Assert.Single(log.Lines, l => l.EventId.Id == 14208);
        _time.Advance(DeleteGuard.FailureLogInterval);
        await PumpUntilAsync(() => log.Lines.Count(l => l.EventId.Id == 14208) == 2, "the failure told again a minute later");

        // Healed: the next tick writes the hold, status clears, acknowledgements go on.
        Directory.Delete(store, recursive: true);
        await PumpUntilAsync(() => File.Exists(store), "the store written once the way is clear");
        Assert.Null(guard.Snapshot().StoreError);
        Assert.Equal(journal.LastSequence, guard.CapAcknowledgement(journal.LastSequence));
        Assert.Single(log.Lines, l => l.EventId.Id == 14209);
        var restarted = new DeleteGuard(_root, DeleteGuardConfig.Default, journal.Directory, PathFilter.None, _time, log);
        restarted.Load();
        Assert.Equal(610, restarted.HeldCount); // what was held in memory only is on the disk now
        Assert.Empty(sink.Deletes);

        channel.Writer.Complete();
        await run;
    }

    /// <summary>Advances the fake clock a tick at a time (the loop's delays run on it) until the condition holds.</summary>
    private async Task PumpUntilAsync(Func<bool> condition, string because)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting for " + because);
            _time.Advance(TimeSpan.FromMilliseconds(25));
            await Task.Delay(5, TestContext.Current.CancellationToken);
        }
    }

    private List<FileChange> Delete(int first, int count)
    {
        var changes = new List<FileChange>();
        for (var i = first; i < first + count; i++)
        {
            File.Delete(Path.Combine(_root, "f" + i));
            changes.Add(new FileChange(ChangeKind.Delete, RelativePath.FromString("f" + i), false, ChangeEvent.Delete));
        }

        return changes;
    }

    private sealed class Sink : IChangeSink
    {
        private readonly List<FileChange> _received = [];

        public string Id => "a";

        public List<FileChange> Deletes
        {
            get
            {
                lock (_received)
                {
                    return [.. _received.Where(c => c.Kind == ChangeKind.Delete)];
                }
            }
        }

        public void Enqueue(FileChange change, long sequence)
        {
            lock (_received)
            {
                _received.Add(change);
            }
        }
    }
}
