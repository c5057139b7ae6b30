using System.Runtime.Versioning;
using SerSync.Configuration;
using SerSync.Testing;
using static SerSync.Testing.ConfigTestSupport;

namespace SerSync.UnitTests.Configuration;

/// <summary><c>&lt;audit start schedule repair&gt;</c> inside <c>&lt;sersync&gt;</c>: values, defaults, and errors that
/// point at the attribute's line and column.</summary>
[UnsupportedOSPlatform("windows")]
public sealed class AuditConfigTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly string _watch;

    public AuditConfigTests()
    {
        _watch = _temp.Sub("www");
    }

    public void Dispose() => _temp.Dispose();

    private string Cfg(string audit) => Config(_watch, sersyncTail: "\n    " + audit);

    private static SerSyncConfig Parse(string xml) => ConfigLoader.Parse(xml, FileName);

    [Fact]
    public void Absent_means_no_audit()
    {
        Assert.Equal(AuditConfig.Disabled, Parse(Config(_watch)).Audit);
        Assert.False(AuditConfig.Disabled.Enabled);
    }

    [Fact]
    public void Values_are_read()
    {
        Assert.Equal(new AuditConfig(true, 30, true), Parse(Cfg("<audit start=\"true\" schedule=\"30\" repair=\"true\"/>")).Audit);
        Assert.Equal(new AuditConfig(true, 0.5, false), Parse(Cfg("<audit start=\"true\" schedule=\"0.5\"/>")).Audit);
        Assert.Equal(TimeSpan.FromSeconds(3), Parse(Cfg("<audit start=\"true\" schedule=\"0.05\"/>")).Audit.Period);
        Assert.Equal(new AuditConfig(false, 60, false), Parse(Cfg("<audit/>")).Audit);
    }

    [Fact]
    public void The_plugin_alone_runs_no_audit()
    {
        var xml = Config(_watch, sersyncTail: "<audit start=\"true\" schedule=\"5\"/>").Replace(
            "</head>", "<plugin name=\"command\"><param prefix=\"/bin/true\" suffix=\"\" ignoreError=\"true\"/></plugin></head>", StringComparison.Ordinal);
        Assert.False(Parse(xml).ForPluginAlone("command")!.Audit.Enabled);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("0.01")]
    [InlineData("-5")]
    [InlineData("10m")]
    [InlineData("")]
    [InlineData("1e3")]
    [InlineData("NaN")]
    [InlineData("600000")]
    public void A_bad_schedule_is_refused_at_the_attribute(string schedule) =>
        AssertFails(Cfg($"<audit start=\"true\" schedule=\"{schedule}\"/>"), "schedule=", "audit schedule", "minutes between audits", "from 0.05 to 525600");

    [Fact]
    public void A_bad_schedule_is_refused_even_when_off() =>
        AssertFails(Cfg("<audit start=\"false\" schedule=\"soon\"/>"), "schedule=", "audit schedule \"soon\"");

    [Fact]
    public void Repair_and_start_are_booleans() =>
        AssertFails(Cfg("<audit start=\"true\" repair=\"yes\"/>"), "repair=", "repair=\"yes\" on <audit>", "expected true or false");

    [Fact]
    public void Unknown_attributes_and_children_are_refused()
    {
        AssertFails(Cfg("<audit start=\"true\" every=\"5\"/>"), "every=", "every");
        AssertFails(Cfg("<audit start=\"true\"><exclude expression=\"x\"/></audit>"), "<exclude", "<exclude>");
    }
}
