using SerSync.FailLog;
using SerSync.Filtering;
using SerSync.Paths;
using SerSync.Processes;
using SerSync.Rsync;

namespace SerSync.Targets;

/// <summary>
/// One batch made ready to run: the rsync invocation (argv, working directory, the list for stdin) and, for a live
/// batch whose listed directories hold excluded entries, the exclude file rsync reads (deleted on dispose).
/// </summary>
public sealed class PreparedBatch : IDisposable
{
    internal PreparedBatch(ProcessInvocation invocation, bool fullSync, int count, string? excludeFile, byte[]? excludes)
    {
        Invocation = invocation;
        FullSync = fullSync;
        Count = count;
        ExcludeFile = excludeFile;
        Excludes = excludes;
    }

    public ProcessInvocation Invocation { get; }

    public bool FullSync { get; }

    /// <summary>Entries on stdin (1 for a full sync).</summary>
    public int Count { get; }

    public string? ExcludeFile { get; }

    public byte[]? Excludes { get; }

    /// <summary>The exclude file as the fail log must recreate it for a replay, or null.</summary>
    public FailLogFile? FailLogExtra => ExcludeFile is null ? null : new FailLogFile(ExcludeFile, FailLogWriter.SplitNul(Excludes));

    public void Dispose()
    {
        if (ExcludeFile is not null)
        {
            File.Delete(ExcludeFile);
        }
    }
}

/// <summary>
/// Turns a taken <see cref="Batch"/> into what rsync runs for one target: a full sync is the full push's argv with
/// the filter's exclude list on stdin; a live batch is the <c>--files-from</c> list read from the tree as it is now
/// (<see cref="BatchListBuilder"/>) plus, when the filter excludes entries inside listed directories, an exclude
/// file in the temp directory.
/// </summary>
public sealed class TargetBatchBuilder(SyncTarget target, PathFilter filter, string? tempDirectory = null, Func<ProtectedPaths>? protectedPaths = null)
{
    private readonly string _tempDirectory = tempDirectory ?? Path.GetTempPath();

    // Only for -H: the hard-link groups this target's batches have met (none held otherwise).
    private readonly LinkGroups? _links = HardLinkOption.IsOn(target.Rsync.CommonParams) ? new LinkGroups(target.WatchRoot, filter) : null;

    public SyncTarget Target => target;

    /// <summary>The hard-link groups kept for this target (null without <c>-H</c>).</summary>
    public LinkGroups? Links => _links;

    /// <summary>The filter as a full sync applies it (null when it has no rules).</summary>
    public Func<Paths.RelativePath, bool, bool>? FullSyncExclusion => filter.RulesOrNull;

    public PreparedBatch Build(Batch batch)
    {
        if (batch.FullSync)
        {
            _links?.Clear(); // it may follow lost events: whatever the groups held may be stale
            var keep = FullPush.ProtectedExcludes(target.WatchRoot, protectedPaths?.Invoke());
            var invocation = FullPush.Invocation(target, FullPush.Concat(FullPush.ExcludeListFor(target.WatchRoot, filter.RulesOrNull), keep), []);
            return new PreparedBatch(invocation, fullSync: true, count: 1, excludeFile: null, excludes: null);
        }

        var list = BatchListBuilder.Build(target.WatchRoot, batch, filter, _links, protectedPaths?.Invoke());
        string? excludeFile = null;
        if (list.Excludes is not null)
        {
            excludeFile = Path.Combine(_tempDirectory, $"sersyncd-{Environment.ProcessId}-{Guid.NewGuid():N}.exclude");
            File.WriteAllBytes(excludeFile, list.Excludes);
        }

        var live = new ProcessInvocation(target.WatchRoot, RsyncArguments.Batch(target, excludeFile), list.Paths);
        return new PreparedBatch(live, fullSync: false, count: batch.Count, excludeFile, list.Excludes);
    }
}
