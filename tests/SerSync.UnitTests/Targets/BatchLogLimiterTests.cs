using Microsoft.Extensions.Time.Testing;
using SerSync.Targets;

namespace SerSync.UnitTests.Targets;

/// <summary>The per-target limit on batch lines, on a fake clock: a lone batch gets its line at once, a storm one
/// summary line per window that adds up what it held.</summary>
public sealed class BatchLogLimiterTests : IDisposable
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 1, 9, 0, 0, TimeSpan.Zero));
    private readonly List<(DateTimeOffset At, BatchLogEntry Entry)> _lines = [];
    private readonly List<(DateTimeOffset At, BatchLogSummary Summary)> _summaries = [];
    private readonly BatchLogLimiter _limiter;

    public BatchLogLimiterTests() =>
        _limiter = new BatchLogLimiter(TimeSpan.FromSeconds(1), _time, e => _lines.Add((_time.GetUtcNow(), e)), s => _summaries.Add((_time.GetUtcNow(), s)));

    public void Dispose() => _limiter.Dispose();

    private static BatchLogEntry Entry(int paths, long? bytes = 100, int ms = 10) =>
        new(paths, "a", bytes, bytes + 10, TimeSpan.FromMilliseconds(ms));

    [Fact]
    public void Batches_a_window_apart_each_get_their_own_line()
    {
        _limiter.Add(Entry(1));
        _time.Advance(TimeSpan.FromSeconds(1));
        _limiter.Add(Entry(2));
        _time.Advance(TimeSpan.FromSeconds(5));
        _limiter.Add(Entry(3));
        Assert.Equal([1, 2, 3], _lines.Select(l => l.Entry.Paths));
        Assert.Empty(_summaries);
    }

    [Fact]
    public void A_storm_is_one_line_then_one_summary_per_window_with_the_sums()
    {
        _limiter.Add(Entry(1, ms: 5));
        for (var i = 0; i < 50; i++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(10));
            _limiter.Add(Entry(2, bytes: 1000, ms: 7));
        }

        Assert.Single(_lines);
        Assert.Empty(_summaries); // the window is still open

        _time.Advance(TimeSpan.FromMilliseconds(500)); // 1 s after the first line: the timer flushes
        var summary = Assert.Single(_summaries);
        Assert.Equal(_lines[0].At + TimeSpan.FromSeconds(1), summary.At);
        Assert.Equal(50, summary.Summary.Batches);
        Assert.Equal(100, summary.Summary.Paths);
        Assert.Equal(50_000, summary.Summary.Bytes);
        Assert.Equal(50 * 1010, summary.Summary.SentBytes);
        Assert.Equal(TimeSpan.FromMilliseconds(350), summary.Summary.Duration);

        // The storm goes on: the next window's batches are summed too, never more than a line per second.
        _time.Advance(TimeSpan.FromMilliseconds(200));
        _limiter.Add(Entry(4));
        Assert.Single(_lines);
        _time.Advance(TimeSpan.FromMilliseconds(799));
        Assert.Single(_summaries);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(2, _summaries.Count);
        Assert.Equal(4, _summaries[1].Summary.Paths);
        Assert.True(_summaries[1].At - _summaries[0].At >= TimeSpan.FromSeconds(1));

        // Quiet for a window: the next batch has its own line again.
        _time.Advance(TimeSpan.FromSeconds(1));
        _limiter.Add(Entry(9));
        Assert.Equal(9, _lines[^1].Entry.Paths);
    }

    [Fact]
    public void Bytes_stay_unknown_in_a_summary_when_no_batch_reported_them()
    {
        _limiter.Add(Entry(1, bytes: null));
        _limiter.Add(Entry(1, bytes: null));
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Null(Assert.Single(_summaries).Summary.Bytes);
    }

    [Fact]
    public void Flush_writes_what_was_summed_at_once()
    {
        _limiter.Add(Entry(1));
        _limiter.Add(Entry(1));
        _limiter.Flush();
        Assert.Equal(1, Assert.Single(_summaries).Summary.Batches);
        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.Single(_summaries); // nothing left for the timer
    }
}
