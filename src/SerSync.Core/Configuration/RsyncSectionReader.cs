using System.Xml.Linq;

namespace SerSync.Configuration;

/// <summary>Reads <c>&lt;sersync&gt;&lt;rsync&gt;</c>: commonParams, auth, userDefinedPort, timeout and ssh, and the
/// combinations of them that rsync would refuse; and a target's own <c>&lt;remote&gt;&lt;rsync&gt;</c>, whose
/// children replace the shared ones (each child whole: attributes it leaves out take sersync's defaults, not the
/// shared element's).</summary>
internal sealed class RsyncSectionReader(ConfigErrors errors, ConfigAttributeReader values, ConfigFileSystemChecks disk)
{
    /// <summary><c>&lt;inotify&gt;&lt;delete start&gt;</c> and its element: commonParams may not delete when it is off.</summary>
    public (bool On, XElement? Element) LiveDeletes { get; set; } = (true, null);

    public RsyncConfig Read(XElement? rsync)
    {
        var d = RsyncConfig.Stock;
        if (rsync == null)
        {
            return d;
        }

        var commonParams = ReadCommonParams(rsync.Element("commonParams"), d);
        var ssh = rsync.Element("ssh");
        var settings = ReadSsh(ssh, d);
        var authEl = rsync.Element("auth");
        var authOn = values.Bool(authEl, "start", d.Auth.Enabled);
        if (authOn && settings.Ssh)
        {
            throw errors.Fail(authEl, $"<auth start=\"true\"> cannot be combined with <ssh start=\"true\"> (line {ConfigSourcePositions.LineOf(ssh)}): rsync refuses " +
                "--password-file over ssh (\"The --password-file option may only be used when accessing an rsync daemon\"); " +
                "use ssh keys, or turn ssh off to talk to an rsync daemon");
        }

        var auth = ReadAuth(authEl, d);
        var portEl = rsync.Element("userDefinedPort");
        var port = ReadPort(portEl, d);
        if (port.Enabled && settings.Ssh)
        {
            throw errors.Fail(portEl, $"<userDefinedPort start=\"true\"> cannot be combined with <ssh start=\"true\"> (line {ConfigSourcePositions.LineOf(ssh)}): " +
                $"--port only means something to an rsync daemon; put the ssh port in the ssh command, e.g. <ssh start=\"true\" command=\"ssh -p {port.Value}\"/>");
        }

        return settings with
        {
            CommonParams = commonParams,
            Auth = auth,
            Port = port,
            Timeout = ReadTimeout(rsync.Element("timeout"), d),
        };
    }

    /// <summary>A target's own <c>&lt;rsync&gt;</c> (<paramref name="own"/>) over the shared settings: what it
    /// gives replaces, the rest is inherited; the combination is checked as the shared one is, and a refusal points
    /// at this target's element (naming the shared one's line when the other half comes from there).</summary>
    public RsyncConfig ReadOwn(XElement own, RsyncConfig shared, XElement? sharedRsync, bool localDirectory)
    {
        var commonParams = own.Element("commonParams") is { } cp ? ReadCommonParams(cp, RsyncConfig.Stock) : shared.CommonParams;
        var ssh = own.Element("ssh");
        var authEl = own.Element("auth");
        var portEl = own.Element("userDefinedPort");
        var settings = ssh == null ? shared : ReadSsh(ssh, shared);
        var auth = authEl == null ? shared.Auth : ReadAuth(authEl, RsyncConfig.Stock);
        var port = portEl == null ? shared.Port : ReadPort(portEl, RsyncConfig.Stock);
        if (localDirectory)
        {
            // A local directory is written by rsync itself: no remote shell, no daemon to log in to or port to use.
            foreach (var (el, on, what) in new[] { (ssh, settings.Ssh && ssh != null, "ssh"), (authEl, auth.Enabled && authEl != null, "auth"), (portEl, port.Enabled && portEl != null, "userDefinedPort") })
            {
                if (on)
                {
                    throw errors.Fail(el, $"<{what} start=\"true\"> under a <remote path=...> (a local directory): there is no remote host to reach, so rsync has no use for it; " +
                        $"remove it or set start=\"false\"");
                }
            }
        }
        else
        {
            if (auth.Enabled && settings.Ssh)
            {
                var (at, other) = Pick(authEl, ssh, sharedRsync, "auth", "ssh");
                throw errors.Fail(at, $"this target's auth and ssh are both on ({other}): rsync refuses --password-file over ssh " +
                    "(\"The --password-file option may only be used when accessing an rsync daemon\"); give this <remote> its own " +
                    "<auth start=\"false\"/> for an ssh target, or <ssh start=\"false\"/> for an rsync daemon");
            }

            if (port.Enabled && settings.Ssh)
            {
                var (at, other) = Pick(portEl, ssh, sharedRsync, "userDefinedPort", "ssh");
                throw errors.Fail(at, $"this target's userDefinedPort and ssh are both on ({other}): --port only means something to an rsync daemon; " +
                    $"give this <remote> its own <userDefinedPort start=\"false\"/> and the ssh port as <ssh port=\"{port.Value}\"/>");
            }
        }

        return settings with
        {
            CommonParams = commonParams,
            Auth = auth,
            Port = port,
            Timeout = own.Element("timeout") is { } t ? ReadTimeout(t, RsyncConfig.Stock) : shared.Timeout,
        };
    }

