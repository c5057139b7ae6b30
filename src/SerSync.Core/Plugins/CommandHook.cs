// Implementation notes. sersync ran system("PREFIX PATH SUFFIX"): a shell parsed the file name, so a name holding
// `$(...)` ran it. Here there is no shell: argv is the prefix's words, the absolute path's bytes as one item, the
// suffix's words (CommandRunner: posix_spawn, its own process group). The program (prefix[0]) is looked up in PATH
// once, at construction, like execvp; when it is not found, each delivery looks again, so installing it later works
// without a restart.
//
// Per-path form: a lane per distinct path, so runs for one path keep their order and never overlap; lanes run up to
// Concurrency at a time. A failed run fails the rest of its lane too (they are retried after it, in order). Batch
// form: one run per (event, isDir) group, in the order the groups first appear, one after another.
//
// The fail log needs each failed run's exit status after DeliverAsync returned: the last delivery's outcomes are kept
// by (path, event) until the next delivery (the hook worker calls WriteFailLog between the two, never concurrently).
using System.Text;
using Microsoft.Extensions.Logging;
using SerSync.Configuration;
using SerSync.FailLog;
using SerSync.Interop;
using SerSync.Paths;
using SerSync.Processes;

namespace SerSync.Plugins;

/// <summary>sersync's command plugin, without a shell: runs <c>PREFIX... ABSOLUTE-PATH SUFFIX...</c> per changed path,
/// or <c>PREFIX... SUFFIX...</c> per batch with the paths NUL-separated on stdin, with <c>SERSYNC_EVENT</c>,
/// <c>SERSYNC_ROOT</c> and <c>SERSYNC_ISDIR</c> in its environment and the watched root as its working directory.</summary>
public sealed partial class CommandHook : IHookPlugin
{
    private readonly CommandPluginConfig _config;
    private readonly ILogger _logger;
    private readonly CommandRunner _runner;
    private readonly string _programName;
    private readonly Dictionary<(RelativePath Path, ChangeEvent Event), (int ExitCode, string Meaning)> _lastFailures = [];
    private string? _program;

    public CommandHook(CommandPluginConfig config, ILogger logger, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.Prefix.Count == 0 || config.Prefix[0].Length == 0)
        {
            throw new ArgumentException("the command plugin needs a program: param@prefix is empty", nameof(config));
        }

        _config = config;
        _logger = logger;
        _runner = new CommandRunner(time);
        _programName = config.Prefix[0];
        _program = FindProgram();
        if (_program is null)
        {
            ProgramNotFound(_logger, _programName);
        }

        if (Environment.ProcessId == 1)
        {
            RunningAsPidOne(_logger);
        }

