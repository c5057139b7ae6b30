using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace SerSync.Testing;

/// <summary>The file-system operations a <see cref="Workload"/> draws from.</summary>
public enum WorkloadOp
{
    /// <summary>A new file in a random directory.</summary>
    Create,

    /// <summary>A new file two new directories deep (mkdir -p, then the file).</summary>
    CreateDeep,
    Append,

    /// <summary>A file cut to a random shorter length.</summary>
    Truncate,

    /// <summary>A file renamed into a random directory.</summary>
    Rename,
    Delete,

    /// <summary>A new directory, sometimes with parents, sometimes with a file.</summary>
    Mkdir,

    /// <summary>A new directory tree with files at two levels, made at once.</summary>
    MkdirTree,

    /// <summary>A directory renamed (with its contents) under a random directory, never into itself.</summary>
    RenameDir,
    DeleteDir,

    /// <summary>A file made outside the tree and moved in (needs <see cref="Workload.Outside"/>).</summary>
    MoveIn,

    /// <summary>A directory tree made outside and moved in (needs <see cref="Workload.Outside"/>).</summary>
    MoveInDir,

    /// <summary>A file or directory moved out of the tree (needs <see cref="Workload.Outside"/>).</summary>
    MoveOut,
    Chmod,
    ChmodDir,
}

/// <summary>Which operations a <see cref="Workload"/> runs and how often (relative weights), and its size bounds.</summary>
public sealed class WorkloadProfile
{
    public required IReadOnlyDictionary<WorkloadOp, int> Weights { get; init; }

    /// <summary>Above this many files, operations that add files delete one instead.</summary>
    public int MaxFiles { get; init; } = 2000;

    /// <summary>Below this many files, every operation creates one.</summary>
    public int MinFiles { get; init; }

    /// <summary>Files and directories of every kind, moved and deleted whole: the crash-recovery storm.</summary>
    public static WorkloadProfile Storm { get; } = new()
    {
        MaxFiles = 2500,
        Weights = new Dictionary<WorkloadOp, int>
        {
            [WorkloadOp.Create] = 35,
            [WorkloadOp.Append] = 20,
            [WorkloadOp.Rename] = 10,
            [WorkloadOp.Delete] = 10,
            [WorkloadOp.MkdirTree] = 9,
            [WorkloadOp.RenameDir] = 6,
            [WorkloadOp.DeleteDir] = 4,
            [WorkloadOp.CreateDeep] = 6,
        },
    };

    /// <summary>Everything a busy publisher does, permission changes and moves across the tree's edge included (needs
    /// <see cref="Workload.Outside"/>).</summary>
    public static WorkloadProfile Churn { get; } = new()
    {
        MaxFiles = 1500,
        Weights = new Dictionary<WorkloadOp, int>
        {
            [WorkloadOp.Create] = 20,
            [WorkloadOp.Append] = 12,
            [WorkloadOp.Truncate] = 6,
            [WorkloadOp.Rename] = 10,
            [WorkloadOp.RenameDir] = 5,
            [WorkloadOp.MoveIn] = 5,
            [WorkloadOp.MoveInDir] = 4,
            [WorkloadOp.MoveOut] = 5,
            [WorkloadOp.Delete] = 10,
            [WorkloadOp.DeleteDir] = 3,
            [WorkloadOp.Chmod] = 8,
            [WorkloadOp.ChmodDir] = 4,
            [WorkloadOp.Mkdir] = 8,
        },
    };

    /// <summary>File changes only, in the directories that exist: create, append, rename, delete.</summary>
    public static WorkloadProfile FilesOnly { get; } = new()
    {
        MinFiles = 10,
        Weights = new Dictionary<WorkloadOp, int>
        {
            [WorkloadOp.Create] = 40,
            [WorkloadOp.Append] = 30,
            [WorkloadOp.Rename] = 15,
            [WorkloadOp.Delete] = 15,
        },
    };
}

/// <summary>
/// The seeded workload generator: random file-system changes under <see cref="Root"/>, drawn from a
/// <see cref="WorkloadProfile"/>; the same seed on the same starting tree runs the same operations. It keeps a
/// picture of the tree in lists, refreshed from disk after directory operations, every 50 operations and whenever an
/// operation hit something a directory operation had already moved. Every tenth name has a space in it.
/// </summary>
public sealed class Workload
{
    private static readonly TimeSpan MonitorPoll = TimeSpan.FromMilliseconds(10);

