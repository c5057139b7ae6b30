using System.Diagnostics;

namespace SerSync.Testing;

/// <summary>What one <see cref="Eventually.PollAsync{T}"/> ended with: the last value probed, whether it was the one
/// waited for, whether the wait was abandoned (the process under test exited, say), and when that last probe
/// started on the wait's clock.</summary>
public readonly record struct Polled<T>(T Value, bool Reached, bool Abandoned, TimeSpan Elapsed);

/// <summary>
/// The one place tests wait for something to happen: a probe polled until it gives the wanted value, an abandon
/// condition holds, or a deadline passes. The short delay between probes is bounded by the deadline, so a test never
/// sleeps blindly. Tree convergence (<see cref="TreeConvergence"/>), daemon readiness and server start-up are all
/// built on it.
/// </summary>
public static class Eventually
{
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// Probes until <paramref name="done"/> accepts the value, <paramref name="abandon"/> holds or
    /// <paramref name="timeout"/> passes. <paramref name="abandon"/> is checked before each probe, so a probe taken
    /// after the abandon condition arose still counts when it gives the wanted value. <paramref name="clock"/>, when
    /// given, is what <see cref="Polled{T}.Elapsed"/> is measured on (e.g. one started when a fault ended).
    /// </summary>
    public static async Task<Polled<T>> PollAsync<T>(
        Func<Task<T>> probe,
        Func<T, bool> done,
        TimeSpan timeout,
        Func<bool>? abandon = null,
        TimeSpan? interval = null,
        Stopwatch? clock = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(probe);
        ArgumentNullException.ThrowIfNull(done);
        var every = interval ?? PollInterval;
        var waited = Stopwatch.StartNew();
        clock ??= waited;
        while (true)
        {
            var abandoned = abandon?.Invoke() == true;
            var at = clock.Elapsed;
            var value = await probe().ConfigureAwait(false);
            if (done(value))
            {
                return new Polled<T>(value, true, false, at);
            }

            var left = timeout - waited.Elapsed;
            if (abandoned || left <= TimeSpan.Zero)
            {
                return new Polled<T>(value, false, abandoned, at);
            }

            await Task.Delay(left < every ? left : every, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc cref="PollAsync{T}(Func{Task{T}}, Func{T, bool}, TimeSpan, Func{bool}?, TimeSpan?, Stopwatch?, CancellationToken)"/>
    public static Task<Polled<T>> PollAsync<T>(
        Func<T> probe,
        Func<T, bool> done,
        TimeSpan timeout,
        Func<bool>? abandon = null,
        TimeSpan? interval = null,
        Stopwatch? clock = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(probe);
        return PollAsync(() => Task.FromResult(probe()), done, timeout, abandon, interval, clock, cancellationToken);
    }

    /// <summary>The blocking form, for synchronous callers (fixture start-up, synchronous tests).</summary>
    public static Polled<T> Poll<T>(Func<T> probe, Func<T, bool> done, TimeSpan timeout, Func<bool>? abandon = null, TimeSpan? interval = null) =>
        PollAsync(probe, done, timeout, abandon, interval).GetAwaiter().GetResult();

    /// <summary>Returns once <paramref name="condition"/> is true; fails the test with <paramref name="because"/>
    /// when it is still false after <paramref name="timeout"/>.</summary>
    public static Task TrueAsync(Func<bool> condition, TimeSpan timeout, string because, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(condition);
        return TrueAsync(() => Task.FromResult(condition()), timeout, because, cancellationToken);
    }

    /// <inheritdoc cref="TrueAsync(Func{bool}, TimeSpan, string, CancellationToken)"/>
    public static async Task TrueAsync(Func<Task<bool>> condition, TimeSpan timeout, string because, CancellationToken cancellationToken = default)
    {
        var polled = await PollAsync(condition, ok => ok, timeout, cancellationToken: cancellationToken);
        if (!polled.Reached)
        {
            Assert.Fail($"condition still false after {timeout.TotalSeconds:0.###} s: {because}");
        }
    }

    /// <summary>The blocking form of <see cref="TrueAsync(Func{bool}, TimeSpan, string, CancellationToken)"/>.</summary>
    public static void True(Func<bool> condition, TimeSpan timeout, string because)
    {
        if (!Poll(condition, ok => ok, timeout).Reached)
        {
            Assert.Fail($"condition still false after {timeout.TotalSeconds:0.###} s: {because}");
        }
    }
}
