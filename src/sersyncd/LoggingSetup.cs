using Serilog;
using Serilog.Core;
using Serilog.Events;

namespace SerSync.Daemon;

/// <summary>
/// Serilog for the daemon: readable console lines; when stdout is the journal (<c>JOURNAL_STREAM</c> set by systemd)
/// each line starts with a syslog priority prefix (<c>&lt;3&gt;</c> error … <c>&lt;7&gt;</c> debug) so journald keeps the
/// level, and no timestamp (journald adds its own). Optional log file.
/// </summary>
public static class LoggingSetup
{
    /// <summary>The minimum level, switched by <c>&lt;debug start&gt;</c> at start and on every reload.</summary>
    public static LoggingLevelSwitch Level { get; } = new();

    public static void SetDebug(bool debug) => Level.MinimumLevel = debug ? LogEventLevel.Debug : LogEventLevel.Information;

    public static Logger Create(bool debug, bool console, string? logFile)
    {
        SetDebug(debug);
        // journald exists on Linux only; elsewhere JOURNAL_STREAM is never set by a service manager, so it is not trusted.
        var journal = OperatingSystem.IsLinux() && !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("JOURNAL_STREAM"));
        var config = new LoggerConfiguration()
            .MinimumLevel.ControlledBy(Level)
            .MinimumLevel.Override("Microsoft", LogEventLevel.Warning)
            .Enrich.With<SyslogPriorityEnricher>();
        if (console)
        {
            var template = journal
                ? "{SyslogPriority}{Message:lj}{NewLine}{Exception}"
                : "{Timestamp:yyyy-MM-dd HH:mm:ss.fff} [{Level:u3}] {Message:lj}{NewLine}{Exception}";
            config = config.WriteTo.Console(outputTemplate: template, standardErrorFromLevel: journal ? null : LogEventLevel.Warning);
        }

        if (logFile is not null)
        {
            _file = new ReopenableFileSink(logFile);
            config = config.WriteTo.Sink(_file);
        }

        return config.CreateLogger();
    }

    /// <summary>Closes the log file and opens it again at its path (logrotate moved it away: SIGUSR1, SIGHUP).</summary>
    public static void ReopenLogFile() => _file?.Reopen();

    private static ReopenableFileSink? _file;

    /// <summary>
    /// Serilog's file sink keeps its file open and does not write with O_APPEND, so neither a rename nor logrotate's
    /// copytruncate works on it (the latter leaves a sparse file). This one swaps in a new file sink on request.
    /// </summary>
    private sealed class ReopenableFileSink(string path) : ILogEventSink, IDisposable
    {
        private const string Template = "{Timestamp:yyyy-MM-dd HH:mm:ss.fff zzz} [{Level:u3}] {Message:lj}{NewLine}{Exception}";
        private readonly Lock _gate = new();
        private Logger _inner = Open(path);

        public void Emit(LogEvent logEvent)
        {
            lock (_gate)
            {
                _inner.Write(logEvent);
            }
        }

        public void Reopen()
        {
            lock (_gate)
            {
                var old = _inner;
                _inner = Open(path);
                old.Dispose();
            }
        }

        public void Dispose()
        {
            lock (_gate)
            {
                _inner.Dispose();
            }
        }

        private static Logger Open(string path) =>
            new LoggerConfiguration().MinimumLevel.Verbose().WriteTo.File(path, outputTemplate: Template).CreateLogger();
    }

    private sealed class SyslogPriorityEnricher : ILogEventEnricher
    {
        public void Enrich(LogEvent logEvent, ILogEventPropertyFactory propertyFactory)
        {
            var priority = logEvent.Level switch
            {
                LogEventLevel.Fatal => 2,
                LogEventLevel.Error => 3,
                LogEventLevel.Warning => 4,
                LogEventLevel.Information => 6,
                _ => 7,
            };
            logEvent.AddPropertyIfAbsent(propertyFactory.CreateProperty("SyslogPriority", $"<{priority}>"));
        }
    }
}
