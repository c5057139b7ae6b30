using System.Diagnostics;
using System.Xml.Linq;
using SerSync.IntegrationTests.EndToEnd;
using SerSync.Testing;

namespace SerSync.IntegrationTests.Faults;

/// <summary>Reports how long targets took to equal the source after a fault ended (the wait is
/// <see cref="TreeConvergence"/>'s).</summary>
public static class TargetConvergence
{
    /// <summary>
    /// Waits until every target equals <paramref name="source"/> or <paramref name="timeout"/> passes; prints
    /// the time from <paramref name="faultEnded"/> and the differences left per target (changes lost), and fails the
    /// test unless every target has none.
    /// </summary>
    public static async Task<TimeSpan> AssertConvergesAsync(
        string label,
        string source,
        IReadOnlyList<string> targets,
        Stopwatch faultEnded,
        TimeSpan timeout,
        DaemonProcess daemon,
        TreeCompareOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(faultEnded);
        ArgumentNullException.ThrowIfNull(daemon);
        var result = await TreeConvergence.WaitAsync(source, targets, timeout, options, () => daemon.HasExited, faultEnded);
        var lost = result.ChangesLost;
        FaultMeasure.Report($"{label}: converged={lost == 0} {result.Elapsed.TotalSeconds:0.00} s after the fault ended (equal at the start of that comparison, which took {(faultEnded.Elapsed - result.Elapsed).TotalSeconds:0.00} s); changes lost (differences) = {lost}" +
            string.Concat(result.ByTarget.Select(kv => $"\n  {kv.Key}: {kv.Value.Count} difference(s)")));
        if (lost != 0)
        {
            var shown = string.Join("\n  ", result.ByTarget.SelectMany(kv => kv.Value.Take(20).Select(d => $"{kv.Key}: {d}")));
            Assert.Fail($"{label}: {lost} difference(s) left after {timeout.TotalSeconds:0} s:\n  {shown}\n{daemon.Describe()}");
        }

        return result.Elapsed;
    }
}

/// <summary>Config tweaks the <see cref="ConfigBuilder"/> has no setter for.</summary>
public static class ConfigEdits
{
    /// <summary>Writes <paramref name="builder"/>'s config with rsync's <c>&lt;timeout time&gt;</c> set to
    /// <paramref name="seconds"/>.</summary>
    public static string WriteWithTimeout(ConfigBuilder builder, string path, int seconds)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var doc = builder.Build();
        var timeout = doc.Descendants("timeout").Single();
        timeout.SetAttributeValue("start", "true");
        timeout.SetAttributeValue("time", seconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
        File.WriteAllText(path, doc.Declaration + "\n" + doc.Root);
        return path;
    }

    public static XDocument Load(string path) => XDocument.Load(path);
}
