namespace SerSync.Testing;

/// <summary>
/// Polls a condition until it holds or a deadline passes. This is the only place tests wait for something to happen;
/// the short delay between polls is bounded by the deadline, so a test never sleeps blindly.
/// </summary>
public static class Eventually
{
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);

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
        ArgumentNullException.ThrowIfNull(condition);
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (await condition())
            {
                return;
            }

            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                Assert.Fail($"condition still false after {timeout.TotalSeconds:0.###} s: {because}");
            }

            await Task.Delay(left < PollInterval ? left : PollInterval, cancellationToken);
        }
    }
}
