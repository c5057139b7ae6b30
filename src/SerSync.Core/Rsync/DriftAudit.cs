// Implementation notes. The audit is the full push's own rsync run with --dry-run --itemize-changes: the same
// argv (commonParams, -R, --delete when the target deletes, noise excludes, the filter's anchored exclude list on
// stdin), so what it lists is exactly what a full push would change, for local, rsync daemon and ssh targets alike.
// Two words of commonParams are dropped for the dry run only: -u (--update) makes rsync skip a target file newer than
// the source, which is what an edit on the target behind the daemon's back produces, so the audit would be blind to
// the commonest drift; -8 (--8-bit-output) would print high bytes raw, where the \#ooo escapes decode exactly. Target-
// only paths the filter excludes (rsync cannot evaluate the regexes) and editor noise are dropped from the result,
// as the full push's protecting dry run drops them from its deletions.
using Microsoft.Extensions.Logging;
using SerSync.Filtering;
using SerSync.Processes;

namespace SerSync.Rsync;

/// <summary>
/// Finds what differs between a watched root and one target under the same filter and delete rules as a full push:
/// missing on the target, content or metadata differs, only on the target (the last only where the target deletes).
/// Reads only: nothing is written on either side.
/// </summary>
public sealed partial class DriftAudit(IProcessRunner runner, TimeProvider time, ILogger logger)
{
    /// <summary>A dry run of a large tree with <c>--checksum</c> reads every file on both sides; rsync's I/O timeout
    /// still catches a stuck peer.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(24);

    /// <summary>Short options of rsync that take a value (the rest of a bundle after one of them is that value).</summary>
    private const string ShortOptionsWithValue = "BefTM@";

    /// <summary>The dry run's argv: the full push's with <c>-u</c> and <c>-8</c> left out of commonParams, and
    /// <c>--dry-run --itemize-changes</c>, the parser's out format and, with <paramref name="checksum"/>,
    /// <c>--checksum</c> before the source and destination.</summary>
    public static List<string> Arguments(SyncTarget target, bool hasExcludeList, bool checksum)
    {
        ArgumentNullException.ThrowIfNull(target);
        var audited = target with { Rsync = target.Rsync with { CommonParams = WithoutUpdateAnd8Bit(target.Rsync.CommonParams) } };
        var args = RsyncArguments.FullPush(audited, hasExcludeList, []);
        List<string> extra = ["--dry-run", "--itemize-changes", ItemizedChangeParser.OutFormat];
        if (checksum)
        {
            extra.Add("--checksum");
        }

        args.InsertRange(args.Count - 2, extra);
        return args;
    }

    /// <summary>commonParams without <c>-u</c>/<c>--update</c> and <c>-8</c>/<c>--8-bit-output</c>, also inside a
    /// bundle such as <c>-artuz</c> (up to a letter that takes a value, whose value is left alone).</summary>
    public static List<string> WithoutUpdateAnd8Bit(IReadOnlyList<string> commonParams)
    {
        ArgumentNullException.ThrowIfNull(commonParams);
        var result = new List<string>();
        var valueNext = false;
        foreach (var word in commonParams)
        {
            if (valueNext || !word.StartsWith('-') || word == "-")
            {
                valueNext = false;
                result.Add(word);
                continue;
            }

            if (word.StartsWith("--", StringComparison.Ordinal))
            {
                if (word is not ("--update" or "--8-bit-output"))
                {
                    result.Add(word);
                }

                continue;
            }

            var kept = new System.Text.StringBuilder("-");
            for (var i = 1; i < word.Length; i++)
            {
                var c = word[i];
                if (ShortOptionsWithValue.Contains(c, StringComparison.Ordinal))
                {
                    kept.Append(word, i, word.Length - i);
                    valueNext = i == word.Length - 1;
                    break;
                }

                if (c is not ('u' or '8'))
                {
                    kept.Append(c);
                }
            }

            if (kept.Length > 1)
            {
                result.Add(kept.ToString());
            }
        }

        return result;
    }

    /// <summary>Whether commonParams hold <c>-u</c> (<c>--update</c>): a live batch then keeps a target file that is
    /// newer than the source, so a repair cannot overwrite an edit made on the target.</summary>
    public static bool UsesUpdate(IReadOnlyList<string> commonParams)
    {
        ArgumentNullException.ThrowIfNull(commonParams);
        var valueNext = false;
        foreach (var word in commonParams)
        {
            if (valueNext || !word.StartsWith('-') || word == "-")
            {
                valueNext = false;
                continue;
            }

            if (word == "--update")
            {
                return true;
            }

            if (word.StartsWith("--", StringComparison.Ordinal))
            {
                continue;
            }

            for (var i = 1; i < word.Length; i++)
            {
                if (ShortOptionsWithValue.Contains(word[i], StringComparison.Ordinal))
                {
                    valueNext = i == word.Length - 1;
                    break;
                }

                if (word[i] == 'u')
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>Audits one target. Never throws for rsync's failures: an unreachable target is a report with a
    /// <see cref="DriftReport.Failure"/>.</summary>
    /// <param name="filter">The live path filter (the config's excludes and editor noise).</param>
    /// <param name="checksum">Compare contents (<c>--checksum</c>) instead of size and modification time.</param>
    public async Task<DriftReport> RunAsync(SyncTarget target, PathFilter filter, bool checksum, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(filter);
        var at = time.GetUtcNow();
        var started = time.GetTimestamp();
        var excludeList = FullPush.ExcludeListFor(target.WatchRoot, filter.RulesOrNull);
        var invocation = new ProcessInvocation(target.WatchRoot, Arguments(target, excludeList is not null, checksum), excludeList);
        var entries = new List<DriftEntry>();
        var excluded = 0;
        if (logger.IsEnabled(LogLevel.Debug))
        {
            Exec(logger, target.Label, runner.Program, string.Join(' ', invocation.Arguments));
        }

        var result = await runner.RunAsync(invocation, Lifetime, cancellationToken, line =>
        {
            if (ItemizedChangeParser.Parse(line) is not { } entry)
            {
                return;
            }

            if (filter.IsExcluded(entry.Path, entry.IsDirectory))
            {
                excluded++;
                return;
            }

            entries.Add(entry);
        });

        // 24: files vanished from the source while rsync listed it; they are not drift, what it did list stands.
        DriftFailure? failure = result.ExitCode is 0 or 24
            ? null
            : new DriftFailure(result.ExitCode, RsyncExitCodes.Describe(result.ExitCode), result.Output, result.TimedOut);
        var report = new DriftReport(target, at, time.GetElapsedTime(started), checksum, target.Delete, entries, failure);
        AuditRan(logger, target.WatchRoot, target.Label, entries.Count, excluded, result.ExitCode, report.Duration.TotalSeconds);
        return report;
    }
}