        if (config.ExecutesChangedFile)
        {
            ExecutesChangedFile(_logger, string.Join(' ', config.Prefix));
        }
    }

    public string Name => "command";

    /// <summary><c>command PROGRAM</c>, as configured: no arguments (they could hold secrets).</summary>
    public string Label => $"command {_programName}";

    /// <summary>The per-path form runs one process per path, so a batch of it stays small; the batch form passes the
    /// list on stdin.</summary>
    public int MaxBatch => _config.Batch ? 1000 : 100;

    public async Task<HookOutcome> DeliverAsync(HookBatch batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        _lastFailures.Clear();
        var matched = batch.Changes.Where(Matches).ToList();
        if (matched.Count == 0)
        {
            return HookOutcome.Delivered;
        }

        _program ??= FindProgram();
        var runs = BuildRuns(batch.Root, matched);
        var failed = new HashSet<HookChange>(ReferenceEqualityComparer.Instance);
        int? firstExit = null;
        var firstMessage = string.Empty;
        var gate = new Lock();

        void Record(Run run, CommandResult result, IEnumerable<HookChange> alsoFailed)
        {
            var meaning = result.Describe(_config.Timeout);
            lock (gate)
            {
                foreach (var c in run.Changes.Concat(alsoFailed))
                {
                    failed.Add(c);
                    _lastFailures[(c.Path, c.Event)] = (result.ExitCode, meaning);
                }

                if (firstExit is null)
                {
                    firstExit = result.ExitCode;
                    firstMessage = $"{Label} for {run.What}: {meaning}";
                }
            }
        }

        if (_config.Batch)
        {
            foreach (var run in runs)
            {
                var result = await RunAsync(run, cancellationToken);
                if (!result.Succeeded && !_config.IgnoreError)
                {
                    Record(run, result, []);
                }
            }
        }
        else
        {
            var lanes = runs.GroupBy(r => r.Changes[0].Path).Select(g => g.ToList()).ToList();
            var options = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, _config.Concurrency), CancellationToken = cancellationToken };
            await Parallel.ForEachAsync(lanes, options, async (lane, token) =>
            {
                for (var i = 0; i < lane.Count; i++)
                {
                    var result = await RunAsync(lane[i], token);
                    if (!result.Succeeded && !_config.IgnoreError)
                    {
                        Record(lane[i], result, lane.Skip(i + 1).SelectMany(r => r.Changes));
                        return;
                    }
                }
            });
        }

        cancellationToken.ThrowIfCancellationRequested();
        if (failed.Count == 0)
        {
            return HookOutcome.Delivered;
        }

        var failedInOrder = batch.Changes.Where(failed.Contains).ToList();
        var runsFailed = runs.Count(r => r.Changes.Any(failed.Contains));
        var message = runsFailed == 1 ? firstMessage : $"{firstMessage} (and {runsFailed - 1} more runs failed)";
        return new HookOutcome(failedInOrder, message, firstExit);
    }

    /// <summary>One entry per failed run: its working directory, environment, argv and stdin, quoted for /bin/sh.</summary>
    public void WriteFailLog(FailLogWriter failLog, HookBatch failed, HookOutcome outcome, DateTimeOffset failedAt)
    {
        ArgumentNullException.ThrowIfNull(failLog);
        ArgumentNullException.ThrowIfNull(failed);
        ArgumentNullException.ThrowIfNull(outcome);
        foreach (var run in BuildRuns(failed.Root, failed.Changes.Where(Matches).ToList()))
        {
            var first = run.Changes[0];
            var (exitCode, meaning) = _lastFailures.TryGetValue((first.Path, first.Event), out var known)
                ? known
                : (outcome.ExitCode ?? -1, outcome.Message);
            failLog.AppendCommand(exitCode, run.Invocation, Label, $"{meaning} ({run.What})", failedAt, retriedBySersyncd: true);
        }
    }

    private string? FindProgram() => NativeChild.FindProgram(_programName, Environment.GetEnvironmentVariable("PATH"));

    /// <summary>sersync's include filter: a regex (anchored by the loader) on the absolute path, decoded as UTF-8 with
    /// bad bytes replaced (for matching only).</summary>
    private bool Matches(HookChange change) =>
        _config.Includes is not { } includes || includes.Any(r => r.IsMatch(Encoding.UTF8.GetString(change.AbsolutePath)));

    private async Task<CommandResult> RunAsync(Run run, CancellationToken cancellationToken)
    {
        CommandResult result;
        if (_program is null)
        {
            result = new CommandResult(-1, string.Empty, TimeSpan.Zero, false, false, $"cannot start {_programName}: not found in PATH");
        }
        else
        {
            result = await _runner.RunAsync(run.Invocation, _config.Timeout, cancellationToken);
        }

        if (cancellationToken.IsCancellationRequested)
        {
            return result;
        }

        if (result.Succeeded)
        {
            RunSucceeded(_logger, Label, run.What, result.Duration.TotalSeconds);
        }
        else if (result.StatusLost)
        {
            // It ran; retrying would only lose the status again (every run does, in that setting), so it counts
            // as delivered.
            StatusLost(_logger, Label, run.What);
            return result with { ExitCode = 0 };
        }
        else if (_config.IgnoreError)
        {
            RunFailedIgnored(_logger, Label, run.What, result.Describe(_config.Timeout), result.Output);
        }
        else
        {
            RunFailed(_logger, Label, run.What, result.Describe(_config.Timeout), result.Output);
        }

        return result;
    }

    private List<Run> BuildRuns(string root, IReadOnlyList<HookChange> changes)
    {
        var rootBytes = FileSystemBytes.RootBytes(root);
        var runs = new List<Run>();
        if (_config.Batch)
        {
            foreach (var group in changes.GroupBy(c => (c.EventName, c.IsDirectory)))
            {
                var list = group.ToList();
                using var stdin = new MemoryStream();
                foreach (var c in list)
                {
                    stdin.Write(c.AbsolutePath);
                    stdin.WriteByte(0);
                }

                var argv = Words(_config.Prefix).Concat(Words(_config.Suffix)).ToList();
                var what = $"{list.Count} {list[0].EventName} path{(list.Count == 1 ? string.Empty : "s")}{(group.Key.IsDirectory ? " (directories)" : string.Empty)}";
                runs.Add(new Run(list, Invocation(rootBytes, list[0], argv, stdin.ToArray()), what));
            }
        }
        else
        {
            foreach (var c in changes)
            {
                var argv = Words(_config.Prefix).Append(c.AbsolutePath).Concat(Words(_config.Suffix)).ToList();
                runs.Add(new Run([c], Invocation(rootBytes, c, argv, null), $"{c.EventName} {new RelativePath(c.AbsolutePath)}"));
            }
        }

        return runs;
    }

    private CommandInvocation Invocation(byte[] rootBytes, HookChange change, List<byte[]> argv, byte[]? stdin)
    {
        List<KeyValuePair<string, byte[]>> environment =
        [
            new("SERSYNC_EVENT", Encoding.ASCII.GetBytes(change.EventName)),
            new("SERSYNC_ROOT", rootBytes),
            new("SERSYNC_ISDIR", change.IsDirectory ? "1"u8.ToArray() : "0"u8.ToArray()),
        ];
        var program = Encoding.UTF8.GetBytes(_program ?? _programName);
        return new CommandInvocation(program, argv, environment, rootBytes, stdin);
    }

    private static IEnumerable<byte[]> Words(IReadOnlyList<string> words) => words.Select(Encoding.UTF8.GetBytes);

    /// <param name="What">The run in words for the log: <c>create /root/a</c>, <c>3 delete paths</c>.</param>
    private sealed record Run(IReadOnlyList<HookChange> Changes, CommandInvocation Invocation, string What);
}
