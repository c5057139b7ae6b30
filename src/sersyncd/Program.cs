using Serilog;
using SerSync.Configuration;
using SerSync.Daemon;
using SerSync.Daemon.Operations;

try
{
    return await Sersyncd.RunAsync(args);
}
catch (Exception ex)
{
    // Last resort: a fatal runtime error is one line and a non-zero status, never a bare stack trace.
    Console.Error.WriteLine($"sersyncd: fatal: {Sersyncd.OneLine(ex.Message)}");
    Log.Logger.Fatal(ex, "fatal error");
    await Log.CloseAndFlushAsync();
    return ExitCodes.Software;
}

namespace SerSync.Daemon
{
    internal static class Sersyncd
    {
        public static async Task<int> RunAsync(string[] args)
        {
            CommandLine cl;
            try
            {
                cl = CommandLine.Parse(args);
            }
            catch (UsageException ex)
            {
                await Console.Error.WriteLineAsync($"sersyncd: {ex.Message}\n\n{CommandLine.Usage}");
                return ExitCodes.Usage;
            }

            if (cl.Help)
            {
                Console.WriteLine(CommandLine.Usage);
                return 0;
            }

            if (cl.Version)
            {
                Console.WriteLine($"sersyncd {StatusSource.Version}");
                return 0;
            }

            if (OperatingSystem.IsWindows())
            {
                // inotify's and FSEvents' peers aside, the daemon is built on Unix: rsync over a pipe, /bin/sh for the
                // fail log, file modes, signals, unix sockets for status. Said once, before anything is read.
                await Console.Error.WriteLineAsync("sersyncd: Windows is not supported: sersyncd runs on Linux, macOS and the BSDs (README, \"Platforms\")");
                return ExitCodes.Unsupported;
            }

            if (cl.Plugin is not null && !KnownPlugin(cl.Plugin))
            {
                return ExitCodes.Usage;
            }

            SerSyncConfig config;
            try
            {
                config = ConfigLoader.Load(Path.GetFullPath(cl.ConfigFile));
            }
            catch (ConfigException ex)
            {
                await Console.Error.WriteLineAsync($"sersyncd: {OneLine(ex.Message)}");
                return ExitCodes.Config;
            }

            if (cl.Verb == CommandVerb.Verify)
            {
                // Before the PID file and the state: verify only reads, beside a running daemon or without one.
                return await Operations.VerifyCommand.RunAsync(config, cl, Console.Out, Console.Error);
            }

            if (cl.Plugin is { } alone)
            {
                if (config.ForPluginAlone(alone) is not { } only)
                {
                    await Console.Error.WriteLineAsync($"sersyncd: {config.SourceFile}: -m {alone}: the file has no <plugin name=\"{alone}\"> section to configure it");
                    return ExitCodes.Config;
                }

                config = only;
            }

            if (cl.Verb == CommandVerb.Status)
            {
                return await StatusCommand.RunAsync(DaemonPaths.For(cl, config).StatusSocket, cl.Json, Console.Out, Console.Error);
            }

            if (cl.Verb == CommandVerb.Release)
            {
                return await ReleaseCommand.RunAsync(DaemonPaths.For(cl, config).StatusSocket, cl.Keep, Console.Out, Console.Error);
            }

            if (cl.CheckOnly)
            {
                var targets = config.Watches.Sum(w => w.Remotes.Count);
                Console.WriteLine($"{config.SourceFile}: OK ({config.Watches.Count} watched root(s), {targets} target(s))");
                return 0;
            }

            var paths = DaemonPaths.For(cl, config);
            if (cl.Daemon && !Detachment.UnderSystemd && !Detachment.IsDetachedChild)
            {
                return Daemonizer.Detach(args, paths.LogFile!, Console.Error);
            }

            if (Detachment.IsDetachedChild)
            {
                Detachment.DetachFromTerminal();
            }

            Log.Logger = LoggingSetup.Create(config.Debug, console: !Detachment.IsDetachedChild, paths.LogFile);
            try
            {
                using var pidFile = paths.PidFile is null ? null : PidFile.Create(paths.PidFile);
                if (cl.Once)
                {
                    return await OnceCommand.RunAsync(config, cl.Workers);
                }

                return await DaemonHost.RunAsync(cl, config, paths);
            }
            finally
            {
                await Log.CloseAndFlushAsync();
            }
        }

        /// <summary>Last resort for messages that reach stderr: ConfigException messages are one line already, but a
        /// line break that slipped in must not split the error (log scrapers read one line per error).</summary>
        internal static string OneLine(string message) =>
            message.Replace("\r", "\\r", StringComparison.Ordinal)
                .Replace("\n", "\\n", StringComparison.Ordinal).Replace("\u2028", "\\u2028", StringComparison.Ordinal)
                .Replace("\u2029", "\\u2029", StringComparison.Ordinal).Replace("\u0085", "\\x85", StringComparison.Ordinal);

        private static bool KnownPlugin(string name)
        {
            string[] known = ["command", "socket", "refreshCDN", "http"];
            if (known.Contains(name, StringComparer.Ordinal))
            {
                return true;
            }

            Console.Error.WriteLine($"sersyncd: -m {name}: unknown plugin (sersync's plugins are {string.Join(", ", known)})");
            return false;
        }
    }
}
