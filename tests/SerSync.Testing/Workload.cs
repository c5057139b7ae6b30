using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace SerSync.Testing;

/// <summary>What <see cref="SourceChurn.RunAsync"/> did and, with a lag target, how long each new file took to
/// appear there.</summary>
public sealed record ChurnResult(int FilesWritten, int Appends, int Deletes, int DirectoriesMoved, IReadOnlyList<TimeSpan> Lags, IReadOnlyList<string> NeverSeen)
{
    public override string ToString() =>
        $"{FilesWritten} file(s) written, {Appends} append(s), {Deletes} delete(s), {DirectoriesMoved} directory move(s)";
}

/// <summary>
/// Keeps changing a watched tree on a fixed cadence while a fault lasts: a new file every tick under <c>live/</c> (or another directory),
/// an append to <c>log.txt</c> every 5th tick, the delete of a 20-tick-old file every 7th, a new nested directory
/// every 25th and the rename of such a directory every 50th. With a lag target, a monitor polls it (every 10 ms)
/// and records for each new file how long after its write it appeared there.
/// </summary>
public static class SourceChurn
{
    private static readonly TimeSpan MonitorPoll = TimeSpan.FromMilliseconds(10);

    /// <param name="lagTarget">A target whose lag is measured, or null.</param>
    /// <param name="lagWait">After the last write, how long the monitor waits for files still not seen.</param>
    /// <param name="directory">The directory (relative to the root) the churn happens in.</param>
    public static async Task<ChurnResult> RunAsync(string source, TimeSpan duration, TimeSpan interval, string? lagTarget, TimeSpan lagWait, string directory = "live")
    {
        Directory.CreateDirectory(Path.Combine(source, directory));
        string Name(int i) => $"{directory}/f{i:D4}.txt";
        var pending = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        var lags = new ConcurrentQueue<TimeSpan>();
        var neverSeen = new ConcurrentQueue<string>();
        using var writerDone = new CancellationTokenSource();
        var monitor = lagTarget is null ? Task.CompletedTask : Task.Run(() => MonitorAsync(lagTarget, pending, lags, lagWait, writerDone.Token));
        var clock = Stopwatch.StartNew();
        int files = 0, appends = 0, deletes = 0, moves = 0;
        try
        {
            for (var i = 0; clock.Elapsed < duration; i++)
            {
                var name = Name(i);
                File.WriteAllText(Path.Combine(source, name), string.Create(CultureInfo.InvariantCulture, $"file {i} written {clock.Elapsed.TotalMilliseconds:0} ms into the fault\n"));
                pending[name] = Stopwatch.GetTimestamp();
                files++;
                if (i % 5 == 4)
                {
                    File.AppendAllText(Path.Combine(source, "log.txt"), string.Create(CultureInfo.InvariantCulture, $"tick {i}\n"));
                    appends++;
                }

                if (i % 7 == 6 && i >= 20)
                {
                    var old = Name(i - 20);
                    File.Delete(Path.Combine(source, old));
                    deletes++;
                    if (pending.TryRemove(old, out _))
                    {
                        neverSeen.Enqueue(old + " (deleted before it reached the target)");
                    }
                }

                if (i % 25 == 24)
                {
                    var dir = Path.Combine(source, directory, $"d{i:D4}", "sub");
                    Directory.CreateDirectory(dir);
                    File.WriteAllText(Path.Combine(dir, "x.txt"), $"nested {i}\n");
                }

                if (i % 50 == 49)
                {
                    Directory.Move(Path.Combine(source, directory, $"d{i - 25:D4}"), Path.Combine(source, directory, $"moved{i:D4}"));
                    moves++;
                }

                var next = interval * (i + 1) - clock.Elapsed;
                if (next > TimeSpan.Zero)
                {
                    await Task.Delay(next);
                }
            }
        }
        finally
        {
            await writerDone.CancelAsync();
            await monitor;
        }

        foreach (var name in pending.Keys)
        {
            neverSeen.Enqueue(name);
        }

        return new ChurnResult(files, appends, deletes, moves, [.. lags], [.. neverSeen]);
    }

    private static async Task MonitorAsync(string target, ConcurrentDictionary<string, long> pending, ConcurrentQueue<TimeSpan> lags, TimeSpan lagWait, CancellationToken writerDone)
    {
        long? giveUpAt = null;
        while (true)
        {
            foreach (var (name, written) in pending)
            {
                if (File.Exists(Path.Combine(target, name)) && pending.TryRemove(name, out _))
                {
                    lags.Enqueue(Stopwatch.GetElapsedTime(written));
                }
            }

            if (writerDone.IsCancellationRequested)
            {
                giveUpAt ??= Stopwatch.GetTimestamp() + (long)(lagWait.TotalSeconds * Stopwatch.Frequency);
                if (pending.IsEmpty || Stopwatch.GetTimestamp() > giveUpAt)
                {
                    return;
                }
            }

            await Task.Delay(MonitorPoll, CancellationToken.None);
        }
    }
}
