using SerSync.Testing;

namespace SerSync.IntegrationTests.EndToEnd;

/// <summary>
/// One end-to-end setup: a temp directory with a watched <see cref="Source"/>, a local target <see cref="Target"/>,
/// a state directory and a config, and the daemon started on it. Disposing stops nothing gracefully: it kills the
/// daemon by PID (tests that check a clean stop call <see cref="DaemonProcess.StopAsync"/> themselves).
/// </summary>
public sealed class Mirror : IAsyncDisposable
{
    public static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(60);
    public static readonly TimeSpan SyncTimeout = TimeSpan.FromSeconds(30);

    private Mirror(TempDirectory tmp)
    {
        Tmp = tmp;
        Source = tmp.Sub("src");
        Target = Path.Combine(tmp.Path, "dst");
        Outside = tmp.Sub("outside");
        Config = new ConfigBuilder(Source, Path.Combine(tmp.Path, "state")).AddLocalTarget(Target);
    }

    public TempDirectory Tmp { get; }

    public string Source { get; }

    public string Target { get; }

    /// <summary>A directory on the same file system, outside the watched tree (for moves in and out).</summary>
    public string Outside { get; }

    public ConfigBuilder Config { get; }

    public string ConfigPath => Path.Combine(Tmp.Path, "confxml.xml");

    public DaemonProcess Daemon { get; private set; } = null!;

    /// <summary>Creates the directories; <paramref name="prepare"/> may fill the source and adjust the config before
    /// the daemon starts with <c>-r -o CONFIG</c>; returns once READY=1 arrived.</summary>
    public static async Task<Mirror> StartAsync(Action<Mirror>? prepare = null, bool fullPush = true)
    {
        var mirror = new Mirror(new TempDirectory("sersync-e2e-"));
        try
        {
            prepare?.Invoke(mirror);
            mirror.Config.Write(mirror.ConfigPath);
            mirror.Daemon = DaemonProcess.Start(fullPush ? ["-r", "-o", mirror.ConfigPath] : ["-o", mirror.ConfigPath]);
            await mirror.Daemon.WaitForReadyAsync(ReadyTimeout);
            return mirror;
        }
        catch
        {
            await mirror.DisposeAsync();
            throw;
        }
    }

    /// <summary>Polls until the target equals the source (see <see cref="Sync.WaitForEqualAsync"/>).</summary>
    public Task WaitForTargetAsync(TreeCompareOptions? options = null, TimeSpan? timeout = null) =>
        Sync.WaitForEqualAsync(Source, Target, timeout ?? SyncTimeout, options, Daemon);

    public string Src(string relative) => Path.Combine(Source, relative);

    public string Dst(string relative) => Path.Combine(Target, relative);

    public ValueTask DisposeAsync()
    {
        try
        {
            Daemon?.Dispose();
        }
        finally
        {
            Tmp.Dispose();
        }

        return ValueTask.CompletedTask;
    }
}

/// <summary>Waiting for trees to converge.</summary>
public static class Sync
{
    /// <summary>Polls <see cref="TreeComparer.Compare"/> until the trees are equal; on timeout fails listing the
    /// differences that remained (and the daemon's output when given).</summary>
    public static async Task WaitForEqualAsync(string source, string destination, TimeSpan timeout, TreeCompareOptions? options = null, DaemonProcess? daemon = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        IReadOnlyList<string> differences = [];
        while (DateTime.UtcNow < deadline)
        {
            if (daemon is { HasExited: true })
            {
                break;
            }

            differences = SafeCompare(source, destination, options);
            if (differences.Count == 0)
            {
                return;
            }

            await Task.Delay(Eventually.PollInterval);
        }

        differences = SafeCompare(source, destination, options);
        if (differences.Count == 0 && daemon is not { HasExited: true })
        {
            return;
        }

        var shown = string.Join("\n  ", differences.Take(30));
        var more = differences.Count > 30 ? $"\n  ... and {differences.Count - 30} more" : string.Empty;
        Assert.Fail(
            $"{destination} still differs from {source} after {timeout.TotalSeconds:0.#} s in {differences.Count} place(s):\n  {shown}{more}" +
            (daemon is null ? string.Empty : "\n" + daemon.Describe()));
    }

    private static IReadOnlyList<string> SafeCompare(string source, string destination, TreeCompareOptions? options)
    {
        try
        {
            return TreeComparer.Compare(source, destination, options);
        }
        catch (IOException e)
        {
            return [$"comparison raced with a change: {e.Message}"]; // rsync replacing a file as we read it
        }
    }
}
