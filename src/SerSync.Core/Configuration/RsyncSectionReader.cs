using System.Xml.Linq;

namespace SerSync.Configuration;

/// <summary>Reads <c>&lt;sersync&gt;&lt;rsync&gt;</c>: commonParams, auth, userDefinedPort, timeout and ssh, and the
/// combinations of them that rsync would refuse.</summary>
internal sealed class RsyncSectionReader(ConfigErrors errors, ConfigAttributeReader values, ConfigFileSystemChecks disk)
{
    public RsyncConfig Read(XElement? rsync)
    {
        var d = RsyncConfig.Stock;
        if (rsync == null)
        {
            return d;
        }

        var commonParams = d.CommonParams;
        var paramsAttr = rsync.Element("commonParams")?.Attribute("params");
        if (paramsAttr != null)
        {
            if (!CommonParamsSplitter.TrySplit(paramsAttr.Value, out var words, out var error))
            {
                throw errors.Fail(paramsAttr, $"commonParams: {error}");
            }

            error = CommonParamsSplitter.Validate(words);
            if (error != null)
            {
                throw errors.Fail(paramsAttr, $"commonParams: {error}");
            }

            commonParams = words;
        }

        var ssh = rsync.Element("ssh");
        var sshOn = values.Bool(ssh, "start", false);
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

        var authEl = rsync.Element("auth");
        var authOn = values.Bool(authEl, "start", d.Auth.Enabled);
        if (authOn && sshOn)
        {
            throw errors.Fail(authEl, $"<auth start=\"true\"> cannot be combined with <ssh start=\"true\"> (line {ConfigSourcePositions.LineOf(ssh)}): rsync refuses " +
                "--password-file over ssh (\"The --password-file option may only be used when accessing an rsync daemon\"); " +
                "use ssh keys, or turn ssh off to talk to an rsync daemon");
        }

        var auth = new AuthConfig(
            authOn,
            ConfigAttributeReader.Text(authEl, "users") ?? d.Auth.Users,
            ConfigAttributeReader.Text(authEl, "passwordfile") ?? d.Auth.PasswordFile);
        if (authOn)
        {
            CheckAuth(authEl!, auth);
        }

        var portEl = rsync.Element("userDefinedPort");
        var port = new SwitchedNumber(values.Bool(portEl, "start", false), values.Int(portEl, "port", d.Port.Value, 1, 65535));
        if (port.Enabled && sshOn)
        {
            throw errors.Fail(portEl, $"<userDefinedPort start=\"true\"> cannot be combined with <ssh start=\"true\"> (line {ConfigSourcePositions.LineOf(ssh)}): " +
                $"--port only means something to an rsync daemon; put the ssh port in the ssh command, e.g. <ssh start=\"true\" command=\"ssh -p {port.Value}\"/>");
        }

        var timeoutEl = rsync.Element("timeout");
        var timeout = new SwitchedNumber(values.Bool(timeoutEl, "start", false), values.Int(timeoutEl, "time", d.Timeout.Value, 1, 86400));

        return new RsyncConfig(commonParams, auth, port, timeout, sshOn) { SshCommand = sshCommand };
    }

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
