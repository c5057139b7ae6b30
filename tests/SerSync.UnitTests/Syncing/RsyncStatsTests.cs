using SerSync.Rsync;

namespace SerSync.UnitTests.Syncing;

public sealed class RsyncStatsTests
{
    [Fact]
    public void The_byte_counts_of_a_stats_block_are_read_and_other_lines_ignored()
    {
        var stats = new RsyncStats();
        foreach (var line in new[]
        {
            "", "Number of files: 1 (reg: 1)", "Total file size: 9,999 bytes", "Total transferred file size: 123,456 bytes",
            "Literal data: 123,456 bytes", "File list generation time: 0.001 seconds", "Total bytes sent: 1,234,570",
            "Total bytes received: 35", "sent 123,570 bytes  received 35 bytes  247,210.00 bytes/sec",
        })
        {
            stats.Read(line);
        }

        Assert.Equal(123_456, stats.TransferredBytes);
        Assert.Equal(1_234_570, stats.SentBytes);
    }

    [Fact]
    public void Nothing_said_is_null_and_rounded_figures_are_not_used()
    {
        var stats = new RsyncStats();
        stats.Read("rsync: [sender] link_stat \"/x\" failed: No such file or directory (2)");
        Assert.Null(stats.TransferredBytes);
        stats.Read("Total transferred file size: 123.46K bytes"); // -h among the commonParams
        Assert.Null(stats.TransferredBytes);
        stats.Read("Total bytes sent: 0");
        Assert.Equal(0, stats.SentBytes);
    }
}
