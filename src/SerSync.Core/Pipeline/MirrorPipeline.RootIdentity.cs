// Implementation notes. A watch follows an inode, not a path (the identity below adds the birth time, since a
// directory deleted and made again may get the same inode number). Unmounting the filesystem a root lives on sends
// IN_UNMOUNT; unmounting a bind mount sends nothing (the watched inodes live on, elsewhere), and neither does mounting
// another filesystem over the root, or a root replaced by `mv new root`: the watcher keeps watching a directory that
// is no longer at the path. So the path's (st_dev, st_ino) is compared with the watched root's once a second, and a
// difference is a lost root like IN_UNMOUNT / IN_DELETE_SELF / IN_MOVE_SELF. The identity is also kept in the root's
// state directory ("root-identity"; "lost" once the root was lost): a start that finds another directory at the path
// (an empty mount point after a mount failed at boot, the root replaced while the daemon was down) or a root lost by
// the previous pipeline gives every target of the root a full sync, which the delete guard runs without deleting if
// the source is empty or mostly gone.
using System.Globalization;
using Microsoft.Extensions.Logging;
using SerSync.Interop;
using SerSync.Paths;
using SerSync.Watching;

namespace SerSync.Pipeline;

public sealed partial class MirrorPipeline
{
    private static readonly TimeSpan RootCheckInterval = TimeSpan.FromSeconds(1);
    private const string LostMark = "lost";
    private readonly Dictionary<string, (ulong Device, ulong Inode, long Birth)?> _watchedIdentity = new(StringComparer.Ordinal);
    private int _rootLost;

    /// <summary>Reads the root's identity before its watches are placed (so a swap while they are placed is seen).</summary>
    private void TakeRootIdentity(Root root) => _watchedIdentity[root.Watch.Path] = FileIdentity.DirectoryIdentityOf(root.Watch.Path);

    private static string Format((ulong Device, ulong Inode, long Birth)? id) =>
        id is { } v ? string.Create(CultureInfo.InvariantCulture, $"{v.Device >> 32}:{v.Device & 0xFFFFFFFF} {v.Inode} {v.Birth}") : LostMark;

    private string? IdentityFile(Root root) =>
        _options.StateDirectory is { } state ? Path.Combine(state, StableId.Of(root.Watch.Path), "root-identity") : null;

    /// <summary>
    /// After the journal is opened and recovered: a root that is not the directory the state knew (or that the last
    /// pipeline lost) gets a guarded full sync of every target (unless a <c>-r</c> push follows, which is guarded
    /// itself); then the identity is kept.
    /// </summary>
    private void CheckRootIdentity(Root root, bool fullPushFollows)
    {
        if (IdentityFile(root) is not { } file)
        {
            return;
        }

        var now = Format(_watchedIdentity.GetValueOrDefault(root.Watch.Path));
        string? was = null;
        try
        {
            was = File.ReadAllText(file).Trim();
        }
        catch (FileNotFoundException)
        {
        }

        if (was is not null && was != now)
        {
            RootIdentityChanged(root.Watch.Path, was, now, fullPushFollows ? "the -r push is guarded" : "a guarded full sync of every target");
            if (!fullPushFollows)
            {
                foreach (var worker in root.Workers)
                {
                    root.Dispatcher!.RequestFullSync(worker);
                }
            }
        }

        WriteIdentity(file, now);
    }

    private static void WriteIdentity(string file, string text)
    {
        var tmp = file + ".tmp";
        File.WriteAllText(tmp, text + "\n");
        File.Move(tmp, file, overwrite: true);
    }

    /// <summary>The root is gone from its path (IN_UNMOUNT, IN_DELETE_SELF, IN_MOVE_SELF, or another directory there
    /// now): marked lost in the state (the next pipeline fully syncs it, guarded), and the pipeline stops for the
    /// lifecycle to build a new one once a directory is at the path again. The targets keep their files.</summary>
    private void LoseRoot(Root root, string why)
    {
        if (Interlocked.Exchange(ref _rootLost, 1) != 0)
        {
            return;
        }

        if (IdentityFile(root) is { } file)
        {
            try
            {
                WriteIdentity(file, LostMark);
            }
            catch (IOException)
            {
                // The state directory is the journal's too: a fault there is reported by the journal.
            }
        }

        Fail(PipelineFault.RootLost, $"watched root {root.Watch.Path} was lost ({why}): its targets keep their files; watching again once a directory is there, with a guarded full sync");
    }

    /// <summary>Once a second: each root's path still names the directory that is watched.</summary>
    private async Task WatchRootIdentityAsync(CancellationToken token)
    {
        try
        {
            while (!token.IsCancellationRequested)
            {
                await Task.Delay(RootCheckInterval, _time, token);
                foreach (var root in _roots)
                {
                    var watched = _watchedIdentity.GetValueOrDefault(root.Watch.Path);
                    var now = FileIdentity.DirectoryIdentityOf(root.Watch.Path);
                    if (watched is not null && now != watched)
                    {
                        LoseRoot(root, now is null ? "no directory at the path" : $"another directory at the path: {Format(watched)} is now {Format(now)} (unmounted, mounted over, or replaced)");
                        return;
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    [LoggerMessage(EventId = 13110, Level = LogLevel.Critical, Message = "Watched root {Root} is not the directory it was ({Was} is now {Now}: remounted, mounted over, replaced, or an empty mount point): {What}; the delete guard holds its deletes if the source is empty or mostly gone")]
    private partial void RootIdentityChanged(string root, string was, string now, string what);

    private static string Reason(RootLostReason reason) => reason switch
    {
        RootLostReason.Unmounted => "unmounted",
        RootLostReason.Deleted => "deleted",
        RootLostReason.Moved => "moved",
        _ => "its watch was removed",
    };
}
