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

    [Fact]
    public void The_status_socket_is_named_after_the_instance_and_a_plugin_alone_gets_its_own()
    {
        var sync = DaemonPaths.For(CommandLine.Parse(["-o", "/etc/sersync.d/www.xml"]), Config);
        var alone = DaemonPaths.For(CommandLine.Parse(["-m", "socket", "-o", "/etc/sersync.d/www.xml"]), Config);
        var asked = DaemonPaths.For(CommandLine.Parse(["status", "-o", "/etc/sersync.d/www.xml"]), Config);
        Assert.Equal("/run/sersyncd/www.sock", sync.StatusSocket);
        Assert.Equal("/run/sersyncd/www-socket.sock", alone.StatusSocket);
        Assert.Equal(sync.StatusSocket, asked.StatusSocket); // the status command asks the sync instance

        var configured = Config with { Status = StatusConfig.Default with { Socket = "/srv/run/www.sock" } };
        Assert.Equal("/srv/run/www.sock", DaemonPaths.For(CommandLine.Parse(["-o", "/etc/sersync.d/www.xml"]), configured).StatusSocket);
        Assert.Equal("/srv/run/www-socket.sock", DaemonPaths.For(CommandLine.Parse(["-m", "socket", "-o", "/etc/sersync.d/www.xml"]), configured).StatusSocket);
    }
}
