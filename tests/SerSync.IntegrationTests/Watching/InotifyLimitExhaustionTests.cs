using System.Globalization;
using System.Threading.Channels;
using SerSync.Configuration;
using SerSync.Filtering;
using SerSync.Paths;
using SerSync.Testing;
using SerSync.Watching;

namespace SerSync.IntegrationTests.Watching;

/// <summary>Lowers system-wide inotify limits for a moment: runs alone, never beside tests that start watchers.</summary>
[CollectionDefinition("kernel-limits", DisableParallelization = true)]
public sealed class KernelLimitsGroup;

[Collection("kernel-limits")]
public sealed class InotifyLimitExhaustionTests
{
    [Fact]
    public void Running_out_of_watches_names_max_user_watches_and_the_need()
    {
        Assert.SkipUnless(Environment.IsPrivilegedProcess, "needs root to lower max_user_watches");
        using var temp = new TempDirectory("sersync-watch-");
        for (var i = 0; i < 20; i++)
        {
            Directory.CreateDirectory(Path.Combine(temp.Path, $"d{i}"));
        }

        using var w = new InotifyWatcher(temp.Path, InotifyConfig.Stock, new PathFilter(), Channel.CreateUnbounded<FileChange>().Writer);

        var limit = InotifyLimits.Read(InotifyLimits.MaxUserWatchesFile)!.Value;
        WatchLimitException? ex;
        try
        {
            // Zero: deterministic whatever else this uid watches; restored at once.
            File.WriteAllText(InotifyLimits.MaxUserWatchesFile, "0");
            ex = Assert.Throws<WatchLimitException>(w.Start);
        }
        finally
        {
            RestoreIfUnchanged(InotifyLimits.MaxUserWatchesFile, limit);
        }

        Assert.Contains("/proc/sys/fs/inotify/max_user_watches", ex.Message, StringComparison.Ordinal);
        Assert.Equal(21, ex.Needed);
        Assert.Contains("needs 21", ex.Message, StringComparison.Ordinal);
        Assert.Equal(InotifyLimits.MaxUserWatchesFile, ex.LimitFile);
    }

    [Fact]
    public void Running_out_of_instances_names_max_user_instances()
    {
        Assert.SkipUnless(Environment.IsPrivilegedProcess, "needs root to lower max_user_instances");
        using var temp = new TempDirectory();
        using var w = new InotifyWatcher(temp.Path, InotifyConfig.Stock, new PathFilter(), Channel.CreateUnbounded<FileChange>().Writer);
        var limit = InotifyLimits.Read(InotifyLimits.MaxUserInstancesFile)!.Value;
        WatchLimitException? ex;
        try
        {
            File.WriteAllText(InotifyLimits.MaxUserInstancesFile, "0");
            ex = Assert.Throws<WatchLimitException>(w.Start);
        }
        finally
        {
            RestoreIfUnchanged(InotifyLimits.MaxUserInstancesFile, limit);
        }

        Assert.Contains("/proc/sys/fs/inotify/max_user_instances", ex.Message, StringComparison.Ordinal);
        Assert.Equal(InotifyLimits.MaxUserInstancesFile, ex.LimitFile);
    }

    /// <summary>Puts a lowered limit back, unless someone else changed it meanwhile (theirs wins).</summary>
    private static void RestoreIfUnchanged(string file, long original)
    {
        if (InotifyLimits.Read(file) == 0)
        {
            File.WriteAllText(file, original.ToString(CultureInfo.InvariantCulture));
        }
    }
}

