using Prometheus;
using SerSync.Pipeline;

namespace SerSync.Daemon.Operations;

public sealed partial class MetricsExporter
{
    private readonly Gauge _held;
    private readonly Counter _holds;

    // Per root: the last pipeline's reading of its hold counter, and what earlier pipelines counted.
    private readonly Dictionary<string, (long Last, long Base)> _holdCounts = new(StringComparer.Ordinal);

    private void UpdateGuard(RootSnapshot root, bool live)
    {
        if (root.Guard is not { } g)
        {
            return;
        }

        _held.WithLabels(root.Path).Set(live ? g.Held : 0);
        var (last, counted) = _holdCounts.GetValueOrDefault(root.Path);
        if (g.Holds < last)
        {
            counted += last; // a new pipeline counts from 0 again
        }

        _holdCounts[root.Path] = (g.Holds, counted);
        _holds.WithLabels(root.Path).IncTo(counted + g.Holds);
    }
}
