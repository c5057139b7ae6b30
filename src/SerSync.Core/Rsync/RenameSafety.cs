// rsync applies commonParams on the receiving side too: excludes and filters protect target paths from deletion,
// --backup keeps what a delete or an overwrite removes, -u/--update and --ignore-existing keep a target file that
// exists (newer, or at all), --existing creates nothing, --max-delete caps deletes. rename(2) and a remote mv know
// none of that, so a rename replayed on the target must not do what rsync itself would have refused.
namespace SerSync.Rsync;

/// <summary>What a target's rsync options allow a rename replayed on it (instead of a delete and a send) to do.</summary>
public enum RenameMode
{
    /// <summary>No renames: an option makes rsync protect or keep target paths in ways a rename cannot honour.</summary>
    Off,

    /// <summary>Renames only onto a path the target does not hold (<c>-u</c>, <c>--ignore-existing</c>: rsync would
    /// keep a target file that exists, so a rename must not replace one).</summary>
    NoReplace,

    /// <summary>Renames may replace a file, as rename(2) on the source did.</summary>
    Replace,
}

/// <summary>Reads a target's <c>commonParams</c> for the options that decide its <see cref="RenameMode"/>.</summary>
public static class RenameSafety
{
    private static readonly HashSet<string> OffLong = new(StringComparer.Ordinal)
    {
        "exclude", "exclude-from", "include", "include-from", "filter", "cvs-exclude", "delete-excluded",
        "backup", "backup-dir", "suffix", "max-delete", "existing", "ignore-non-existing", "keep-dirlinks", "dry-run",
    };

    private static readonly HashSet<string> NoReplaceLong = new(StringComparer.Ordinal) { "update", "ignore-existing" };

    /// <summary>Short options that take an argument: the rest of a bundle after one is its value, not options.</summary>
    private const string ShortWithArgument = "efBTM@";

    /// <returns>The mode, and the option that decided it (null for <see cref="RenameMode.Replace"/>).</returns>
    public static (RenameMode Mode, string? Because) Of(IReadOnlyList<string> commonParams)
    {
        ArgumentNullException.ThrowIfNull(commonParams);
        var mode = RenameMode.Replace;
        string? because = null;
        foreach (var word in commonParams)
        {
            if (word.StartsWith("--", StringComparison.Ordinal))
            {
                var name = word[2..];
                var eq = name.IndexOf('=', StringComparison.Ordinal);
                name = eq >= 0 ? name[..eq] : name;
                if (OffLong.Contains(name))
                {
                    return (RenameMode.Off, word);
                }

                if (NoReplaceLong.Contains(name))
                {
                    (mode, because) = (RenameMode.NoReplace, word);
                }

                continue;
            }

            if (word.Length < 2 || word[0] != '-')
            {
                continue;
            }

            foreach (var c in word.AsSpan(1))
            {
                if (c is 'f' or 'F' or 'C' or 'b' or 'K' or 'n')
                {
                    return (RenameMode.Off, word);
                }

                if (c == 'u')
                {
                    (mode, because) = (RenameMode.NoReplace, word);
                }

                if (ShortWithArgument.Contains(c, StringComparison.Ordinal))
                {
                    break;
                }
            }
        }

        return (mode, because);
    }
}
