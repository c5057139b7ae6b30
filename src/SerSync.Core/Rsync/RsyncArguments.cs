
using SerSync.Configuration;

namespace SerSync.Rsync;

/// <summary>
/// Builds rsync argv. Implementation notes: rsync runs with the watched root as its working directory and
/// <c>-R</c>, so the single source argument is the fixed string <c>./</c> and every path it learns of is relative.
/// File names never appear in argv: lists go to stdin with <c>--from0</c> (NUL-separated bytes), so no name can be
/// read as an option and none passes through a shell. The only words from the config are <c>commonParams</c>
/// (split and checked by the loader: each starts with '-') and validated host/module/path values.
/// </summary>
public static class RsyncArguments
{
    /// <summary>rsync's own I/O timeout when the config sets none, so a hung peer cannot stall a target forever.</summary>
    public const int DefaultIoTimeoutSeconds = 300;

    /// <summary>Connect timeout for rsync daemons (sersync never set one). Short, because a run stuck in a connect to a
    /// dropped link cannot see the link come back (its next SYN goes out seconds later) while the reachability probe,
    /// which runs between retries, sees it within a quarter of a second; 5 s still allows two SYN retransmits.</summary>
    public const int DaemonConnectTimeoutSeconds = 5;

    /// <summary>Editor noise as rsync patterns, so a full push neither sends nor deletes it (same list as live).</summary>
    public static readonly IReadOnlyList<string> NoisePatterns = [".*.sw?", "4913", "*~", "#*#", ".#*"];

    /// <summary>Options every run gets: <c>commonParams</c>, <c>-R</c>, delete, connection settings.</summary>
    public static List<string> Common(SyncTarget target)
    {
        var rsync = target.Rsync;
        var args = new List<string>(rsync.CommonParams) { "-R" };
        if (target.Delete)
        {
            args.Add("--delete");
        }

        var ioTimeout = rsync.Timeout.Enabled ? rsync.Timeout.Value : DefaultIoTimeoutSeconds;
        args.Add($"--timeout={ioTimeout}");
        switch (target.Remote.Kind)
        {
            case RemoteKind.RsyncDaemon:
                args.Add($"--contimeout={Math.Min(DaemonConnectTimeoutSeconds, ioTimeout)}");
                if (rsync.Port.Enabled)
                {
                    args.Add($"--port={rsync.Port.Value}");
                }

                if (rsync.Auth.Enabled)
                {
                    args.Add($"--password-file={rsync.Auth.PasswordFile}");
                }

                break;
            case RemoteKind.Ssh:
                args.Add("-e");
                args.Add(RemoteShell.RsyncOption(target));
                break;
            case RemoteKind.LocalDirectory:
                break;
        }

        return args;
    }

    /// <summary>
    /// The full push: the whole root, noise and <paramref name="extraExcludes"/> (crontab rsync patterns) left out,
    /// and when <paramref name="hasExcludeList"/> an anchored exclude list on stdin (see <see cref="ExcludeList"/>).
    /// Excluded paths are neither sent nor deleted on the target (no <c>--delete-excluded</c>).
    /// </summary>
    public static List<string> FullPush(SyncTarget target, bool hasExcludeList, IEnumerable<string> extraExcludes)
    {
        var args = Common(target);
        foreach (var pattern in NoisePatterns.Concat(extraExcludes))
        {
            args.Add("--exclude=" + pattern);
        }

        if (hasExcludeList)
        {
            args.Add("--from0");
            args.Add("--exclude-from=-");
        }

        args.Add("./");
        args.Add(target.Destination);
        return args;
    }

    /// <summary>
    /// A live batch: the paths on stdin (<c>--files-from=- --from0</c>, built by the target worker). With
    /// <c>--no-r -d</c> a listed directory reaches exactly as far as its entry says; with
    /// <c>--delete-missing-args</c> a listed path that no longer exists is deleted on the target, a whole directory
    /// included. <paramref name="excludeFile"/> holds anchored, NUL-separated excludes for entries inside listed
    /// directories that the config's filter excludes.
    /// </summary>
    public static List<string> Batch(SyncTarget target, string? excludeFile = null)
    {
        var args = Common(target);
        args.Add("--no-r");
        args.Add("-d");

        // rsync's quick check compares size and whole-second mtime, so a file rewritten at the same size within one
        // second (vim saving "saved 14" over "saved 12") would be skipped and stay stale for good. Nanoseconds close
        // that; --ignore-times would too, but re-copies every unchanged file of a listed directory in a storm.
        args.Add("--modify-window=-1");

        // Without delete="true" a vanished path is skipped, never removed on the target.
        args.Add(target.Delete ? "--delete-missing-args" : "--ignore-missing-args");
        foreach (var pattern in NoisePatterns)
        {
            args.Add("--exclude=" + pattern);
        }

        args.Add("--from0");
        if (excludeFile is not null)
        {
            args.Add("--exclude-from=" + excludeFile);
        }

        args.Add("--files-from=-");
        args.Add("./");
        args.Add(target.Destination);
        return args;
    }
}
