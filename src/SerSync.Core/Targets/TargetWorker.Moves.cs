using SerSync.Paths;

namespace SerSync.Targets;

public sealed partial class TargetWorker
{
    /// <summary>Renames done on the target instead of sent again, since the worker started (status, tests).</summary>
    public long MovesReplayed => Interlocked.Read(ref _movesReplayed);

    private long _movesReplayed;

    /// <summary>How long a batch waits for a rename's second half, which the dispatcher hands over right after the
    /// first (a bound, in case it never comes).</summary>
    internal static readonly TimeSpan MovePairWait = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// Replays the batch's renames on the target (see <see cref="MoveStages"/>), inside the batch's hold and slot so
    /// nothing else writes the target meanwhile. The rsync that follows covers both paths of each, so what is not
    /// replayed is sent as before. Returns the batch as it is to be put back if that rsync fails: without its moves
    /// once the target was reached (done, or left to rsync), with them when it was not (they wait, in order), and
    /// then why it was not (the batch's rsync is not run).
    /// </summary>
    private async Task<(Batch Batch, string? Unreachable)> ReplayMovesAsync(Batch batch, CancellationToken token)
    {
        var moves = batch.MovesInOrder;
        if (moves.Count == 0)
        {
            return (batch, null);
        }

        if (_moves is null || batch.FullSync)
        {
            return (batch with { Moves = null }, null);
        }

        MoveOutcome outcome;
        try
        {
            outcome = await Heartbeat.AwaitAsync(_moves.ApplyAsync(moves, token));
        }
        catch (OperationCanceledException)
        {
            return (batch, "stopped");
        }
        catch (Exception ex) when (ex is InvalidOperationException or IOException or UnauthorizedAccessException)
        {
            // Never worth the worker: the batch's rsync covers both paths of every rename.
            outcome = new MoveOutcome(0, true, ex.Message);
        }

        Interlocked.Add(ref _movesReplayed, outcome.Applied);
        if (outcome.Applied > 0)
        {
            MovesDone(Target.Label, outcome.Applied, Describe(moves[0]));
        }

        if (outcome.Failure is { } why)
        {
            var left = moves.Count - outcome.Applied;
            MovesLeftToRsync(Target.Label, left, Describe(moves[outcome.Applied]), why, outcome.Reached ? "sent by rsync" : "kept for the retry");
        }

        return outcome.Reached ? (batch with { Moves = null }, null) : (batch, "renames: " + (outcome.Failure ?? "the target could not be reached"));
    }

    private static string Describe(PathMove move) => $"{Show(move.From)} -> {Show(move.To)}";

    private static string Show(RelativePath path) => path.IsRoot ? "." : path.ToString();
}
