using System.Threading.Channels;
using SerSync.Processes;

namespace SerSync.UnitTests.Targets;

/// <summary>
/// An <see cref="IProcessRunner"/> whose runs the test answers one by one: every run is published as a
/// <see cref="Call"/> (what it was given, and the fake time it started at) and lasts until the test completes it,
/// or until the run's token is cancelled (then it ends as a killed run, exit -1, as the real runner reports it).
/// </summary>
internal sealed class ScriptedRunner(TimeProvider time) : IProcessRunner
{
    private readonly Channel<Call> _calls = Channel.CreateUnbounded<Call>();
    private int _running;
    private int _maxRunning;
    private int _count;

    public string Program => "rsync";

    /// <summary>The most runs that were in progress at once.</summary>
    public int MaxConcurrent => Volatile.Read(ref _maxRunning);

    public int Count => Volatile.Read(ref _count);

    public async Task<ProcessResult> RunAsync(ProcessInvocation invocation, TimeSpan lifetime, CancellationToken cancellationToken, Action<string>? stdoutLine = null)
    {
        var running = Interlocked.Increment(ref _running);
        InterlockedMax(ref _maxRunning, running);
        Interlocked.Increment(ref _count);
        var call = new Call(invocation, time.GetUtcNow(), stdoutLine);
        _calls.Writer.TryWrite(call);
        try
        {
            using var registration = cancellationToken.Register(() => call.Complete(-1, "killed"));
            return await call.Result;
        }
        finally
        {
            Interlocked.Decrement(ref _running);
        }
    }

    /// <summary>The next run the worker starts, waiting at most <paramref name="timeout"/> of real time.</summary>
    public async Task<Call> NextAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        try
        {
            return await _calls.Reader.ReadAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException("the worker started no rsync run in time");
        }
    }

    /// <summary>The next run if one starts within <paramref name="window"/> of real time, else null.</summary>
    public async Task<Call?> NextOrNullAsync(TimeSpan window)
    {
        using var cts = new CancellationTokenSource(window);
        try
        {
            return await _calls.Reader.ReadAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>True when a run started within <paramref name="window"/> of real time (for "nothing runs" checks,
    /// which can only ever miss a defect on a very slow machine, never fail a correct worker).</summary>
    public async Task<bool> AnyWithinAsync(TimeSpan window)
    {
        using var cts = new CancellationTokenSource(window);
        try
        {
            return await _calls.Reader.WaitToReadAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private static void InterlockedMax(ref int target, int value)
    {
        for (var seen = Volatile.Read(ref target); value > seen; seen = Volatile.Read(ref target))
        {
            if (Interlocked.CompareExchange(ref target, value, seen) == seen)
            {
                return;
            }
        }
    }

    internal sealed class Call(ProcessInvocation invocation, DateTimeOffset startedAt, Action<string>? stdoutLine = null)
    {
        private readonly TaskCompletionSource<ProcessResult> _result = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ProcessInvocation Invocation { get; } = invocation;

        public DateTimeOffset StartedAt { get; } = startedAt;

        /// <summary>The stdin list as text, NULs shown as '|'.</summary>
        public string List => System.Text.Encoding.UTF8.GetString(Invocation.Stdin ?? []).Replace('\0', '|');

        public Task<ProcessResult> Result => _result.Task;

        public void Complete(int exitCode, string output = "") => _result.TrySetResult(new ProcessResult(exitCode, output, TimeSpan.FromMilliseconds(1), false));

        /// <summary>Ends the run as rsync would after printing <paramref name="stdout"/> (its --stats lines, say).</summary>
        public void Complete(int exitCode, IEnumerable<string> stdout, TimeSpan duration)
        {
            foreach (var line in stdout)
            {
                stdoutLine?.Invoke(line);
            }

            _result.TrySetResult(new ProcessResult(exitCode, "", duration, false));
        }
    }
}
