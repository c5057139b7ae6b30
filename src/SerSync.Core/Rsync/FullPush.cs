using Microsoft.Extensions.Logging;
using SerSync.FailLog;
using SerSync.Paths;
using SerSync.Processes;

namespace SerSync.Rsync;

/// <summary>The outcome of pushing one target.</summary>
public sealed record TargetPushResult(SyncTarget Target, ProcessResult Result)
{
    public FailureClass Class => RsyncExitCodes.Classify(Result.ExitCode);
}

/// <summary>
/// Pushes whole watched roots to their targets (<c>-r</c>, <c>--once</c>, crontab): one rsync per target, targets in
/// parallel, at most as many rsync processes at once as the shared <see cref="SemaphoreSlim"/> allows (<c>-n</c>).
/// Paths the config's filter excludes are neither sent nor deleted; sersync instead refused <c>-r</c> when the
/// filter was on.
/// </summary>
public sealed partial class FullPush(IProcessRunner runner, SemaphoreSlim slots, FailLogWriter? failLog, TimeProvider time, ILogger logger)
{
    /// <summary>A full push may move a lot of data; rsync's I/O timeout catches a stuck peer well before this.</summary>
    private static readonly TimeSpan Lifetime = TimeSpan.FromHours(24);

    /// <param name="isExcluded">The live path's filter (path relative to the root, is-directory); null when none.</param>
    /// <param name="extraExcludes">crontab's rsync patterns, for scheduled pushes.</param>
    public async Task<IReadOnlyList<TargetPushResult>> RunAsync(
        IReadOnlyList<SyncTarget> targets,
        Func<RelativePath, bool, bool>? isExcluded,
        IReadOnlyList<string> extraExcludes,
        CancellationToken cancellationToken)
    {
        var tasks = new List<Task<TargetPushResult>>();
        foreach (var root in targets.GroupBy(t => t.WatchRoot))
        {
            byte[]? excludeList = null;
            if (isExcluded is not null)
            {
                var excluded = ExcludeList.Collect(root.Key, isExcluded);
                PathsExcluded(logger, root.Key, excluded.Count);
                excludeList = ExcludeList.Encode(excluded);
            }

            foreach (var target in root)
            {
                var list = Concat(excludeList, ProtectedExcludes(root.Key, Protected?.Invoke(target)));
                tasks.Add(PushOneAsync(target, Invocation(target, list, extraExcludes), isExcluded, cancellationToken));
            }
        }

        return await Task.WhenAll(tasks);
    }

    /// <summary>The full push of one target, with the source-side exclude list (or null) on stdin.</summary>
    public static ProcessInvocation Invocation(SyncTarget target, byte[]? excludeList, IReadOnlyList<string> extraExcludes) =>
        new(target.WatchRoot, RsyncArguments.FullPush(target, excludeList is not null, extraExcludes), excludeList);

    /// <summary>The source-side exclude list of a root, or null when the filter has no rules.</summary>
    public static byte[]? ExcludeListFor(string root, Func<RelativePath, bool, bool>? isExcluded) =>
        isExcluded is null ? null : ExcludeList.Encode(ExcludeList.Collect(root, isExcluded));

    /// <summary>What the live delete guard of a target's root holds or is judging (null or none: nothing): a full
    /// push leaves those paths alone, so it neither deletes them past the guard nor counts them in its own share.</summary>
    public Func<SyncTarget, ProtectedPaths>? Protected { get; init; }

    /// <summary>Exclude rules for the protected paths the source no longer has, found from the root down (one that
    /// exists again is sent as usual); null when there are none.</summary>
    public static byte[]? ProtectedExcludes(string root, ProtectedPaths? keep)
    {
        if (keep is null || keep.IsEmpty)
        {
            return null;
        }

        // From the root down the ways to protected paths: the first one gone from the source is excluded (that
        // covers all below it); one still there (a directory made again before its hold cleared) is walked into.
        var rootBytes = FileSystemBytes.RootBytes(root);
        var gone = new List<RelativePath>();
        var pending = new Stack<RelativePath>();
        pending.Push(RelativePath.Root);
        while (pending.Count > 0)
        {
            foreach (var child in keep.ChildrenOf(pending.Pop()))
            {
                var status = FileSystemBytes.Stat(FileSystemBytes.Combine(rootBytes, child));
                if (status is null || (status.Value.Type != EntryType.Directory && keep.ChildrenOf(child).Count > 0))
                {
                    gone.Add(child); // gone, or a file where a directory with held entries was
                }
                else if (status.Value.Type == EntryType.Directory)
                {
                    pending.Push(child);
                }
            }
        }

        gone.Sort();
        return gone.Count == 0 ? null : ExcludeList.Encode(gone);
    }