    private static readonly UnixFileMode[] FileModes =
    [
        (UnixFileMode)0b110_100_100, // 644
        (UnixFileMode)0b110_000_000, // 600
        (UnixFileMode)0b111_101_101, // 755
        (UnixFileMode)0b110_100_000, // 640
    ];

    private static readonly UnixFileMode[] DirectoryModes =
    [
        (UnixFileMode)0b111_101_101, // 755
        (UnixFileMode)0b111_000_000, // 700
        (UnixFileMode)0b111_101_000, // 750
        (UnixFileMode)0b111_111_101, // 775
    ];

    private readonly Random _random;
    private readonly WorkloadProfile _profile;
    private readonly (WorkloadOp Op, int Weight)[] _ops;
    private readonly int _totalWeight;
    private readonly Dictionary<string, int> _counts = new(StringComparer.Ordinal);
    private List<string> _files = [];
    private List<string> _dirs = [];
    private int _names;
    private int _operations;
    private bool _scanned;

    /// <param name="root">The tree to change (created if missing).</param>
    /// <param name="seed">The seed of every choice.</param>
    /// <param name="profile">The mix of operations; <see cref="WorkloadProfile.Storm"/> when null.</param>
    /// <param name="outside">A directory on the same file system outside the tree, for moves in and out; the
    /// operations that need it are left out when it is null.</param>
    public Workload(string root, int seed, WorkloadProfile? profile = null, string? outside = null)
    {
        Root = root;
        Outside = outside;
        _random = new Random(seed);
        _profile = profile ?? WorkloadProfile.Storm;
        _ops = [.. _profile.Weights
            .Where(kv => kv.Value > 0 && (outside is not null || kv.Key is not (WorkloadOp.MoveIn or WorkloadOp.MoveInDir or WorkloadOp.MoveOut)))
            .OrderBy(kv => kv.Key)
            .Select(kv => (kv.Key, kv.Value))];
        _totalWeight = _ops.Sum(o => o.Weight);
        if (_totalWeight == 0)
        {
            throw new ArgumentException("the profile has no operation this workload can run", nameof(profile));
        }
    }

    public string Root { get; }

    public string? Outside { get; }

    /// <summary>Operations attempted so far (safe to read while <see cref="RunAsync"/> runs).</summary>
    public int Operations => Volatile.Read(ref _operations);

