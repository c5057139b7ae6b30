using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Serilog;
using SerSync.Configuration;
using SerSync.Hosting;

namespace SerSync.Daemon;

/// <summary>Runs <see cref="MirrorService"/> under Microsoft.Extensions.Hosting with Serilog until SIGTERM.</summary>
internal static class DaemonHost
{
    public static async Task<int> RunAsync(CommandLine cl, SerSyncConfig config, DaemonPaths paths)
    {
        _ = paths;
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddSerilog();
        builder.Services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
        builder.Services.Configure<HostOptions>(o =>
        {
            o.ShutdownTimeout = TimeSpan.FromSeconds(75);
            o.BackgroundServiceExceptionBehavior = BackgroundServiceExceptionBehavior.StopHost;
        });
        builder.Services.AddSingleton(config);
        builder.Services.AddSingleton(new MirrorOptions(cl.Workers, cl.FullPushFirst, TimeSpan.FromSeconds(60)));
        builder.Services.AddSingleton(_ => SystemdNotifier.FromEnvironment());
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddHostedService<MirrorService>();
        using var host = builder.Build();
        await host.RunAsync();
        return Environment.ExitCode;
    }
}
