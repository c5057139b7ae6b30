using System.Globalization;
using System.Text.RegularExpressions;
using SerSync.IntegrationTests.EndToEnd;
using SerSync.Testing;

namespace SerSync.IntegrationTests.Faults;

/// <summary>Measuring fault tests: convergence times, lag statistics, and printing them to the test output.</summary>
public static partial class FaultMeasure
{
    /// <summary>Fine enough to measure convergence times to a few tens of milliseconds.</summary>
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(25);

    /// <summary>Polls (every 25 ms, bounded by <paramref name="timeout"/>) until <paramref name="destination"/> equals
    /// <paramref name="source"/>; returns the time from the call to the first equal comparison, or the differences
    /// left at the deadline (or when the daemon exited).</summary>
    public static Task<Convergence> WaitForEqualAsync(string source, string destination, TimeSpan timeout, DaemonProcess daemon)
    {
        ArgumentNullException.ThrowIfNull(daemon);
        return TreeConvergence.WaitAsync(source, destination, timeout, abandon: () => daemon.HasExited, interval: Poll);
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
}