    /// <summary>"N operations (create 12, delete 3, ...)", safe to read while <see cref="RunAsync"/> runs.</summary>
    public string Summary
    {
        get
        {
            lock (_counts)
            {
                return $"{Operations} operations (" +
                    string.Join(", ", _counts.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key} {kv.Value}")) + ")";
            }
        }
    }

    /// <summary>Runs exactly <paramref name="count"/> operations on the calling thread.</summary>
    public void Run(int count)
    {
        for (var i = 0; i < count; i++)
        {
            Step();
        }
    }

    /// <summary>On a background task, bursts of 25 operations with pauses of 0-3 ms, until
    /// <paramref name="token"/> is cancelled.</summary>
    public Task RunAsync(CancellationToken token) => Task.Run(
        async () =>
        {
            while (!token.IsCancellationRequested)
            {
                Run(25);
                try
                {
                    await Task.Delay(_random.Next(0, 4), token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        },
        CancellationToken.None);

    /// <summary>For <paramref name="duration"/>, bursts of 1-39 operations with pauses of 0-14 ms, as a busy
    /// publisher would write.</summary>
    public async Task RunForAsync(TimeSpan duration, CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < duration)
        {
            Run(_random.Next(1, 40));
            await Task.Delay(_random.Next(0, 15), cancellationToken);
        }
    }

    /// <summary>One operation.</summary>
    public void Step()
    {
        if (!_scanned || Operations % 50 == 0)
        {
            Rescan();
        }

        var op = Draw();
        if (_files.Count < _profile.MinFiles)
        {
            op = WorkloadOp.Create;
        }
        else if (_files.Count > _profile.MaxFiles && op is WorkloadOp.Create or WorkloadOp.CreateDeep or WorkloadOp.Mkdir
            or WorkloadOp.MkdirTree or WorkloadOp.MoveIn or WorkloadOp.MoveInDir)
        {
            op = WorkloadOp.Delete;
        }

        string outcome;
        try
        {
            outcome = Apply(op) ? Name(op) : "skipped";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            outcome = "raced"; // picked something a directory operation already moved: refresh the picture, go on
            Rescan();
        }

        lock (_counts)
        {
            _counts[outcome] = _counts.GetValueOrDefault(outcome) + 1;
        }

        Interlocked.Increment(ref _operations);
    }

    private WorkloadOp Draw()
    {
        var roll = _random.Next(_totalWeight);
        foreach (var (op, weight) in _ops)
        {
            if (roll < weight)
            {
                return op;
            }

            roll -= weight;
        }

        return _ops[^1].Op;
    }

    private static string Name(WorkloadOp op) => op switch
    {
        WorkloadOp.CreateDeep => "create-deep",
        WorkloadOp.MkdirTree => "mkdir-tree",
        WorkloadOp.RenameDir => "rename-dir",
        WorkloadOp.DeleteDir => "delete-dir",
        WorkloadOp.MoveIn => "move-in",
        WorkloadOp.MoveInDir => "move-in-dir",
        WorkloadOp.MoveOut => "move-out",
        WorkloadOp.ChmodDir => "chmod-dir",
        _ => op.ToString().ToLowerInvariant(),
    };

    /// <summary>Runs <paramref name="op"/>; false when the tree has nothing it applies to.</summary>
    private bool Apply(WorkloadOp op)
    {
        switch (op)
        {
            case WorkloadOp.Create:
                {
                    var path = Path.Combine(PickDir(), NewName("f"));
                    File.WriteAllBytes(path, Bytes(_random.Next(0, 8192)));
                    _files.Add(path);
                    return true;
                }

            case WorkloadOp.CreateDeep:
                {
                    var dir = Path.Combine(PickDir(), NewName("n"), NewName("m"));
                    Directory.CreateDirectory(dir);
                    var path = Path.Combine(dir, NewName("f"));
                    File.WriteAllBytes(path, Bytes(_random.Next(0, 4096)));
                    _files.Add(path);
                    _dirs.Add(Path.GetDirectoryName(dir)!);
                    _dirs.Add(dir);
                    return true;
                }

            case WorkloadOp.Append when _files.Count > 0:
                using (var s = new FileStream(PickFile(), FileMode.Append))
                {
                    s.Write(Bytes(_random.Next(1, 2048)));
                }

                return true;
            case WorkloadOp.Truncate when _files.Count > 0:
                using (var s = new FileStream(PickFile(), FileMode.Open))
                {
                    s.SetLength(s.Length == 0 ? 0 : _random.NextInt64(s.Length));
                }

                return true;
            case WorkloadOp.Rename when _files.Count > 0:
                {
                    var from = PickFile();
                    var to = Path.Combine(PickDir(), NewName("r"));
                    File.Move(from, to);
                    _files.Remove(from);
                    _files.Add(to);
                    return true;
                }

            case WorkloadOp.Delete when _files.Count > 0:
                {
                    var path = PickFile();
                    File.Delete(path);
                    _files.Remove(path);
                    return true;
                }

            case WorkloadOp.Mkdir:
                {
                    var path = Path.Combine(PickDir(), NewName("d"));
                    if (_random.Next(3) == 0)
                    {
                        path = Path.Combine(path, NewName("p"), NewName("q")); // mkdir -p
                    }

                    Directory.CreateDirectory(path);
                    if (_random.Next(2) == 0)
                    {
                        File.WriteAllBytes(Path.Combine(path, NewName("f")), Bytes(_random.Next(0, 512)));
                    }

                    Rescan();
                    return true;
                }

            case WorkloadOp.MkdirTree:
                {
                    var top = Path.Combine(PickDir(), NewName("t"));
                    Directory.CreateDirectory(Path.Combine(top, "a", "b"));
                    for (var i = 0; i < 4; i++)
                    {
                        File.WriteAllBytes(Path.Combine(top, NewName("f")), Bytes(_random.Next(0, 2048)));
                        File.WriteAllBytes(Path.Combine(top, "a", "b", NewName("f")), Bytes(_random.Next(0, 2048)));
                    }

                    Rescan();
                    return true;
                }

            case WorkloadOp.RenameDir when _dirs.Count > 1:
                {
                    var from = PickSubdirectory();
                    var parent = PickDir();
                    if (parent == from || parent.StartsWith(from + "/", StringComparison.Ordinal))
                    {
                        return false; // not into itself
                    }

                    Directory.Move(from, Path.Combine(parent, NewName("rd")));
                    Rescan();
                    return true;
                }

            case WorkloadOp.DeleteDir when _dirs.Count > 1:
                Directory.Delete(PickSubdirectory(), recursive: true);
                Rescan();
                return true;
            case WorkloadOp.MoveIn when Outside is not null:
                {
                    var staged = Path.Combine(Outside, NewName("in"));
                    File.WriteAllBytes(staged, Bytes(_random.Next(0, 4096)));
                    var to = Path.Combine(PickDir(), NewName("mi"));
                    File.Move(staged, to);
                    _files.Add(to);
                    return true;
                }

            case WorkloadOp.MoveInDir when Outside is not null:
                {
                    var staged = Path.Combine(Outside, NewName("ind"));
                    Directory.CreateDirectory(Path.Combine(staged, "x/y"));
                    File.WriteAllBytes(Path.Combine(staged, "top"), Bytes(_random.Next(0, 1024)));
                    File.WriteAllBytes(Path.Combine(staged, "x/y/deep"), Bytes(_random.Next(0, 1024)));
                    Directory.Move(staged, Path.Combine(PickDir(), NewName("mid")));
                    Rescan();
                    return true;
                }

            case WorkloadOp.MoveOut when Outside is not null && _files.Count > 0 && _random.Next(3) > 0:
                {
                    var from = PickFile();
                    File.Move(from, Path.Combine(Outside, NewName("out")));
                    _files.Remove(from);
                    return true;
                }

            case WorkloadOp.MoveOut when Outside is not null && _dirs.Count > 1:
                Directory.Move(PickSubdirectory(), Path.Combine(Outside, NewName("outd")));
                Rescan();
                return true;
            case WorkloadOp.Chmod when _files.Count > 0:
                File.SetUnixFileMode(PickFile(), FileModes[_random.Next(FileModes.Length)]);
                return true;
            case WorkloadOp.ChmodDir when _dirs.Count > 1:
                File.SetUnixFileMode(PickSubdirectory(), DirectoryModes[_random.Next(DirectoryModes.Length)]);
                return true;
            default:
                return false;
        }
    }

    private void Rescan()
    {
        Directory.CreateDirectory(Root);
        _dirs = [Root, .. Directory.EnumerateDirectories(Root, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)];
        _files = [.. Directory.EnumerateFiles(Root, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)];
        _scanned = true;
    }

    private string PickFile() => _files[_random.Next(_files.Count)];

    private string PickDir() => _dirs[_random.Next(_dirs.Count)];

    private string PickSubdirectory() => _dirs.Count > 1 ? _dirs[_random.Next(1, _dirs.Count)] : Root;

    private string NewName(string prefix)
    {
        var n = ++_names;
        return n % 10 == 0 ? $"{prefix} {n}" : $"{prefix}{n}";
    }

    private byte[] Bytes(int length)
    {
        var bytes = new byte[length];
        _random.NextBytes(bytes);
        return bytes;
    }

    /// <summary>
    /// The paced form, for faults that last a while: keeps changing a watched tree on a fixed cadence (not random:
    /// every run writes the same names): a new file every tick under <c>live/</c> (or another directory), an append to <c>log.txt</c> every 5th tick, the delete of a 20-tick-old file every 7th, a new nested directory
    /// every 25th and the rename of such a directory every 50th. With a lag target, a monitor polls it (every 10 ms)
    /// and records for each new file how long after its write it appeared there.
    /// </summary>
    /// <param name="lagTarget">A target whose lag is measured, or null.</param>
    /// <param name="lagWait">After the last write, how long the monitor waits for files still not seen.</param>
    /// <param name="directory">The directory (relative to the root) the churn happens in.</param>
    public static async Task<ChurnResult> PacedAsync(string source, TimeSpan duration, TimeSpan interval, string? lagTarget, TimeSpan lagWait, string directory = "live")
    {
        Directory.CreateDirectory(Path.Combine(source, directory));
        string Name(int i) => $"{directory}/f{i:D4}.txt";
        var pending = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        var lags = new ConcurrentQueue<TimeSpan>();
        var neverSeen = new ConcurrentQueue<string>();
        using var writerDone = new CancellationTokenSource();
        var monitor = lagTarget is null ? Task.CompletedTask : Task.Run(() => MonitorAsync(lagTarget, pending, lags, lagWait, writerDone.Token));
        var clock = Stopwatch.StartNew();
        int files = 0, appends = 0, deletes = 0, moves = 0;
        try
        {
            for (var i = 0; clock.Elapsed < duration; i++)
            {
                var name = Name(i);
                File.WriteAllText(Path.Combine(source, name), string.Create(CultureInfo.InvariantCulture, $"file {i} written {clock.Elapsed.TotalMilliseconds:0} ms into the fault\n"));
                pending[name] = Stopwatch.GetTimestamp();
                files++;
                if (i % 5 == 4)
                {
                    File.AppendAllText(Path.Combine(source, "log.txt"), string.Create(CultureInfo.InvariantCulture, $"tick {i}\n"));
                    appends++;
                }

                if (i % 7 == 6 && i >= 20)
                {
                    var old = Name(i - 20);
                    File.Delete(Path.Combine(source, old));
                    deletes++;
                    if (pending.TryRemove(old, out _))
                    {
                        neverSeen.Enqueue(old + " (deleted before it reached the target)");
                    }
                }

                if (i % 25 == 24)
                {
                    var dir = Path.Combine(source, directory, $"d{i:D4}", "sub");
                    Directory.CreateDirectory(dir);
                    File.WriteAllText(Path.Combine(dir, "x.txt"), $"nested {i}\n");
                }

                if (i % 50 == 49)
                {
                    Directory.Move(Path.Combine(source, directory, $"d{i - 25:D4}"), Path.Combine(source, directory, $"moved{i:D4}"));
                    moves++;
                }

                var next = interval * (i + 1) - clock.Elapsed;
                if (next > TimeSpan.Zero)
                {
                    await Task.Delay(next);
                }
            }
        }
        finally
        {
            await writerDone.CancelAsync();
            await monitor;
        }

        foreach (var name in pending.Keys)
        {
            neverSeen.Enqueue(name);
        }

        return new ChurnResult(files, appends, deletes, moves, [.. lags], [.. neverSeen]);
    }

    private static async Task MonitorAsync(string target, ConcurrentDictionary<string, long> pending, ConcurrentQueue<TimeSpan> lags, TimeSpan lagWait, CancellationToken writerDone)
    {
        long? giveUpAt = null;
        while (true)
        {
            foreach (var (name, written) in pending)
            {
                if (File.Exists(Path.Combine(target, name)) && pending.TryRemove(name, out _))
                {
                    lags.Enqueue(Stopwatch.GetElapsedTime(written));
                }
            }

            if (writerDone.IsCancellationRequested)
            {
                giveUpAt ??= Stopwatch.GetTimestamp() + (long)(lagWait.TotalSeconds * Stopwatch.Frequency);
                if (pending.IsEmpty || Stopwatch.GetTimestamp() > giveUpAt)
                {
                    return;
                }
            }

            await Task.Delay(MonitorPoll, CancellationToken.None);
        }
    }
}

/// <summary>What <see cref="Workload.PacedAsync"/> did and, with a lag target, how long each new file took to
/// appear there.</summary>
public sealed record ChurnResult(int FilesWritten, int Appends, int Deletes, int DirectoriesMoved, IReadOnlyList<TimeSpan> Lags, IReadOnlyList<string> NeverSeen)
{
    public override string ToString() =>
        $"{FilesWritten} file(s) written, {Appends} append(s), {Deletes} delete(s), {DirectoriesMoved} directory move(s)";
}

