using Microsoft.Extensions.Logging.Abstractions;
using SerSync.Configuration;
using SerSync.Pipeline;
using SerSync.Processes;
using SerSync.Rsync;

namespace SerSync.Daemon.Operations;

/// <summary>
/// <c>sersyncd verify -o FILE [--checksum] [--target NAME]</c>: the drift audit of every target (or one), printed per
/// target. Only reads: it takes neither the daemon's PID file nor its state, so it runs whether the daemon does or
/// not. Exit status: 0 every audited target matches, 1 something differs, 2 a target could not be checked (that
/// wins over 1: the picture is incomplete), 64 no target is called NAME.
/// </summary>
public static class VerifyCommand
{
    /// <summary>rsync output lines shown for a target that could not be checked.</summary>
    private const int OutputLinesShown = 5;

    public static async Task<int> RunAsync(SerSyncConfig config, CommandLine cl, TextWriter stdout, TextWriter stderr, IProcessRunner? runner = null)
    {
        var all = SyncTarget.FromConfig(config);
        var targets = Select(all, cl.TargetName);
        if (targets.Count == 0)
        {
            var choices = all.Count == 0 ? "the configuration has no targets" : "the targets are " + string.Join(", ", all.Select(t => t.Label).Distinct(StringComparer.Ordinal));
            await stderr.WriteLineAsync(cl.TargetName is null
                ? $"sersyncd: verify: {config.SourceFile}: no targets to verify"
                : $"sersyncd: verify: no target is called '{cl.TargetName}'; {choices}");
            return cl.TargetName is null ? ExitCodes.Ok : ExitCodes.Usage;
        }

        using var cancel = new CancellationTokenSource();
        void OnCancel(object? sender, ConsoleCancelEventArgs e)
        {
            e.Cancel = true; // stop the dry runs (their process trees are killed), then report
            cancel.Cancel();
        }

        Console.CancelKeyPress += OnCancel;
        try
        {
            var filter = PipelineFactory.CreateFilter(config);
            var audit = new DriftAudit(runner ?? new ProcessRunner(NullLogger.Instance), TimeProvider.System, NullLogger.Instance);
            using var slots = new SemaphoreSlim(cl.Workers);
            var reports = await Task.WhenAll(targets.Select(async t =>
            {
                await slots.WaitAsync(cancel.Token);
                try
                {
                    return await audit.RunAsync(t, filter, cl.Checksum, cancel.Token);
                }
                finally
                {
                    slots.Release();
                }
            }));

            foreach (var report in reports)
            {
                await stdout.WriteAsync(Format(report));
            }

            await stdout.FlushAsync(CancellationToken.None);
            return reports.Any(r => !r.Succeeded) ? ExitCodes.TargetNotChecked : reports.Any(r => r.Entries.Count > 0) ? ExitCodes.Drift : ExitCodes.Ok;
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            await stderr.WriteLineAsync("sersyncd: verify: interrupted");
            return ExitCodes.TargetNotChecked;
        }
        finally
        {
            Console.CancelKeyPress -= OnCancel;
        }
    }

    /// <summary>
    /// The targets <paramref name="name"/> selects: those whose label (as in the log: <c>ip::module</c>, <c>ip:dir</c>,
    /// or a local target's path, with or without a trailing '/') is <paramref name="name"/>; every target when null.
    /// One label under two roots selects both.
    /// </summary>
    public static List<SyncTarget> Select(IReadOnlyList<SyncTarget> targets, string? name)
    {
        if (name is null)
        {
            return [.. targets];
        }

        return [.. targets.Where(t => t.Label == name
            || (t.Remote.Kind == RemoteKind.LocalDirectory && t.Label.TrimEnd('/') == name.TrimEnd('/') && name.TrimEnd('/').Length > 0))];
    }

    private static string Printable(string text) =>
        string.Concat(text.Select(c => char.IsControl(c) ? $"\\x{(int)c:x2}" : c.ToString()));

    /// <summary>One target's part of the output: a header line, then one line per path (names escaped as in the log).</summary>
    public static string Format(DriftReport report)
    {
        var sb = new System.Text.StringBuilder();
        var head = $"{report.Target.WatchRoot} -> {report.Target.Label}";
        var notes = new List<string>();
        if (report.Checksum)
        {
            notes.Add("contents compared");
        }

        if (!report.DeletesChecked)
        {
            notes.Add("delete is off: paths only on the target are not checked");
        }

        var note = notes.Count == 0 ? string.Empty : $" ({string.Join("; ", notes)})";
        if (report.Failure is { } failure)
        {
            sb.Append($"{head}: not checked: rsync exit {failure.ExitCode} ({failure.Meaning}){(failure.TimedOut ? " after its time bound" : string.Empty)}\n");
            foreach (var line in failure.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).TakeLast(OutputLinesShown))
            {
                sb.Append("  rsync: ").Append(Printable(line)).Append('\n');
            }

            if (report.Entries.Count == 0)
            {
                return sb.ToString();
            }
        }
        else if (report.Entries.Count == 0)
        {
            return sb.Append($"{head}: in sync{note}\n").ToString();
        }
        else
        {
            sb.Append($"{head}: {report.Entries.Count} difference{(report.Entries.Count == 1 ? string.Empty : "s")}{note}\n");
        }

        foreach (var entry in report.Entries)
        {
            var kind = DriftEntry.Describe(entry.Kind);
            if (entry.Kind == DriftKind.Differs)
            {
                kind += $" ({entry.Detail})";
            }

            var path = entry.Path.IsRoot ? "./" : entry.Path + (entry.IsDirectory ? "/" : string.Empty);
            sb.Append("  ").Append(kind).Append(": ").Append(path).Append('\n');
        }

        return sb.ToString();
    }
}
