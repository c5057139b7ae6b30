// Implementation notes. A replay reads the script under FailLogWriter.Gate (a snapshot: appends are whole entries under
// the same lock, so the snapshot ends on an entry boundary), runs its entries without holding the lock (a replay
// can take long; appends must not wait for it), then takes the lock again to rewrite: the file must still start
// with the snapshot, and whatever follows it was appended meanwhile and is kept as is. The new file (header,
// entries that failed again with their #errno updated, entries not run because of a stop, the appended tail) is
// written next to the old one and renamed over it, so a crash leaves the old or the new file, never a torn one.
// If the file no longer starts with the snapshot (an operator edited or truncated it), it is left alone: replaying
// an entry twice is harmless (rsync is idempotent), losing one is not.
//
// Each entry's command runs as `/bin/sh FILE`, FILE holding the command's bytes, rather than `/bin/sh -c COMMAND`:
// .NET passes argv as strings (UTF-16, encoded to UTF-8 at exec), so a command with a file name that is not UTF-8
// cannot go through argv byte for byte. A file can. It lives in a private (0700) temp directory for the replay.
// sh's stdin is closed (EOF) so a command never reads ours; LC_ALL=C and no RSYNC_PASSWORD/RSYNC_RSH from our
// environment, as for every rsync sersyncd starts (ProcessRunner, whose time bound and process-tree kill apply).
using Microsoft.Extensions.Logging;
using SerSync.Configuration;
using SerSync.Processes;

namespace SerSync.FailLog;

/// <summary>What one replay did.</summary>
/// <param name="Replayed">Entries run.</param>
/// <param name="Succeeded">Entries that exited 0, now removed from the file.</param>
/// <param name="Kept">Entries that failed again (kept, <c>#errno</c> updated) or were not run (stop requested).</param>
/// <param name="Rewritten">Whether the file was rewritten.</param>
public sealed record FailLogReplayResult(int Replayed, int Succeeded, int Kept, bool Rewritten)
{
    public static FailLogReplayResult Nothing { get; } = new(0, 0, 0, false);
}

/// <summary>
/// Replays sersync's fail-log script (every <c>failLog@timeToExecute</c> minutes, on a schedule kept outside this
/// folder), honestly: each entry's command is run; an entry that succeeds (exit 0) is removed, one that fails again stays with its new exit code, and entries
/// appended while the replay ran are kept. sersync ran the whole script and then emptied it whatever the outcome.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage(
    "Reliability",
    "CA1001:Types that own disposable fields should be disposable",
    Justification = "A SemaphoreSlim whose AvailableWaitHandle is never read holds no handle to release.")]
public sealed partial class FailLogReplayer
{
    private readonly FailLogConfig _config;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly IProcessRunner _shell;
    private readonly TimeSpan _entryLifetime;
    private readonly Func<int, string> _describeExitCode;
    private readonly SemaphoreSlim _oneAtATime = new(1, 1);
    private int _replays;

