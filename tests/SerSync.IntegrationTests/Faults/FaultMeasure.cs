using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using SerSync.IntegrationTests.EndToEnd;
using SerSync.Testing;

namespace SerSync.IntegrationTests.Faults;

/// <summary>How long a target took to equal the source after a fault ended, and what still differed at the end.</summary>
public sealed record Convergence(TimeSpan Elapsed, IReadOnlyList<string> Differences)
{
    public bool Converged => Differences.Count == 0;

    /// <summary>"N change(s) lost": the differences left when the wait ended (0 when converged).</summary>
    public int ChangesLost => Differences.Count;

    public string Describe(int shown = 20)
    {
        if (Converged)
        {
            return $"converged in {Elapsed.TotalSeconds:0.00} s";
        }

        var more = Differences.Count > shown ? $"\n  ... and {Differences.Count - shown} more" : string.Empty;
        return $"still {Differences.Count} difference(s) after {Elapsed.TotalSeconds:0.0} s:\n  {string.Join("\n  ", Differences.Take(shown))}{more}";
    }
}

/// <summary>Measuring fault tests: convergence times, lag statistics, and printing them to the test output.</summary>
public static partial class FaultMeasure
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(25);

    /// <summary>Polls (every 25 ms, bounded by <paramref name="timeout"/>) until <paramref name="destination"/> equals
    /// <paramref name="source"/>; returns the time from the call to the first equal comparison, or the differences
    /// left at the deadline (or when the daemon exited).</summary>
    public static async Task<Convergence> WaitForEqualAsync(string source, string destination, TimeSpan timeout, DaemonProcess daemon)
    {
        ArgumentNullException.ThrowIfNull(daemon);
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var differences = SafeCompare(source, destination);
            if (differences.Count == 0 || clock.Elapsed > timeout || daemon.HasExited)
            {
                return new Convergence(clock.Elapsed, differences);
            }

            await Task.Delay(Poll);
        }
    }

    /// <summary>Writes a line to the test's output (shown with <c>--output detailed</c> and in failure reports).</summary>
    public static void Report(string line)
    {
        TestContext.Current.TestOutputHelper?.WriteLine(line);
    }

    /// <summary>"median X s, p95 Y s, max Z s over N" for a set of durations.</summary>
    public static string Summarize(IReadOnlyCollection<TimeSpan> values)
    {
        if (values.Count == 0)
        {
            return "no samples";
        }

        var sorted = values.Order().ToArray();
        TimeSpan At(double q) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
        return string.Create(
            CultureInfo.InvariantCulture,
            $"median {At(0.5).TotalSeconds:0.000} s, p95 {At(0.95).TotalSeconds:0.000} s, max {sorted[^1].TotalSeconds:0.000} s over {sorted.Length} file(s)");
    }

    /// <summary>The distinct rsync exit codes sersyncd logged ("rsync exit N"), in order of first appearance.</summary>
    public static string ExitCodesLogged(DaemonProcess daemon)
    {
        ArgumentNullException.ThrowIfNull(daemon);
        var codes = RsyncExit().Matches(daemon.StandardError + daemon.StandardOutput).Select(m => m.Groups[1].Value).Distinct().ToList();
        var count = RsyncExit().Count(daemon.StandardError + daemon.StandardOutput);
        return codes.Count == 0 ? "none" : $"{string.Join(", ", codes)} ({count} failed run(s))";
    }

    /// <summary>Runs <paramref name="fileName"/> with <paramref name="arguments"/> (argv, no shell) and throws with
    /// its output unless it exits 0.</summary>
    public static string Must(string fileName, params IReadOnlyList<string> arguments)
    {
        var result = ChildProcess.Run(fileName, arguments, timeout: TimeSpan.FromSeconds(30));
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"{fileName} {string.Join(' ', arguments)}: {result}");
        }

        return result.StandardOutput;
    }

    /// <summary>Runs a cleanup step, keeping the first failure for later instead of skipping the remaining steps.</summary>
    public static void Cleanup(List<Exception> errors, Action step)
    {
        ArgumentNullException.ThrowIfNull(errors);
        ArgumentNullException.ThrowIfNull(step);
        try
        {
            step();
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or TimeoutException or UnauthorizedAccessException)
        {
            errors.Add(e);
        }
    }

    [GeneratedRegex(@"rsync exit (\d+)")]
    private static partial Regex RsyncExit();

    private static IReadOnlyList<string> SafeCompare(string source, string destination)
    {
        try
        {
            return TreeComparer.Compare(source, destination);
        }
        catch (IOException e)
        {
            return [$"comparison raced with a change: {e.Message}"];
        }
    }
}
