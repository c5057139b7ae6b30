using SerSync.Targets;

namespace SerSync.Daemon.Operations;

/// <summary>When the daemon counts as healthy (<c>/healthz</c>): every target in sync, syncing, or retrying for less
/// than <c>unhealthyAfter</c>, and the daemon running (not starting or stopping). A failed target (auth, module,
/// options) is unhealthy at once: waiting does not fix it.</summary>
public static class HealthRules
{
    /// <returns>Null when healthy, else the reasons, one per target or phase, for the 503 body.</returns>
    public static IReadOnlyList<string>? Problems(DaemonStatus status, TimeSpan unhealthyAfter)
    {
        var problems = new List<string>();
        if (status.Phase is DaemonPhase.Starting or DaemonPhase.Stopping || status.Pipeline is null)
        {
            problems.Add($"daemon {StatusJson.PhaseName(status.Phase)}");
        }

        var now = status.Pipeline?.At ?? DateTimeOffset.UtcNow;
        foreach (var root in status.Pipeline?.Roots ?? [])
        {
            foreach (var t in root.Targets)
            {
                var since = t.FailingSince is { } f ? now - f : TimeSpan.Zero;
                var error = t.LastError is { } e ? $" (exit {e.ExitCode}: {e.Message})" : "";
                if (t.State == ReportedState.Failed)
                {
                    problems.Add($"{root.Path} -> {t.Label}: failed for {since.TotalSeconds:F0} s{error}");
                }
                else if (t.State == ReportedState.Retrying && since >= unhealthyAfter)
                {
                    problems.Add($"{root.Path} -> {t.Label}: retrying for {since.TotalSeconds:F0} s, more than {unhealthyAfter.TotalSeconds:F0} s{error}");
                }
            }
        }

        return problems.Count == 0 ? null : problems;
    }
}
