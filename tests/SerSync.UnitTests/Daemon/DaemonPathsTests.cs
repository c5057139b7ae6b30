using SerSync.Configuration;
using SerSync.Daemon;

namespace SerSync.UnitTests.Daemon;

public class DaemonPathsTests
{
    private static readonly SerSyncConfig Config = new() { SourceFile = "/etc/sersync.d/www.xml", Watches = [] };

    [Fact]
    public void A_plugin_run_alone_has_its_own_log_pid_file_and_state_beside_the_sync_instance()
    {
        // Explicit files, as a detached start outside systemd would default to the same names.
        var sync = DaemonPaths.For(CommandLine.Parse(["-o", "/etc/sersync.d/www.xml"]), Config);
        var alone = DaemonPaths.For(CommandLine.Parse(["-m", "refreshCDN", "-o", "/etc/sersync.d/www.xml"]), Config);

        Assert.Equal("www", sync.InstanceName);
        Assert.Equal("www-refreshCDN", alone.InstanceName);
        Assert.Equal("/var/lib/sersyncd/www", sync.StateDirectory);
        Assert.Equal("/var/lib/sersyncd/www/plugin-refreshCDN", alone.StateDirectory);
    }

    [Fact]
    public void Detached_defaults_name_the_plugin_too()
    {
        var alone = DaemonPaths.For(CommandLine.Parse(["-d", "-m", "socket", "-o", "/etc/sersync.d/www.xml"]), Config);
        if (alone.LogFile is null)
        {
            Assert.Skip("running under systemd: no detached defaults");
        }

        Assert.Equal("/var/log/sersyncd/www-socket.log", alone.LogFile);
        Assert.Equal("/run/sersyncd/www-socket.pid", alone.PidFile);
    }
}