    /// <summary>Two NUL-separated rule lists as one (null when both are).</summary>
    public static byte[]? Concat(byte[]? first, byte[]? second) =>
        first is null ? second : second is null ? first : [.. first, .. second];

    /// <summary>The delete guard of a target's full pushes (see <see cref="FullPushGuard"/>); null or none: unguarded.</summary>
    public Func<SyncTarget, FullPushGuard?>? Guards { get; init; }

    /// <summary>A full push under <paramref name="guard"/> (when not null): its dry run counts the deletes, and past the
    /// share the push runs without deleting; otherwise as <see cref="RunProtectedAsync"/>.</summary>
    public static Task<(ProcessInvocation Invocation, ProcessResult Result)> RunGuardedAsync(
        IProcessRunner runner, ProcessInvocation invocation, Func<RelativePath, bool, bool>? isExcluded, FullPushGuard? guard, ILogger logger, CancellationToken cancellationToken) =>
        guard is null
            ? RunProtectedAsync(runner, invocation, isExcluded, logger, cancellationToken)
            : guard.RunAsync(runner, invocation, isExcluded, Lifetime, run => RunProtectedAsync(runner, run, isExcluded, logger, cancellationToken), cancellationToken);

    /// <summary>
    /// Runs a full push; with a filter, first protects target-only excluded paths (a dry run). Returns the
    /// invocation actually run (for the fail log) and its result, or the dry run's failure.
    /// </summary>
    /// <param name="logger">The caller's logger, for what the dry run found.</param>
    public static async Task<(ProcessInvocation Invocation, ProcessResult Result)> RunProtectedAsync(
        IProcessRunner runner, ProcessInvocation invocation, Func<RelativePath, bool, bool>? isExcluded, ILogger logger, CancellationToken cancellationToken)
    {
        if (isExcluded is not null)
        {
            var (protectedInvocation, probeFailure) = await TargetSideExclusions.ProtectAsync(runner, invocation, isExcluded, Lifetime, logger, cancellationToken);
            if (probeFailure is not null)
            {
                return (invocation, probeFailure);
            }

            invocation = protectedInvocation;
        }

        return (invocation, await runner.RunAsync(invocation, Lifetime, cancellationToken));
    }

    private async Task<TargetPushResult> PushOneAsync(SyncTarget target, ProcessInvocation invocation, Func<RelativePath, bool, bool>? isExcluded, CancellationToken cancellationToken)
    {
        await slots.WaitAsync(cancellationToken);
        ProcessResult result;
        try
        {
            PushStarted(logger, target.WatchRoot, target.Label);
            if (logger.IsEnabled(LogLevel.Debug))
            {
                Exec(logger, runner.Program, string.Join(' ', invocation.Arguments));
            }

            (invocation, result) = await RunGuardedAsync(runner, invocation, isExcluded, Guards?.Invoke(target), logger, cancellationToken);
        }
        finally
        {
            slots.Release();
        }

        if (result.Succeeded)
        {
            PushDone(logger, target.WatchRoot, target.Label, result.Duration.TotalSeconds);
        }
        else
        {
            PushFailed(
                logger,
                target.WatchRoot,
                target.Label,
                result.ExitCode,
                RsyncExitCodes.Describe(result.ExitCode),
                result.TimedOut ? " after its time bound" : string.Empty,
                result.Output);
            failLog?.Append(result.ExitCode, runner.Program, FullPushGuard.ForFailLog(invocation), FailLogWriter.SplitNul(invocation.Stdin), target.Label, time.GetLocalNow());
        }

        return new TargetPushResult(target, result);
    }
}
