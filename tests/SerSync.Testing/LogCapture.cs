using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace SerSync.Testing;

/// <summary>One captured log line: its level, event id, formatted text and the values of its placeholders.</summary>
public sealed record CapturedLogLine(LogLevel Level, EventId EventId, string Message, IReadOnlyList<string> Values);

/// <summary>An ILogger that keeps every line at every level (debug included), so a test can assert on what would be
/// logged (for example that no credential ever is).</summary>
public sealed class LogCapture : ILogger
{
    private readonly ConcurrentQueue<CapturedLogLine> _lines = new();

    public IReadOnlyList<CapturedLogLine> Lines => [.. _lines];

    /// <summary>Every line's text, values and exception text, for a "never contains" assertion.</summary>
    public string AllText => string.Join('\n', _lines.Select(l => l.Message + "\n" + string.Join('\n', l.Values)));

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        ArgumentNullException.ThrowIfNull(formatter);
        var values = new List<string>();
        if (state is IEnumerable<KeyValuePair<string, object?>> pairs)
        {
            values.AddRange(pairs.Select(p => $"{p.Key}={p.Value}"));
        }

        if (exception is not null)
        {
            values.Add(exception.ToString());
        }

        _lines.Enqueue(new CapturedLogLine(logLevel, eventId, formatter(state, exception), values));
    }
}

/// <summary>A <see cref="LogCapture"/> for code that asks for an <see cref="ILogger{TCategoryName}"/>.</summary>
public sealed class LogCapture<T> : ILogger<T>
{
    public LogCapture Capture { get; } = new();

    public IReadOnlyList<CapturedLogLine> Lines => Capture.Lines;

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Capture.Log(logLevel, eventId, state, exception, formatter);
}
