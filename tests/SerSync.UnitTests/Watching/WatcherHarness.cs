using System.Text;
using System.Threading.Channels;
using SerSync.Configuration;
using SerSync.Filtering;
using SerSync.Paths;
using SerSync.Testing;
using SerSync.Watching;

namespace SerSync.UnitTests.Watching;

/// <summary>Inotify tests share kernel limits (some lower them briefly), so they never run in parallel.</summary>
[CollectionDefinition("inotify", DisableParallelization = true)]
public sealed class InotifyTestsDefinition
{
}

/// <summary>A watcher on a fresh temp directory, with helpers that read its channel against a deadline.</summary>
internal sealed class WatcherHarness : IDisposable
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    private readonly Channel<FileChange> _channel = Channel.CreateUnbounded<FileChange>();
    private int _sentinels;

    public WatcherHarness(InotifyConfig? config = null, PathFilter? filter = null, bool start = true)
    {
        Temp = new TempDirectory("sersync-watch-");
        Root = Temp.Sub("root");
        Watcher = new InotifyWatcher(Root, config ?? InotifyConfig.Stock, filter ?? new PathFilter(), _channel.Writer);
        if (start)
        {
            Watcher.Start();
        }
    }

    public TempDirectory Temp { get; }

    public string Root { get; }

    public InotifyWatcher Watcher { get; }

    /// <summary>Every change read so far, in order.</summary>
    public List<FileChange> Seen { get; } = [];

    public string P(string relative) => Path.Combine(Root, relative);

    public static RelativePath R(string relative) => RelativePath.FromString(relative);

    /// <summary>Reads changes until one matches; fails (listing what was seen) at the deadline.</summary>
    public FileChange WaitFor(Func<FileChange, bool> match, string what)
    {
        using var cts = new CancellationTokenSource(Deadline);
        var start = Seen.Count;
        try
        {
            while (true)
            {
                var change = _channel.Reader.ReadAsync(cts.Token).AsTask().GetAwaiter().GetResult();
                Seen.Add(change);
                if (match(change))
                {
                    return change;
                }
            }
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"no change matching {what} within {Deadline}; saw: {Describe(Seen.Skip(start))}");
            throw;
        }
    }

    public FileChange WaitFor(ChangeKind kind, string relative) =>
        WaitFor(c => c.Kind == kind && c.Path == R(relative), $"{kind} {relative}");

    /// <summary>Writes a fresh marker file and waits for it: the watcher handles events in order, so every change
    /// caused before the marker has been read once this returns. Returns what came before the marker.</summary>
    public List<FileChange> Settle()
    {
        var name = $"zz-sentinel-{++_sentinels}";
        var start = Seen.Count;
        File.WriteAllText(P(name), "s");
        WaitFor(ChangeKind.Upsert, name);
        return Seen.Skip(start).Where(c => !c.Path.ToMatchString().StartsWith("zz-sentinel-", StringComparison.Ordinal)).ToList();
    }

    /// <summary>Moves whatever the channel holds right now into <see cref="Seen"/>, without waiting; returns it.</summary>
    public List<FileChange> TakeAvailable()
    {
        var start = Seen.Count;
        while (_channel.Reader.TryRead(out var change))
        {
            Seen.Add(change);
        }

        return Seen.Skip(start).ToList();
    }

    /// <summary>Completes the channel, as its owner does when it stops reading.</summary>
    public void CompleteChannel() => _channel.Writer.Complete();

    /// <summary>For failure messages: the changes, the last 50 at most.</summary>
    public static string Describe(IEnumerable<FileChange> changes)
    {
        var list = changes.ToList();
        var shown = string.Join("; ", list.TakeLast(50).Select(c => $"{c.Kind} '{c.Path}'{(c.IsDirectory ? "/" : "")}"));
        return list.Count > 50 ? $"({list.Count - 50} earlier changes not shown) {shown}" : shown;
    }

    /// <summary>Runs python3 with argv only (no shell): used to make names .NET strings cannot express.</summary>
    public static void Python(string code, params string[] args)
    {
        var result = ChildProcess.Run("python3", ["-c", code, .. args], timeout: Deadline);
        Assert.True(result.ExitCode == 0, $"python3 failed: {result}");
    }

    public static string Hex(string root, byte[] relative) =>
        Convert.ToHexString(FileSystemBytes.Combine(root, new RelativePath(relative)));

    public static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);

    public void Dispose()
    {
        Watcher.Dispose();
        Temp.Dispose();
    }
}
