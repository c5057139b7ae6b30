using System.Runtime.Versioning;
using SerSync.Configuration;
using SerSync.Testing;
using static SerSync.Testing.ConfigTestSupport;

namespace SerSync.UnitTests.Configuration;

/// <summary><c>&lt;fileSystem watcher scanInterval&gt;</c> under <c>&lt;head&gt;</c>: values, defaults, and errors at the attribute.</summary>
[UnsupportedOSPlatform("windows")]
public sealed class WatcherConfigTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly string _watch;

    public WatcherConfigTests() => _watch = _temp.Sub("www");

    // SERSYNCD_WATCHER overrides the attribute for a whole run (CI forces a backend with it): these read the file.
    private static SerSyncConfig Parse(string xml)
    {
        Assert.SkipWhen(WatcherBackend.Forced is not null, "SERSYNCD_WATCHER forces a backend in this run");
        return ConfigLoader.Parse(xml, FileName);
    }

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Sersyncs_own_element_and_no_element_mean_auto_with_each_backends_default_interval()
    {
        var stock = Parse(Config(_watch, head: "  <fileSystem xfs=\"false\"/>")).Watcher;
        Assert.Equal(WatcherConfig.Default, stock);
        Assert.Equal(WatcherConfig.Default, Parse(Config(_watch)).Watcher);
        Assert.Equal(TimeSpan.FromSeconds(60), stock.ScanIntervalFor(WatcherKind.Portable));
        Assert.Equal(TimeSpan.FromSeconds(5), stock.ScanIntervalFor(WatcherKind.Poll));
    }

    [Theory]
    [InlineData("auto", WatcherKind.Auto)]
    [InlineData("inotify", WatcherKind.Inotify)]
    [InlineData("portable", WatcherKind.Portable)]
    [InlineData("poll", WatcherKind.Poll)]
    public void Each_backend_is_read_with_its_interval(string word, WatcherKind kind)
    {
        var config = Parse(Config(_watch, head: $"  <fileSystem xfs=\"false\" watcher=\"{word}\" scanInterval=\"12\"/>")).Watcher;
        Assert.Equal(new WatcherConfig(kind, TimeSpan.FromSeconds(12)), config);
        Assert.Equal(word, WatcherConfig.Name(kind));
    }

    [Theory]
    [InlineData("fanotify")]
    [InlineData("Inotify")]
    [InlineData("")]
    public void An_unknown_backend_is_refused_at_the_attribute(string word)
    {
        var xml = Config(_watch, head: $"  <fileSystem watcher=\"{word}\"/>");
        Assert.SkipWhen(WatcherBackend.Forced is not null, "SERSYNCD_WATCHER forces a backend in this run");
        AssertFails(xml, "watcher=", $"watcher=\"{word}\" on <fileSystem>", "expected auto, inotify, portable or poll");
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("86401")]
    [InlineData("5s")]
    public void A_bad_interval_is_refused_at_the_attribute(string value)
    {
        var xml = Config(_watch, head: $"  <fileSystem watcher=\"poll\" scanInterval=\"{value}\"/>");
        AssertFails(xml, "scanInterval=", $"scanInterval=\"{value}\" on <fileSystem>");
    }
}
