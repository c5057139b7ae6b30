// Counts sersyncd's rsync processes by the PID tree: a process is the daemon's when /proc/PID/stat names the daemon
// as its parent (sersyncd posix_spawns rsync itself, so each run is a direct child). A daemon-target rsync is one
// process (no ssh, no forked receiver on this side), so children = runs = slots in use. The target of a run is read
// from its argv's last word (the destination), never from the process name; a child caught between posix_spawn's
// clone and its exec still shows sersyncd's own argv (its config path as the last word), and counts as a run.
using System.Globalization;
using System.Text;

namespace SerSync.IntegrationTests.FanOut;

/// <summary>Samples the children of one PID every few milliseconds on a background task, and keeps the highest
/// number seen at once, overall and per destination, and the distinct PIDs seen per destination.</summary>
public sealed class RsyncChildSampler : IAsyncDisposable
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(5);
    private readonly int _parent;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, int> _maxAtOnce = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<int>> _pids = new(StringComparer.Ordinal);
    private int _maxTotal;
    private long _samples;

    public RsyncChildSampler(int parent)
    {
        _parent = parent;
        _loop = Task.Run(LoopAsync);
    }

    public int MaxTotal
    {
        get
        {
            lock (_gate)
            {
                return _maxTotal;
            }
        }
    }

    public long Samples
    {
        get
        {
            lock (_gate)
            {
                return _samples;
            }
        }
    }

    /// <summary>The most runs seen at once whose destination is <paramref name="destination"/>.</summary>
    public int MaxAtOnce(string destination)
    {
        lock (_gate)
        {
            return _maxAtOnce.GetValueOrDefault(destination);
        }
    }

    /// <summary>How many different rsync processes ran for <paramref name="destination"/>.</summary>
    public int Runs(string destination)
    {
        lock (_gate)
        {
            return _pids.TryGetValue(destination, out var set) ? set.Count : 0;
        }
    }

    public string Describe()
    {
        lock (_gate)
        {
            return string.Create(CultureInfo.InvariantCulture, $"{_samples} samples, at most {_maxTotal} rsync children at once, {_pids.Count} destinations seen");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }

    /// <summary>The direct children of <paramref name="parent"/> with their argv's last word.</summary>
    public static List<(int Pid, string Destination)> Children(int parent)
    {
        var found = new List<(int, string)>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            var name = Path.GetFileName(dir);
            if (name.Length == 0 || !char.IsAsciiDigit(name[0]) || !int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            try
            {
                // "PID (comm) S PPID ...": comm may hold spaces and parentheses, so read after the last ')'.
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (int.Parse(fields[1], CultureInfo.InvariantCulture) != parent)
                {
                    continue;
                }

                var argv = File.ReadAllBytes(Path.Combine(dir, "cmdline"));
                var words = Encoding.UTF8.GetString(argv).TrimEnd('\0').Split('\0');
                found.Add((pid, words[^1]));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // gone between the listing and the read
            }
            catch (Exception e) when (e is FormatException or IndexOutOfRangeException or ArgumentOutOfRangeException)
            {
                // a stat line cut short: the process was being torn down
            }
        }

        return found;
    }

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var children = Children(_parent);
            lock (_gate)
            {
                _samples++;
                _maxTotal = Math.Max(_maxTotal, children.Count);
                foreach (var group in children.Where(c => c.Destination.Length > 0).GroupBy(c => c.Destination, StringComparer.Ordinal))
                {
                    _maxAtOnce[group.Key] = Math.Max(_maxAtOnce.GetValueOrDefault(group.Key), group.Count());
                    if (!_pids.TryGetValue(group.Key, out var set))
                    {
                        _pids[group.Key] = set = [];
                    }

                    set.UnionWith(group.Select(c => c.Pid));
                }
            }

            try
            {
                await Task.Delay(Interval, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
