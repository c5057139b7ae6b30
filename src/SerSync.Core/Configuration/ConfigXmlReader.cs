// Why the order matters: every check throws, so the first problem in reading order is the one reported. The shape
// of the whole document is checked first; then rsync is read before the watches (whose remotes depend on ssh), the
// watches before the state directory (which must lie outside them), and the rest in the order of the record below.
using System.Globalization;
using System.Text;
using System.Xml.Linq;
using SerSync.Interop;

namespace SerSync.Configuration;

/// <summary>Turns one loaded confxml.xml into a <see cref="SerSyncConfig"/>: checks its shape, then reads it section
/// by section. <paramref name="file"/> prefixes every message; <paramref name="fullPath"/> becomes
/// <see cref="SerSyncConfig.SourceFile"/>; <paramref name="source"/> gives the decoded text (or null), only needed to
/// point at stray text.</summary>
internal sealed class ConfigXmlReader
{
    private readonly string _fullPath;
    private readonly ConfigErrors _errors;
    private readonly ConfigAttributeReader _values;
    private readonly ConfigShapeChecker _shape;
    private readonly FilterExpressionCompiler _expressions;
    private readonly ConfigFileSystemChecks _disk;
    private readonly RsyncSectionReader _rsync;
    private readonly LocalPathSectionReader _localPaths;
    private readonly PluginSectionReader _plugins;

    public ConfigXmlReader(string file, string fullPath, Func<string?>? source = null)
    {
        _fullPath = fullPath;
        _errors = new ConfigErrors(file, new ConfigSourcePositions(source));
        _values = new ConfigAttributeReader(_errors);
        _shape = new ConfigShapeChecker(_errors);
        _expressions = new FilterExpressionCompiler(_errors);
        _disk = new ConfigFileSystemChecks(_errors);
        _rsync = new RsyncSectionReader(_errors, _values, _disk);
        _localPaths = new LocalPathSectionReader(_errors, _values, _disk, _rsync);
        _plugins = new PluginSectionReader(_errors, _values, _expressions);
    }

    public SerSyncConfig Read(XDocument doc)
    {
        var root = doc.Root ?? throw _errors.Fail(null, "has no root element; expected <head>");
        if (root.Name != "head")
        {
            throw _errors.Fail(root, $"root element is <{root.Name}>; expected <head> (a sersync confxml.xml)");
        }

        _shape.Check(root, ConfigSchema.Head);

        var host = root.Element("host");
        var filter = root.Element("filter");
        var inotify = root.Element("inotify");
        var sersync = root.Element("sersync")
            ?? throw _errors.Fail(root, "<head> has no <sersync> element; expected <sersync> with at least one <localpath watch=\"...\"> and its <remote>");

        var inotifyConfig = ReadInotify(inotify);
        _rsync.LiveDeletes = (inotifyConfig.Delete, inotify?.Element("delete"));
        var rsync = _rsync.Read(sersync.Element("rsync"));
        var watches = _localPaths.Read(sersync, rsync, sersync.Element("rsync"));
        var stateDir = ReadStateDirectory(sersync.Element("state"), watches);
        var enabledPlugins = _plugins.ReadSwitches(sersync);
        var plugins = _plugins.ReadSections(root);
        _plugins.CheckEnabled(root, sersync, enabledPlugins, plugins, watches);

        return new SerSyncConfig
        {
            SourceFile = _fullPath,
            Host = host == null
                ? new HostConfig("localhost", 8008)
                : new HostConfig(ConfigAttributeReader.Text(host, "hostip") ?? "localhost", _values.Int(host, "port", 8008, 1, 65535)),
            Status = ReadStatus(root.Element("status")),
            Debug = _values.Bool(root.Element("debug"), "start", false),
            Xfs = _values.Bool(root.Element("fileSystem"), "xfs", false),
            Watcher = ReadWatcher(root.Element("fileSystem")),
            Filter = filter == null ? FilterConfig.Disabled : ReadFilter(filter),
            Inotify = inotifyConfig,
            Watches = watches,
            Rsync = rsync,
            FailLog = ReadFailLog(sersync.Element("failLog")),
            Crontab = ReadCrontab(sersync.Element("crontab")),
            Audit = ReadAudit(sersync.Element("audit")),
            EnabledPlugins = enabledPlugins,
            Plugins = plugins,
            StateDirectory = stateDir,
        };
    }

    private const int MaxStatusSocketBytes = 96;

