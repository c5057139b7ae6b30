// Implementation notes. SIGHUP arrives on the runtime's signal thread; it only writes to a channel that this
// service owns for its whole life (never disposed while the registration exists), so a SIGHUP during a reload or
// after the stop began cannot touch a disposed object. The config file is read on the service's own loop.
using System.Runtime.InteropServices;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SerSync.Configuration;
using SerSync.Daemon.Operations;
using SerSync.Interop;
using SerSync.Pipeline;
using SerSync.Watching;

namespace SerSync.Daemon;

/// <summary>
/// The daemon's lifecycle around <see cref="MirrorPipeline"/>: builds the pipeline, places every watch, runs the
/// <c>-r</c> push if asked, reports READY=1, then runs until SIGTERM or a fatal error, re-building the pipeline on
/// every valid SIGHUP. Ordering at start matters: watches go first so nothing changed during the push is missed,
/// and the workers start only after the push so a live batch can never be overwritten by an older copy the push
/// read earlier. On SIGTERM the workers drain what is pending within <see cref="MirrorOptions.DrainTimeout"/>.
/// </summary>
public sealed partial class MirrorService(
    SerSyncConfig config,
    MirrorOptions options,
    SystemdNotifier notifier,
    StatusSource status,
    TimeProvider time,
    IHostApplicationLifetime lifetime,
    ILoggerFactory loggers) : BackgroundService
{
    // .NET names only the portable signals; a raw number is allowed. SIGUSR1 is 10 on Linux (x86-64 and arm64
    // alike) and 30 on macOS and the BSDs.
    private static readonly PosixSignal SigUsr1 = (PosixSignal)(OperatingSystem.IsLinux() ? 10 : 30);
    private static readonly TimeSpan StatusInterval = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan PushProgressInterval = TimeSpan.FromSeconds(5);

    private static readonly TimeSpan ReloadDrainTimeout = TimeSpan.FromSeconds(10);
    private readonly ILogger _logger = loggers.CreateLogger<MirrorService>();
    private readonly Channel<bool> _reloads = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private TaskCompletionSource<PipelineFaultedEventArgs> _fault = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private SerSyncConfig _config = config;

    /// <summary>Asks for the config file to be read again (what SIGHUP does). Safe from any thread, at any time.</summary>
    public void RequestReload() => _reloads.Writer.TryWrite(true);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var hup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
        {
            context.Cancel = true; // SIGHUP reloads; it must not end the process
            LoggingSetup.ReopenLogFile();
            RequestReload();
        });
        using var usr1 = PosixSignalRegistration.Create(SigUsr1, context =>
        {
            context.Cancel = true; // SIGUSR1 only reopens the log file (logrotate's postrotate)
            LoggingSetup.ReopenLogFile();
        });
        var fullPush = options.FullPushFirst;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                using var pipeline = new MirrorPipeline(_config, options, time, loggers);
                var fault = _fault = new(TaskCreationOptions.RunContinuationsAsynchronously); // one per pipeline: a root lost rebuilds
                pipeline.Faulted += (_, e) => fault.TrySetResult(e);
                status.Publish(pipeline);
                var reload = await RunAsync(pipeline, fullPush, stoppingToken);
                status.Retire(pipeline);
                fullPush = false;
                if (!reload)
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            // A root that vanished between loading the config and placing its watches is a lost root too.
            Stop(ex is WatchLimitException or RootLostException or DirectoryNotFoundException ? ExitCodes.OsError : ExitCodes.Software, ex.Message, ex);
        }
    }

    /// <summary>Runs one pipeline; true when it ended for a reload, false for a stop or a fault.</summary>
    private async Task<bool> RunAsync(MirrorPipeline pipeline, bool fullPush, CancellationToken stoppingToken)
    {
        notifier.Progress("placing watches");
        pipeline.Start(notifier.Progress, fullPushFollows: fullPush);
        if (fullPush)
        {
            var status = $"watching {pipeline.WatchCount} directories; full push to {pipeline.Workers.Count} target(s)";
            var push = pipeline.FullPushAsync(stoppingToken);
            // The push may outlast TimeoutStartSec on a big tree: each tick tells systemd it is still running.
            while (!push.IsCompleted && !stoppingToken.IsCancellationRequested)
            {
                notifier.Progress(status);
                await Task.WhenAny(push, Task.Delay(PushProgressInterval, time, stoppingToken));
            }

            await push;
        }

        pipeline.StartWorkers();
        // Placing the watches built the long-lived watch tree and left its growth steps and the start's other
        // objects behind as garbage; a mirror daemon then allocates little for a long time, so without this the
        // garbage would stay resident. One aggressive collection returns it to the OS (measured in bench/README.md).
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        // Likewise the binary's pages that only the start ran or read (see StartupPages).
        if (OperatingSystem.IsLinux())
        {
            StartupPages.Release(); // /proc/self/maps and MADV_PAGEOUT: Linux only; elsewhere the pages stay
        }

        notifier.Ready(pipeline.StatusLine());
        Ready(pipeline.StatusLine());
        status.SetPhase(DaemonPhase.Running);

        var reload = false;
        using var ended = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var stop = Task.Delay(Timeout.Infinite, ended.Token);
        // One waiter at a time on the reload channel: a new one per status tick would pile up for the daemon's life.
        var hup = _reloads.Reader.WaitToReadAsync(ended.Token).AsTask();
        var tick = Task.Delay(StatusInterval, time, ended.Token);
        while (true)
        {
            var woke = await Task.WhenAny(stop, _fault.Task, hup, tick);
            if (woke == stop || woke == _fault.Task || stoppingToken.IsCancellationRequested)
            {
                break;
            }

            if (woke == hup)
            {
                if (_reloads.Reader.TryRead(out _) && TryLoadConfig())
                {
                    reload = true;
                    break;
                }

                hup = _reloads.Reader.WaitToReadAsync(ended.Token).AsTask();
                continue;
            }

            notifier.Status(pipeline.StatusLine());
            tick = Task.Delay(StatusInterval, time, ended.Token);
        }

        await ended.CancelAsync();

        if (_fault.Task.IsCompleted)
        {
            var fault = await _fault.Task;
            await pipeline.StopAsync(TimeSpan.Zero);
            if (fault.Fault == PipelineFault.RootLost)
            {
                return await WaitForRootsAsync(fault.Message, stoppingToken);
            }

            Stop(fault.Fault == PipelineFault.LoopCrashed ? ExitCodes.Software : ExitCodes.OsError, fault.Message, null);
            return false;
        }

        status.SetPhase(reload ? DaemonPhase.Reloading : DaemonPhase.Stopping);
        if (!reload)
        {
            notifier.Stopping("stopping: sending pending changes");
            StoppingLog();
        }

        await pipeline.StopAsync(reload ? ReloadDrainTimeout : options.DrainTimeout);
        return reload;
    }

    /// <summary>
    /// SIGHUP: re-reads the config file. An invalid file is refused with the same message as <c>-t</c> and the running
    /// configuration stays. A valid one replaces the pipeline: the new one starts from the journal (nothing pending is
    /// lost) plus a catch-up scan for the moment without watches. The state directory, workers and log settings from
    /// the command line stay.
    /// </summary>
    private bool TryLoadConfig()
    {
        try
        {
            var loaded = ConfigLoader.Load(_config.SourceFile);
            if (options.PluginAlone is { } alone)
            {
                // -m stays -m across a reload: the plugin alone, never the file's targets.
                loaded = loaded.ForPluginAlone(alone)
                    ?? throw new ConfigException($"{_config.SourceFile}: -m {alone}: the file has no <plugin name=\"{alone}\"> section to configure it");
            }

            _config = loaded;
            LoggingSetup.SetDebug(_config.Debug);
            Reloading(_config.SourceFile);
            notifier.Send("RELOADING=1\nSTATUS=reloading configuration");
            return true;
        }
        catch (ConfigException ex)
        {
            ReloadRefused(ex.Message);
            notifier.Status("reload refused: " + ex.Message);
            return false;
        }
    }

    private void Stop(int exitCode, string message, Exception? exception)
    {
        Fatal(message, exception);
        notifier.Status("failed: " + message);
        Environment.ExitCode = exitCode;
        lifetime.StopApplication();
    }

    [LoggerMessage(EventId = 9001, Level = LogLevel.Information, Message = "sersyncd ready: {Status}")]
    private partial void Ready(string status);

    [LoggerMessage(EventId = 9005, Level = LogLevel.Information, Message = "stopping: sending pending changes")]
    private partial void StoppingLog();

    [LoggerMessage(EventId = 9002, Level = LogLevel.Information, Message = "SIGHUP: reloading {File}")]
    private partial void Reloading(string file);

    [LoggerMessage(EventId = 9003, Level = LogLevel.Error, Message = "SIGHUP: the new configuration is refused and the running one stays: {Message}")]
    private partial void ReloadRefused(string message);

    [LoggerMessage(EventId = 9004, Level = LogLevel.Critical, Message = "{Message}")]
    private partial void Fatal(string message, Exception? exception);
}
