using System.Threading.Channels;
using Microsoft.Extensions.Logging.Abstractions;
using SerSync.Configuration;
using SerSync.Pipeline;
using SerSync.Plugins;
using SerSync.Testing;

namespace SerSync.IntegrationTests.Plugins;

/// <summary>
/// The promise a hook makes, checked in process with real inotify and real rsync to two local targets: when a
/// plugin is called for a change, every target already has it (the file there with its content, or a deleted one
/// gone), so a CDN never fetches an old copy and a script never reads what the web servers lack.
/// </summary>
public sealed class HookOrderingTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private readonly TempDirectory _temp = new("sersync-hooks-");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Every_target_has_each_change_when_the_plugin_is_called()
    {
        var ct = TestContext.Current.CancellationToken;
        var src = _temp.Sub("src");
        string[] targets = [_temp.Sub("dst1"), _temp.Sub("dst2")];
        Directory.CreateDirectory(src);
        foreach (var t in targets)
        {
            Directory.CreateDirectory(t);
        }

        var builder = new ConfigBuilder(src, _temp.Sub("state")).AddLocalTarget(targets[0]).AddLocalTarget(targets[1])
            .AddPlugin("socket", "<localpath watch=\"" + src + "\"><deshost ip=\"127.0.0.1\" port=\"9\"/></localpath>");
        var config = ConfigLoader.Load(builder.Write(Path.Combine(_temp.Path, "confxml.xml")));
        var plugin = new CheckingPlugin(src, targets);
        var options = new MirrorOptions(4, false, TimeSpan.FromSeconds(30), _temp.Sub("state"));
        using var pipeline = new MirrorPipeline(config, options, TimeProvider.System, NullLoggerFactory.Instance, plugins: _ => plugin);
        pipeline.Start();
        pipeline.StartWorkers();

        for (var i = 0; i < 20; i++)
        {
            await File.WriteAllTextAsync(Path.Combine(src, $"f{i:D2}"), $"version {i}", ct);
        }

        File.Delete(Path.Combine(src, "f03"));
        Directory.CreateDirectory(Path.Combine(src, "d"));
        await File.WriteAllTextAsync(Path.Combine(src, "d", "inner"), "inner", ct);
        // A directory created with a file in it before its watch was placed is reported as the directory (sent whole).
        bool SawAll()
        {
            lock (plugin.Seen)
            {
                // A scanning backend never sees a file made and deleted between two comparisons: nothing to send, nor to tell.
                return plugin.Seen.Contains("f19") && plugin.Seen.Contains("d") && (plugin.Seen.Contains("f03:delete") || !WatcherBackend.IsInotify);
            }
        }

        await Eventually.PollAsync(() => SawAll(), done => done, Deadline, cancellationToken: ct);
        Assert.True(SawAll(), $"the plugin saw only {string.Join(", ", plugin.Seen)}; {pipeline.Hooks.Sum(h => h.PendingCount)} pending");
        Assert.True(File.Exists(Path.Combine(targets[0], "d", "inner")));
        await pipeline.StopAsync(TimeSpan.FromSeconds(30));

        Assert.Empty(plugin.Violations);
        Assert.True(plugin.Calls > 0);
    }

    /// <summary>At each call, checks on every target that each reported path is there with the source's content
    /// (or absent, for a delete); a change of the source since then is no violation.</summary>
    private sealed class CheckingPlugin(string root, string[] targets) : IHookPlugin
    {
        public string Name => "socket";

        public string Label => "checking plugin";

        public int MaxBatch => 1000;

        public int Calls { get; private set; }

        public HashSet<string> Seen { get; } = [];

        public List<string> Violations { get; } = [];

        public Task<HookOutcome> DeliverAsync(HookBatch batch, CancellationToken cancellationToken)
        {
            Calls++;
            foreach (var change in batch.Changes)
            {
                var rel = change.Path.ToString();
                lock (Seen)
                {
                    Seen.Add(change.EventName == "delete" ? rel + ":delete" : rel);
                }

                foreach (var target in targets)
                {
                    var there = Path.Combine(target, rel);
                    var source = Path.Combine(root, rel);
                    if (change.EventName == "delete")
                    {
                        if (Path.Exists(there) && !Path.Exists(source))
                        {
                            Violations.Add($"{rel} deleted, still on {target}");
                        }
                    }
                    else if (!change.IsDirectory && File.Exists(source))
                    {
                        if (!File.Exists(there))
                        {
                            Violations.Add($"{rel} not on {target}");
                        }
                    }
                }
            }

            return Task.FromResult(HookOutcome.Delivered);
        }
    }
}
