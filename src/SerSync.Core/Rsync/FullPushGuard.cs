// Implementation notes. Before a full push that deletes, one dry run of that very push (same argv, so the same
// filter, noise excludes and exclude list on stdin) with -ii lists every entry of the source and every deletion:
// -ii prints unchanged entries too, so "files the target holds" is counted without a listing of the target itself:
// the files the dry run lists that are not new on the target ('+' in %i) plus the files it would delete (rsync
// prints each file inside a deleted directory on its own "*deleting" line). The source is empty when nothing but the
// transfer root "./" is listed. When the share fails or the push would empty the target, the push runs without
// --delete: everything else is still sent. The same dry run also yields the target-only paths the config's filter
// excludes (TargetSideExclusions' job), so a guarded push costs one dry run, not two.
// The source may lose more between the dry run and the push (an unmount in that second): the push the dry run let
// delete carries --max-delete=N, N the "*deleting" lines it judged. rsync counts every entry it removes against the
// limit, directories included (exactly the "*deleting" lines, checked with rsync 3.5), stops deleting there and exits
// 25; that push is a failure, retried, and its retry judges again. Pushed to an rsync daemon the receiver's warning
// ("Deletions stopped due to --max-delete limit") reaches the client but its exit code does not (exit 0, rsync 3.5):
// the warning stands for the code. N = 0 pushes without deleting instead of with --max-delete=0, which rsync before
// 3.1 (an old receiver) reads as no limit at all. A config's own --max-delete at or under N is left to act alone.
using System.Globalization;
using Microsoft.Extensions.Logging;
using SerSync.Configuration;
using SerSync.Paths;
using SerSync.Processes;

namespace SerSync.Rsync;

/// <summary>What a full push's dry run found: files the target holds, files the push would delete, whether the
/// source is empty, and the target-only paths the filter excludes (to be protected from <c>--delete</c>).</summary>
public sealed record FullPushCensus(long Held, long Deletes, bool SourceEmpty, IReadOnlyList<RelativePath> ExcludedOnTarget)
{
    /// <summary>Every entry the push would delete, directories included (what rsync's <c>--max-delete</c> counts); a
    /// protected path is not one, but what lies below a protected directory may be (the limit errs on the high side).</summary>
    public long DeleteEntries { get; init; }

    /// <summary>Counts one dry run's output lines (<see cref="ItemizedChangeParser.Prefix"/> lines; the rest are
    /// ignored).</summary>
    public static FullPushCensus Count(IEnumerable<string> lines, Func<RelativePath, bool, bool>? isExcluded)
    {
        ArgumentNullException.ThrowIfNull(lines);
        var counter = new Counter(isExcluded);
        foreach (var line in lines)
        {
            counter.Add(line);
        }

        return counter.Result();
    }

    /// <summary>Whether the guard holds the push's deletes: the share fails, or the source is empty while the target
    /// holds files (a root unmounted or replaced by an empty directory).</summary>
    public bool MustHold(DeleteGuardConfig guard)
    {
        ArgumentNullException.ThrowIfNull(guard);
        return guard.Enabled && Deletes > 0 && (!guard.AllowsShare(Deletes, Held) || SourceEmpty);
    }

    /// <summary>Counts lines as they arrive (rsync's stdout callback).</summary>
    internal sealed class Counter(Func<RelativePath, bool, bool>? isExcluded)
    {
        private readonly List<RelativePath> _excluded = [];
        private long _held;
        private long _deletes;
        private long _deleteEntries;
        private long _sourceEntries;

        public void Add(string line)
        {
            if (ItemizedChangeParser.IsUnchanged(line, out var unchangedDir))
            {
                if (!unchangedDir)
                {
                    _held++;
                }

                if (!IsTransferRoot(line))
                {
                    _sourceEntries++;
                }

                return;
            }

            if (ItemizedChangeParser.Parse(line) is not { } entry)
            {
                return;
            }

            if (entry.Kind == DriftKind.OnlyOnTarget)
            {
                if (isExcluded is not null && isExcluded(entry.Path, entry.IsDirectory))
                {
                    _excluded.Add(entry.Path); // protected: neither deleted nor counted
                    return;
                }

                _deleteEntries++;
                if (!entry.IsDirectory)
                {
                    _held++;
                    _deletes++;
                }

                return;
            }

            if (!entry.Path.IsRoot)
            {
                _sourceEntries++;
            }

            if (entry.Kind == DriftKind.Differs && !entry.IsDirectory)
            {
                _held++;
            }
        }

        public FullPushCensus Result() => new(_held, _deletes, _sourceEntries == 0, _excluded) { DeleteEntries = _deleteEntries };

        private static bool IsTransferRoot(string line) => line.EndsWith(" ./", StringComparison.Ordinal) && line.Length == ItemizedChangeParser.Prefix.Length + 12 + 2;
    }
}

