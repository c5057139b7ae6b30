namespace SerSync.Targets;

/// <summary>Exponential backoff with jitter for a target that keeps failing; reset by a success.</summary>
public sealed class Backoff(TimeSpan initial, TimeSpan max, Random? random = null)
{
    private readonly Random _random = random ?? Random.Shared;

    public int Failures { get; private set; }

    public void Reset() => Failures = 0;

    public TimeSpan Next()
    {
        Failures++;
        var exp = initial.TotalMilliseconds * Math.Pow(2, Math.Min(Failures - 1, 30));
        var capped = Math.Min(exp, max.TotalMilliseconds);
        var jitter = 0.8 + (_random.NextDouble() * 0.4); // ±20% so many targets do not retry in lockstep
        return TimeSpan.FromMilliseconds(capped * jitter);
    }
}