    /// <summary>Where a refused pair is reported: this target's element of the two (the first when it gives both),
    /// and where the other half comes from.</summary>
    private static (XObject At, string Other) Pick(XElement? first, XElement? second, XElement? sharedRsync, string firstName, string secondName)
    {
        if (first != null)
        {
            return (first, second != null ? $"<{secondName}> at line {ConfigSourcePositions.LineOf(second)}" : $"<{secondName}> inherited from the shared <rsync>{SharedLine(sharedRsync, secondName)}");
        }

        return (second!, $"<{firstName}> inherited from the shared <rsync>{SharedLine(sharedRsync, firstName)}");
    }

    private static string SharedLine(XElement? sharedRsync, string child) =>
        sharedRsync?.Element(child) is { } el ? $" at line {ConfigSourcePositions.LineOf(el)}" : string.Empty;

    private List<string> ReadCommonParams(XElement? element, RsyncConfig d)
    {
        var paramsAttr = element?.Attribute("params");
        if (paramsAttr == null)
        {
            return [.. d.CommonParams];
        }

        if (!CommonParamsSplitter.TrySplit(paramsAttr.Value, out var words, out var error))
        {
            throw errors.Fail(paramsAttr, $"commonParams: {error}");
        }

        error = CommonParamsSplitter.Validate(words);
        if (error != null)
        {
            throw errors.Fail(paramsAttr, $"commonParams: {error}");
        }

        if (!LiveDeletes.On && CommonParamsSplitter.FirstDeleteOption(words) is { } delete)
        {
            var at = LiveDeletes.Element is { } el ? $" at line {ConfigSourcePositions.LineOf(el)}" : string.Empty;
            throw errors.Fail(paramsAttr, $"commonParams: '{ConfigText.Show(delete)}' contradicts <delete start=\"false\"/>{at}: sersync 2.5 then deleted on its " +
                "full pushes only (-r, crontab) and never live, so a target kept what the source lost until the next full push; " +
                "to mirror deletes, set <delete start=\"true\"/> and leave the delete options out (sersyncd adds --delete itself); " +
                $"to keep on the targets what the source removes, remove '{ConfigText.Show(delete)}' from commonParams");
        }

        return words;
    }