/// <summary>The full-push deletes the guard holds for one target: durable until a full push under the share clears
/// them, or the operator releases (the next full push deletes once) or keeps them (forgotten, the target keeps the
/// files).</summary>
/// <param name="Held">The files the target held when the deletes were last held.</param>
/// <param name="Since">When they were first held.</param>
/// <param name="ReleaseOnce">The operator released them: the next full push runs with <c>--delete</c> unchecked but
/// for <c>--max-delete=</c><see cref="Entries"/>.</param>
public sealed record FullPushHold(long Deletes, long Held, DateTimeOffset Since, DateTimeOffset At, bool ReleaseOnce)
{
    /// <summary>The entries (directories included) the held push would have deleted: a released push deletes at most
    /// these. A state file written before it was kept has none: then <see cref="Deletes"/>.</summary>
    public long Entries { get; init; } = Deletes;
}

/// <summary>
/// The delete guard on one target's full pushes (<c>-r</c>, a first start, crontab, after an overflow, a full sync the
/// journal asked for): a dry run counts what the push would delete; past the root's share, or when it would empty the
/// target, the push runs without <c>--delete</c> and the deletes are held (a file in the root's state directory, a
/// critical log line, status).
/// </summary>
public sealed partial class FullPushGuard
{
    private readonly Lock _gate = new();
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private FullPushHold? _hold;

    /// <param name="stateFile">Where the hold is kept; null keeps it in memory only (no state directory).</param>
    public FullPushGuard(SyncTarget target, DeleteGuardConfig config, string? stateFile, TimeProvider time, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(target);
        Target = target;
        Config = config;
        StateFile = stateFile;
        _time = time;
        _logger = logger;
        _hold = stateFile is null ? null : Read(stateFile);
    }

    public SyncTarget Target { get; }

    public DeleteGuardConfig Config { get; }

    public string? StateFile { get; }

    /// <summary>A test seam: awaited between the dry run and the push it judged (to change the source in between).</summary>
    internal Func<FullPushCensus, Task>? AfterDryRun { get; set; }

    /// <summary>The file a target's hold is kept in, in its root's state directory.</summary>
    public static string StateFileFor(string stateDirectory, SyncTarget target)
    {
        ArgumentNullException.ThrowIfNull(target);
        return Path.Combine(stateDirectory, StableId.Of(target.WatchRoot), "held-full-push-" + target.Id);
    }

    /// <summary>The deletes held now; null when none.</summary>
    public FullPushHold? Current
    {
        get
        {
            lock (_gate)
            {
                return _hold;
            }
        }
    }

    /// <summary>The operator's word on the held deletes: <paramref name="keep"/> forgets them (the target keeps the
    /// files); otherwise the next full push deletes once. Returns the hold it acted on, or null when none was held.</summary>
    public FullPushHold? Release(bool keep)
    {
        FullPushHold? was;
        lock (_gate)
        {
            was = _hold;
            if (was is null)
            {
                return null;
            }

            _hold = keep ? null : was with { ReleaseOnce = true };
            Persist(_hold);
        }

        if (keep)
        {
            HoldKept(_logger, Target.Label, was.Deletes);
        }
        else
        {
            HoldReleased(_logger, Target.Label, was.Deletes);
        }

        return was;
    }

