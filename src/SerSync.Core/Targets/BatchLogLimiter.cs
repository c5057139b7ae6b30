// Implementation notes. A line goes out at once when none went out within the window; otherwise the batch is summed
// and a one-shot timer (TimeProvider.CreateTimer) flushes the sum when the window has passed, so a storm that ends
// still gets its summary without the worker's loop waiting for it. Add (the worker's task) and the timer's callback
// share the sum under _gate; the callbacks that write the log run after it is released.
namespace SerSync.Targets;

/// <summary>One finished batch, as the log tells it.</summary>
/// <param name="FirstPaths">The first path or two, escaped as <see cref="Paths.RelativePath.ToString"/> does, and
/// how many more ("a/b, c/d and 3 more"); "full sync" for a full sync.</param>
/// <param name="Bytes">File data rsync transferred (its <c>--stats</c>), null when it did not say.</param>
/// <param name="SentBytes">Bytes rsync sent over the wire, null when it did not say.</param>
/// <param name="FullSync">The batch was a full sync of the root (one "path").</param>
public readonly record struct BatchLogEntry(int Paths, string FirstPaths, long? Bytes, long? SentBytes, TimeSpan Duration, bool FullSync = false);

/// <summary>The batches of one window that had no line of their own.</summary>
public readonly record struct BatchLogSummary(int Batches, long Paths, long? Bytes, long? SentBytes, TimeSpan Duration);

/// <summary>
/// At most one info line per <see cref="Window"/> for one target: a batch after a quiet window gets its own line, the
/// batches that follow within the window are summed into one summary line when it ends.
/// </summary>
public sealed class BatchLogLimiter : IDisposable
{
    /// <summary>The default: one line per second per target.</summary>
    public static readonly TimeSpan DefaultWindow = TimeSpan.FromSeconds(1);

    private readonly TimeProvider _time;
    private readonly Action<BatchLogEntry> _line;
    private readonly Action<BatchLogSummary> _summary;
    private readonly Lock _gate = new();
    private readonly ITimer _timer;
    private DateTimeOffset? _lastLine;
    private int _batches;
    private long _paths;
    private long? _bytes;
    private long? _sent;
    private TimeSpan _duration;
    private bool _armed;
    private bool _disposed;

    public BatchLogLimiter(TimeSpan window, TimeProvider time, Action<BatchLogEntry> line, Action<BatchLogSummary> summary)
    {
        Window = window;
        _time = time;
        _line = line;
        _summary = summary;
        _timer = time.CreateTimer(_ => Flush(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    public TimeSpan Window { get; }

    /// <summary>A batch finished: logged now, or summed into the window's summary.</summary>
    public void Add(BatchLogEntry entry)
    {
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            if (_batches > 0 || (_lastLine is { } last && now - last < Window))
            {
                _batches++;
                _paths += entry.Paths;
                _bytes = Sum(_bytes, entry.Bytes);
                _sent = Sum(_sent, entry.SentBytes);
                _duration += entry.Duration;
                if (!_armed && !_disposed)
                {
                    var due = (_lastLine ?? now) + Window - now;
                    _timer.Change(due > TimeSpan.Zero ? due : TimeSpan.Zero, Timeout.InfiniteTimeSpan);
                    _armed = true;
                }

                return;
            }

            _lastLine = now;
        }

        _line(entry);
    }

    /// <summary>Writes the summary of what was summed, if anything (the timer does; so does a stop).</summary>
    public void Flush()
    {
        BatchLogSummary summary;
        lock (_gate)
        {
            _armed = false;
            if (_batches == 0)
            {
                return;
            }

            summary = new BatchLogSummary(_batches, _paths, _bytes, _sent, _duration);
            _batches = 0;
            _paths = 0;
            _bytes = null;
            _sent = null;
            _duration = TimeSpan.Zero;
            _lastLine = _time.GetUtcNow();
        }

        _summary(summary);
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
        }

        _timer.Dispose();
    }

    private static long? Sum(long? total, long? more) => more is { } m ? (total ?? 0) + m : total;
}
