using System.Text;
using SerSync.Tests.Infrastructure;

namespace SerSync.Tests.EndToEnd;

/// <summary>The built daemon mirroring into a local directory target: start-up push, live changes, storms, editors,
/// moves and nasty names.</summary>
public sealed class LocalTargetEndToEndTests
{
    [Fact]
    public async Task Full_push_arrives_before_ready_and_live_changes_follow()
    {
        await using var m = await Mirror.StartAsync(m =>
        {
            Directory.CreateDirectory(m.Src("a/b/c"));
            File.WriteAllText(m.Src("top.txt"), "top");
            File.WriteAllText(m.Src("a/b/c/deep.txt"), "deep");
            File.WriteAllBytes(m.Src("a/big.bin"), Enumerable.Range(0, 200_000).Select(i => (byte)(i * 31)).ToArray());
            File.WriteAllText(m.Src("to-delete.txt"), "going");
        });

        // READY=1 promises the -r push is done: no waiting here.
        TreeComparer.AssertEqual(m.Source, m.Target);

        File.WriteAllText(m.Src("new.txt"), "new");
        File.AppendAllText(m.Src("top.txt"), " and more");
        File.Delete(m.Src("to-delete.txt"));
        Directory.CreateDirectory(m.Src("x/y"));
        File.WriteAllText(m.Src("x/y/z.txt"), "z");
        await m.WaitForTargetAsync();
        Assert.Equal("top and more", File.ReadAllText(m.Dst("top.txt")));
        Assert.False(File.Exists(m.Dst("to-delete.txt")));

        await m.Daemon.StopAsync();
    }
}
