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
    public static async Task<Mirror> StartAsync(Action<Mirror>? prepare = null, bool fullPush = true, IReadOnlyDictionary<string, string>? environment = null)
    {
        var mirror = new Mirror(new TempDirectory("sersync-e2e-"));
        try
        {
            prepare?.Invoke(mirror);
            mirror.Config.Write(mirror.ConfigPath);
            string[] arguments = fullPush ? ["-r", "-o", mirror.ConfigPath] : ["-o", mirror.ConfigPath];
            mirror.Daemon = environment is null ? DaemonProcess.Start(arguments) : DaemonProcess.Start(arguments, environment);
            await mirror.Daemon.WaitForReadyAsync(ReadyTimeout);
            return mirror;
        }
        catch
        {
            await mirror.DisposeAsync();
            throw;
        }
    }

    /// <summary>Polls until the target equals the source; fails listing the differences left (and the daemon's
    /// output) at the timeout or when the daemon exited.</summary>
    public Task WaitForTargetAsync(TreeCompareOptions? options = null, TimeSpan? timeout = null) =>
        TreeConvergence.AssertConvergesAsync(Source, Target, timeout ?? SyncTimeout, options, () => Daemon.HasExited, Daemon.Describe);

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
