using Microsoft.Extensions.Logging;
using Serilog.Extensions.Logging;
using SerSync.Configuration;
using SerSync.Pipeline;

namespace SerSync.Daemon;

/// <summary><c>--once</c>: push every root in full to every target, then exit 0, or 1 if any target failed.</summary>
internal static class OnceCommand
{
    public static async Task<int> RunAsync(SerSyncConfig config, int workers)
    {
        using var factory = new SerilogLoggerFactory(Serilog.Log.Logger);
        var logger = factory.CreateLogger("sersyncd");
        var push = PipelineFactory.CreateFullPush(config, workers, TimeProvider.System, logger);
        var results = await push.Push.RunAsync(push.Targets, push.IsExcluded, [], CancellationToken.None);
        var failed = results.Count(r => !r.Result.Succeeded);
        logger.LogInformation("Full push finished: {Ok} target(s) in sync, {Failed} failed", results.Count - failed, failed);
        return failed == 0 ? ExitCodes.Ok : ExitCodes.SomeTargetsFailed;
    }
}
