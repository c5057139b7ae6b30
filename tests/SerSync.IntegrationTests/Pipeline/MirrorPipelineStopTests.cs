using Microsoft.Extensions.Logging.Abstractions;
using SerSync.Configuration;
using SerSync.IntegrationTests.EndToEnd;
using SerSync.Pipeline;
using SerSync.Testing;

namespace SerSync.IntegrationTests.Pipeline;

/// <summary>
/// The stop path of one pipeline, in process, against a real local rsync target: changes made an instant before the
/// stop must reach the target. The old stop waited for the watcher to be "quiet for 150 ms", which says nothing about
/// events still in the kernel's queue: when the reader thread had not handed anything over yet, it did not wait at
/// all, and on a busy 2-core machine all 50 files of the SIGTERM end-to-end test were missing on the target.
/// </summary>
public sealed class MirrorPipelineStopTests : IDisposable
{
    private readonly TempDirectory _temp = new("sersync-stop-");

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Files_written_just_before_the_stop_are_on_the_target_when_it_returns(int round)
    {
        var src = _temp.Sub($"src-{round}");
        var dst = _temp.Sub($"dst-{round}");
        Directory.CreateDirectory(src);
        Directory.CreateDirectory(dst);
        var file = new ConfigBuilder(src, _temp.Sub($"state-{round}")).AddLocalTarget(dst).Write(Path.Combine(_temp.Path, $"conf-{round}.xml"));
        var config = ConfigLoader.Load(file);
        var options = new MirrorOptions(Workers: 4, FullPushFirst: false, DrainTimeout: TimeSpan.FromSeconds(60), StateDirectory: _temp.Sub($"state-{round}"));
        using var pipeline = new MirrorPipeline(config, options, TimeProvider.System, NullLoggerFactory.Instance);
        pipeline.Start();
        pipeline.StartWorkers();

        for (var i = 0; i < 50; i++)
        {
            await File.WriteAllTextAsync(Path.Combine(src, $"f{i:D2}"), $"content {round} {i}", TestContext.Current.CancellationToken);
        }

        Directory.CreateDirectory(Path.Combine(src, "d", "e"));
        await File.WriteAllTextAsync(Path.Combine(src, "d", "e", "deep"), "deep", TestContext.Current.CancellationToken);

        // No wait of any kind between the last write and the stop: the barrier is the stop's job.
        await pipeline.StopAsync(TimeSpan.FromSeconds(60));

        TreeComparer.AssertEqual(src, dst);
        Assert.Equal(0, pipeline.Workers.Sum(w => w.PendingCount));
    }
}
