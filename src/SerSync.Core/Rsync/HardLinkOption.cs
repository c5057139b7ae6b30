namespace SerSync.Rsync;

/// <summary>Whether a target's <c>commonParams</c> ask rsync to preserve hard links (<c>-H</c>,
/// <c>--hard-links</c>; the last of those and <c>--no-H</c>/<c>--no-hard-links</c> wins, as in rsync).
/// <c>-a</c> does not imply it.</summary>
public static class HardLinkOption
{
    /// <summary>Short options that take an argument: the rest of a bundle after one is its value, not options.</summary>
    private const string ShortWithArgument = "efBTM@";

    public static bool IsOn(IReadOnlyList<string> commonParams)
    {
        ArgumentNullException.ThrowIfNull(commonParams);
        var on = false;
        foreach (var word in commonParams)
        {
            if (word.StartsWith("--", StringComparison.Ordinal))
            {
                if (word is "--hard-links")
                {
                    on = true;
                }
                else if (word is "--no-hard-links" or "--no-H")
                {
                    on = false;
                }

                continue;
            }

            if (word.Length < 2 || word[0] != '-')
            {
                continue;
            }

            foreach (var c in word.AsSpan(1))
            {
                if (c == 'H')
                {
                    on = true;
                }

                if (ShortWithArgument.Contains(c, StringComparison.Ordinal))
                {
                    break;
                }
            }
        }

        return on;
    }
}
