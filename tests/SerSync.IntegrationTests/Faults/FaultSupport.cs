using System.Buffers.Binary;
using System.Diagnostics;
using System.Xml.Linq;
using SerSync.IntegrationTests.EndToEnd;
using SerSync.Paths;
using SerSync.Testing;

namespace SerSync.IntegrationTests.Faults;

/// <summary>
/// A seeded storm of file-system changes under one directory, run on a background task until cancelled: files
/// created, appended, renamed and deleted; nested directory trees created, renamed (with their contents) and
/// deleted. It keeps a picture of the tree in lists and refreshes it from disk after directory operations.
/// </summary>
public sealed class Storm(string root, int seed)
{
    private const int MaxFiles = 2500;
    private readonly Random _random = new(seed);
    private readonly Dictionary<string, int> _counts = new(StringComparer.Ordinal);
    private List<string> _files = [];
    private List<string> _dirs = [];
    private int _names;

    public string Root { get; } = root;

    public int Operations { get; private set; }

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

    /// <summary>Runs bursts of operations until <paramref name="token"/> is cancelled.</summary>
    public Task RunAsync(CancellationToken token) => Task.Run(
        async () =>
        {
            Directory.CreateDirectory(Root);
            Refresh();
            while (!token.IsCancellationRequested)
            {
                for (var i = 0; i < 25; i++)
                {
                    Step();
                }

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

    /// <summary>Runs exactly <paramref name="count"/> operations on the calling thread.</summary>
    public void Run(int count)
    {
        Directory.CreateDirectory(Root);
        Refresh();
        for (var i = 0; i < count; i++)
        {
            Step();
        }
    }

    private void Step()
    {
        var roll = _random.Next(100);
        var op = roll switch
        {
            < 35 => "create",
            < 55 => "append",
            < 65 => "rename",
            < 75 => "delete",
            < 84 => "mkdir-tree",
            < 90 => "rename-dir",
            < 94 => "delete-dir",
            _ => "create-deep",
        };
        if (_files.Count > MaxFiles && op is "create" or "create-deep" or "mkdir-tree")
        {
            op = "delete";
        }

        try
        {
            if (Apply(op))
            {
                lock (_counts)
                {
                    _counts[op] = _counts.GetValueOrDefault(op) + 1;
                }
            }
        }
        catch (IOException)
        {
            Refresh(); // picked something a directory operation already moved
        }
        catch (UnauthorizedAccessException)
        {
            Refresh();
        }

        Operations++;
    }

    private bool Apply(string op)
    {
        switch (op)
        {
            case "create":
                {
                    var path = Path.Combine(PickDir(), NewName("f"));
                    File.WriteAllBytes(path, Bytes(_random.Next(0, 4096)));
                    _files.Add(path);
                    return true;
                }

            case "create-deep":
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

            case "append" when _files.Count > 0:
                using (var s = new FileStream(Pick(_files), FileMode.Append))
                {
                    s.Write(Bytes(_random.Next(1, 1024)));
                }

                return true;
            case "rename" when _files.Count > 0:
                {
                    var from = Pick(_files);
                    var to = Path.Combine(PickDir(), NewName("r"));
                    File.Move(from, to);
                    _files.Remove(from);
                    _files.Add(to);
                    return true;
                }

            case "delete" when _files.Count > 0:
                {
                    var path = Pick(_files);
                    File.Delete(path);
                    _files.Remove(path);
                    return true;
                }

            case "mkdir-tree":
                {
                    var top = Path.Combine(PickDir(), NewName("t"));
                    Directory.CreateDirectory(Path.Combine(top, "a", "b"));
                    for (var i = 0; i < 4; i++)
                    {
                        File.WriteAllBytes(Path.Combine(top, NewName("f")), Bytes(_random.Next(0, 2048)));
                        File.WriteAllBytes(Path.Combine(top, "a", "b", NewName("f")), Bytes(_random.Next(0, 2048)));
                    }

                    Refresh();
                    return true;
                }

            case "rename-dir" when _dirs.Count > 1:
                {
                    var from = PickSubdirectory();
                    var parent = PickDir();
                    if (parent == from || parent.StartsWith(from + "/", StringComparison.Ordinal))
                    {
                        return false; // not into itself
                    }

                    Directory.Move(from, Path.Combine(parent, NewName("rd")));
                    Refresh();
                    return true;
                }

            case "delete-dir" when _dirs.Count > 3:
                Directory.Delete(PickSubdirectory(), recursive: true);
                Refresh();
                return true;
            default:
                return false;
        }
    }

    private void Refresh()
    {
        _files = [.. Directory.EnumerateFiles(Root, "*", SearchOption.AllDirectories)];
        _dirs = [Root, .. Directory.EnumerateDirectories(Root, "*", SearchOption.AllDirectories)];
    }

    private string PickDir() => Pick(_dirs);

    private string PickSubdirectory() => _dirs.Count > 1 ? _dirs[_random.Next(1, _dirs.Count)] : Root;

    private string Pick(List<string> list) => list[_random.Next(list.Count)];

    private string NewName(string prefix) => $"{prefix}{Interlocked.Increment(ref _names)}";

    private byte[] Bytes(int n)
    {
        var b = new byte[n];
        _random.NextBytes(b);
        return b;
    }
}

/// <summary>Measures how long targets take to equal the source after a fault ended, and reports the result.</summary>
public static class TargetConvergence
{
    /// <summary>
    /// Polls every target until each equals <paramref name="source"/> or <paramref name="timeout"/> passes; prints
    /// the time from <paramref name="faultEnded"/> and the differences left per target (changes lost), and fails the
    /// test unless every target has none.
    /// </summary>
    public static async Task<TimeSpan> AssertConvergesAsync(
        string label,
        string source,
        IReadOnlyList<string> targets,
        Stopwatch faultEnded,
        TimeSpan timeout,
        DaemonProcess daemon,
        TreeCompareOptions? options = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        var left = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        var comparedAt = TimeSpan.Zero;
        while (true)
        {
            comparedAt = faultEnded.Elapsed;
            left.Clear();
            foreach (var target in targets)
            {
                left[target] = SafeCompare(source, target, options);
            }

            if (left.Values.All(d => d.Count == 0) || DateTime.UtcNow > deadline || daemon.HasExited)
            {
                break;
            }

            await Task.Delay(Eventually.PollInterval);
        }

        var elapsed = comparedAt;
        var lost = left.Values.Sum(d => d.Count);
        Log($"{label}: converged={lost == 0} {elapsed.TotalSeconds:0.00} s after the fault ended (equal at the start of that comparison, which took {(faultEnded.Elapsed - comparedAt).TotalSeconds:0.00} s); changes lost (differences) = {lost}" +
            string.Concat(left.Select(kv => $"\n  {kv.Key}: {kv.Value.Count} difference(s)")));
        if (lost != 0)
        {
            var shown = string.Join("\n  ", left.SelectMany(kv => kv.Value.Take(20).Select(d => $"{kv.Key}: {d}")));
            Assert.Fail($"{label}: {lost} difference(s) left after {timeout.TotalSeconds:0} s:\n  {shown}\n{daemon.Describe()}");
        }

        return elapsed;
    }

    public static IReadOnlyList<string> SafeCompare(string source, string target, TreeCompareOptions? options = null)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return TreeComparer.Compare(source, target, options);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException && attempt < 3)
            {
                // raced with rsync replacing a file
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return [$"comparison raced with a change: {e.Message}"];
            }
        }
    }

