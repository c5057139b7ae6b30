using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Serilog;
using SerSync.Configuration;
using SerSync.Daemon.Operations;
using SerSync.Pipeline;

namespace SerSync.Daemon;

/// <summary>Runs <see cref="MirrorService"/> under Microsoft.Extensions.Hosting with Serilog until SIGTERM.</summary>
internal static class DaemonHost
{
    public static async Task<int> RunAsync(CommandLine cl, SerSyncConfig config, DaemonPaths paths)
    {
        // No defaults: they would load appsettings and environment configuration we do not use, and the default
        // reload-on-change puts inotify watches over the whole working directory (/ under systemd), spending the
        // very watch budget the mirror needs.
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            DisableDefaults = true,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Services.AddSerilog();
        builder.Services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
        builder.Services.Configure<HostOptions>(o =>
        {
            o.ShutdownTimeout = TimeSpan.FromSeconds(75);
            o.BackgroundServiceExceptionBehavior = BackgroundServiceExceptionBehavior.StopHost;
        });
        builder.Services.AddSingleton(config);
        var watchdog = WatchdogSettings.FromEnvironment();
        var liveness = watchdog is null ? null : new Liveness(watchdog.BeatPeriod, TimeProvider.System);
        builder.Services.AddSingleton(new MirrorOptions(cl.Workers, cl.FullPushFirst, TimeSpan.FromSeconds(60), paths.StateDirectory) { PluginAlone = cl.Plugin, Liveness = liveness, RaiseInotifyLimits = Environment.GetEnvironmentVariable("SERSYNCD_RAISE_INOTIFY_LIMITS") != "0" });
        builder.Services.AddSingleton(_ => SystemdNotifier.FromEnvironment());
        builder.Services.AddSingleton(TimeProvider.System);
        if (watchdog is not null)
        {
            // Before the mirror: hosted services start in order, and the mirror's start places every watch first.
            builder.Services.AddSingleton(watchdog);
            builder.Services.AddSingleton(liveness!);
            builder.Services.AddHostedService<Watchdog>();
        }

        var status = new StatusSource(TimeProvider.System, config.SourceFile);
        builder.Services.AddSingleton(status);
        // A plugin run alone (-m) serves no HTTP: the same file's sync instance owns that port.
        if (config.Status.Listen is not null && cl.Plugin is null)
        {
            // First: the port is bound (or retried every 10 s while the daemon mirrors on) before the socket or any watch. Without listen,
            // nothing of the HTTP server or the metrics is built.
            builder.Services.AddSingleton(config.Status);
            builder.Services.AddHostedService<StatusHttpServer>();
        }

        // Before the mirror, so that the socket answers while watches are placed, and (hosted services stop in
        // reverse order) still answers while the mirror drains at a stop.
        builder.Services.AddHostedService(sp => new StatusSocketServer(
            paths.StatusSocket, config.Status, status, TimeProvider.System, sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<StatusSocketServer>>()));
        builder.Services.AddHostedService<MirrorService>();
        using var host = builder.Build();
        await host.RunAsync();

        return Environment.ExitCode;
    }
}
