// Implementation notes. sd_watchdog_enabled(3): the manager expects keep-alives when WATCHDOG_USEC is set and
// WATCHDOG_PID is unset or our pid, and recommends one every half of that time. systemd arms the watchdog when the
// start-up completes (READY=1) and also at every WATCHDOG=1 it receives before (whatever the state), so pings are sent
// during the start and the stop too, but only while the work of those phases beats (placing watches beats per
// watch, the catch-up scan per directory, the -r push and the drain while they are awaited). The check runs on the
// thread pool: a pool so starved that it cannot run this loop is hung as well.
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SerSync.Pipeline;
using SerSync.Targets;

namespace SerSync.Daemon.Operations;

/// <summary>The systemd watchdog's settings, read from the environment the manager gave us.</summary>
/// <param name="Timeout">WATCHDOG_USEC: systemd acts when no WATCHDOG=1 came for this long.</param>
public sealed record WatchdogSettings(TimeSpan Timeout)
{
    /// <summary>How often WATCHDOG=1 goes out while every loop beats: half the timeout, as sd_watchdog_enabled(3)
    /// recommends.</summary>
    public TimeSpan PingInterval => Timeout / 2;

    /// <summary>How often an idle loop wakes to beat: a quarter of the timeout, so a healthy loop is never older
    /// than <see cref="StallAfter"/> even when a wake comes late.</summary>
    public TimeSpan BeatPeriod => Timeout / 4;

    /// <summary>A loop that has not beaten for this long is taken as hung, and the pings stop.</summary>
    public TimeSpan StallAfter => Timeout / 2;

    /// <summary>How often the loops are looked at: a ping missed because a loop was late once (a slow fsync, a long
    /// turn) goes out at the next look, an eighth of the timeout later, not a whole ping interval later (which
    /// would already be past systemd's limit).</summary>
    public TimeSpan CheckInterval => Timeout / 8;

    /// <summary>The watchdog systemd asks for, or null: WATCHDOG_USEC unset, not a positive number, or WATCHDOG_PID
    /// naming another process (a parent that did not clear it).</summary>
    public static WatchdogSettings? FromEnvironment() =>
        Parse(Environment.GetEnvironmentVariable("WATCHDOG_USEC"), Environment.GetEnvironmentVariable("WATCHDOG_PID"), Environment.ProcessId);

    public static WatchdogSettings? Parse(string? usec, string? pid, int ownPid)
    {
        if (!ulong.TryParse(usec, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var micros) || micros == 0)
        {
            return null;
        }

        if (!string.IsNullOrEmpty(pid) && (!int.TryParse(pid, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var owner) || owner != ownPid))
        {
            return null;
        }

        return new WatchdogSettings(TimeSpan.FromMicroseconds(Math.Min(micros, (ulong)TimeSpan.MaxValue.TotalMicroseconds / 2)));
    }
}

/// <summary>
/// Sends WATCHDOG=1 every <see cref="WatchdogSettings.PingInterval"/> while every registered loop of
/// <see cref="Liveness"/> has beaten within <see cref="WatchdogSettings.StallAfter"/>; when one has not, logs (error)
/// which loop and for how long, and sends nothing, so systemd restarts the daemon.
/// </summary>
public sealed partial class Watchdog(WatchdogSettings settings, Liveness liveness, SystemdNotifier notifier, TimeProvider time, ILogger<Watchdog> logger) : BackgroundService
{
    /// <summary>WATCHDOG=1 messages sent (for tests and the log).</summary>
    public long Pings => Interlocked.Read(ref _pings);

    private long _pings;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        Enabled(settings.Timeout.TotalSeconds, settings.PingInterval.TotalSeconds);
        Heartbeat? stalled = null;
        long? lastPing = null;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                // Due every PingInterval (on the CheckInterval grid); looked at again at every check while a loop is late.
                if (stalled is not null || lastPing is not { } last || time.GetElapsedTime(last) >= settings.PingInterval - (settings.CheckInterval / 2))
                {
                    stalled = Check(stalled);
                    if (stalled is null)
                    {
                        lastPing = time.GetTimestamp();
                    }
                }

                await Task.Delay(settings.CheckInterval, time, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One tick: a ping when all beat, else the error (once per stall). Returns the stalled loop, if any.</summary>
    public Heartbeat? Check(Heartbeat? stalledBefore)
    {
        var stalled = liveness.Stalled(settings.StallAfter);
        if (stalled is null)
        {
            if (stalledBefore is not null)
            {
                Resumed(stalledBefore.Name);
            }

            notifier.Send("WATCHDOG=1");
            Interlocked.Increment(ref _pings);
            return null;
        }

        if (stalledBefore != stalled)
        {
            Stalled(stalled.Name, stalled.Age.TotalSeconds, settings.Timeout.TotalSeconds);
        }

        return stalled;
    }

    [LoggerMessage(EventId = 9101, Level = LogLevel.Information, Message = "systemd watchdog: {Timeout:0.###} s; WATCHDOG=1 every {Interval:0.###} s while every loop turns")]
    private partial void Enabled(double timeout, double interval);

    [LoggerMessage(EventId = 9102, Level = LogLevel.Error, Message = "watchdog: the {Loop} has not turned for {Seconds:0.0} s; WATCHDOG=1 is no longer sent, so systemd restarts the daemon within {Timeout:0.###} s")]
    private partial void Stalled(string loop, double seconds, double timeout);

    [LoggerMessage(EventId = 9103, Level = LogLevel.Warning, Message = "watchdog: the {Loop} turns again; WATCHDOG=1 is sent again")]
    private partial void Resumed(string loop);
}
