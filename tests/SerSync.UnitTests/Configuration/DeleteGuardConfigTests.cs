using System.Runtime.Versioning;
using SerSync.Configuration;
using SerSync.Testing;
using static SerSync.Testing.ConfigTestSupport;

namespace SerSync.UnitTests.Configuration;

/// <summary><c>&lt;deleteGuard start percent minFiles&gt;</c> under <c>&lt;sersync&gt;</c> (every root) and under a
/// <c>&lt;localpath&gt;</c> (that root, over the shared one attribute by attribute).</summary>
[UnsupportedOSPlatform("windows")]
public sealed class DeleteGuardConfigTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly string _a;
    private readonly string _b;

    public DeleteGuardConfigTests()
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
    public void Absent_means_on_at_half_of_a_thousand_files()
    {
        var guard = Parse(Config(_a)).Watches[0].DeleteGuard;
        Assert.Equal(DeleteGuardConfig.Default, guard);
        Assert.True(guard.Enabled);
        Assert.Equal(50, guard.Percent);
        Assert.Equal(1000, guard.MinFiles);
    }

    [Fact]
    public void The_shared_element_sets_every_root_and_a_localpath_overrides_it_attribute_by_attribute()
    {
        var config = Parse(TwoRoots("<deleteGuard start=\"true\" percent=\"20\" minFiles=\"10\"/>", "<deleteGuard percent=\"80\"/>"));
        var a = config.Watches[0].DeleteGuard;
        var b = config.Watches[1].DeleteGuard;
        Assert.Equal((true, 20, 10), (a.Enabled, a.Percent, a.MinFiles));
        Assert.Equal((true, 80, 10), (b.Enabled, b.Percent, b.MinFiles));
    }

    [Fact]
    public void One_root_may_switch_it_off()
    {
        var config = Parse(TwoRoots("", "<deleteGuard start=\"false\"/>"));
        Assert.True(config.Watches[0].DeleteGuard.Enabled);
        Assert.False(config.Watches[1].DeleteGuard.Enabled);
    }

    [Theory]
    [InlineData(50, 1000, 500, 1000, true)]
    [InlineData(50, 1000, 501, 1000, false)]
    [InlineData(50, 1000, 999, 999, true)] // below minFiles: only the root-empty rule applies (the caller's)
    [InlineData(50, 1000, 0, 5000, true)]
    [InlineData(100, 0, 10, 10, true)]
    [InlineData(1, 0, 1, 99, false)]
    public void The_share_rule(int percent, int minFiles, long deletes, long held, bool allowed) =>
        Assert.Equal(allowed, new DeleteGuardConfig(true, percent, minFiles, 1).AllowsShare(deletes, held));

    [Fact]
    public void Off_allows_everything() => Assert.True(DeleteGuardConfig.Off.AllowsShare(5000, 5000));

    [Theory]
    [InlineData("percent=\"0\"", "percent=", "from 1 to 100")]
    [InlineData("percent=\"101\"", "percent=", "from 1 to 100")]
    [InlineData("percent=\"half\"", "percent=", "expected an integer")]
    [InlineData("minFiles=\"-1\"", "minFiles=", "of at least 0")]
    [InlineData("start=\"yes\"", "start=", "expected true or false")]
    [InlineData("ratio=\"5\"", "ratio=", "ratio")]
    public void Bad_values_are_refused_at_the_attribute(string attributes, string at, string message)
    {
        AssertFails(Config(_a, sersyncTail: $"<deleteGuard {attributes}/>"), at, message);
        AssertFails(TwoRoots("", $"<deleteGuard {attributes}/>"), at, message);
    }
}
