using SerSync.Testing;

namespace SerSync.IntegrationTests.Daemon;

/// <summary><c>sersyncd --once</c> under the delete guard, as a process against a real local target: a one-shot push
/// that would delete most of the target sends the rest without deleting, says what it held and exits 75; with
/// <c>&lt;deleteGuard start="false"/&gt;</c> the same push deletes.</summary>
public sealed class OnceDeleteGuardEndToEndTests : IDisposable
{
    private readonly TempDirectory _temp = new("sersync-once-guard-");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Once_holds_a_mass_delete_pushes_the_rest_exits_75_and_pushes_it_with_the_guard_off()
    {
        var src = _temp.Sub("src");
        var local = _temp.Sub("local");
        Directory.CreateDirectory(Path.Combine(src, "dir"));
        for (var i = 0; i < 30; i++)
        {
            File.WriteAllText(Path.Combine(src, i % 2 == 0 ? "dir" : ".", "f" + i), "content " + i);
        }

        var config = Write(guard: true);
        var first = await StockConfigEndToEndTests.RunSersyncdAsync("--once", "-o", config);
        Assert.True(first.ExitCode == 0, first.ToString());
        TreeComparer.AssertEqual(src, local);

        Directory.Delete(Path.Combine(src, "dir"), recursive: true);
        foreach (var f in Directory.GetFiles(src).Skip(3))
        {
            File.Delete(f);
        }

        File.WriteAllText(Path.Combine(src, "new.txt"), "arrives anyway");
        var held = await StockConfigEndToEndTests.RunSersyncdAsync("--once", "-o", config);
        Assert.True(held.ExitCode == 75, held.ToString());
        var output = held.StandardOutput + held.StandardError;
        Assert.Contains("held the deletes of the full push", output, StringComparison.Ordinal);
        Assert.Contains("<deleteGuard start=\"false\"/>", output, StringComparison.Ordinal);
        Assert.Equal(31, Directory.GetFiles(local, "*", SearchOption.AllDirectories).Length); // all kept, the new one sent
        Assert.True(File.Exists(Path.Combine(local, "new.txt")));

        var off = await StockConfigEndToEndTests.RunSersyncdAsync("--once", "-o", Write(guard: false));
        Assert.True(off.ExitCode == 0, off.ToString());
        TreeComparer.AssertEqual(src, local);
    }

    /// <summary>The config, the guard on with a low <c>minFiles</c> (a small root) or off.</summary>
    private string Write(bool guard)
    {
        var builder = new ConfigBuilder(Path.Combine(_temp.Path, "src"), _temp.Sub("state")) { DeleteGuard = guard }.AddLocalTarget(Path.Combine(_temp.Path, "local"));
        var file = builder.Write(Path.Combine(_temp.Path, guard ? "guarded.xml" : "unguarded.xml"));
        var xml = File.ReadAllText(file);
        Assert.Contains("<deleteGuard start=\"" + (guard ? "true" : "false") + "\"", xml, StringComparison.Ordinal);
        File.WriteAllText(file, xml.Replace("<deleteGuard start=\"true\"", "<deleteGuard start=\"true\" minFiles=\"10\"", StringComparison.Ordinal));
        return file;
    }
}
