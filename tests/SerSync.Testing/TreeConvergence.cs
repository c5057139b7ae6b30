using System.Diagnostics;

namespace SerSync.Testing;

/// <summary>How long targets took to equal the source, and what still differed when the wait ended.</summary>
public sealed record Convergence(TimeSpan Elapsed, IReadOnlyDictionary<string, IReadOnlyList<string>> ByTarget, bool Abandoned)
{
    public bool Converged => !Abandoned && ByTarget.Values.All(d => d.Count == 0);

    /// <summary>Every difference left, prefixed by its target when there are several.</summary>
    public IReadOnlyList<string> Differences =>
        ByTarget.Count == 1 ? ByTarget.Values.Single() : [.. ByTarget.SelectMany(kv => kv.Value.Select(d => $"{kv.Key}: {d}"))];

    /// <summary>"N change(s) lost": the differences left when the wait ended (0 when converged).</summary>
    public int ChangesLost => ByTarget.Values.Sum(d => d.Count);

    public string Describe(int shown = 20)
    {
        if (Converged)
        {
            return $"converged in {Elapsed.TotalSeconds:0.00} s";
        }

        var differences = Differences;
        var more = differences.Count > shown ? $"\n  ... and {differences.Count - shown} more" : string.Empty;
        var why = Abandoned ? " (the wait was abandoned: the process under test exited)" : string.Empty;
        return $"still {differences.Count} difference(s) after {Elapsed.TotalSeconds:0.0} s{why}:\n  {string.Join("\n  ", differences.Take(shown))}{more}";
    }
}

/// <summary>
/// Waiting for mirrored trees to converge: <see cref="TreeComparer.CompareRetrying"/> polled through
/// <see cref="Eventually.PollAsync{T}"/> until every target equals the source.
/// </summary>
public static class TreeConvergence
{
    /// <summary>Polls until each of <paramref name="targets"/> equals <paramref name="source"/>, <paramref name="abandon"/>
    /// holds (e.g. the daemon exited) or <paramref name="timeout"/> passes; never fails the test itself.
    /// <see cref="Convergence.Elapsed"/> is the time, on <paramref name="clock"/> (default: from this call), at the
    /// start of the last comparison.</summary>
    public static async Task<Convergence> WaitAsync(
        string source,
        IReadOnlyList<string> targets,
        TimeSpan timeout,
        TreeCompareOptions? options = null,
        Func<bool>? abandon = null,
        Stopwatch? clock = null,
        TimeSpan? interval = null)
    {
        ArgumentNullException.ThrowIfNull(targets);
        var polled = await Eventually.PollAsync(
            () => (IReadOnlyDictionary<string, IReadOnlyList<string>>)targets.Distinct(StringComparer.Ordinal)
                .ToDictionary(t => t, t => TreeComparer.CompareRetrying(source, t, options), StringComparer.Ordinal),
            left => left.Values.All(d => d.Count == 0),
            timeout,
            abandon,
            interval,
            clock);
        return new Convergence(polled.Elapsed, polled.Value, polled.Abandoned);
    }

    /// <inheritdoc cref="WaitAsync(string, IReadOnlyList{string}, TimeSpan, TreeCompareOptions?, Func{bool}?, Stopwatch?, TimeSpan?)"/>
    public static Task<Convergence> WaitAsync(
        string source,
        string target,
        TimeSpan timeout,
        TreeCompareOptions? options = null,
        Func<bool>? abandon = null,
        Stopwatch? clock = null,
        TimeSpan? interval = null) =>
        WaitAsync(source, [target], timeout, options, abandon, clock, interval);

    /// <summary>Waits as <see cref="WaitAsync(string, IReadOnlyList{string}, TimeSpan, TreeCompareOptions?, Func{bool}?, Stopwatch?, TimeSpan?)"/>
    /// and fails the test, listing the differences left and <paramref name="diagnostics"/> (the daemon's output),
    /// unless every target converged; an abandoned wait fails even when the trees are equal.</summary>
    public static async Task<Convergence> AssertConvergesAsync(
        string source,
        IReadOnlyList<string> targets,
        TimeSpan timeout,
        TreeCompareOptions? options = null,
        Func<bool>? abandon = null,
        Func<string>? diagnostics = null,
        Stopwatch? clock = null,
        string? label = null)
    {
        var result = await WaitAsync(source, targets, timeout, options, abandon, clock);
        var exited = result.Abandoned || abandon?.Invoke() == true;
        if (!result.Converged || exited)
        {
            var what = label ?? $"{string.Join(", ", targets)} against {source}";
            var how = result.Converged ? "equal, but the process under test exited" : result.Describe(30);
            Assert.Fail($"{what}: {how}" + (diagnostics is null ? string.Empty : "\n" + diagnostics()));
        }

        return result;
    }

    /// <inheritdoc cref="AssertConvergesAsync(string, IReadOnlyList{string}, TimeSpan, TreeCompareOptions?, Func{bool}?, Func{string}?, Stopwatch?, string?)"/>
    public static Task<Convergence> AssertConvergesAsync(
        string source,
        string target,
        TimeSpan timeout,
        TreeCompareOptions? options = null,
        Func<bool>? abandon = null,
        Func<string>? diagnostics = null) =>
        AssertConvergesAsync(source, [target], timeout, options, abandon, diagnostics);
}
