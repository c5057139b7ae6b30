using System.Globalization;
using System.Xml.Linq;

namespace SerSync.Testing;

/// <summary>
/// Writes a sersync confxml.xml for one watched directory and any number of targets: local directories
/// (<c>&lt;remote path&gt;</c>), rsync daemon modules (with auth and port) and ssh directories. Auth and ssh are in the
/// shared <c>&lt;rsync&gt;</c> element here, so one config from this builder does not mix rsync daemon and ssh targets;
/// a daemon on another port than the first gets its own <c>&lt;rsync&gt;&lt;userDefinedPort&gt;</c>.
/// </summary>
public sealed class ConfigBuilder
{
    private readonly List<XElement> _remotes = [];
    private (string User, string PasswordFile)? _auth;
    private int? _port;
    private string? _sshCommand;
    private bool _hasDaemonTarget;

    public ConfigBuilder(string watch, string stateDirectory)
    {
        Watch = watch;
        StateDirectory = stateDirectory;
        StatusSocket = stateDirectory.TrimEnd('/') + ".sock";
    }

    public string Watch { get; }

    public string StateDirectory { get; }

    /// <summary>rsync options (<c>&lt;commonParams&gt;</c>).</summary>
    public string CommonParams { get; set; } = "-az";

    /// <summary>Mirror attribute changes (chmod) on their own too (<c>&lt;attrib start="true"&gt;</c>).</summary>
    public bool Attrib { get; set; }

    /// <summary>Mirror file creation on its own (<c>&lt;createFile start="true"&gt;</c>): symlinks need it.</summary>
    public bool CreateFile { get; set; }

    /// <summary>rsync's I/O timeout in seconds (<c>&lt;timeout start="true" time="N"/&gt;</c>).</summary>
    public int TimeoutSeconds { get; set; } = 60;

    /// <summary><c>&lt;debug start="true"/&gt;</c>: debug lines, the raw inotify events among them.</summary>
    public bool Debug { get; set; }

    /// <summary><c>&lt;fileSystem watcher scanInterval&gt;</c>; null leaves the element out (auto, and whatever
    /// <c>SERSYNCD_WATCHER</c> forces).</summary>
    public (string Watcher, int? ScanIntervalSeconds)? FileSystem { get; set; }

    /// <summary>Full path of a sersync fail log, or null for none.</summary>
    public string? FailLog { get; set; }

    /// <summary>When set, <c>&lt;crontab start="true" schedule="N"&gt;</c>: a full push every N minutes.</summary>
    public int? CrontabMinutes { get; set; }

    /// <summary><c>&lt;status socket&gt;</c>: by default beside the state directory, so that daemons of tests running
    /// at once never share the default <c>/run/sersyncd/NAME.sock</c>; null leaves the attribute out.</summary>
    public string? StatusSocket { get; set; }

    /// <summary><c>&lt;status listen&gt;</c>, e.g. <c>127.0.0.1:PORT</c>; null: no HTTP.</summary>
    public string? StatusListen { get; set; }

    /// <summary><c>&lt;status unhealthyAfter&gt;</c> in seconds; null: the default.</summary>
    public int? UnhealthyAfterSeconds { get; set; }

    /// <summary><c>&lt;audit start="true" schedule="MIN" repair="..."/&gt;</c> when set (minutes may be fractional).</summary>
    public (double Minutes, bool Repair)? Audit { get; set; }

    /// <summary><c>&lt;inotify&gt;&lt;modify start&gt;</c> (off, as in sersync's stock file).</summary>
    public bool Modify { get; set; }

    /// <summary><c>&lt;inotify&gt;&lt;delete start&gt;</c> (on by default here, as in sersync's stock file).</summary>
    public bool Delete { get; set; } = true;

    /// <summary><c>&lt;deleteGuard&gt;</c> under &lt;sersync&gt;: false writes <c>start="false"</c> (for a test that is not
    /// about deletes being safe and empties a small root); null leaves it out (on, the defaults).</summary>
    public bool? DeleteGuard { get; set; }

    /// <summary>Plugins switched on (under &lt;sersync&gt;), with their top-level sections as XML.</summary>
    private readonly List<(string Name, XElement Section)> _plugins = [];

    /// <summary>Switches plugin <paramref name="name"/> on with <paramref name="sectionXml"/> as its top-level
    /// <c>&lt;plugin name="..."&gt;</c> content.</summary>
    public ConfigBuilder AddPlugin(string name, string sectionXml)
    {
        _plugins.Add((name, XElement.Parse($"<plugin name=\"{name}\">{sectionXml}</plugin>")));
        return this;
    }

    public ConfigBuilder AddLocalTarget(string path)
    {
        _remotes.Add(new XElement("remote", new XAttribute("path", path)));
        return this;
    }

    /// <summary>A module on <paramref name="daemon"/>; with <paramref name="user"/>, authenticates with the password
    /// in <paramref name="passwordFile"/> (mode 0600).</summary>
    public ConfigBuilder AddRsyncDaemonTarget(RsyncDaemon daemon, string module, string? user = null, string? passwordFile = null)
    {
        ArgumentNullException.ThrowIfNull(daemon);
        if (_sshCommand is not null)
        {
            throw new InvalidOperationException("sersync's <rsync> is shared: rsync daemon and ssh targets cannot be in one config");
        }

        if (user is not null)
        {
            _auth = (user, passwordFile ?? throw new ArgumentNullException(nameof(passwordFile)));
        }

        return AddRsyncDaemonTarget("127.0.0.1", daemon.Port, module);
    }

