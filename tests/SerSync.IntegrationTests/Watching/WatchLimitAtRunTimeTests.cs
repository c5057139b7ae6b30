using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Channels;
using SerSync.Configuration;
using SerSync.Filtering;
using SerSync.Paths;
using SerSync.Testing;
using SerSync.Watching;

namespace SerSync.IntegrationTests.Watching;

/// <summary>Running out of inotify watches while the tree grows, with the kernel's real ENOSPC: max_user_watches is
/// lowered to a little above what the machine uses, for a few seconds, and restored in a finally.</summary>
[Collection("kernel-limits")]
public sealed class WatchLimitAtRunTimeTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task As_root_the_limit_is_raised_and_every_new_directory_watched()
    {
        Assert.SkipUnless(Environment.IsPrivilegedProcess, "needs root to lower max_user_watches");
        var ct = TestContext.Current.CancellationToken;
        using var temp = new TempDirectory("sersync-limit-");
        var (channel, changes, pump) = Collect(ct);
        using var watcher = new InotifyWatcher(temp.Path, InotifyConfig.Stock, new PathFilter(), channel.Writer);
        watcher.Start();
        var original = InotifyLimits.Read(InotifyLimits.MaxUserWatchesFile)!.Value;
        long lowered;
        try
        {
            using var limit = LoweredWatchLimit.ToInUsePlus(room: 64);
            lowered = limit.Value;
            for (var i = 0; i < 50; i++)
            {
                Directory.CreateDirectory(Path.Combine(temp.Path, $"n{i}/a/b")); // 150 new directories, past the room
            }

            await Eventually.TrueAsync(() => watcher.WatchCount == 151, Deadline, "every new directory watched", ct);
            Assert.True(InotifyLimits.Read(InotifyLimits.MaxUserWatchesFile) > lowered, "the watcher raised the limit");
        }
        finally
        {
            RestoreIfLower(original);
        }

        Assert.Equal(original, InotifyLimits.Read(InotifyLimits.MaxUserWatchesFile));
        Assert.Equal(0, watcher.Unwatched.Count);
        Assert.False(watcher.Completion.IsCompleted); // still reading

        // Watched, so a file made in the deepest directory is seen as a change of its own.
        await File.WriteAllTextAsync(Path.Combine(temp.Path, "n49/a/b/late"), "x", ct);
        await Eventually.TrueAsync(() => changes.Any(c => c.Path.ToString() == "n49/a/b/late"), Deadline, "n49/a/b/late reported by its watch", ct);
        channel.Writer.TryComplete();
        await pump;
    }

    [Fact]
    public async Task Without_the_right_to_raise_new_directories_are_rescanned_until_their_watches_fit()
    {
        Assert.SkipUnless(Environment.IsPrivilegedProcess, "needs root to lower max_user_watches");
        var ct = TestContext.Current.CancellationToken;
        using var temp = new TempDirectory("sersync-limit-");
        var (channel, changes, pump) = Collect(ct);
        using var watcher = new InotifyWatcher(temp.Path, InotifyConfig.Stock, new PathFilter(), channel.Writer) { MayRaiseWatchLimit = false };
        watcher.Unwatched.Interval = TimeSpan.FromSeconds(1);
        watcher.Start();
        var original = InotifyLimits.Read(InotifyLimits.MaxUserWatchesFile)!.Value;
        RelativePath unwatched;
        TimeSpan seenAfter;
        try
        {
            using var limit = LoweredWatchLimit.ToInUsePlus(room: 8);
            for (var i = 0; i < 30; i++)
            {
                Directory.CreateDirectory(Path.Combine(temp.Path, $"n{i:D2}"));
                await File.WriteAllTextAsync(Path.Combine(temp.Path, $"n{i:D2}/f"), "made with the directory", ct);
            }

            await Eventually.TrueAsync(() => watcher.Unwatched.Count > 0 && watcher.WatchCount + watcher.Unwatched.Count >= 31, Deadline, "the directories past the limit are unwatched", ct);
            Assert.False(watcher.Completion.IsCompleted); // the watcher goes on
            unwatched = watcher.Unwatched.Sample(1)[0];

            // The unwatched directory was reported whole (createFolder), and a file made in it later is found by the
            // rescan (an UpsertTree of the directory again), within the interval and a little.
            await Eventually.TrueAsync(() => changes.Any(c => c.Kind == ChangeKind.UpsertTree && c.Path == unwatched), Deadline, "the unwatched directory reported whole", ct);
            var before = changes.Count;
            var clock = Stopwatch.StartNew();
            await File.WriteAllTextAsync(Path.Combine(temp.Path, unwatched.ToString(), "late"), "while unwatched", ct);
            await Eventually.TrueAsync(() => changes.Skip(before).Any(c => c.Kind == ChangeKind.UpsertTree && c.Path == unwatched), TimeSpan.FromSeconds(10), "the rescan sends the unwatched directory again", ct);
            seenAfter = clock.Elapsed;

            limit.Restore(); // the admin raises the limit
        }
        finally
        {
            RestoreIfLower(original);
        }

        Assert.Equal(original, InotifyLimits.Read(InotifyLimits.MaxUserWatchesFile));
        Assert.True(seenAfter < TimeSpan.FromSeconds(4), $"found by the rescan after {seenAfter}");

        // The next rescan places the watches, then sends each directory once more; the set empties.
        var mark = changes.Count;
        await Eventually.TrueAsync(() => watcher.Unwatched.Count == 0 && watcher.WatchCount == 31, Deadline, "every directory watched again", ct);
        await Eventually.TrueAsync(() => changes.Skip(mark).Any(c => c.Kind == ChangeKind.UpsertTree && c.Path == unwatched), Deadline, "the directory sent once more after its watch was placed", ct);
        await File.WriteAllTextAsync(Path.Combine(temp.Path, unwatched.ToString(), "watched"), "x", ct);
        await Eventually.TrueAsync(() => changes.Any(c => c.Kind == ChangeKind.Upsert && c.Path == unwatched.Append("watched"u8)), Deadline, "a file in it is reported by its own watch", ct);
        channel.Writer.TryComplete();
        await pump;
    }

    private static (Channel<FileChange> Channel, ConcurrentQueue<FileChange> Changes, Task Pump) Collect(CancellationToken ct)
    {
        var channel = Channel.CreateUnbounded<FileChange>();
        var changes = new ConcurrentQueue<FileChange>();
        var pump = Task.Run(
            async () =>
            {
                await foreach (var c in channel.Reader.ReadAllAsync(ct))
                {
                    changes.Enqueue(c);
                }
            },
            ct);
        return (channel, changes, pump);
    }

    private static void RestoreIfLower(long original)
    {
        if (InotifyLimits.Read(InotifyLimits.MaxUserWatchesFile) < original)
        {
            File.WriteAllText(InotifyLimits.MaxUserWatchesFile, original.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
    }
}