    /// <summary>
    /// Runs one full push of this target under the guard. A push without <c>--delete</c> (delete="false") or with the
    /// guard off runs as it is, with <paramref name="unguarded"/> (which protects the filter's target-only paths).
    /// Returns the invocation run and its result, or the dry run's failure.
    /// </summary>
    public async Task<(ProcessInvocation Invocation, ProcessResult Result)> RunAsync(
        IProcessRunner runner,
        ProcessInvocation invocation,
        Func<RelativePath, bool, bool>? isExcluded,
        TimeSpan lifetime,
        Func<ProcessInvocation, Task<(ProcessInvocation, ProcessResult)>> unguarded,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(runner);
        ArgumentNullException.ThrowIfNull(invocation);
        ArgumentNullException.ThrowIfNull(unguarded);
        if (!Config.Enabled || !Deletes(invocation.Arguments))
        {
            return await unguarded(invocation);
        }

        var counter = new FullPushCensus.Counter(isExcluded);
        var probe = invocation with { Arguments = DryRunArguments(invocation.Arguments) };
        var started = _time.GetTimestamp();
        var dry = await runner.RunAsync(probe, lifetime, cancellationToken, counter.Add);
        if (dry.ExitCode is not (0 or 24))
        {
            return (invocation, dry);
        }

        var census = counter.Result();
        DryRunCounted(_logger, Target.Label, census.Held, census.Deletes, census.SourceEmpty, _time.GetElapsedTime(started).TotalSeconds);
        if (census.ExcludedOnTarget.Count > 0)
        {
            invocation = invocation with { Stdin = [.. invocation.Stdin ?? [], .. ExcludeList.Encode(census.ExcludedOnTarget)] };
        }

        if (Current is { ReleaseOnce: true } released)
        {
            // The operator allowed these deletes: this one push deletes unjudged, at most as many as were held (what
            // status showed), then the hold is gone. More gone since: rsync stops at the count and the push judges
            // again. (The dry run still ran: it finds the filter's target-only paths, and a probe carrying the limit
            // would count those among its deletes.)
            var limited = Limit(invocation, released.Entries, out var spent);
            var pushed = await runner.RunAsync(limited, lifetime, cancellationToken);
            pushed = spent ? LimitReported(pushed) : pushed;
            if (pushed.Succeeded)
            {
                Clear(released, "released by the operator");
            }
            else if (pushed.ExitCode == RsyncExitCodes.MaxDeleteReached)
            {
                ReleaseSpent(released);
            }

            return (limited, pushed);
        }

        if (AfterDryRun is { } between)
        {
            await between(census);
        }

        if (!census.MustHold(Config))
        {
            invocation = Limit(invocation, census.DeleteEntries, out var ours);
            var result = await runner.RunAsync(invocation, lifetime, cancellationToken);
            result = ours ? LimitReported(result) : result;
            if (ours && result.ExitCode == RsyncExitCodes.MaxDeleteReached)
            {
                DeleteLimitReached(_logger, Target.Label, census.DeleteEntries);
            }

            if (result.Succeeded && Current is { } previous)
            {
                Clear(previous, "the source came back: this push's deletes are under the share");
            }

            return (invocation, result);
        }

        var withoutDelete = invocation with { Arguments = WithoutDelete(invocation.Arguments) };
        var held = Hold(census);
        var percent = census.Held == 0 ? 100 : census.Deletes * 100.0 / census.Held;
        HeldDeletes(
            _logger,
            Target.Label,
            census.Deletes,
            census.Held,
            percent,
            census.SourceEmpty ? "the source is empty" : string.Create(CultureInfo.InvariantCulture, $"over the {Config.Percent} % share"),
            held.Since);
        return (withoutDelete, await runner.RunAsync(withoutDelete, lifetime, cancellationToken));
    }

