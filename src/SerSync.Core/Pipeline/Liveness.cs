using SerSync.Targets;

namespace SerSync.Pipeline;

/// <summary>
/// The daemon's loops and their heartbeats, for the systemd watchdog: every loop that must turn registers one
/// (<see cref="Register"/>), starts it when it begins, beats it, and stops it when it ends on purpose. <see cref="Stalled"/> names the loop
/// that has not beaten within a bound; the watchdog pings only while there is none. Safe from any thread: the list
/// changes under a lock (when a pipeline is built or stops), a check reads a copy.
/// </summary>
public sealed class Liveness
{
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private Heartbeat[] _beats = [];

    /// <param name="period">How often a waiting loop wakes to beat (a quarter of the watchdog's interval, say).</param>
    public Liveness(TimeSpan period, TimeProvider time)
    {
        Period = period;
        _time = time;
    }

    public TimeSpan Period { get; }

    /// <summary>A new heartbeat for the loop <paramref name="name"/>, counted once the loop starts it.</summary>
    public Heartbeat Register(string name)
    {
        var beat = new Heartbeat(name, Period, _time);
        lock (_gate)
        {
            _beats = [.. _beats, beat];
        }

        return beat;
    }

    /// <summary>Forgets heartbeats (a pipeline that was replaced by a reload).</summary>
    public void Remove(IEnumerable<Heartbeat> beats)
    {
        var gone = beats.ToHashSet();
        lock (_gate)
        {
            _beats = [.. _beats.Where(b => !gone.Contains(b))];
        }
    }

    /// <summary>The loops that count now (started, not stopped).</summary>
    public IReadOnlyList<Heartbeat> Loops => [.. Volatile.Read(ref _beats).Where(b => b.Running)];

    /// <summary>The loop that has gone longest without a beat, if that is longer than <paramref name="within"/>; null
    /// while every loop beat in time. Allocates nothing.</summary>
    public Heartbeat? Stalled(TimeSpan within)
    {
        Heartbeat? worst = null;
        var worstAge = within;
        foreach (var beat in Volatile.Read(ref _beats))
        {
            if (!beat.Running)
            {
                continue;
            }

            var age = beat.Age;
            if (age > worstAge)
            {
                worst = beat;
                worstAge = age;
            }
        }

        return worst;
    }
}
