using System.Text;
using SerSync.Paths;
using SerSync.Testing;

namespace SerSync.UnitTests.Infrastructure;

/// <summary>The in-process parts of the test toolkit: the tree compare, the nasty names, the condition wait.</summary>
public sealed class ToolkitTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public void TreeComparer_reports_equal_trees_as_equal()
    {
        using var tmp = new TempDirectory();
        var a = tmp.Sub("a");
        var b = tmp.Sub("b");
        NastyNames.CreateTree(a);
        NastyNames.CreateTree(b);

        Assert.Empty(TreeComparer.Compare(a, b, new TreeCompareOptions { ComparePermissions = true }));
        TreeComparer.AssertEqual(a, b);
    }

    [Fact]
    public void TreeComparer_reports_content_missing_extra_type_symlink_and_permission_differences()
    {
        using var tmp = new TempDirectory();
        var a = tmp.Sub("a");
        var b = tmp.Sub("b");
        NastyNames.CreateTree(a);
        NastyNames.CreateTree(b);
        byte[] nonUtf8 = [(byte)'b', (byte)'a', (byte)'d', 0xff, 0xfe];
        NastyNames.CreateFile(NastyNames.Join(b, nonUtf8), "other"u8.ToArray());           // same size, other bytes
        NastyNames.CreateFile(NastyNames.Join(b, "-rf"u8.ToArray()), "longer content"u8.ToArray()); // other size
        NastyNames.Delete(NastyNames.Join(b, "new\nline"u8.ToArray()));                       // missing
        NastyNames.CreateFile(NastyNames.Join(b, "extra"u8.ToArray()), []);                   // extra
        NastyNames.Delete(NastyNames.Join(b, "#hash"u8.ToArray()));
        NastyNames.CreateDirectory(NastyNames.Join(b, "#hash"u8.ToArray()));                  // file -> directory
        NastyNames.Delete(NastyNames.Join(b, "link-a~b"u8.ToArray()));
        NastyNames.CreateSymlink("elsewhere"u8.ToArray(), NastyNames.Join(b, "link-a~b"u8.ToArray())); // other target
        NastyNames.SetMode(NastyNames.Join(b, "[a]"u8.ToArray()), 0b111_000_000);             // 0700

        var differences = TreeComparer.Compare(a, b, new TreeCompareOptions { ComparePermissions = true });

        Assert.Contains("content differs: bad\\xff\\xfe: first difference at byte 0", differences);
        Assert.Contains("size differs: -rf: source 3 bytes, destination 14 bytes", differences);
        Assert.Contains("missing in destination: new\\x0aline (file)", differences);
        Assert.Contains("extra in destination: extra (file)", differences);
        Assert.Contains("type differs: #hash: source is file, destination is directory", differences);
        Assert.Contains("symlink target differs: link-a~b: source -> a~b, destination -> elsewhere", differences);
        Assert.Contains("permissions differ: [a]: source 644, destination 700", differences);
        Assert.Equal(7, differences.Count);

        // Without permission checks that one is not reported; ignoring paths hides the rest.
        Assert.Equal(6, TreeComparer.Compare(a, b).Count);
        var ignored = new TreeCompareOptions { Ignore = p => p.Bytes.StartsWith("bad"u8) || p.Bytes.SequenceEqual("extra"u8) };
        Assert.Equal(4, TreeComparer.Compare(a, b, ignored).Count);

        var e = Assert.ThrowsAny<Exception>(() => TreeComparer.AssertEqual(a, b));
        Assert.Contains("differ in 6 place(s)", e.Message, StringComparison.Ordinal);
        Assert.Contains("missing in destination: new\\x0aline", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TreeComparer_finds_differences_deep_inside_large_files_and_subdirectories()
    {
        using var tmp = new TempDirectory();
        var a = tmp.Sub("a");
        var b = tmp.Sub("b");
        var bytes = RandomBytes(200_000);
        Directory.CreateDirectory(Path.Combine(a, "x", "y"));
        Directory.CreateDirectory(Path.Combine(b, "x", "y"));
        File.WriteAllBytes(Path.Combine(a, "x", "y", "big"), bytes);
        bytes[150_001] ^= 1;
        File.WriteAllBytes(Path.Combine(b, "x", "y", "big"), bytes);
        Directory.CreateDirectory(Path.Combine(a, "x", "only-in-a", "sub"));

        var differences = TreeComparer.Compare(a, b);

        Assert.Equal(
            ["content differs: x/y/big: first difference at byte 150001", "missing in destination: x/only-in-a (directory)"],
            differences.Order(StringComparer.Ordinal));
        Assert.Empty(TreeComparer.Compare(a, b, TreeCompareOptions.Ignoring("x/y/big", "x/only-in-a")));
    }

    [Fact]
    public void NastyNames_are_distinct_and_include_non_utf8_and_a_200_byte_name()
    {
        Assert.Equal(NastyNames.All.Count, NastyNames.All.Select(n => Convert.ToHexString(n)).Distinct().Count());
        Assert.All(NastyNames.All, n => Assert.DoesNotContain(n, b => b is (byte)'/' or 0));
        Assert.Contains(NastyNames.All, n => !new RelativePath(n).TryGetString(out _));
        Assert.Contains(NastyNames.All, n => n.Length == 200);
        Assert.Contains(NastyNames.All, n => n.AsSpan().SequenceEqual("$(touch pwned)"u8));

        using var tmp = new TempDirectory();
        NastyNames.CreateTree(tmp.Path);
        var listed = FileSystemBytes.ListDirectory(Encoding.UTF8.GetBytes(tmp.Path))!;
        Assert.Equal(NastyNames.All.Count * 3, listed.Count);
        Assert.All(NastyNames.All, n => Assert.Contains(listed, e => e.Name.AsSpan().SequenceEqual(n) && e.Type == EntryType.File));
    }

    [Fact]
    public async Task Eventually_returns_once_true_and_fails_with_the_reason_at_the_deadline()
    {
        var calls = 0;
        await Eventually.TrueAsync(() => ++calls >= 3, TimeSpan.FromSeconds(5), "third call", Ct);
        Assert.Equal(3, calls);

        var started = DateTime.UtcNow;
        var e = await Assert.ThrowsAnyAsync<Exception>(() => Eventually.TrueAsync(() => false, TimeSpan.FromMilliseconds(200), "the moon is cheese", Ct));
        Assert.Contains("the moon is cheese", e.Message, StringComparison.Ordinal);
        Assert.InRange(DateTime.UtcNow - started, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(5));

        // An abandon condition (the daemon exited) ends the wait at once and says so; a wanted value still wins.
        var abandoned = await Eventually.PollAsync(() => 1, v => v == 2, TimeSpan.FromSeconds(30), abandon: () => true, cancellationToken: Ct);
        Assert.True(abandoned is { Abandoned: true, Reached: false, Value: 1 }, abandoned.ToString());
        Assert.True(abandoned.Elapsed < TimeSpan.FromSeconds(5), abandoned.ToString());
        Assert.True((await Eventually.PollAsync(() => 2, v => v == 2, TimeSpan.FromSeconds(30), abandon: () => true, cancellationToken: Ct)).Reached);
    }

    private static byte[] RandomBytes(int count)
    {
        var bytes = new byte[count];
        new Random(42).NextBytes(bytes);
        return bytes;
    }
}
