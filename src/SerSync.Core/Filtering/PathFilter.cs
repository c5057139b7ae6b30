
using SerSync.Configuration;
using SerSync.Paths;

namespace SerSync.Filtering;

/// <summary>
/// Decides which paths under a watched root are left alone: editor noise (<see cref="NoiseFilter"/>, files and
/// directories, on by default) and the configuration's exclude regexes. A regex sees the path relative to the root ('/'-separated,
/// no leading or trailing slash, the same at every depth); a directory that matches excludes its whole subtree, so
/// the ancestors of a path are tested too. The watcher never watches an excluded directory, and the full push uses
/// the same <see cref="IsExcluded"/>.
/// </summary>
public sealed class PathFilter
{
    private readonly IReadOnlyList<ExcludeRule> _rules;

    public PathFilter(FilterConfig? filter = null, bool dropEditorNoise = true)
    {
        _rules = filter is { Enabled: true } ? filter.Excludes : [];
        DropsEditorNoise = dropEditorNoise;
    }

    /// <summary>Nothing excluded, not even editor noise.</summary>
    public static PathFilter None { get; } = new(null, dropEditorNoise: false);

    public bool DropsEditorNoise { get; }

    public bool HasRules => _rules.Count > 0;

    /// <summary>The filter as a full push needs it: null when nothing but editor noise is excluded (rsync's own
    /// patterns cover noise, so the tree walk for an exclude list is skipped).</summary>
    public Func<RelativePath, bool, bool>? RulesOrNull => HasRules ? IsExcluded : null;

    /// <summary>True when <paramref name="path"/> must not be watched or synced. The root is never excluded.</summary>
    public bool IsExcluded(RelativePath path, bool isDirectory)
    {
        if (IsExcludedItself(path, isDirectory, out var text))
        {
            return true;
        }

        if (text is null)
        {
            return false;
        }

        // Every ancestor is a directory: a match there excludes this path as part of its subtree.
        for (var slash = text.LastIndexOf('/'); slash > 0; slash = text.LastIndexOf('/', slash - 1))
        {
            if (Matches(text[..slash]))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Like <see cref="IsExcluded"/> but for a path whose parent is known not to be excluded (the watcher
    /// only sees paths in watched directories): the ancestors are not tested again.</summary>
    public bool IsExcludedBelowIncluded(RelativePath path, bool isDirectory) => IsExcludedItself(path, isDirectory, out _);

    private bool IsExcludedItself(RelativePath path, bool isDirectory, out string? text)
    {
        text = null;
        if (path.IsRoot)
        {
            return false;
        }

        // Directories too: rsync's noise patterns (RsyncArguments.NoisePatterns, no trailing slash) exclude a directory
        // such as rsync's own --delay-updates ".~tmp~" and so never delete it on the target either; a watched one
        // would send its contents (-R creates it as an implied directory) and leave it there for good.
        if (DropsEditorNoise && NoiseFilter.IsNoise(path.Name))
        {
            return true;
        }

        if (_rules.Count == 0)
        {
            return false;
        }

        text = path.ToMatchString();
        return Matches(text);
    }

    private bool Matches(string text)
    {
        foreach (var rule in _rules)
        {
            if (rule.Regex.IsMatch(text))
            {
                return true;
            }
        }

        return false;
    }
}
