namespace SerSync.Filtering;

/// <summary>
/// Editor scratch files that must never reach a target: vim swap and probe files (<c>.*.swp</c>, <c>.*.swx</c>,
/// any <c>.*.sw?</c>, <c>4913</c>), backups ending in <c>~</c>, emacs autosaves <c>#*#</c> and lock links
/// <c>.#*</c>. Matches the last name only, as bytes. Unlike sersync, ordinary dot-files (<c>.htaccess</c>,
/// <c>.env</c>) are not noise.
/// </summary>
public static class NoiseFilter
{
    public static bool IsNoise(ReadOnlySpan<byte> name)
    {
        if (name.IsEmpty)
        {
            return false;
        }

        if (name.SequenceEqual("4913"u8) || name[^1] == (byte)'~')
        {
            return true;
        }

        if (name.Length >= 2 && name[0] == (byte)'#' && name[^1] == (byte)'#')
        {
            return true;
        }

        if (name.StartsWith(".#"u8))
        {
            return true;
        }

        // ".<anything>.sw<one char>": a leading dot, then ".sw" and exactly one more byte at the end.
        return name.Length >= 5 && name[0] == (byte)'.' && name[^4..^1].SequenceEqual(".sw"u8);
    }
}
