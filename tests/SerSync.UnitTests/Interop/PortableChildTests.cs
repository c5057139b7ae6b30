using System.Text;
using SerSync.Interop;
using SerSync.Testing;

namespace SerSync.UnitTests.Interop;

/// <summary>The child process off Linux (System.Diagnostics.Process), run here on Linux: argv without a shell, the
/// exact environment, the working directory, stdin bytes, one bounded output tail, the kill of the tree.</summary>
public sealed class PortableChildTests : IDisposable
{
    private readonly TempDirectory _temp = new("sersync-portable-spawn-");

    public void Dispose() => _temp.Dispose();

    private static byte[] B(string text) => Encoding.UTF8.GetBytes(text);

    private static Task<NativeChildExit> Run(string script, byte[]? stdin = null, string cwd = "/", IReadOnlyList<byte[]>? env = null, int maxOutput = 16384, params string[] args) =>
        NativeChild.StartPortable(B("/bin/sh"), [B("sh"), B("-c"), B(script), .. args.Select(B)], env ?? [], B(cwd), stdin, maxOutput).Completion;

    [Fact]
    public async Task Arguments_environment_and_directory_arrive_as_given_with_no_shell_parsing()
    {
        var ct = TestContext.Current.CancellationToken;
        var dir = _temp.Sub("wörk dir");

        var exit = await Run("printf '%s|' \"$0\" \"$1\" \"$ODD\" \"$(pwd -P)\" \"${HOME-unset}\"", env: [B("ODD=a b;$(x)`y`")], cwd: dir, args: ["zero", "; rm -rf / $(echo)"]).WaitAsync(TimeSpan.FromSeconds(20), ct);

        Assert.Equal(0, exit.ExitCode);
        Assert.Null(exit.Signal);
        Assert.False(exit.StatusLost);
        Assert.Equal($"zero|; rm -rf / $(echo)|a b;$(x)`y`|{dir}|unset|", Encoding.UTF8.GetString(exit.Output));
    }

    [Fact]
    public async Task Stdin_bytes_arrive_whole_NUL_separated_and_output_is_one_tail()
    {
        var ct = TestContext.Current.CancellationToken;
        var list = Enumerable.Range(0, 20_000).SelectMany(i => B($"./dir/file-{i}\0")).ToArray(); // larger than a pipe

        var exit = await Run("tr '\\0' '\\n' | wc -l; echo err >&2", stdin: list).WaitAsync(TimeSpan.FromSeconds(20), ct);

        Assert.Equal(0, exit.ExitCode);
        Assert.Equal("20000\nerr\n", Encoding.UTF8.GetString(exit.Output).TrimStart());
    }

    /// <summary>Both starts: a read longer than the bound once left the tail rotated (its end in the middle).</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Output_is_bounded_to_its_last_bytes_in_order(bool native)
    {
        var ct = TestContext.Current.CancellationToken;
        byte[][] argv = [B("sh"), B("-c"), B("seq 1 100000")];

        var child = native ? NativeChild.Start(B("/bin/sh"), argv, [], B("/"), null, 64) : NativeChild.StartPortable(B("/bin/sh"), argv, [], B("/"), null, 64);
        var exit = await child.Completion.WaitAsync(TimeSpan.FromSeconds(20), ct);

        Assert.True(exit.OutputTruncated);
        Assert.Equal(64, exit.Output.Length);
        Assert.EndsWith("99999\n100000\n", Encoding.UTF8.GetString(exit.Output), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_child_that_does_not_read_its_stdin_still_completes()
    {
        var ct = TestContext.Current.CancellationToken;

        var exit = await Run("exit 3", stdin: new byte[1 << 20]).WaitAsync(TimeSpan.FromSeconds(20), ct);

        Assert.Equal(3, exit.ExitCode);
    }

    [Fact]
    public async Task KillGroup_kills_the_child_and_what_it_started()
    {
        var ct = TestContext.Current.CancellationToken;
        var pidFile = Path.Combine(_temp.Path, "grandchild");
        var child = NativeChild.StartPortable(B("/bin/sh"), [B("sh"), B("-c"), B($"sleep 300 & echo $! > '{pidFile}'; wait")], [], B("/"), null, 4096);
        await Eventually.TrueAsync(() => File.Exists(pidFile) && File.ReadAllText(pidFile).EndsWith('\n'), TimeSpan.FromSeconds(10), "the shell wrote its child's pid", ct);
        var grandchild = int.Parse(File.ReadAllText(pidFile).Trim(), System.Globalization.CultureInfo.InvariantCulture);

        child.KillGroup();
        var exit = await child.Completion.WaitAsync(TimeSpan.FromSeconds(20), ct);

        Assert.Equal(NativeChild.KillSignal, exit.Signal);
        Assert.Equal(128 + NativeChild.KillSignal, exit.ExitCode);
        await Eventually.TrueAsync(() => !ProcessSession.IsAlive(grandchild) || IsZombie(grandchild), TimeSpan.FromSeconds(10), "the background sleep is killed with its parent", ct);
        child.KillGroup(); // after the end: nothing, no exception
    }

    private static bool IsZombie(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/stat").Contains(") Z ", StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return true; // gone between the two looks
        }
    }

    [Fact]
    public void A_missing_program_or_directory_and_bytes_that_are_not_UTF8_are_spawn_errors()
    {
        Assert.Equal(2, Assert.Throws<NativeSpawnException>(() => NativeChild.StartPortable(B(Path.Combine(_temp.Path, "absent")), [B("absent")], [], B("/"), null, 1024)).ErrorNumber);
        Assert.Equal(2, Assert.Throws<NativeSpawnException>(() => NativeChild.StartPortable(B("/bin/sh"), [B("sh")], [], B(Path.Combine(_temp.Path, "nodir")), null, 1024)).ErrorNumber);
        Assert.Equal(22, Assert.Throws<NativeSpawnException>(() => NativeChild.StartPortable(B("/bin/sh"), [B("sh"), [0xff]], [], B("/"), null, 1024)).ErrorNumber);
        Assert.Throws<ArgumentException>(() => NativeChild.StartPortable(B("/bin/sh"), [B("sh"), [(byte)'a', 0]], [], B("/"), null, 1024));
    }
}
