using System.Runtime.Versioning;
using SerSync.Configuration;
using SerSync.Testing;
using static SerSync.Testing.ConfigTestSupport;

namespace SerSync.UnitTests.Configuration;

/// <summary><c>&lt;journal maxSize&gt;</c> under <c>&lt;sersync&gt;</c> (every root) and under a <c>&lt;localpath&gt;</c>.</summary>
[UnsupportedOSPlatform("windows")]
public sealed class JournalConfigTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly string _a;
    private readonly string _b;

    public JournalConfigTests()
    {
        _a = _temp.Sub("a");
        _b = _temp.Sub("b");
    }

    public void Dispose() => _temp.Dispose();

    private static SerSyncConfig Parse(string xml) => ConfigLoader.Parse(xml, FileName);

    private string TwoRoots(string shared, string ownOfB) => Config(_a,
        local: $"    <localpath watch=\"{_a}\">\n      <remote ip=\"10.0.0.1\" name=\"a\"/>\n    </localpath>\n" +
               $"    <localpath watch=\"{_b}\">\n      <remote ip=\"10.0.0.1\" name=\"b\"/>\n      {ownOfB}\n    </localpath>",
        sersyncTail: shared);

    [Fact]
    public void A_stock_file_gets_64_MiB()
    {
        var journal = Parse(Config(_a)).Watches[0].Journal;
        Assert.Equal(JournalConfig.Default, journal);
        Assert.Equal(64L << 20, journal.MaxBytes);
        Assert.Equal(1 << 20, journal.MaxPendingPaths);
    }

    [Fact]
    public void The_shared_element_sets_every_root_and_a_localpath_its_own()
    {
        var config = Parse(TwoRoots("<journal maxSize=\"8M\"/>", "<journal maxSize=\"1G\"/>"));
        Assert.Equal(8L << 20, config.Watches[0].Journal.MaxBytes);
        Assert.Equal(1L << 30, config.Watches[1].Journal.MaxBytes);
        Assert.True(config.Watches[1].Journal.Line > 0);
    }

    [Theory]
    [InlineData("1048576", 1L << 20)]
    [InlineData("2048K", 2L << 20)]
    [InlineData("3m", 3L << 20)]
    [InlineData("2G", 2L << 30)]
    public void Sizes_take_K_M_G_or_bytes(string text, long bytes)
    {
        Assert.True(JournalConfig.TryParseSize(text, out var parsed));
        Assert.Equal(bytes, parsed);
    }

    [Theory]
    [InlineData("maxSize=\"big\"", "expected a size")]
    [InlineData("maxSize=\"-5M\"", "expected a size")]
    [InlineData("maxSize=\"64MB\"", "expected a size")]
    [InlineData("maxSize=\"M\"", "expected a size")]
    [InlineData("maxSize=\"99999999999999999999G\"", "expected a size")]
    [InlineData("maxSize=\"512K\"", "too small")]
    public void Bad_sizes_are_refused_at_the_attribute(string attributes, string message)
    {
        AssertFails(Config(_a, sersyncTail: $"<journal {attributes}/>"), "maxSize=", message);
        AssertFails(TwoRoots("", $"<journal {attributes}/>"), "maxSize=", message);
    }
}
