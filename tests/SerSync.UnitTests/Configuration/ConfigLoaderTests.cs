using System.Diagnostics;
using System.Runtime.Versioning;
using SerSync.Configuration;
using SerSync.Testing;
using static SerSync.Testing.ConfigTestSupport;

namespace SerSync.UnitTests.Configuration;

/// <summary>One test (or theory) per class of bad input, each pinning where the error points and what it says.</summary>
[UnsupportedOSPlatform("windows")]
public sealed class ConfigLoaderTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly string _watch;

    public ConfigLoaderTests()
    {
        _watch = _temp.Sub("www");
    }

    public void Dispose() => _temp.Dispose();

    private static SerSyncConfig Parse(string xml) => ConfigLoader.Parse(xml, FileName);

    private string Cfg(string rsync = "", string sersyncTail = "", string head = "", string? local = null) =>
        Config(_watch, local, rsync, sersyncTail, head);

    // ---- defaults and structure ----

    [Fact]
    public void Absent_elements_take_sersync_defaults()
    {
        var xml = $"<head><sersync><localpath watch=\"{_watch}\"><remote ip=\"h\" name=\"m\"/></localpath></sersync></head>";
        var c = Parse(xml);
        Assert.Equal(InotifyConfig.Stock, c.Inotify);
        Assert.Equal(RsyncConfig.Stock.CommonParams, c.Rsync.CommonParams);
        Assert.Equal(RsyncConfig.Stock.Auth, c.Rsync.Auth);
        Assert.Equal(FailLogConfig.Absent, c.FailLog);
        Assert.Equal(CrontabConfig.Disabled, c.Crontab);
        Assert.Equal(FilterConfig.Disabled, c.Filter);
        Assert.Equal(new HostConfig("localhost", 8008), c.Host);
        Assert.Empty(c.Plugins.All);
        Assert.Empty(c.EnabledPlugins);
        Assert.Equal(Path.GetFullPath(FileName), c.SourceFile);
    }

    [Fact]
    public void Source_file_is_resolved_against_the_base_directory()
    {
        var c = ConfigLoader.Parse(Cfg(), "conf/x.xml", "/etc/sersync");
        Assert.Equal("/etc/sersync/conf/x.xml", c.SourceFile);
    }

    [Fact]
    public void Comments_anywhere_are_fine()
    {
        var xml = Cfg(rsync: "<!-- a --><commonParams params=\"-a\"/><!-- b -->", head: "<!-- c -->").Replace(
            "<remote ", "<!-- d --><remote ", StringComparison.Ordinal);
        Assert.Equal(["-a"], Parse(xml).Rsync.CommonParams);
    }

    [Fact]
    public void Root_must_be_head()
    {
        var xml = "<?xml version=\"1.0\"?>\n<config/>\n";
        AssertFails(xml, "<config", "root element is <config>", "expected <head>");
    }

    [Fact]
    public void Malformed_xml_reports_the_parser_position()
    {
        var xml = Cfg(rsync: "      <commonParams params=\"-a\">");
        var ex = Assert.Throws<ConfigException>(() => Parse(xml));
        Assert.Contains("not well-formed XML", ex.Detail, StringComparison.Ordinal);
        Assert.True(ex.Line > 0 && ex.Column > 0, ex.Message);
        Assert.DoesNotContain("Line ", ex.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_element_names_it_and_lists_the_allowed_ones()
    {
        var xml = Cfg(rsync: "      <compress level=\"9\"/>");
        AssertFails(xml, "<compress", "unknown element <compress> inside <rsync>",
            "allowed here: <commonParams>, <auth>, <userDefinedPort>, <timeout>, <ssh>");
    }

    [Fact]
    public void Unknown_element_with_wrong_case_gets_a_hint()
    {
        var xml = Cfg(rsync: "      <CommonParams params=\"-a\"/>");
        AssertFails(xml, "<CommonParams", "did you mean <commonParams>?");
    }

    [Fact]
    public void Unknown_attribute_names_it_and_lists_the_allowed_ones()
    {
        var xml = Cfg(local: $"    <localpath watch=\"{_watch}\"><remote ip=\"h\" name=\"m\" user=\"u\"/></localpath>");
        AssertFails(xml, "user=", "unknown attribute 'user' on <remote>", "allowed here: ip, name, path");
    }

    [Fact]
    public void Duplicated_singleton_is_an_error()
    {
        var xml = Cfg(sersyncTail: "    <rsync/>");
        AssertFails(xml, "<rsync", 2, "duplicate <rsync> inside <sersync>", "only one is allowed");
    }

    [Fact]
    public void Stray_text_such_as_blog_annotations_is_an_error()
    {
        var xml = Cfg(head: "  <debug start=\"false\"/>  # debug mode");
        AssertFails(xml, "# debug", "unexpected text \"# debug mode\" inside <head>", "comments");
    }

    [Fact]
    public void Missing_sersync_section_is_an_error()
    {
        AssertFails("<head version=\"2.5\">\n  <debug start=\"true\"/>\n</head>", "<head", "no <sersync>");
    }

    // ---- booleans and numbers ----

    [Theory]
    [InlineData("<debug start=\"yes\"/>", "start=\"yes\"")]
    [InlineData("<fileSystem xfs=\"1\"/>", "xfs=\"1\"")]
    [InlineData("<filter start=\"True\"/>", "start=\"True\"")]
    [InlineData("<inotify><modify start=\"on\"/></inotify>", "start=\"on\"")]
    [InlineData("<plugin name=\"command\"><param ignoreError=\"TRUE\"/></plugin>", "ignoreError=")]
    [InlineData("<plugin name=\"refreshCDN\"><localpath watch=\"/x\"><regexurl regex=\"no\"/></localpath></plugin>", "regex=")]
    public void Booleans_must_be_exactly_true_or_false(string head, string at) =>
        AssertFails(Cfg(head: head), at, "expected true or false");

    [Fact]
    public void Boolean_in_sersync_section_must_be_exactly_true_or_false() =>
        AssertFails(Cfg(rsync: "<ssh start=\" true\"/>"), "start=", "expected true or false");

    [Theory]
    [InlineData("<userDefinedPort start=\"false\" port=\"0\"/>", "port=", "from 1 to 65535")]
    [InlineData("<userDefinedPort start=\"true\" port=\"65536\"/>", "port=", "out of range")]
    [InlineData("<userDefinedPort start=\"true\" port=\"874x\"/>", "port=", "expected an integer")]
    [InlineData("<timeout start=\"true\" time=\"0\"/>", "time=", "from 1 to 86400")]
    [InlineData("<timeout start=\"true\" time=\"86401\"/>", "time=", "from 1 to 86400")]
    public void Rsync_numbers_are_range_checked(string rsync, string at, string phrase) =>
        AssertFails(Cfg(rsync: rsync), at, phrase);

    [Theory]
    [InlineData("<host hostip=\"localhost\" port=\"99999\"/>", "port=", "from 1 to 65535")]
    [InlineData("<plugin name=\"socket\"><localpath watch=\"/x\"><deshost ip=\"1.2.3.4\" port=\"0\"/></localpath></plugin>", "port=", "from 1 to 65535")]
    public void Other_ports_are_range_checked(string head, string at, string phrase) =>
        AssertFails(Cfg(head: head), at, phrase);

    [Fact]
    public void FailLog_interval_must_be_positive() =>
        AssertFails(Cfg(sersyncTail: "<failLog path=\"/tmp/f.sh\" timeToExecute=\"0\"/>"), "timeToExecute=", "at least 1");

    [Fact]
    public void Crontab_schedule_must_be_an_integer() =>
        AssertFails(Cfg(sersyncTail: "<crontab start=\"false\" schedule=\"10m\"/>"), "schedule=", "expected an integer");

    [Fact]
    public void Enabled_crontab_schedule_must_be_positive() =>
        AssertFails(Cfg(sersyncTail: "<crontab start=\"true\" schedule=\"0\"/>"), "schedule=", "at least 1");

    [Fact]
    public void Disabled_crontab_with_zero_schedule_means_600()
    {
        var c = Parse(Cfg(sersyncTail: "<crontab start=\"false\" schedule=\"0\"/>"));
        Assert.Equal(600, c.Crontab.ScheduleMinutes);
        Assert.Equal(45, Parse(Cfg(sersyncTail: "<crontab start=\"true\" schedule=\"45\"/>")).Crontab.ScheduleMinutes);
    }

    // ---- watches ----

    private static string Local(string watch, string remotes = "<remote ip=\"h\" name=\"m\"/>") =>
        $"    <localpath watch=\"{watch}\">{remotes}</localpath>";

    [Fact]
    public void Watch_must_be_absolute() =>
        AssertFails(Cfg(local: Local("www")), "watch=", "not an absolute path");

    [Fact]
    public void Watch_must_exist() =>
        AssertFails(Cfg(local: Local(_watch + "/nope")), "watch=", "does not exist");

    [Fact]
    public void Watch_must_be_a_directory()
    {
        var file = Path.Combine(_temp.Path, "f");
        File.WriteAllText(file, "x");
        AssertFails(Cfg(local: Local(file)), "watch=", "is not a directory", "regular file");
    }

    [Fact]
    public void Watch_through_a_symlink_to_a_directory_is_accepted()
    {
        var link = Path.Combine(_temp.Path, "link");
        File.CreateSymbolicLink(link, _watch);
        Assert.Equal(link, Parse(Cfg(local: Local(link))).Watches[0].Path);
    }

    [Fact]
    public void Watch_trailing_slashes_are_trimmed() =>
        Assert.Equal(_watch, Parse(Cfg(local: Local(_watch + "//"))).Watches[0].Path);

    [Fact]
    public void Several_watches_are_all_kept()
    {
        var other = _temp.Sub("other");
        var c = Parse(Cfg(local: Local(_watch) + "\n" + Local(other, "<remote path=\"/backup/other\"/>")));
        Assert.Equal([_watch, other], c.Watches.Select(w => w.Path));
        Assert.Equal(RemoteKind.LocalDirectory, c.Watches[1].Remotes[0].Kind);
    }

    [Fact]
    public void Equal_watches_are_an_error() =>
        AssertFails(Cfg(local: Local(_watch) + "\n" + Local(_watch + "/")), "watch=", 2, "is the same directory as");

    [Fact]
    public void Nested_watches_are_an_error()
    {
        var inner = _temp.Sub("www/sub");
        AssertFails(Cfg(local: Local(inner) + "\n" + Local(_watch)), "watch=", 2, "is nested with", inner);
    }

    [Fact]
    public void Watch_without_remote_is_an_error() =>
        AssertFails(Cfg(local: Local(_watch, "<!-- none -->")), "<localpath", "has no <remote>");

    [Fact]
    public void Localpath_without_watch_is_an_error() =>
        AssertFails(Cfg(local: "    <localpath><remote ip=\"h\" name=\"m\"/></localpath>"), "<localpath", "has no watch attribute");

    [Fact]
    public void Sersync_without_localpath_is_an_error() =>
        AssertFails(Cfg(local: ""), "<sersync", "has no <localpath>");

    // ---- remotes ----

    [Fact]
    public void Remote_kinds_follow_ssh()
    {
        var daemon = Parse(Cfg()).Watches[0].Remotes[0];
        Assert.Equal(RemoteKind.RsyncDaemon, daemon.Kind);
        var ssh = Parse(Cfg(rsync: "<ssh start=\"true\" command=\"ssh -p 2222 -i /root/.ssh/id_ed25519\"/>"));
        Assert.Equal(RemoteKind.Ssh, ssh.Watches[0].Remotes[0].Kind);
        Assert.Equal("10.0.0.1:www", ssh.Watches[0].Remotes[0].Label);
        Assert.True(ssh.Rsync.Ssh);
        Assert.Equal("ssh -p 2222 -i /root/.ssh/id_ed25519", ssh.Rsync.SshCommand);
    }

    [Fact]
    public void Local_directory_remote_is_normalised() =>
        Assert.Equal("/backup/www", Parse(Cfg(local: Local(_watch, "<remote path=\"/backup//www/\"/>"))).Watches[0].Remotes[0].Path);

    [Fact]
    public void Local_directory_remote_must_be_absolute() =>
        AssertFails(Cfg(local: Local(_watch, "<remote path=\"backup\"/>")), "path=", "not an absolute path");

    [Fact]
    public void Local_directory_remote_must_not_have_dot_components() =>
        AssertFails(Cfg(local: Local(_watch, "<remote path=\"/backup/../www\"/>")), "path=", "'..'");

    [Theory]
    [InlineData("")]
    [InlineData("/sub")]
    [InlineData("/sub/deeper")]
    public void Local_directory_remote_inside_a_watch_is_an_error(string suffix) =>
        AssertFails(Cfg(local: Local(_watch, $"<remote path=\"{_watch}{suffix}\"/>")), "path=", "inside (or equal to) the watched directory");

    [Fact]
    public void Local_directory_remote_containing_a_watch_is_an_error() =>
        AssertFails(Cfg(local: Local(_watch, $"<remote path=\"{_temp.Path}\"/>")), "path=", "contains the watched directory");

    [Fact]
    public void Local_directory_remote_inside_another_watch_is_an_error()
    {
        var other = _temp.Sub("other");
        var xml = Cfg(local: Local(_watch, $"<remote path=\"{other}/copy\"/>") + "\n" + Local(other));
        AssertFails(xml, "path=", "inside (or equal to) the watched directory " + other);
    }

    [Theory]
    [InlineData("<remote path=\"/b\" ip=\"h\"/>")]
    [InlineData("<remote path=\"/b\" name=\"m\"/>")]
    public void Remote_mixing_path_with_ip_or_name_is_an_error(string remote) =>
        AssertFails(Cfg(local: Local(_watch, remote)), "<remote", "mixes path with ip/name");

    [Theory]
    [InlineData("<remote ip=\"h\"/>", "no name attribute")]
    [InlineData("<remote name=\"m\"/>", "no ip attribute")]
    [InlineData("<remote/>", "no ip attribute")]
    public void Remote_needs_ip_and_name(string remote, string phrase) =>
        AssertFails(Cfg(local: Local(_watch, remote)), "<remote", phrase);

    [Theory]
    [InlineData("")]
    [InlineData(" 10.0.0.1")]
    [InlineData("-oProxyCommand=x")]
    [InlineData("10.0.0.1/24")]
    [InlineData("10.0.0.1:22")]
    [InlineData("a b")]
    [InlineData("a&#9;b")]
    [InlineData("[]")]
    [InlineData("[fe80::1")]
    [InlineData("[fe80::1%]")]
    [InlineData("[host]")]
    public void Implausible_hosts_are_rejected(string ip) =>
        AssertFails(Cfg(local: Local(_watch, $"<remote ip=\"{ip}\" name=\"m\"/>")), "ip=", "is not a host name or address");

    [Theory]
    [InlineData("backup.example.com")]
    [InlineData("192.168.1.5")]
    [InlineData("[2001:db8::5]")]
    [InlineData("[fe80::1%eth0]")]
    public void Plausible_hosts_are_accepted(string ip) =>
        Assert.Equal(ip, Parse(Cfg(local: Local(_watch, $"<remote ip=\"{ip}\" name=\"m\"/>"))).Watches[0].Remotes[0].Ip);

    [Theory]
    [InlineData("")]
    [InlineData("-m")]
    [InlineData("a&#10;b")]
    public void Bad_remote_names_are_rejected(string name) =>
        AssertFails(Cfg(local: Local(_watch, $"<remote ip=\"h\" name=\"{name}\"/>")), "name=", "remote name");

    [Fact]
    public void Duplicate_remote_is_an_error() =>
        AssertFails(Cfg(local: Local(_watch, "<remote ip=\"h\" name=\"m\"/><remote ip=\"h\" name=\"m\"/>")), "<remote", 2, "listed twice");

    // ---- commonParams ----

    [Fact]
    public void CommonParams_are_split_into_argv()
    {
        var c = Parse(Cfg(rsync: "<commonParams params=\"-artuz --exclude='a b' --bwlimit=100\"/>"));
        Assert.Equal(["-artuz", "--exclude=a b", "--bwlimit=100"], c.Rsync.CommonParams);
    }

    [Theory]
    [InlineData("-az; rm -rf /", "not through a shell")]
    [InlineData("-az &amp;&amp; true", "not through a shell")]
    [InlineData("-az 'x", "unterminated single quote")]
    [InlineData("-az /tmp/www", "must start with '-'")]
    [InlineData("-az --exclude *.tmp", "must start with '-'")]
    [InlineData("-az -e ssh", "<ssh start")]
    [InlineData("-az --password-file=/etc/rsync.pas", "<auth start")]
    [InlineData("-az --port=874", "<userDefinedPort start")]
    [InlineData("-az --files-from=/tmp/list", "--files-from")]
    public void Bad_commonParams_are_rejected(string value, string phrase) =>
        AssertFails(Cfg(rsync: $"<commonParams params=\"{value}\"/>"), "params=", "commonParams: ", phrase);

    // ---- ssh, auth, port ----

    [Fact]
    public void Ssh_with_auth_is_an_error() =>
        AssertFails(
            Cfg(rsync: "<auth start=\"true\" users=\"u\" passwordfile=\"/nonexistent\"/>\n<ssh start=\"true\"/>"),
            "<auth", "cannot be combined with <ssh start=\"true\">", "may only be used when accessing an rsync daemon");

    [Fact]
    public void Ssh_with_user_defined_port_is_an_error() =>
        AssertFails(Cfg(rsync: "<userDefinedPort start=\"true\" port=\"2222\"/><ssh start=\"true\"/>"), "<userDefinedPort", "ssh -p 2222");

    [Fact]
    public void Ssh_off_with_auth_and_port_is_fine()
    {
        var pas = PasswordFile("600");
        var c = Parse(Cfg(rsync: $"<auth start=\"true\" users=\"rsync_backup\" passwordfile=\"{pas}\"/><userDefinedPort start=\"true\" port=\"873\"/><ssh start=\"false\"/>"));
        Assert.Equal(new AuthConfig(true, "rsync_backup", pas), c.Rsync.Auth);
        Assert.Equal(new SwitchedNumber(true, 873), c.Rsync.Port);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public void Empty_ssh_command_is_an_error(string command) =>
        AssertFails(Cfg(rsync: $"<ssh start=\"true\" command=\"{command}\"/>"), "command=", "ssh command");

    private string PasswordFile(string mode)
    {
        var path = Path.Combine(_temp.Path, "rsync.pas");
        File.WriteAllText(path, "secret\n");
        File.SetUnixFileMode(path, (UnixFileMode)Convert.ToInt32(mode, 8));
        return path;
    }

    private string Auth(string users, string file) =>
        Cfg(rsync: $"<auth start=\"true\" users=\"{users}\" passwordfile=\"{file}\"/>");

    [Theory]
    [InlineData("")]
    [InlineData("a@b")]
    [InlineData("a:b")]
    [InlineData("a b")]
    [InlineData("-u")]
    public void Auth_users_must_be_a_plain_name(string users) =>
        AssertFails(Auth(users, PasswordFile("600")), "users=", "not a valid rsync user name");

    [Fact]
    public void Auth_password_file_must_exist()
    {
        var missing = Path.Combine(_temp.Path, "missing.pas");
        AssertFails(Auth("u", missing), "passwordfile=", missing + " does not exist");
    }

    [Fact]
    public void Auth_password_file_must_be_a_regular_file() =>
        AssertFails(Auth("u", _watch), "passwordfile=", _watch + " is not a regular file");

    [Theory]
    [InlineData("604")]
    [InlineData("602")]
    [InlineData("601")]
    [InlineData("666")]
    public void Auth_password_file_must_not_be_other_accessible(string mode)
    {
        var pas = PasswordFile(mode);
        AssertFails(Auth("u", pas), "passwordfile=", "must not be other-accessible", $"chmod 600 {pas}");
    }

    [Theory]
    [InlineData("600")]
    [InlineData("640")]
    [InlineData("400")]
    public void Auth_password_file_private_modes_pass(string mode) =>
        Assert.True(Parse(Auth("u", PasswordFile(mode))).Rsync.Auth.Enabled);

    [Fact]
    public void Auth_password_file_must_be_owned_by_root_when_running_as_root()
    {
        Assert.SkipUnless(Environment.IsPrivilegedProcess, "needs root to chown");
        var pas = PasswordFile("600");
        using (var p = Process.Start("chown", ["65534", pas]))
        {
            p.WaitForExit();
            Assert.Equal(0, p.ExitCode);
        }

        AssertFails(Auth("u", pas), "passwordfile=", "owned by uid 65534", "must be owned by root");
    }

    [Fact]
    public void Auth_password_file_symlink_is_judged_by_its_target()
    {
        var pas = PasswordFile("644");
        var link = Path.Combine(_temp.Path, "link.pas");
        File.CreateSymbolicLink(link, "rsync.pas"); // relative to the link's directory
        AssertFails(Auth("u", link), "passwordfile=", "other-accessible", link);
        File.SetUnixFileMode(pas, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Assert.Equal(link, Parse(Auth("u", link)).Rsync.Auth.PasswordFile);
    }

    [Fact]
    public void Auth_off_does_not_look_at_the_password_file() =>
        Assert.False(Parse(Cfg(rsync: "<auth start=\"false\" users=\"\" passwordfile=\"/nonexistent\"/>")).Rsync.Auth.Enabled);

    // ---- filters ----

    private SerSyncConfig WithExcludes(params string[] expressions) =>
        Parse(Cfg(head: "<filter start=\"true\">" + string.Concat(expressions.Select(e => $"<exclude expression=\"{e}\"/>")) + "</filter>"));

    [Fact]
    public void Invalid_exclude_regex_points_at_its_line() =>
        AssertFails(Cfg(head: "<filter start=\"true\">\n<exclude expression=\"(.*\"/>\n</filter>"), "expression=", "invalid regular expression \"(.*\"");

    [Fact]
    public void Exclude_regex_cannot_escape_its_anchors() =>
        AssertFails(Cfg(head: "<filter start=\"true\"><exclude expression=\"a)|(b\"/></filter>"), "expression=", "invalid regular expression");

    [Fact]
    public void Empty_exclude_regex_is_an_error() =>
        AssertFails(Cfg(head: "<filter start=\"true\"><exclude expression=\"\"/></filter>"), "expression=", "empty expression");

    [Fact]
    public void Exclude_keeps_its_line()
    {
        var xml = Cfg(head: "<filter start=\"true\">\n<exclude expression=\"x\"/>\n</filter>");
        Assert.Equal(Pos(xml, "expression=").Line, Parse(xml).Filter.Excludes[0].Line);
    }

    [Theory]
    [InlineData("^info/*", "info", true)]
    [InlineData("^info/*", "info/", true)]
    [InlineData("^info/*", "information", false)]
    [InlineData("^info/*", "a/info", false)]
    [InlineData("(.*)\\.gz", "a/b/c.gz", true)]
    [InlineData("(.*)\\.gz", "c.gz", true)]
    [InlineData("(.*)\\.gz", "c.gzip", false)]
    [InlineData("(.*)\\.svn", ".svn", true)]
    [InlineData("(.*)\\.svn", "a/.svn", true)]
    [InlineData("(.*)\\.svn", "a/.svn/entries", false)]
    [InlineData("(.*)\\.gz", "odd\nname.gz", true)]
    [InlineData("(a)\\1", "aa", true)]
    public void Exclude_regex_matches_the_whole_relative_path(string expression, string path, bool matches) =>
        Assert.Equal(matches, WithExcludes(expression).Filter.Excludes[0].Regex.IsMatch(path));

    [Fact]
    public void Command_plugin_include_regex_is_checked() =>
        AssertFails(Cfg(head: "<plugin name=\"command\"><filter start=\"true\"><include expression=\"[a\"/></filter></plugin>"), "expression=", "invalid regular expression");

    [Theory]
    [InlineData("")]
    [InlineData("a&#10;b")]
    public void Crontab_excludes_must_be_one_pattern(string expression) =>
        AssertFails(
            Cfg(sersyncTail: $"<crontab start=\"true\" schedule=\"60\"><crontabfilter start=\"true\"><exclude expression=\"{expression}\"/></crontabfilter></crontab>"),
            "expression=", "crontab exclude");

    [Fact]
    public void Crontab_with_filter_is_read()
    {
        var c = Parse(Cfg(sersyncTail: "<crontab start=\"true\" schedule=\"60\"><crontabfilter start=\"true\"><exclude expression=\"*.php\"/></crontabfilter></crontab>"));
        Assert.Equal(new CrontabConfig(true, 60, true, c.Crontab.Excludes), c.Crontab);
        Assert.Equal(["*.php"], c.Crontab.Excludes);
    }

    // ---- failLog ----

    [Fact]
    public void FailLog_path_must_be_absolute() =>
        AssertFails(Cfg(sersyncTail: "<failLog path=\"fail.sh\" timeToExecute=\"60\"/>"), "path=", "not an absolute path");

    [Fact]
    public void FailLog_directory_must_exist() =>
        AssertFails(Cfg(sersyncTail: $"<failLog path=\"{_temp.Path}/no/fail.sh\"/>"), "path=", "does not exist");

    [Fact]
    public void FailLog_path_must_not_be_a_directory() =>
        AssertFails(Cfg(sersyncTail: $"<failLog path=\"{_temp.Path}\"/>"), "path=", "is a directory");

    [Fact]
    public void FailLog_file_need_not_exist_yet()
    {
        var c = Parse(Cfg(sersyncTail: $"<failLog path=\"{_temp.Path}/fail.sh\" timeToExecute=\"5\"/>"));
        Assert.Equal(new FailLogConfig($"{_temp.Path}/fail.sh", 5), c.FailLog);
    }

    // ---- plugins ----

    [Fact]
    public void Plugin_switch_with_unknown_name_is_an_error() =>
        AssertFails(Cfg(sersyncTail: "<plugin start=\"false\" name=\"ftp\"/>"), "name=\"ftp", "unknown plugin name \"ftp\"", "command, socket, refreshCDN, http");

    [Fact]
    public void Plugin_section_with_unknown_name_is_an_error() =>
        AssertFails(Cfg(head: "<plugin name=\"ftp\"/>"), "name=", "unknown plugin name \"ftp\"");

    [Fact]
    public void Plugin_section_without_name_is_an_error() =>
        AssertFails(Cfg(head: "<plugin/>"), "<plugin", "has no name attribute");

    [Fact]
    public void Plugin_section_content_depends_on_its_name() =>
        AssertFails(Cfg(head: "<plugin name=\"command\"><localpath watch=\"/x\"/></plugin>"), "<localpath", 1,
            "unknown element <localpath> inside <plugin>", "allowed here: <param>, <filter>");

    [Fact]
    public void Duplicate_plugin_section_is_an_error() =>
        AssertFails(Cfg(head: "<plugin name=\"socket\"/>\n<plugin name=\"socket\"/>"), "<plugin", 2, "duplicate <plugin name=\"socket\">");

    // ---- state ----

    [Fact]
    public void State_directory_is_read() =>
        Assert.Equal("/var/lib/sersyncd/x", Parse(Cfg(sersyncTail: "<state dir=\"/var/lib/sersyncd/x/\"/>")).StateDirectory);

    [Fact]
    public void State_directory_must_be_absolute() =>
        AssertFails(Cfg(sersyncTail: "<state dir=\"state\"/>"), "dir=", "not an absolute path");

    [Fact]
    public void State_directory_inside_a_watch_is_an_error() =>
        AssertFails(Cfg(sersyncTail: $"<state dir=\"{_watch}/.state\"/>"), "dir=", "inside the watched directory");

    // ---- the file itself ----

    [Fact]
    public void Missing_file_has_no_line()
    {
        var path = Path.Combine(_temp.Path, "nope.xml");
        var ex = Assert.Throws<ConfigException>(() => ConfigLoader.Load(path));
        Assert.Equal(0, ex.Line);
        Assert.Equal($"{path}: no such file; expected an existing confxml.xml (see -o)", ex.Message);
    }

    [Fact]
    public void Directory_instead_of_file_is_an_error()
    {
        var ex = Assert.Throws<ConfigException>(() => ConfigLoader.Load(_temp.Path));
        Assert.Equal(0, ex.Line);
        Assert.StartsWith(_temp.Path + ": is a directory", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData(" \n\t\n")]
    public void Empty_file_is_an_error(string content)
    {
        var path = Path.Combine(_temp.Path, "empty.xml");
        File.WriteAllText(path, content);
        var ex = Assert.Throws<ConfigException>(() => ConfigLoader.Load(path));
        Assert.Equal(0, ex.Line);
        Assert.Equal($"{path}: is empty; expected a confxml.xml with a <head> root element", ex.Message);
    }

    [Fact]
    public void Unknown_encoding_is_a_config_error()
    {
        var path = Path.Combine(_temp.Path, "enc.xml");
        File.WriteAllText(path, Cfg().Replace("<?xml version=\"1.0\"?>", "<?xml version=\"1.0\" encoding=\"x-no-such\"?>", StringComparison.Ordinal));
        var ex = Assert.Throws<ConfigException>(() => ConfigLoader.Load(path));
        Assert.Contains("x-no-such", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Empty_text_is_an_error() =>
        Assert.Equal(0, Assert.Throws<ConfigException>(() => Parse("")).Line);

    [Fact]
    public void Doctype_is_refused_as_xml_error()
    {
        var ex = Assert.Throws<ConfigException>(() => Parse("<!DOCTYPE head [<!ENTITY x \"y\">]><head/>"));
        Assert.Contains("not well-formed XML", ex.Detail, StringComparison.Ordinal);
    }

    // ---- stray text: where the error points ----

    [Fact]
    public void Stray_text_after_newline_references_is_reported_on_its_own_line()
    {
        // Each &#10; is a line break in the value, but not in the file: the text is on line 1.
        var xml = "<head>&#10;&#10;&#10;x</head>";
        var ex = AssertFails(xml, "x</head>", "unexpected text \"x\" inside <head>");
        Assert.Equal("test.xml:1:22: ", ex.Message[..15]);
    }

    [Fact]
    public void Stray_text_mixing_references_and_whitespace_points_at_its_first_visible_character()
    {
        // The fuzzer's seed 72: text appended to a line, its line breaks all written as references.
        var xml = Cfg(head: "  <debug start=\"false\"/>  \t&#13;&#10;  y&#10;z");
        AssertFails(xml, "y&#10;z", "unexpected text \"y\\nz\" inside <head>");
    }

    [Fact]
    public void Stray_text_after_literal_line_breaks_points_at_its_line()
    {
        var xml = Cfg(head: "  <debug start=\"false\"/>\r\n\r\n\t  # debug mode\n  <fileSystem xfs=\"false\"/>");
        AssertFails(xml, "# debug", "unexpected text \"# debug mode\" inside <head>");
    }

    [Fact]
    public void Stray_text_in_a_non_utf8_file_points_at_its_first_visible_character()
    {
        // The column is counted in characters, so the file must be decoded as the XML reader decodes it.
        var path = Path.Combine(_temp.Path, "gbk.xml");
        var xml = Cfg(head: "  <!-- 中文注释 --><debug start=\"false\"/> &#10;&#10; # 是否开启debug")
            .Replace("<?xml version=\"1.0\"?>", "<?xml version=\"1.0\" encoding=\"GB2312\"?>", StringComparison.Ordinal);
        File.WriteAllBytes(path, System.Text.Encoding.GetEncoding("GB2312").GetBytes(xml));
        var ex = Assert.Throws<ConfigException>(() => ConfigLoader.Load(path));
        Assert.Equal(Pos(xml, "# 是否"), (ex.Line, ex.Column));
        Assert.Contains("unexpected text \"# 是否开启debug\"", ex.Detail, StringComparison.Ordinal);

        path = Path.Combine(_temp.Path, "utf16.xml");
        xml = Cfg(head: "<debug start=\"false\"/>&#9;&#10;\n # note");
        File.WriteAllText(path, xml, System.Text.Encoding.Unicode);
        ex = Assert.Throws<ConfigException>(() => ConfigLoader.Load(path));
        Assert.Equal(Pos(xml, "# note"), (ex.Line, ex.Column));
    }

    [Fact]
    public void Stray_text_in_cdata_stays_inside_the_file()
    {
        var xml = Cfg(head: "<![CDATA[&#10;\n\n  x]]>");
        var ex = Assert.Throws<ConfigException>(() => Parse(xml));
        Assert.Contains("unexpected text \"&#10;\\n\\n  x\"", ex.Detail, StringComparison.Ordinal);
        Assert.InRange(ex.Line, Pos(xml, "<![CDATA[").Line, Pos(xml, "x]]>").Line);
    }

    // ---- messages are one line ----

    public static TheoryData<string, string, string> ValuesWithLineBreaks => new()
    {
        { "stray text", "<debug start=\"false\"/>first\nsecond", "unexpected text \"first\\nsecond\"" },
        { "stray text", "<debug start=\"false\"/>a&#13;&#10;b", "unexpected text \"a\\r\\nb\"" },
        { "boolean", "<debug start=\"tr&#10;ue\"/>", "start=\"tr\\nue\" on <debug>" },
        { "integer", "<host hostip=\"h\" port=\"8&#13;0\"/>", "port=\"8\\r0\" on <host>" },
        { "plugin name", "<plugin name=\"x&#10;&#9;y&#x7f;&#x9b;31m\"/>", "unknown plugin name \"x\\n\\ty\\x7F\\x9B31m\"" },
        { "regex", "<filter start=\"true\"><exclude expression=\"(&#10;\"/></filter>", "invalid regular expression \"(\\n\"" },
    };

    [Theory]
    [MemberData(nameof(ValuesWithLineBreaks))]
    public void Values_with_line_breaks_are_escaped_in_messages(string what, string head, string phrase)
    {
        var ex = Assert.Throws<ConfigException>(() => Parse(Cfg(head: head)));
        AssertOneLine(ex);
        Assert.True(ex.Detail.Contains(phrase, StringComparison.Ordinal), $"{what}: {ex.Message}");
    }

    [Theory]
    [InlineData("<remote ip=\"10.0.0.1\" name=\"a&#10;b\"/>", "remote name \"a\\nb\" is not valid")]
    [InlineData("<remote ip=\"a&#10;b\" name=\"m\"/>", "remote ip \"a\\nb\"")]
    [InlineData("<remote path=\"rel&#13;x\"/>", "remote path \"rel\\rx\" is not an absolute path")]
    [InlineData("<remote path=\"/a&#x85;b\"/>", "remote path \"/a\\x85b\" contains control characters")]
    [InlineData("<remote path=\"a&#x2028;b\"/>", "remote path \"a\\u2028b\" is not an absolute path")]
    public void Remote_values_are_escaped_in_messages(string remote, string phrase)
    {
        var ex = Assert.Throws<ConfigException>(() => Parse(Cfg(local: $"<localpath watch=\"{_watch}\">{remote}</localpath>")));
        AssertOneLine(ex);
        Assert.Contains(phrase, ex.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("-a 'x&#10;y", "unterminated single quote at offset 3 in \"-a 'x\\ny\"")]
    [InlineData("-a '-&#10;n'", "'-\\nn' contains -n")]
    public void CommonParams_words_are_escaped_in_messages(string value, string phrase)
    {
        var ex = Assert.Throws<ConfigException>(() => Parse(Cfg(rsync: $"<commonParams params=\"{value}\"/>")));
        AssertOneLine(ex);
        Assert.Contains(phrase, ex.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Long_values_are_shortened_in_messages()
    {
        var ex = Assert.Throws<ConfigException>(() => Parse(Cfg(head: $"<debug start=\"{new string('x', 100_000)}\"/>")));
        Assert.Contains($"start=\"{new string('x', ConfigText.MaxShown)}…\" on <debug>", ex.Detail, StringComparison.Ordinal);
        Assert.True(ex.Message.Length < 400, ex.Message);

        ex = Assert.Throws<ConfigException>(() => Parse(Cfg(head: $"<filter start=\"true\"><exclude expression=\"({new string('a', 100_000)}\"/></filter>")));
        Assert.True(ex.Message.Length < 400, ex.Message);
        Assert.Contains("at offset 100001", ex.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a\nb", "a\\nb")]
    [InlineData("\r\t\0\x1b\x7f\u0085\u2028\u2029", "\\r\\t\\x00\\x1B\\x7F\\x85\\u2028\\u2029")]
    [InlineData("中文 é \\n", "中文 é \\n")]
    public void Escape_keeps_printable_text_and_escapes_controls(string value, string expected) =>
        Assert.Equal(expected, ConfigText.Escape(value));

    [Fact]
    public void Config_exception_is_one_line_whatever_it_is_given()
    {
        var ex = new ConfigException("dir\n/x.xml", 3, 4, "bad\r\nthing");
        Assert.Equal("dir\\n/x.xml:3:4: bad\\r\\nthing", ex.Message);
        Assert.Equal("bad\\r\\nthing", ex.Detail);
    }

    private static void AssertOneLine(ConfigException ex) =>
        Assert.True(ex.Message.AsSpan().IndexOfAny("\r\n\u0085\u2028\u2029") < 0, $"message spans lines: {ex.Message}");

    // ---- nesting and size limits ----

    private static string Nested(int depth) =>
        "<head>\n  " + string.Concat(Enumerable.Repeat("<a>", depth - 1)) + string.Concat(Enumerable.Repeat("</a>", depth - 1)) + "\n</head>\n";

    [Fact]
    public void Nesting_deeper_than_the_limit_is_refused_at_the_first_element_too_deep()
    {
        var xml = Nested(ConfigLoader.MaxDepth + 1);
        AssertFails(xml, "<a", ConfigLoader.MaxDepth, $"<a> is nested {ConfigLoader.MaxDepth + 1} elements deep", $"more than {ConfigLoader.MaxDepth} are refused");
    }

    [Fact]
    public void Nesting_up_to_the_limit_is_left_to_the_shape_check() =>
        AssertFails(Nested(ConfigLoader.MaxDepth), "<a", "unknown element <a> inside <head>");

    [Fact]
    public void Very_deep_nesting_is_refused_quickly()
    {
        // XDocument's load time grows with the square of the depth: this used to take minutes.
        var xml = Nested(100_000);
        var path = Path.Combine(_temp.Path, "deep.xml");
        File.WriteAllText(path, xml);
        var watch = Stopwatch.StartNew();
        var ex = Assert.Throws<ConfigException>(() => ConfigLoader.Load(path));
        var ex2 = Assert.Throws<ConfigException>(() => Parse(xml));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"took {watch.Elapsed}");
        Assert.Equal(Pos(xml, "<a", ConfigLoader.MaxDepth), (ex.Line, ex.Column));
        Assert.Equal(ex.Detail, ex2.Detail);
        Assert.Contains("elements deep", ex.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Files_over_one_mebibyte_are_refused()
    {
        var xml = Cfg(head: $"<!-- {new string('x', ConfigLoader.MaxSize)} -->");
        var path = Path.Combine(_temp.Path, "big.xml");
        File.WriteAllText(path, xml);
        var ex = Assert.Throws<ConfigException>(() => ConfigLoader.Load(path));
        Assert.Equal(0, ex.Line);
        Assert.Contains("files over 1048576 bytes (1 MiB) are refused", ex.Detail, StringComparison.Ordinal);
        ex = Assert.Throws<ConfigException>(() => Parse(xml));
        Assert.Contains("(1 MiB) are refused", ex.Detail, StringComparison.Ordinal);

        // Just under the limit is fine.
        xml = Cfg(head: $"<!-- {new string('x', ConfigLoader.MaxSize - Cfg().Length - 100)} -->");
        File.WriteAllText(path, xml);
        Assert.Equal(_watch, Assert.Single(ConfigLoader.Load(path).Watches).Path);
    }
}