    public static void Log(string line) => TestContext.Current.TestOutputHelper?.WriteLine(line);
}

/// <summary>The daemon's state files for one watched root.</summary>
public static class StateFiles
{
    /// <summary>The per-root state directory (the only subdirectory of the state directory in these tests).</summary>
    public static string RootDirectory(string stateDirectory) => Directory.GetDirectories(stateDirectory).Single();

    public static string JournalPath(string stateDirectory) => Path.Combine(RootDirectory(stateDirectory), "journal");

    /// <summary>The "everything before this is journaled" mark, or null when there is none yet.</summary>
    public static DateTimeOffset? ReadSeen(string stateDirectory)
    {
        if (!Directory.Exists(stateDirectory) || Directory.GetDirectories(stateDirectory).Length != 1)
        {
            return null;
        }

        var path = Path.Combine(RootDirectory(stateDirectory), "seen");
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (IOException)
        {
            return null; // not written yet, or replaced as we read
        }

        return bytes.Length == 12 ? DateTimeOffset.FromUnixTimeMilliseconds(BinaryPrimitives.ReadInt64LittleEndian(bytes)) : null;
    }

    public static DateTimeOffset ChangeTime(string path) =>
        FileSystemBytes.Stat(FileSystemBytes.Combine(path, RelativePath.Root))?.ChangeTime ?? throw new FileNotFoundException(path);
}

/// <summary>Config tweaks the <see cref="ConfigBuilder"/> has no setter for.</summary>
public static class ConfigEdits
{
    /// <summary>Writes <paramref name="builder"/>'s config with rsync's <c>&lt;timeout time&gt;</c> set to
    /// <paramref name="seconds"/>.</summary>
    public static string WriteWithTimeout(ConfigBuilder builder, string path, int seconds)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var doc = builder.Build();
        var timeout = doc.Descendants("timeout").Single();
        timeout.SetAttributeValue("start", "true");
        timeout.SetAttributeValue("time", seconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
        File.WriteAllText(path, doc.Declaration + "\n" + doc.Root);
        return path;
    }

    public static XDocument Load(string path) => XDocument.Load(path);
}
