using Microsoft.Extensions.Logging;
using SerSync.Paths;
using SerSync.Rsync;
using SerSync.Scheduling;

namespace SerSync.Pipeline;

/// <summary>The scheduled drift audit's part of the pipeline: its schedule, its results, and the way its repairs in.</summary>
public sealed partial class MirrorPipeline
{
    private readonly AuditResults _audits = new();

    /// <summary>What the last scheduled audit found, per target (empty until one has run, or without <c>&lt;audit&gt;</c>).</summary>
    public AuditResults Audits => _audits;

    /// <summary>
    /// Queues changes on a watched root as if the watcher had seen them: written to the root's channel, so the
    /// dispatcher journals them and hands them to every target of the root (never a full push). The audit's repairs
    /// come this way, as <see cref="ChangeEvent.Recheck"/> so plugins do not fire. Returns how many were queued (0
    /// once the pipeline stops, or for a root that is not this pipeline's).
    /// </summary>
    public int QueueRepairs(string root, IReadOnlyList<FileChange> changes)
    {
        ArgumentNullException.ThrowIfNull(changes);
        var writer = _roots.FirstOrDefault(r => r.Watch.Path == root)?.Channel.Writer;
        if (writer is null)
        {
            return 0;
        }

        var queued = 0;
        foreach (var change in changes)
        {
            if (!writer.TryWrite(change))
            {
                break; // completed: the pipeline is stopping
            }

            queued++;
        }

        return queued;
    }

    private void StartAudit(CancellationToken token)
    {
        if (!_config.Audit.Enabled)
        {
            return;
        }

        var audit = new AuditScheduler(
            _config.Audit,
            () => [.. _workers.Select(w => w.Target)],
            _filter,
            new DriftAudit(_runner, _time, _loggers.CreateLogger<DriftAudit>()),
            async (t, ct) => await WorkerOf(t).HoldAsync(ct),
            (t, changes) => QueueRepairs(t.WatchRoot, changes),
            _audits,
            _time,
            _loggers.CreateLogger<AuditScheduler>(),
            _slots,
            (t, path) => WorkerOf(t).IsPending(path));
        _schedules.Add(audit.RunAsync(token));
    }
}
