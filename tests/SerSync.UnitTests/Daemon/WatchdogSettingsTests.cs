using SerSync.Daemon.Operations;

namespace SerSync.UnitTests.Daemon;

/// <summary>sd_watchdog_enabled(3)'s rules for the environment systemd gives the daemon.</summary>
public sealed class WatchdogSettingsTests
{
    [Fact]
    public void WATCHDOG_USEC_sets_the_timeout_and_pings_go_at_half_of_it()
    {
        var settings = WatchdogSettings.Parse("60000000", null, 1234);
        Assert.NotNull(settings);
        Assert.Equal(TimeSpan.FromSeconds(60), settings.Timeout);
        Assert.Equal(TimeSpan.FromSeconds(30), settings.PingInterval);
        Assert.Equal(TimeSpan.FromSeconds(15), settings.BeatPeriod);
        Assert.Equal(TimeSpan.FromSeconds(30), settings.StallAfter);
    }

    [Theory]
    [InlineData(null, null)]
    [InlineData("", null)]
    [InlineData("0", null)]
    [InlineData("-5", null)]
    [InlineData("abc", null)]
    [InlineData("2000000", "999")] // meant for another process (a parent that kept it in the environment)
    [InlineData("2000000", "x")]
    public void Without_a_usable_value_for_this_process_there_is_no_watchdog(string? usec, string? pid) =>
        Assert.Null(WatchdogSettings.Parse(usec, pid, 1234));

    [Fact]
    public void WATCHDOG_PID_naming_this_process_keeps_it() =>
        Assert.Equal(TimeSpan.FromSeconds(2), WatchdogSettings.Parse("2000000", "1234", 1234)?.Timeout);
}