    private WatcherConfig ReadWatcher(XElement? fileSystem)
    {
        var kind = WatcherKind.Auto;
        if (fileSystem?.Attribute("watcher") is { } attr && !WatcherConfig.TryParse(attr.Value, out kind))
        {
            throw _errors.Fail(attr, $"watcher={ConfigText.Quote(attr.Value)} on <fileSystem>: expected auto, inotify, portable or poll");
        }

        if (Environment.GetEnvironmentVariable(WatcherConfig.EnvironmentVariable) is { Length: > 0 } forced
            && !WatcherConfig.TryParse(forced, out kind))
        {
            throw _errors.Fail(null, $"the environment variable {WatcherConfig.EnvironmentVariable}={ConfigText.Quote(forced)} is not a watcher: expected auto, inotify, portable or poll");
        }

        TimeSpan? interval = fileSystem?.Attribute("scanInterval") is null
            ? null
            : TimeSpan.FromSeconds(_values.Int(fileSystem, "scanInterval", 0, 1, WatcherConfig.MaxScanIntervalSeconds));
        if (Environment.GetEnvironmentVariable(WatcherConfig.IntervalVariable) is { Length: > 0 } every)
        {
            if (!int.TryParse(every, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seconds)
                || seconds < 1 || seconds > WatcherConfig.MaxScanIntervalSeconds)
            {
                throw _errors.Fail(null, $"the environment variable {WatcherConfig.IntervalVariable}={ConfigText.Quote(every)} is not a scan interval: expected whole seconds from 1 to {WatcherConfig.MaxScanIntervalSeconds}");
            }

            interval = TimeSpan.FromSeconds(seconds);
        }

        return new WatcherConfig(kind, interval);
    }

    private StatusConfig ReadStatus(XElement? status)
    {
        if (status == null)
        {
            return StatusConfig.Default;
        }

        string? socket = null;
        if (status.Attribute("socket") is { } socketAttr)
        {
            socket = _values.AbsolutePath(socketAttr, "status socket");
            // sun_path holds 107 bytes; the daemon binds a temporary name of up to 14 bytes beside it first, and a
            // plugin run alone (-m) adds "-NAME" (at most 11 bytes).
            if (Encoding.UTF8.GetByteCount(socket) > MaxStatusSocketBytes || Encoding.UTF8.GetByteCount(Path.GetDirectoryName(socket)!) > MaxStatusSocketBytes - 15)
            {
                throw _errors.Fail(socketAttr, $"status socket {ConfigText.Quote(socket)} is longer than a unix socket path may be here ({MaxStatusSocketBytes} bytes, its directory {MaxStatusSocketBytes - 15}); expected a shorter path");
            }
        }

        string? group = null;
        uint? gid = null;
        if (status.Attribute("group") is { } groupAttr)
        {
            group = groupAttr.Value;
            gid = group.Length == 0 || OperatingSystem.IsWindows() ? null : UnixGroups.IdOf(group);
            if (gid is null)
            {
                throw _errors.Fail(groupAttr, $"group={ConfigText.Quote(group)} on <status>: no such group on this host; expected the name of a group whose members may run sersyncd status");
            }
        }

        System.Net.IPEndPoint? listen = null;
        if (status.Attribute("listen") is { } listenAttr)
        {
            if (!System.Net.IPEndPoint.TryParse(listenAttr.Value, out listen) || listen.Port == 0 || !listenAttr.Value.Contains(':', StringComparison.Ordinal) || listenAttr.Value.EndsWith(']'))
            {
                throw _errors.Fail(listenAttr, $"listen={ConfigText.Quote(listenAttr.Value)} on <status>: expected an IP address and a port, such as 127.0.0.1:9927 or [::1]:9927");
            }
        }

        var unhealthy = _values.Int(status, "unhealthyAfter", (int)StatusConfig.DefaultUnhealthyAfter.TotalSeconds, 1, 7 * 24 * 3600);
        return new StatusConfig(socket, group, gid, listen, TimeSpan.FromSeconds(unhealthy));
    }

    private FilterConfig ReadFilter(XElement filter)
    {
        var excludes = new List<ExcludeRule>();
        foreach (var ex in filter.Elements("exclude"))
        {
            var attr = _values.Required(ex, "expression", "a regular expression such as (.*)\\.svn");
            excludes.Add(new ExcludeRule(attr.Value, _expressions.Compile(attr), ConfigSourcePositions.LineOf(attr)));
        }

        return new FilterConfig(_values.Bool(filter, "start", false), excludes);
    }

