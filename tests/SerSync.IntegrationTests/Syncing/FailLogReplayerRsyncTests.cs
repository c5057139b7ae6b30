using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using SerSync.Configuration;
using SerSync.FailLog;
using SerSync.Paths;
using SerSync.Processes;
using SerSync.Rsync;
using SerSync.Testing;

namespace SerSync.IntegrationTests.Syncing;

/// <summary>The fail-log replay against a real rsync daemon that is down and then back.</summary>
public sealed class FailLogReplayerRsyncTests : IDisposable
{
    private static readonly byte[] Header = "#!/bin/sh\n# sersyncd fail log: failed rsync runs, replayed periodically.\n\n"u8.ToArray();
    private readonly TempDirectory _temp = new("sersync-replay-");

    public void Dispose() => _temp.Dispose();

    private string FailLogPath => Path.Combine(_temp.Path, "rsync_fail_log.sh");

    private FailLogReplayer NewReplayer() => new(new FailLogConfig(FailLogPath, 60), RsyncExitCodes.Describe, TimeProvider.System, NullLogger.Instance);

    private static byte[] Cat(params byte[][] parts) => [.. parts.SelectMany(p => p)];

    private static void AssertStartsWith(byte[] prefix, byte[] actual) =>
        Assert.True(actual.AsSpan().StartsWith(prefix), $"starts with {Encoding.UTF8.GetString(prefix)}:\n{Encoding.UTF8.GetString(actual)}");

    /// <summary>In a nasty-name tree, the file inside each <c>dir-NAME</c> directory: excluded from the push, so the
    /// exclude list fed on stdin (and so the fail-log command) holds every nasty name.</summary>
    private static bool IsInnerFile(RelativePath path, bool isDir)
    {
        if (isDir || path.Parent.IsRoot || !path.Parent.Parent.IsRoot)
        {
            return false;
        }

        var dir = path.Parent.Name;
        return dir.StartsWith("dir-"u8) && dir[4..].SequenceEqual(path.Name);
    }

    [Fact]
    public async Task A_push_to_a_down_daemon_stays_while_it_is_down_and_is_redone_and_removed_once_it_is_back()
    {
        var ct = TestContext.Current.CancellationToken;
        var src = _temp.Sub("src");
        var mod = _temp.Sub("module");
        NastyNames.CreateTree(src);
        using var daemon = new RsyncDaemon().AddModule("www", mod, "backup", "s3cret").Start();
        var target = daemon.TargetFor(src, "www", "backup", "s3cret", "-az");
        daemon.Kill();
        var push = new FullPush(new ProcessRunner(NullLogger.Instance), new SemaphoreSlim(2), new FailLogWriter(FailLogPath, RsyncExitCodes.Describe), TimeProvider.System, NullLogger.Instance);
        var pushed = await push.RunAsync([target], IsInnerFile, [], ct);
        Assert.NotEqual(0, pushed.Single().Result.ExitCode);
        var written = File.ReadAllBytes(FailLogPath);
        var original = Assert.Single(FailLogScript.Parse(written), b => b.IsEntry);
        foreach (var name in NastyNames.All)
        {
            // The exclude rule for dir-NAME/NAME, as FailLog quotes it for the shell.
            var rule = ExcludeList.Encode([new RelativePath(Cat("dir-"u8.ToArray(), name, "/"u8.ToArray(), name))])[..^1];
            using var quoted = new MemoryStream();
            ShellQuote.Append(quoted, rule);
            Assert.True(original.Command.IndexOf(quoted.ToArray()) >= 0, $"the command lists {new RelativePath(name)}");
        }

        // Still down: the entry stays, with the new exit code, its command byte for byte.
        var replayer = NewReplayer();
        var down = await replayer.ReplayAsync(ct);
        Assert.Equal(new FailLogReplayResult(1, 0, 1, true), down);
        var afterDown = File.ReadAllBytes(FailLogPath);
        AssertStartsWith(Header, afterDown);
        var kept = Assert.Single(FailLogScript.Parse(afterDown), b => b.IsEntry);
        Assert.Equal(original.Command.ToArray(), kept.Command.ToArray());
        Assert.NotNull(kept.Errno);
        Assert.NotEqual(0, kept.Errno);
        Assert.Equal(FailureClass.Transient, RsyncExitCodes.Classify(kept.Errno.Value));
        Assert.Contains($"\n# replayed ", Encoding.UTF8.GetString(afterDown), StringComparison.Ordinal);
        Assert.StartsWith($"#errno {kept.Errno}\n", Encoding.UTF8.GetString(kept.Text), StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(mod));

        // Back up: the entry is redone and removed; the module mirrors the source.
        daemon.Start();
        var up = await replayer.ReplayAsync(ct);
        Assert.Equal(new FailLogReplayResult(1, 1, 0, true), up);
        Assert.Equal(Header, File.ReadAllBytes(FailLogPath));
        TreeComparer.AssertEqual(src, mod, new TreeCompareOptions { Ignore = p => IsInnerFile(p, false) });
        Assert.False(File.Exists(Path.Combine(_temp.Path, "pwned")) || File.Exists(Path.Combine(src, "pwned")));

        // Nothing left: the next replay does nothing.
        Assert.Equal(FailLogReplayResult.Nothing, await replayer.ReplayAsync(ct));
    }
}