    /// <param name="config"><c>&lt;failLog&gt;</c>; with no path there is nothing to replay.</param>
    /// <param name="describeExitCode">What an exit code means, for the log and the <c># replayed</c> line (rsync's
    /// table: the fail log itself knows nothing of rsync).</param>
    /// <param name="entryLifetime">Bound on one entry's run (killed with its process tree after it); default
    /// <see cref="DefaultEntryLifetime"/>. rsync's own <c>--timeout</c> normally ends a stuck run long before.</param>
    /// <param name="shell">The shell that runs each entry; <c>/bin/sh</c>.</param>
    public FailLogReplayer(FailLogConfig config, Func<int, string> describeExitCode, TimeProvider time, ILogger logger, TimeSpan? entryLifetime = null, string shell = "/bin/sh")
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.TimeToExecuteMinutes < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(config), config.TimeToExecuteMinutes, "failLog timeToExecute must be at least 1 minute");
        }

        _config = config;
        _time = time;
        _logger = logger;
        _describeExitCode = describeExitCode;
        _shell = new ProcessRunner(logger, shell);
        _entryLifetime = entryLifetime ?? DefaultEntryLifetime;
    }

    /// <summary>An entry may be a whole full push, so it gets a full push's bound (24 h).</summary>
    private static readonly TimeSpan DefaultEntryLifetime = TimeSpan.FromHours(24);

    public string? Path => _config.Path;

    public TimeSpan Interval => TimeSpan.FromMinutes(_config.TimeToExecuteMinutes);

    /// <summary>Replays started so far.</summary>
    public int Replays => Volatile.Read(ref _replays);

    /// <summary>One replay now (after the one under way, if any). A missing or empty file, or one without entries,
    /// is nothing to do. When cancelled, the entries not run yet are kept as they were, the file is rewritten with
    /// what was done, and it throws.</summary>
    public async Task<FailLogReplayResult> ReplayAsync(CancellationToken cancellationToken)
    {
        await _oneAtATime.WaitAsync(cancellationToken);
        try
        {
            return await ReplayOnceAsync(cancellationToken);
        }
        finally
        {
            _oneAtATime.Release();
        }
    }

    private async Task<FailLogReplayResult> ReplayOnceAsync(CancellationToken cancellationToken)
    {
        var path = _config.Path ?? throw new InvalidOperationException("no failLog path is configured");
        Interlocked.Increment(ref _replays);
        byte[] snapshot;
        lock (FailLogWriter.Gate)
        {
            if (!File.Exists(path))
            {
                return FailLogReplayResult.Nothing;
            }

            snapshot = File.ReadAllBytes(path);
        }

        var blocks = FailLogScript.Parse(snapshot);
        var entries = blocks.Count(b => b.IsEntry);
        if (entries == 0)
        {
            return FailLogReplayResult.Nothing;
        }

        Replaying(_logger, path, entries, entries == 1 ? "y" : "ies");
        var outcomes = new int?[blocks.Count];
        var workDir = Directory.CreateTempSubdirectory("sersyncd-replay-");
        var number = 0;
        try
        {
            for (var i = 0; i < blocks.Count && !cancellationToken.IsCancellationRequested; i++)
            {
                var block = blocks[i];
                if (!block.IsEntry)
                {
                    continue;
                }

                number++;
                var result = await RunEntryAsync(block, workDir.FullName, cancellationToken);
                if (cancellationToken.IsCancellationRequested)
                {
                    break; // killed by the stop, not a real outcome: keep the entry as it was
                }

                outcomes[i] = result.ExitCode;
                LogOutcome(path, number, entries, block, result);
            }
        }
        finally
        {
            TryDelete(workDir);
        }

        var succeeded = outcomes.Count(o => o == 0);
        var failed = outcomes.Count(o => o is not null and not 0);
        var rewritten = Rewrite(path, snapshot, blocks, outcomes);
        ReplayDone(_logger, path, succeeded, failed, entries - succeeded - failed > 0 ? $", {entries - succeeded - failed} not run (stopping)" : string.Empty);
        cancellationToken.ThrowIfCancellationRequested();
        return new FailLogReplayResult(succeeded + failed, succeeded, entries - succeeded, rewritten);
    }

    private async Task<ProcessResult> RunEntryAsync(FailLogBlock block, string workDir, CancellationToken cancellationToken)
    {
        var script = System.IO.Path.Combine(workDir, "entry.sh");
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var file = new FileStream(script, options))
        {
            file.Write(block.Command);
            file.WriteByte((byte)'\n');
        }

        return await _shell.RunAsync(new ProcessInvocation(workDir, [script]), _entryLifetime, cancellationToken);
    }

    private void LogOutcome(string path, int number, int count, FailLogBlock block, ProcessResult result)
    {
        var what = block.Description ?? "(no description)";
        if (result.ExitCode == 0)
        {
            EntrySucceeded(_logger, path, number, count, what, result.Duration.TotalSeconds);
        }
        else
        {
            EntryFailedAgain(
                _logger,
                path,
                number,
                count,
                what,
                result.ExitCode,
                _describeExitCode(result.ExitCode),
                result.TimedOut ? " after its time bound" : string.Empty,
                result.Output);
        }
    }

    /// <summary>Writes the outcome back under the append lock: kept blocks, then what was appended meanwhile.</summary>
    private bool Rewrite(string path, byte[] snapshot, IReadOnlyList<FailLogBlock> blocks, int?[] outcomes)
    {
        if (outcomes.All(o => o is null))
        {
            return false;
        }

        var when = _time.GetLocalNow();
        using var content = new MemoryStream(snapshot.Length);
        for (var i = 0; i < blocks.Count; i++)
        {
            var block = blocks[i];
            switch (outcomes[i])
            {
                case 0:
                    continue;
                case null:
                    content.Write(block.Text);
                    break;
                case { } code:
                    content.Write(FailLogScript.WithOutcome(block, code, _describeExitCode(code), when));
                    break;
            }

            content.Write("\n\n"u8);
        }

        lock (FailLogWriter.Gate)
        {
            if (!File.Exists(path))
            {
                RemovedDuringReplay(_logger, path);
                return false;
            }

            var current = File.ReadAllBytes(path);
            if (!current.AsSpan().StartsWith(snapshot))
            {
                ChangedDuringReplay(_logger, path);
                return false;
            }

            content.Write(current.AsSpan(snapshot.Length));
            var destination = File.ResolveLinkTarget(path, returnFinalTarget: true)?.FullName ?? path;
            WriteAtomically(destination, content);
            return true;
        }
    }

    private static void WriteAtomically(string destination, MemoryStream content)
    {
        // Windows has no Unix modes (and no /bin/sh to replay a fail log with); the file then keeps the defaults.
        var unix = !OperatingSystem.IsWindows();
        var mode = unix ? File.GetUnixFileMode(destination) : default;
        var directory = System.IO.Path.GetDirectoryName(destination) ?? "/";
        var temp = System.IO.Path.Combine(directory, $".{System.IO.Path.GetFileName(destination)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (unix)
            {
                options.UnixCreateMode = mode;
            }

            using (var file = new FileStream(temp, options))
            {
                content.Position = 0;
                content.CopyTo(file);
                file.Flush(flushToDisk: true);
            }

            if (unix)
            {
                File.SetUnixFileMode(temp, mode); // the umask may have narrowed it at creation
            }

            File.Move(temp, destination, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }

    private void TryDelete(DirectoryInfo dir)
    {
        try
        {
            dir.Delete(recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            CannotRemoveWorkDir(_logger, dir.FullName, ex);
        }
    }
}