    private InotifyConfig ReadInotify(XElement? inotify)
    {
        var d = InotifyConfig.Stock;
        if (inotify == null)
        {
            return d;
        }

        bool Flag(string name, bool dflt) => _values.Bool(inotify.Element(name), "start", dflt);
        return new InotifyConfig(
            Flag("delete", d.Delete), Flag("createFolder", d.CreateFolder), Flag("createFile", d.CreateFile),
            Flag("closeWrite", d.CloseWrite), Flag("moveFrom", d.MoveFrom), Flag("moveTo", d.MoveTo),
            Flag("attrib", d.Attrib), Flag("modify", d.Modify));
    }

    private FailLogConfig ReadFailLog(XElement? failLog)
    {
        if (failLog == null)
        {
            return FailLogConfig.Absent;
        }

        var attr = _values.Required(failLog, "path", "the absolute path of the retry script, e.g. /tmp/rsync_fail_log.sh");
        if (attr.Value.EndsWith('/'))
        {
            throw _errors.Fail(attr, $"failLog path {ConfigText.Quote(attr.Value)} ends with '/'; expected a file path");
        }

        var path = _values.AbsolutePath(attr, "failLog path");
        _disk.CheckFailLogFile(attr, path);
        return new FailLogConfig(path, _values.Int(failLog, "timeToExecute", FailLogConfig.Absent.TimeToExecuteMinutes, 1, int.MaxValue));
    }

    private CrontabConfig ReadCrontab(XElement? crontab)
    {
        var d = CrontabConfig.Disabled;
        if (crontab == null)
        {
            return d;
        }

        var enabled = _values.Bool(crontab, "start", false);
        var schedule = _values.Int(crontab, "schedule", d.ScheduleMinutes, int.MinValue, int.MaxValue);
        if (schedule < 1)
        {
            if (enabled)
            {
                throw _errors.Fail(crontab.Attribute("schedule"), $"crontab schedule \"{schedule}\" is out of range; expected minutes between full syncs, at least 1");
            }

            schedule = d.ScheduleMinutes; // sersync's meaning of <= 0
        }

        var filter = crontab.Element("crontabfilter");
        var excludes = new List<string>();
        foreach (var ex in filter?.Elements("exclude") ?? [])
        {
            var attr = _values.Required(ex, "expression", "an rsync exclude pattern such as *.php");
            if (attr.Value.Length == 0 || attr.Value.Any(c => c is '\n' or '\r' or '\0'))
            {
                throw _errors.Fail(attr, $"crontab exclude {ConfigText.Quote(attr.Value)} is empty or spans lines; expected one rsync pattern such as *.php or info/*");
            }

            excludes.Add(attr.Value);
        }

        return new CrontabConfig(enabled, schedule, _values.Bool(filter, "start", false), excludes);
    }

    private AuditConfig ReadAudit(XElement? audit)
    {
        var d = AuditConfig.Disabled;
        if (audit == null)
        {
            return d;
        }

        var enabled = _values.Bool(audit, "start", false);
        var repair = _values.Bool(audit, "repair", false);
        var schedule = d.ScheduleMinutes;
        if (audit.Attribute("schedule") is { } attr)
        {
            const double max = 525_600; // a year
            if (!double.TryParse(attr.Value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out schedule)
                || !(schedule >= AuditConfig.MinimumScheduleMinutes && schedule <= max))
            {
                throw _errors.Fail(attr, $"audit schedule {ConfigText.Quote(attr.Value)} is not valid; expected minutes between audits, a number from {AuditConfig.MinimumScheduleMinutes.ToString(CultureInfo.InvariantCulture)} to {max.ToString(CultureInfo.InvariantCulture)} (fractions allowed, e.g. 0.5 for 30 s)");
            }
        }

        return new AuditConfig(enabled, schedule, repair);
    }

    private string? ReadStateDirectory(XElement? state, List<WatchConfig> watches)
    {
        if (state == null)
        {
            return null;
        }

        var attr = _values.Required(state, "dir", "an absolute directory for sersyncd's journal, e.g. /var/lib/sersyncd/NAME");
        var dir = _values.AbsolutePath(attr, "state dir");
        foreach (var w in watches)
        {
            if (ConfigAttributeReader.IsSameOrInside(dir, w.Path))
            {
                throw _errors.Fail(attr, $"state dir {ConfigText.ShowPath(dir)} is inside the watched directory {ConfigText.ShowPath(w.Path)} (line {w.Line}); journal writes would trigger syncs of themselves");
            }
        }

        return dir;
    }
}
