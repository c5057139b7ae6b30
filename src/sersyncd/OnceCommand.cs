using Microsoft.Extensions.Logging;
using Serilog.Extensions.Logging;
using SerSync.Configuration;
using SerSync.Pipeline;
using SerSync.Rsync;

namespace SerSync.Daemon;

/// <summary><c>--once</c>: push every root in full to every target, then exit 0, 1 if any target failed, or 75 if the
/// delete guard held a target's deletes (that target was pushed without deleting).</summary>
internal static partial class OnceCommand
{
    public static async Task<int> RunAsync(SerSyncConfig config, int workers)
    {
        using var factory = new SerilogLoggerFactory(Serilog.Log.Logger);
        var logger = factory.CreateLogger("sersyncd");
        var push = PipelineFactory.CreateFullPush(config, workers, TimeProvider.System, logger);
        var results = await push.Push.RunAsync(push.Targets, push.IsExcluded, [], CancellationToken.None);
        // rsync stopped deleting at what the dry run judged (the source lost more in between): once more, judged again.
        var stopped = results.Where(r => r.Result.ExitCode == RsyncExitCodes.MaxDeleteReached).Select(r => r.Target).ToList();
        if (stopped.Count > 0)
        {
            var again = await push.Push.RunAsync(stopped, push.IsExcluded, [], CancellationToken.None);
            results = [.. results.Where(r => !stopped.Contains(r.Target)), .. again];
        }

        var failed = results.Count(r => !r.Result.Succeeded);
        Finished(logger, results.Count - failed, failed);
        var held = 0;
        foreach (var guard in push.Guards)
        {
            if (guard.Current is { } hold)
            {
                held++;
                DeletesHeld(logger, guard.Target.Label, hold.Deletes, hold.Held);
            }
        }

        return held > 0 ? ExitCodes.DeletesHeld : failed == 0 ? ExitCodes.Ok : ExitCodes.SomeTargetsFailed;
    }

    [LoggerMessage(EventId = 9301, Level = LogLevel.Information, Message = "Full push finished: {Ok} target(s) in sync, {Failed} failed")]
    private static partial void Finished(ILogger logger, int ok, int failed);

    [LoggerMessage(EventId = 9302, Level = LogLevel.Critical, Message = "--once: the delete guard held the deletes of the full push to {Target} ({Deletes} of the {Held} files it holds): it was pushed WITHOUT deleting, exit 75. Check the source (unmounted? emptied?). To push those deletes anyway, run --once again with <deleteGuard start=\"false\"/> (or a higher percent) in that root's <localpath> or in <sersync>")]
    private static partial void DeletesHeld(ILogger logger, string target, long deletes, long held);
}
