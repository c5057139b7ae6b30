using System.Threading.Channels;
using SerSync.Paths;
using SerSync.Targets;

namespace SerSync.Journal;

/// <summary>
/// Hands one root's changes to its targets' queues, journaling each change first (when a journal is kept) so that
/// nothing acknowledged as queued can be lost by a crash. Every full sync asked for outside the watcher (a target
/// added by a reload, a target that fell behind the crontab, a failed <c>-r</c> push) goes through
/// <see cref="RequestFullSync"/>, so it is journaled too. Also records, about once a second while the watcher's
/// channel is empty, that everything before now is journaled (the catch-up scan's starting point).
/// </summary>
public sealed partial class RootDispatcher(ChannelReader<FileChange> reader, IReadOnlyList<IChangeSink> queues, ChangeJournal? journal, TimeProvider time)
{
    private const int MaxPerAppend = 4096;
    private static readonly TimeSpan SeenInterval = TimeSpan.FromSeconds(1);

    // Serialises journal appends with the hand-over, so each queue sees sequences in increasing order.
    private readonly Lock _gate = new();
    private volatile bool _idle;
    private long _memorySequence;
    private long _changes;

    public IReadOnlyList<IChangeSink> Queues => queues;

    /// <summary>The dispatch loop's proof that it turns, for the watchdog; <see cref="Heartbeat.None"/> unless watched.</summary>
    public Heartbeat Heartbeat { get; set; } = Heartbeat.None;

    /// <summary>Changes handed to the queues since the dispatcher started (full syncs asked for excepted).</summary>
    public long ChangesTotal => Interlocked.Read(ref _changes);

    /// <summary>Journals, then queues on every target.</summary>
    public void Submit(IReadOnlyList<FileChange> changes)
    {
        if (changes.Count == 0)
        {
            return;
        }

        lock (_gate)
        {
            var sequences = journal?.Append(changes) ?? Unjournaled(changes.Count);
            Interlocked.Add(ref _changes, changes.Count);
            for (var i = 0; i < changes.Count; i++)
            {
                if (Guard?.Take(changes[i], sequences[i]) == true)
                {
                    continue; // a delete: it goes when its burst is judged, or it is held
                }

                foreach (var queue in queues)
                {
                    queue.Enqueue(changes[i], sequences[i]);
                }
            }

            MakeRoom();
        }
    }

    /// <summary>Past the journal's bound: the settling burst is judged at once (a settling delete caps every
    /// acknowledgement below it, so nothing above it could be compacted; a mass delete still holds on its part so
    /// far), then the journal collapses (ChangeJournal.Collapse.cs). Under <c>_gate</c>, after each append.</summary>
    private void MakeRoom()
    {
        if (journal?.OverBound != true)
        {
            return;
        }

        if (Guard is { } guard)
        {
            SendUnguarded(guard.Tick(force: true));
        }

        if (journal.OverBound)
        {
            CollapseJournal(journal);
        }
    }

    /// <summary>Journals a full sync for <paramref name="queue"/> alone, then queues it there.</summary>
    public void RequestFullSync(IChangeSink queue)
    {
        if (!queues.Contains(queue))
        {
            throw new ArgumentException($"target {queue.Id} is not one of this root's", nameof(queue));
        }

        lock (_gate)
        {
            var sequence = journal?.AppendFullSync(queue.Id) ?? Unjournaled(1)[0];
            queue.Enqueue(new FileChange(ChangeKind.Rescan, RelativePath.Root, true), sequence);
        }
    }

    /// <summary>Sequences without a journal (in memory only), so hooks can still tell what the targets have.</summary>
    private long[] Unjournaled(int count)
    {
        var result = new long[count];
        for (var i = 0; i < count; i++)
        {
            result[i] = ++_memorySequence;
        }

        return result;
    }

    /// <summary>Runs until the channel is completed.</summary>
    public async Task RunAsync()
    {
        Heartbeat.Start();
        try
        {
            await LoopAsync();
            Heartbeat.Stop(); // ended on purpose; a loop that died stays counted, so the watchdog sees it stop
        }
        catch (OperationCanceledException)
        {
            Heartbeat.Stop();
            throw;
        }
    }

    private async Task LoopAsync()
    {
        using var stop = new CancellationTokenSource();
        var seen = journal is null ? Task.CompletedTask : MarkSeenLoopAsync(stop.Token);
        var guard = Guard is { Enabled: true } ? GuardLoopAsync(stop.Token) : Task.CompletedTask;
        var batch = new List<FileChange>();
        while (true)
        {
            // Idle: everything the watcher has handed over is journaled (a SingleReader channel cannot count).
            _idle = true;
            Heartbeat.Beat();
            var ready = reader.WaitToReadAsync();
            if (!(ready.IsCompleted || !Heartbeat.IsWatched ? await ready : await Heartbeat.AwaitAsync(ready.AsTask())))
            {
                break;
            }

            _idle = false;
            while (batch.Count < MaxPerAppend && reader.TryRead(out var change))
            {
                batch.Add(change);
            }

            Submit(batch);
            batch.Clear();
        }

        await stop.CancelAsync();
        await seen;
        await guard;
        TickGuard(force: true); // the stop: what settles goes (or is held) before the workers drain
        Guard?.Stopped();
        journal?.MarkSeen(time.GetUtcNow());
    }

    private async Task MarkSeenLoopAsync(CancellationToken token)
    {
        try
        {
            while (true)
            {
                await Task.Delay(SeenInterval, time, token);
                if (_idle)
                {
                    journal!.MarkSeen(time.GetUtcNow());
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
