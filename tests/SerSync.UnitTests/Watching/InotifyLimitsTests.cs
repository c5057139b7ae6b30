using System.Globalization;
using SerSync.Filtering;
using SerSync.Testing;
using SerSync.Watching;

namespace SerSync.UnitTests.Watching;

public sealed class InotifyLimitsTests
{
    [Fact]
    public void Counts_directories_skipping_excluded_ones()
    {
        using var t = new TempDirectory();
        Directory.CreateDirectory(Path.Combine(t.Path, "a/b/c"));
        Directory.CreateDirectory(Path.Combine(t.Path, "skip/deep"));
        File.WriteAllText(Path.Combine(t.Path, "a/f"), "x");
        var filter = new PathFilter(new SerSync.Configuration.FilterConfig(true,
            [new SerSync.Configuration.ExcludeRule("skip", new System.Text.RegularExpressions.Regex("^(?:skip)$"), 1)]));
        Assert.Equal(6, InotifyLimits.CountDirectories(t.Path, new PathFilter()));
        Assert.Equal(4, InotifyLimits.CountDirectories(t.Path, filter));
    }

    [Fact]
    public void Raises_a_too_low_limit_when_root_and_says_so()
    {
        Assert.SkipUnless(Environment.IsPrivilegedProcess, "only root may raise the limit");
        using var t = new TempDirectory();
        var file = Path.Combine(t.Path, "max_user_watches");
        File.WriteAllText(file, "100\n");
        var message = InotifyLimits.RaiseWatchLimitIfNeeded(50_000, file);
        Assert.NotNull(message);
        Assert.Contains("from 100 to 108192", message, StringComparison.Ordinal);
        Assert.Equal(108192, InotifyLimits.Read(file));

        // High enough now: nothing to do.
        Assert.Null(InotifyLimits.RaiseWatchLimitIfNeeded(50_000, file));
        Assert.Equal("108192", File.ReadAllText(file).Trim());
        Assert.Equal(108192.ToString(CultureInfo.InvariantCulture), File.ReadAllText(file).Trim());
    }
}
