using SerSync.Daemon;

namespace SerSync.UnitTests.Daemon;

public class CommandLineTests
{
    [Fact]
    public void Defaults_are_sersyncs()
    {
        var cl = CommandLine.Parse([]);
        Assert.Equal(10, cl.Workers);
        Assert.Equal("confxml.xml", cl.ConfigFile);
        Assert.False(cl.FullPushFirst || cl.Daemon || cl.CheckOnly || cl.Once);
    }

    [Theory]
    [InlineData("-dro", "/etc/a.xml")] // the tutorials' bundle
    [InlineData("-r", "-d", "-o", "/etc/a.xml")]
    [InlineData("-rdo/etc/a.xml")]
    public void Getopt_bundles_work_as_in_sersync(params string[] args)
    {
        var cl = CommandLine.Parse(args);
        Assert.True(cl.FullPushFirst);
        Assert.True(cl.Daemon);
        Assert.Equal("/etc/a.xml", cl.ConfigFile);
    }

    [Fact]
    public void Long_options_and_workers()
    {
        var cl = CommandLine.Parse(["-n", "4", "--once", "-t", "--log-file=/tmp/l", "--pid-file", "/tmp/p", "--state-dir", "/tmp/s", "-m", "socket"]);
        Assert.Equal(4, cl.Workers);
        Assert.True(cl.Once && cl.CheckOnly);
        Assert.Equal("/tmp/l", cl.LogFile);
        Assert.Equal("/tmp/p", cl.PidFile);
        Assert.Equal("/tmp/s", cl.StateDirectory);
        Assert.Equal("socket", cl.Plugin);
    }

    [Theory]
    [InlineData("unknown option -x", "-x")]
    [InlineData("option -o needs a value", "-o")]
    [InlineData("-n expects a number", "-n", "0")]
    [InlineData("-n expects a number", "-n", "ten")]
    [InlineData("unknown option --bogus", "--bogus")]
    [InlineData("unexpected argument 'stray'", "-r", "stray")]
    [InlineData("unknown command 'stray'", "stray")]
    [InlineData("option --json belongs to status", "verify", "--json")]
    [InlineData("option --checksum belongs to verify", "status", "--checksum")]
    [InlineData("option --target belongs to verify", "--target", "x")]
    [InlineData("not -r, -d", "status", "-d")]
    [InlineData("takes no value", "status", "--json=1")]
    [InlineData("takes no value", "--once=yes")]
    [InlineData("cannot be combined with -d", "-d", "--once")]
    public void Bad_usage_names_the_problem(string expected, params string[] args)
    {
        var ex = Assert.Throws<UsageException>(() => CommandLine.Parse(args));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Verbs_take_their_own_options()
    {
        var status = CommandLine.Parse(["status", "-o", "/etc/a.xml", "--json"]);
        Assert.Equal(CommandVerb.Status, status.Verb);
        Assert.True(status.Json);
        Assert.Equal("/etc/a.xml", status.ConfigFile);

        var verify = CommandLine.Parse(["verify", "--checksum", "--target=127.0.0.1::www", "-o/etc/b.xml"]);
        Assert.Equal(CommandVerb.Verify, verify.Verb);
        Assert.True(verify.Checksum);
        Assert.Equal("127.0.0.1::www", verify.TargetName);
        Assert.Equal("/etc/b.xml", verify.ConfigFile);

        Assert.Equal(CommandVerb.Run, CommandLine.Parse(["-r"]).Verb);
    }
}
