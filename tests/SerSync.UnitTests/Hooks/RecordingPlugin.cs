using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using SerSync.FailLog;
using SerSync.Plugins;

namespace SerSync.UnitTests.Hooks;

/// <summary>A plugin whose deliveries the test answers one by one (or at once, with <see cref="AutoComplete"/>).</summary>
internal sealed class RecordingPlugin(string name = "socket") : IHookPlugin
{
    private readonly Channel<Delivery> _deliveries = Channel.CreateUnbounded<Delivery>();

    public string Name { get; } = name;

    public string Label => "test " + Name;

    public int MaxBatch { get; init; } = 1000;

    /// <summary>When set, every delivery succeeds at once and is still recorded.</summary>
    public bool AutoComplete { get; init; }

    public List<HookBatch> FailLogged { get; } = [];

    public async Task<HookOutcome> DeliverAsync(HookBatch batch, CancellationToken cancellationToken)
    {
        var delivery = new Delivery(batch);
        _deliveries.Writer.TryWrite(delivery);
        if (AutoComplete)
        {
            return HookOutcome.Delivered;
        }

        using var registration = cancellationToken.Register(() => delivery.Fail("stopped"));
        return await delivery.Outcome;
    }

    public void WriteFailLog(FailLogWriter failLog, HookBatch failed, HookOutcome outcome, DateTimeOffset failedAt)
    {
        lock (FailLogged)
        {
            FailLogged.Add(failed);
        }
    }

    public async Task<Delivery> NextAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        return await _deliveries.Reader.ReadAsync(cts.Token);
    }

    public bool TryNext(out Delivery? delivery) => _deliveries.Reader.TryRead(out delivery);

    /// <summary>True when a delivery starts within <paramref name="window"/> of real time (for "nothing happens" checks
    /// after the state that would allow it has been reached).</summary>
    public async Task<bool> AnyWithinAsync(TimeSpan window)
    {
        using var cts = new CancellationTokenSource(window);
        try
        {
            return await _deliveries.Reader.WaitToReadAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public sealed class Delivery(HookBatch batch)
    {
        private readonly TaskCompletionSource<HookOutcome> _outcome = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public HookBatch Batch { get; } = batch;

        public Task<HookOutcome> Outcome => _outcome.Task;

        /// <summary>"path:event:d|f" per change, for short assertions.</summary>
        public string[] Summary => [.. Batch.Changes.Select(c => $"{c.Path}:{c.EventName}:{(c.IsDirectory ? 'd' : 'f')}")];

        public void Succeed() => _outcome.TrySetResult(HookOutcome.Delivered);

        public void Fail(string message) => _outcome.TrySetResult(new HookOutcome(Batch.Changes, message));

        /// <summary>Fails only the changes of the given paths.</summary>
        public void FailOnly(string message, params string[] paths) =>
            _outcome.TrySetResult(new HookOutcome([.. Batch.Changes.Where(c => paths.Contains(c.Path.ToString()))], message, 1));
    }
}

/// <summary>Keeps every log line written through it.</summary>
internal sealed class LogRecorder<T> : ILogger<T>
{
    private readonly List<(LogLevel Level, string Message)> _lines = [];

    public IReadOnlyList<(LogLevel Level, string Message)> Lines
    {
        get
        {
            lock (_lines)
            {
                return [.. _lines];
            }
        }
    }

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (_lines)
        {
            _lines.Add((logLevel, formatter(state, exception)));
        }
    }
}