    /// <summary>Whether a full push's argv deletes on the target.</summary>
    public static bool Deletes(IReadOnlyList<string> arguments)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        return arguments.Take(Math.Max(0, arguments.Count - 2)).Any(IsDeleteOption);
    }

    /// <summary>A failed full push as the fail log keeps it: without its deletes. The log is replayed by a shell,
    /// unguarded, long after (when the source may be empty or unmounted); the worker retries the full sync itself,
    /// guarded, so the deletes are not lost.</summary>
    public static ProcessInvocation ForFailLog(ProcessInvocation invocation) =>
        invocation with { Arguments = WithoutDelete(invocation.Arguments) };

    /// <summary>The argv without any <c>--delete</c>/<c>--delete-*</c> option (source and destination kept).</summary>
    public static List<string> WithoutDelete(IReadOnlyList<string> arguments)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        var options = arguments.Take(Math.Max(0, arguments.Count - 2)).Where(a => !IsDeleteOption(a));
        return [.. options, .. arguments.Skip(Math.Max(0, arguments.Count - 2))];
    }

    /// <summary>
    /// The push the dry run judged: it deletes at most <paramref name="entries"/> (<c>--max-delete=</c>, last among
    /// the options: rsync takes the last of a repeated one); the config's own <c>--max-delete</c> at or under it is
    /// left alone; none at all: without its delete options (rsync before 3.1 reads <c>--max-delete=0</c> as no limit).
    /// </summary>
    public static ProcessInvocation WithDeleteLimit(ProcessInvocation invocation, long entries) => Limit(invocation, entries, out _);

    /// <param name="ours">Whether the limit added is the one in force (then its warning means exit 25).</param>
    private static ProcessInvocation Limit(ProcessInvocation invocation, long entries, out bool ours)
    {
        ArgumentNullException.ThrowIfNull(invocation);
        ours = false;
        var arguments = invocation.Arguments;
        if (entries <= 0)
        {
            return invocation with { Arguments = WithoutDelete(arguments) };
        }

        var options = arguments.Take(Math.Max(0, arguments.Count - 2)).ToList();
        for (var i = 0; i < options.Count; i++)
        {
            var value = options[i].StartsWith("--max-delete=", StringComparison.Ordinal) ? options[i]["--max-delete=".Length..]
                : options[i] == "--max-delete" && i + 1 < options.Count ? options[i + 1] : null;
            if (long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var configured) && configured > 0 && configured <= entries)
            {
                return invocation; // the config's own limit is tighter: it acts as it always did
            }
        }

        ours = true;
        var limit = Math.Min(entries, int.MaxValue).ToString(CultureInfo.InvariantCulture);
        return invocation with { Arguments = [.. options, "--max-delete=" + limit, .. arguments.Skip(Math.Max(0, arguments.Count - 2))] };
    }

    /// <summary>rsync's warning when it stopped deleting at <c>--max-delete</c>; printed by the receiver, relayed to
    /// the client by an rsync daemon, whose exit code is not.</summary>
    internal const string LimitWarning = "Deletions stopped due to --max-delete limit";

    /// <summary>The push's result with a limit that stopped deletions as exit 25, whichever side deleted.</summary>
    internal static ProcessResult LimitReported(ProcessResult result) =>
        result.ExitCode == 0 && result.Output.Contains(LimitWarning, StringComparison.Ordinal) ? result with { ExitCode = RsyncExitCodes.MaxDeleteReached } : result;

    /// <summary>The dry run: the push's argv with <c>--dry-run -ii</c> and the parser's out format before the source.</summary>
    public static List<string> DryRunArguments(IReadOnlyList<string> arguments)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        var args = new List<string>(arguments);
        args.InsertRange(Math.Max(0, args.Count - 2), ["--dry-run", "-ii", ItemizedChangeParser.OutFormat]);
        return args;
    }

    private static bool IsDeleteOption(string word) =>
        word is "--delete" or "--del" || (word.StartsWith("--delete-", StringComparison.Ordinal) && word != "--delete-missing-args");

    private FullPushHold Hold(FullPushCensus census)
    {
        lock (_gate)
        {
            var now = DateTimeOffset.FromUnixTimeMilliseconds(_time.GetUtcNow().ToUnixTimeMilliseconds()); // as the file keeps it
            // A release that came in while this push was counting stands: the next push deletes.
            _hold = new FullPushHold(census.Deletes, census.Held, _hold?.Since ?? now, now, _hold?.ReleaseOnce ?? false) { Entries = census.DeleteEntries };
            Persist(_hold);
            return _hold;
        }
    }

    /// <summary>A released push stopped at the count it was released for: the source lost more since. The release is
    /// spent (the deletes it allowed are done); the rest is judged by the retry, and held again if it must be.</summary>
    private void ReleaseSpent(FullPushHold released)
    {
        lock (_gate)
        {
            if (_hold is not { ReleaseOnce: true })
            {
                return;
            }

            _hold = _hold with { ReleaseOnce = false };
            Persist(_hold);
        }

        ReleasedLimitReached(_logger, Target.Label, released.Entries);
    }

    private void Clear(FullPushHold was, string why)
    {
        lock (_gate)
        {
            if (_hold is null)
            {
                return;
            }

            _hold = null;
            Persist(null);
        }

        HoldCleared(_logger, Target.Label, was.Deletes, why);
    }

    /// <summary>Writes (or removes) the state file: written whole to a temporary name, then renamed over.</summary>
    private void Persist(FullPushHold? hold)
    {
        if (StateFile is not { } file)
        {
            return;
        }

        if (hold is null)
        {
            File.Delete(file);
            return;
        }

        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        var text = string.Create(
            CultureInfo.InvariantCulture,
            $"deletes={hold.Deletes}\nheld={hold.Held}\nsince={hold.Since.ToUnixTimeMilliseconds()}\nat={hold.At.ToUnixTimeMilliseconds()}\nrelease={(hold.ReleaseOnce ? 1 : 0)}\nentries={hold.Entries}\n");
        var tmp = file + ".tmp";
        File.WriteAllText(tmp, text);
        File.Move(tmp, file, overwrite: true);
    }

    /// <summary>Reads a state file; null when there is none or it cannot be read (a torn write is a missing hold:
    /// the next full push counts again and holds again if it must).</summary>
    public static FullPushHold? Read(string file)
    {
        ArgumentNullException.ThrowIfNull(file);
        string text;
        try
        {
            text = File.ReadAllText(file);
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }

        var values = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0 && long.TryParse(line.AsSpan(eq + 1), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v))
            {
                values[line[..eq]] = v;
            }
        }

        if (!values.TryGetValue("deletes", out var deletes) || !values.TryGetValue("held", out var held)
            || !values.TryGetValue("since", out var since) || !values.TryGetValue("at", out var at) || !values.TryGetValue("release", out var release))
        {
            return null;
        }

        return new FullPushHold(deletes, held, DateTimeOffset.FromUnixTimeMilliseconds(since), DateTimeOffset.FromUnixTimeMilliseconds(at), release != 0)
        {
            Entries = values.TryGetValue("entries", out var entries) ? entries : deletes,
        };
    }
}
