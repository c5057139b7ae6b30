using Microsoft.Extensions.Logging;
using SerSync.Paths;
using SerSync.Processes;

namespace SerSync.Rsync;

/// <summary>
/// Finds paths a full push would delete on the target that the config's filter excludes. The exclude list built
/// from the source only protects excluded paths the source has; one that exists only on the target (a log the
/// target compresses itself, say) would still fall to <c>--delete</c>. rsync cannot evaluate regexes, so a dry run
/// lists what would be deleted and the filter is applied here. Implementation notes: with <c>LC_ALL=C</c>, rsync
/// writes every byte that is not printable ASCII as <c>\#ooo</c> (octal), and a backslash followed by <c>#</c> as
/// <c>\#134</c>, so names decode exactly; <c>%i</c> is 11 characters wide, so a name starts at column 12 (names may
/// begin with spaces); a directory ends with '/'.
/// </summary>
public static partial class TargetSideExclusions
{
    private const string DeletingPrefix = "*deleting";
    private const int NameColumn = 12;

    /// <summary>Arguments for the dry run: the full push's, listing what would change, before the source argument.</summary>
    private static List<string> DryRunArguments(IReadOnlyList<string> fullPushArguments)
    {
        var args = new List<string>(fullPushArguments);
        args.InsertRange(args.Count - 2, ["--dry-run", "--itemize-changes", "--out-format=%i %n"]);
        return args;
    }

    /// <summary>Parses one line of the dry run; returns the path if it is a deletion.</summary>
    public static (RelativePath Path, bool IsDirectory)? ParseDeletion(string line)
    {
        if (!line.StartsWith(DeletingPrefix, StringComparison.Ordinal) || line.Length <= NameColumn)
        {
            return null;
        }

        var name = ItemizedChangeParser.Unescape(line.AsSpan(NameColumn));
        var isDir = name.Length > 1 && name[^1] == (byte)'/';
        if (isDir)
        {
            name = name[..^1];
        }

        return (new RelativePath(name), isDir);
    }

    /// <summary>
    /// Adds to a full push's exclude list the target-only paths the filter excludes. Returns the invocation to run,
    /// or the dry run's failure (the real push would fail the same way).
    /// </summary>
    public static async Task<(ProcessInvocation Invocation, ProcessResult? Failure)> ProtectAsync(IProcessRunner runner, ProcessInvocation fullPush, Func<RelativePath, bool, bool> isExcluded, TimeSpan lifetime, ILogger logger, CancellationToken cancellationToken)
    {
        var found = new List<RelativePath>();
        var probe = fullPush with { Arguments = DryRunArguments(fullPush.Arguments) };
        var result = await runner.RunAsync(probe, lifetime, cancellationToken, line =>
        {
            if (ParseDeletion(line) is { } deletion && isExcluded(deletion.Path, deletion.IsDirectory))
            {
                found.Add(deletion.Path);
            }
        });
        if (!result.Succeeded)
        {
            DryRunFailed(logger, fullPush.WorkingDirectory, result.ExitCode);
            return (fullPush, result);
        }

        DryRunDone(logger, fullPush.WorkingDirectory, found.Count);
        if (found.Count == 0)
        {
            return (fullPush, null);
        }

        return (fullPush with { Stdin = [.. fullPush.Stdin ?? [], .. ExcludeList.Encode(found)] }, null);
    }
}
