namespace SerSync.Watching;

// TEMPORARY until the watcher's cookie barrier lands (branch watch).
public sealed partial class InotifyWatcher
{
    public Task<bool> SyncAsync(TimeSpan timeout, CancellationToken cancellationToken = default) => Task.FromResult(Volatile.Read(ref _watchCount) < 0);
}