    /// <summary>The <c>&lt;ssh&gt;</c> element into <paramref name="d"/>'s ssh settings (every one from this
    /// element or sersync's defaults).</summary>
    private RsyncConfig ReadSsh(XElement? ssh, RsyncConfig d)
    {
        var sshCommand = "ssh";
        var commandAttr = ssh?.Attribute("command");
        if (commandAttr != null)
        {
            if (string.IsNullOrWhiteSpace(commandAttr.Value) || commandAttr.Value.Any(char.IsControl))
            {
                throw errors.Fail(commandAttr, $"ssh command {ConfigText.Quote(commandAttr.Value)} is empty or has control characters; expected a remote shell command line such as \"ssh -p 2222\"");
            }

            sshCommand = commandAttr.Value.Trim();
        }

        string? user = null;
        if (ssh?.Attribute("user") is { } userAttr)
        {
            user = userAttr.Value;
            if (!IsLoginName(user))
            {
                throw errors.Fail(userAttr, $"ssh user {ConfigText.Quote(user)} is not a valid login name; expected a non-empty name without '@', ':', whitespace, quotes or a leading '-'");
            }
        }

        int? port = ssh?.Attribute("port") != null ? values.Int(ssh, "port", 22, 1, 65535) : null;
        string? identity = null;
        if (ssh?.Attribute("identity") is { } idAttr)
        {
            identity = values.AbsolutePath(idAttr, "ssh identity");
            if (identity.Any(c => c is '\'' or '%' || char.IsControl(c)))
            {
                throw errors.Fail(idAttr, $"ssh identity {ConfigText.Quote(identity)} has a quote, '%' (an ssh token) or a control character; expected a plain path to a private key");
            }

            if (!File.Exists(identity))
            {
                throw errors.Fail(idAttr, $"ssh identity {ConfigText.Quote(identity)} does not exist; expected the path of a private key readable by sersyncd");
            }
        }

        return d with
        {
            Ssh = values.Bool(ssh, "start", false),
            SshCommand = sshCommand,
            SshUser = user,
            SshPort = port,
            SshIdentity = identity,
            SshKeepOpen = values.Bool(ssh, "keepOpen", true),
        };
    }

    private AuthConfig ReadAuth(XElement? authEl, RsyncConfig d)
    {
        var auth = new AuthConfig(
            values.Bool(authEl, "start", d.Auth.Enabled),
            ConfigAttributeReader.Text(authEl, "users") ?? d.Auth.Users,
            ConfigAttributeReader.Text(authEl, "passwordfile") ?? d.Auth.PasswordFile);
        if (auth.Enabled)
        {
            CheckAuth(authEl!, auth);
        }

        return auth;
    }

    private SwitchedNumber ReadPort(XElement? portEl, RsyncConfig d) =>
        new(values.Bool(portEl, "start", false), values.Int(portEl, "port", d.Port.Value, 1, 65535));

    private SwitchedNumber ReadTimeout(XElement? timeoutEl, RsyncConfig d) =>
        new(values.Bool(timeoutEl, "start", false), values.Int(timeoutEl, "time", d.Timeout.Value, 1, 86400));

    /// <summary>A login name ssh and rsync take as one word: no separator of user@host:path, no space or quote (it
    /// goes into rsync's -e string), no leading '-'.</summary>
    public static bool IsLoginName(string user) =>
        user.Length > 0 && user[0] != '-' && !user.Any(c => c is '@' or ':' or '\'' or '"' or '\\' or '%' || char.IsWhiteSpace(c) || char.IsControl(c));

    private void CheckAuth(XElement authEl, AuthConfig auth)
    {
        var usersAttr = authEl.Attribute("users");
        var users = auth.Users;
        if (users.Length == 0 || users[0] == '-' || users.Any(c => c is '@' or ':' || char.IsWhiteSpace(c) || char.IsControl(c)))
        {
            throw errors.Fail((XObject?)usersAttr ?? authEl, $"auth users {ConfigText.Quote(users)} is not a valid rsync user name; expected a non-empty name " +
                "without '@', ':', whitespace or a leading '-'");
        }

        var fileAttr = (XObject?)authEl.Attribute("passwordfile") ?? authEl;
        var path = auth.PasswordFile;
        if (!path.StartsWith('/'))
        {
            throw errors.Fail(fileAttr, $"passwordfile {ConfigText.Quote(path)} is not an absolute path; expected /absolute/path (e.g. /etc/rsync.pas)");
        }

        disk.CheckPasswordFile(fileAttr, path);
    }
}
