using Microsoft.Extensions.Logging;
using SerSync.Daemon.Operations;
using SerSync.Interop;

namespace SerSync.Daemon;

public sealed partial class MirrorService
{
    private static readonly TimeSpan RootPollInterval = TimeSpan.FromSeconds(1);

    /// <summary>
    /// A watched root was lost: the daemon stays up, says so (log, STATUS=, status phase <c>waitingforroot</c>), and
    /// waits until a directory is at every root's path again (at least one interval, so a flapping mount cannot spin),
    /// then the lifecycle builds a new pipeline: the pipeline marked the root lost in its state, so the new one gives
    /// its targets a full sync, which the delete guard runs without deleting while the source is empty. Returns
    /// false when the daemon is stopped meanwhile.
    /// </summary>
    private async Task<bool> WaitForRootsAsync(string why, CancellationToken stoppingToken)
    {
        RootLostWaiting(why);
        status.SetPhase(DaemonPhase.WaitingForRoot);
        notifier.Status("idle, root lost: " + why);
        try
        {
            do
            {
                await Task.Delay(RootPollInterval, time, stoppingToken);
            }
            while (_config.Watches.Any(w => FileIdentity.DirectoryIdentityOf(w.Path) is null));
        }
        catch (OperationCanceledException)
        {
            return false;
        }

        RootBack();
        status.SetPhase(DaemonPhase.Starting);
        return true;
    }

    [LoggerMessage(EventId = 13111, Level = LogLevel.Critical, Message = "{Why}. Waiting for it (checked once a second); the daemon stays up")]
    private partial void RootLostWaiting(string why);

    [LoggerMessage(EventId = 13112, Level = LogLevel.Warning, Message = "Every watched root is a directory again: watching it anew")]
    private partial void RootBack();
}
