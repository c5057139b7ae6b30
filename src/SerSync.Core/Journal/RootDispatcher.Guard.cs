using SerSync.Paths;

namespace SerSync.Journal;

public sealed partial class RootDispatcher
{
    private static readonly TimeSpan GuardTick = TimeSpan.FromMilliseconds(25);

    /// <summary>The root's delete guard (null: none, every delete goes at once, as before the guard).</summary>
    public DeleteGuard? Guard { get; init; }

    /// <summary>The acknowledgement a target may write to the journal (<see cref="DeleteGuard.CapAcknowledgement"/>).</summary>
    public long CapAcknowledgement(long sequence) => Guard?.CapAcknowledgement(sequence) ?? sequence;

    /// <summary>For the start-up replay: true when the guard takes this journaled record (a delete, taken once for
    /// every consumer); false: the caller queues it on its consumer as before.</summary>
    public bool TakeReplayed(FileChange change, long sequence)
    {
        lock (_gate)
        {
            return Guard?.TakeReplayed(change, sequence) == true;
        }
    }

    /// <summary>Judges what has settled and sends what passes (journaled again, so it follows everything queued
    /// before it). Under the gate: no change can slip between the judgement and the queues.</summary>
    public void TickGuard(bool force = false)
    {
        if (Guard is null)
        {
            return;
        }

        lock (_gate)
        {
            SendUnguarded(Guard.Tick(force));
        }
    }

    /// <summary><c>sersyncd release</c> for this root; null without a guard.</summary>
    public GuardRelease? ReleaseHeld(bool keep)
    {
        if (Guard is null)
        {
            return null;
        }

        lock (_gate)
        {
            var (send, done) = Guard.Release(keep);
            SendUnguarded(send);
            return done;
        }
    }

    /// <summary>Journals again (a new sequence: later than what the targets have acknowledged) and queues on every
    /// consumer, past the guard. Under <c>_gate</c>.</summary>
    private void SendUnguarded(List<FileChange> changes)
    {
        if (changes.Count == 0)
        {
            return;
        }

        // In appends of at most MaxPerAppend, each after the bound's check (this runs from Submit's check, right
        // after an append) and followed by one: a burst of 20,000 deletes judged at once must not carry the journal
        // past its bound by more than one append's slack.
        for (var start = 0; start < changes.Count; start += MaxPerAppend)
        {
            if (journal?.OverBound == true)
            {
                CollapseJournal(journal);
            }

            var part = changes.GetRange(start, Math.Min(MaxPerAppend, changes.Count - start)).ConvertAll(c => c with { Judged = true });
            long[] sequences;
            try
            {
                sequences = journal?.Append(part) ?? Unjournaled(part.Count);
            }
            catch (Exception) when (Guard is not null)
            {
                // Judged (or released) already, never journaled: the guard sends them again on its next tick.
                Guard.Unsent(changes.Skip(start));
                throw;
            }

            for (var i = 0; i < part.Count; i++)
            {
                foreach (var queue in queues)
                {
                    queue.Enqueue(part[i], sequences[i]);
                }
            }

            if (journal?.OverBound == true)
            {
                CollapseJournal(journal);
            }
        }
    }

    private async Task GuardLoopAsync(CancellationToken token)
    {
        try
        {
            while (true)
            {
                await Task.Delay(GuardTick, time, token);
                try
                {
                    TickGuard();
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // A loop that ended here would leave every later delete unjudged and the acknowledgements
                    // frozen below the first one settling: the guard says so and the next tick tries again.
                    Guard!.TickFailed(e);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