    /// <summary>A module on an rsync daemon at <paramref name="ip"/>:<paramref name="port"/> without auth (a daemon the
    /// test started itself, e.g. inside a network namespace).</summary>
    public ConfigBuilder AddRsyncDaemonTarget(string ip, int port, string module)
    {
        if (_sshCommand is not null)
        {
            throw new InvalidOperationException("sersync's <rsync> is shared: rsync daemon and ssh targets cannot be in one config");
        }

        _port ??= port;
        _hasDaemonTarget = true;
        var remote = new XElement("remote", new XAttribute("ip", ip), new XAttribute("name", module));
        if (port != _port)
        {
            // Another port than the shared <userDefinedPort>: the target's own <rsync> gives it.
            remote.Add(new XElement("rsync", new XElement("userDefinedPort", new XAttribute("start", "true"), new XAttribute("port", port.ToString(CultureInfo.InvariantCulture)))));
        }

        _remotes.Add(remote);
        return this;
    }

    /// <summary>A directory on <paramref name="ssh"/>'s host, reached with its key.</summary>
    public ConfigBuilder AddSshTarget(SshServer ssh, string remoteDirectory)
    {
        ArgumentNullException.ThrowIfNull(ssh);
        if (_hasDaemonTarget)
        {
            throw new InvalidOperationException("sersync's <rsync> is shared: rsync daemon and ssh targets cannot be in one config");
        }

        _sshCommand = ssh.SshCommand;
        _remotes.Add(new XElement("remote", new XAttribute("ip", "127.0.0.1"), new XAttribute("name", remoteDirectory)));
        return this;
    }

    public XDocument Build()
    {
        static XElement Flag(string name, bool on) => new(name, new XAttribute("start", on ? "true" : "false"));
        var rsync = new XElement("rsync", new XElement("commonParams", new XAttribute("params", CommonParams)));
        if (_auth is { } auth)
        {
            rsync.Add(new XElement("auth", new XAttribute("start", "true"), new XAttribute("users", auth.User), new XAttribute("passwordfile", auth.PasswordFile)));
        }

        if (_port is { } port)
        {
            rsync.Add(new XElement("userDefinedPort", new XAttribute("start", "true"), new XAttribute("port", port.ToString(CultureInfo.InvariantCulture))));
        }

        rsync.Add(new XElement("timeout", new XAttribute("start", "true"), new XAttribute("time", TimeoutSeconds.ToString(CultureInfo.InvariantCulture))));
        if (_sshCommand is not null)
        {
            rsync.Add(new XElement("ssh", new XAttribute("start", "true"), new XAttribute("command", _sshCommand)));
        }

        var sersync = new XElement(
            "sersync",
            new XElement("localpath", new XAttribute("watch", Watch), _remotes),
            rsync);
        if (FailLog is not null)
        {
            sersync.Add(new XElement("failLog", new XAttribute("path", FailLog), new XAttribute("timeToExecute", "60")));
        }

        if (CrontabMinutes is { } minutes)
        {
            sersync.Add(new XElement(
                "crontab",
                new XAttribute("start", "true"),
                new XAttribute("schedule", minutes.ToString(CultureInfo.InvariantCulture)),
                new XElement("crontabfilter", new XAttribute("start", "false"))));
        }

        if (Audit is { } audit)
        {
            sersync.Add(new XElement(
                "audit",
                new XAttribute("start", "true"),
                new XAttribute("schedule", audit.Minutes.ToString(CultureInfo.InvariantCulture)),
                new XAttribute("repair", audit.Repair ? "true" : "false")));
        }

        foreach (var (name, _) in _plugins)
        {
            sersync.Add(new XElement("plugin", new XAttribute("start", "true"), new XAttribute("name", name)));
        }

        if (DeleteGuard is { } guard)
        {
            sersync.Add(Flag("deleteGuard", guard));
        }

        sersync.Add(new XElement("state", new XAttribute("dir", StateDirectory)));
        var status = new XElement("status");
        if (StatusSocket is not null)
        {
            status.Add(new XAttribute("socket", StatusSocket));
        }

        if (StatusListen is not null)
        {
            status.Add(new XAttribute("listen", StatusListen));
        }

        if (UnhealthyAfterSeconds is { } unhealthy)
        {
            status.Add(new XAttribute("unhealthyAfter", unhealthy.ToString(CultureInfo.InvariantCulture)));
        }

        return new XDocument(
            new XDeclaration("1.0", "UTF-8", null),
            new XElement(
                "head",
                new XAttribute("version", "2.5"),
                status,
                Flag("debug", Debug),
                FileSystem is { } fs
                    ? new XElement("fileSystem", new XAttribute("watcher", fs.Watcher), fs.ScanIntervalSeconds is { } every ? new XAttribute("scanInterval", every.ToString(CultureInfo.InvariantCulture)) : null)
                    : null,
                new XElement(
                    "inotify",
                    Flag("delete", Delete),
                    Flag("createFolder", true),
                    Flag("createFile", CreateFile),
                    Flag("closeWrite", true),
                    Flag("moveFrom", true),
                    Flag("moveTo", true),
                    Flag("attrib", Attrib),
                    Flag("modify", Modify)),
                sersync,
                _plugins.Select(p => p.Section)));
    }

    /// <summary>Writes the config to <paramref name="path"/> and returns the path.</summary>
    public string Write(string path)
    {
        File.WriteAllText(path, Build().Declaration + "\n" + Build().Root);
        return path;
    }
}
