// Implementation notes. The input (at most 1 MiB) is first streamed once with an XmlReader that refuses absurd
// nesting, since XDocument's load time grows with the square of the depth; then it is loaded into an XDocument with
// line info. The loader works in two passes over that: first the shape (ConfigSchema: unknown or duplicated
// elements, unknown attributes, stray text), then the values, element by element, with every check raising a
// ConfigException that points at the offending element or attribute. Values quoted in messages go through
// ConfigText, so a message is always one line. Anything else that escapes (I/O, a regex engine surprise) is
// converted at the API boundary, so callers only ever catch ConfigException.
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using System.Xml;
using System.Xml.Linq;
using SerSync.Paths;

namespace SerSync.Configuration;

/// <summary>Reads and validates a sersync 2.5 confxml.xml (with sersyncd's additions) into a
/// <see cref="SerSyncConfig"/>.</summary>
public static class ConfigLoader
{
    /// <summary>The largest file accepted, in bytes (for <see cref="Parse"/>: characters). The stock confxml.xml is
    /// about 2 KB.</summary>
    public const int MaxSize = 1 << 20;

    /// <summary>The deepest element nesting accepted. confxml.xml needs 5 levels
    /// (<c>head/sersync/crontab/crontabfilter/exclude</c>).</summary>
    public const int MaxDepth = 32;

    static ConfigLoader()
    {
        // Files saved by Chinese editors often declare GB2312/GBK; honour that like sersync's parser did.
        Encoding.RegisterProvider(CodePagesEncodingProvider.Instance);
    }

    /// <summary>Reads <paramref name="path"/>, honouring its XML encoding declaration.</summary>
    public static SerSyncConfig Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        byte[] bytes;
        string full;
        try
        {
            full = Path.GetFullPath(path);
            if (Directory.Exists(full))
            {
                throw new ConfigException(path, 0, 0, "is a directory; expected a confxml.xml file");
            }

            if (!File.Exists(full))
            {
                throw new ConfigException(path, 0, 0, "no such file; expected an existing confxml.xml (see -o)");
            }

            bytes = File.ReadAllBytes(full);
        }
        catch (ConfigException)
        {
            throw;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new ConfigException(path, 0, 0, $"cannot be read: {ConfigText.Escape(ex.Message)}");
        }

        if (IsBlank(bytes))
        {
            throw new ConfigException(path, 0, 0, "is empty; expected a confxml.xml with a <head> root element");
        }

        if (bytes.Length > MaxSize)
        {
            throw new ConfigException(path, 0, 0, $"is {bytes.Length} bytes long; a confxml.xml is a few KB, and files over {MaxSize} bytes (1 MiB) are refused");
        }

        return Guard(path, () => Build(
            () => XmlReader.Create(new MemoryStream(bytes, writable: false), ReaderSettings),
            () => DecodeLikeXmlReader(bytes),
            path,
            full));
    }

    /// <summary>Parses XML text. <paramref name="fileNameForMessages"/> prefixes every message; it is made absolute
    /// against <paramref name="baseDirectory"/> (default: the working directory) for
    /// <see cref="SerSyncConfig.SourceFile"/>.</summary>
    public static SerSyncConfig Parse(string xmlText, string fileNameForMessages, string? baseDirectory = null)
    {
        ArgumentNullException.ThrowIfNull(xmlText);
        ArgumentNullException.ThrowIfNull(fileNameForMessages);
        if (string.IsNullOrWhiteSpace(xmlText))
        {
            throw new ConfigException(fileNameForMessages, 0, 0, "is empty; expected a confxml.xml with a <head> root element");
        }

        if (xmlText.Length > MaxSize)
        {
            throw new ConfigException(fileNameForMessages, 0, 0, $"is {xmlText.Length} characters long; a confxml.xml is a few KB, and files over {MaxSize} characters (1 MiB) are refused");
        }

        return Guard(fileNameForMessages, () =>
        {
            var full = Path.IsPathRooted(fileNameForMessages)
                ? fileNameForMessages
                : Path.GetFullPath(Path.Combine(baseDirectory ?? Environment.CurrentDirectory, fileNameForMessages));
            return Build(() => XmlReader.Create(new StringReader(xmlText), ReaderSettings), () => xmlText, fileNameForMessages, full);
        });
    }

    private static readonly XmlReaderSettings ReaderSettings = new()
    {
        DtdProcessing = DtdProcessing.Prohibit,
        XmlResolver = null,
        IgnoreComments = true,
        IgnoreProcessingInstructions = true,
        CloseInput = true,
    };

    private static bool IsBlank(byte[] bytes)
    {
        foreach (var b in bytes)
        {
            if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n'))
            {
                return false;
            }
        }

        return true;
    }

    private static SerSyncConfig Guard(string file, Func<SerSyncConfig> body)
    {
        try
        {
            return body();
        }
        catch (ConfigException)
        {
            throw;
        }
        catch (XmlException ex)
        {
            throw new ConfigException(file, ex.LineNumber, ex.LinePosition, $"not well-formed XML: {ConfigText.Escape(StripPosition(ex.Message))}");
        }
        catch (Exception ex)
        {
            throw new ConfigException(file, 0, 0, $"cannot be loaded: {ex.GetType().Name}: {ConfigText.Escape(ex.Message)}");
        }
    }

    // XmlException repeats "Line N, position M." which our prefix already says.
    private static string StripPosition(string message)
    {
        var i = message.IndexOf(" Line ", StringComparison.Ordinal);
        return i > 0 ? message[..i] : message;
    }

    /// <summary>Streams the input once to refuse deep nesting, then loads it. <paramref name="source"/> gives the
    /// decoded text (or null), only needed to point at the first visible character of stray text.</summary>
    private static SerSyncConfig Build(Func<XmlReader> open, Func<string?> source, string file, string fullPath)
    {
        using (var scan = open())
        {
            CheckNesting(scan, file);
        }

        XDocument doc;
        using (var reader = open())
        {
            doc = XDocument.Load(reader, LoadOptions.SetLineInfo);
        }

        return new ConfigReader(file, fullPath, source).Read(doc);
    }

    private static void CheckNesting(XmlReader reader, string file)
    {
        while (reader.Read())
        {
            if (reader.NodeType == XmlNodeType.Element && reader.Depth >= MaxDepth)
            {
                var li = (IXmlLineInfo)reader;
                throw new ConfigException(file, li.LineNumber, li.LinePosition,
                    $"<{ConfigText.Show(reader.Name)}> is nested {reader.Depth + 1} elements deep; a confxml.xml needs at most 5 levels, " +
                    $"and more than {MaxDepth} are refused");
            }
        }
    }

    /// <summary>The characters an XmlReader sees in <paramref name="bytes"/>: the encoding it settles on after the
    /// byte order mark and the XML declaration. Null if that cannot be found out.</summary>
    private static string? DecodeLikeXmlReader(byte[] bytes)
    {
        try
        {
            Encoding? encoding;
            using (var probe = new XmlTextReader(new MemoryStream(bytes, writable: false)) { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null })
            {
                _ = probe.Read();
                encoding = probe.Encoding;
            }

            if (encoding == null)
            {
                return null;
            }

            using var text = new StreamReader(new MemoryStream(bytes, writable: false), encoding, detectEncodingFromByteOrderMarks: true);
            return text.ReadToEnd();
        }
        catch (Exception ex) when (ex is XmlException or ArgumentException or NotSupportedException or DecoderFallbackException)
        {
            return null;
        }
    }
}

/// <summary>One load: knows the file name for messages.</summary>
internal sealed class ConfigReader(string file, string fullPath, Func<string?>? source = null)
{
    private readonly Lazy<string?> _source = new(source ?? (() => null));

    // Only for patterns NonBacktracking cannot run (backreferences, lookarounds); generous, since the first match
    // in a cold process also pays for JIT.
    private static readonly TimeSpan BacktrackingTimeout = TimeSpan.FromSeconds(1);

    public SerSyncConfig Read(XDocument doc)
    {
        var root = doc.Root ?? throw Fail(null, "has no root element; expected <head>");
        if (root.Name != "head")
        {
            throw Fail(root, $"root element is <{root.Name}>; expected <head> (a sersync confxml.xml)");
        }

        CheckShape(root, ConfigSchema.Head);

        var host = root.Element("host");
        var filter = root.Element("filter");
        var inotify = root.Element("inotify");
        var sersync = root.Element("sersync")
            ?? throw Fail(root, "<head> has no <sersync> element; expected <sersync> with at least one <localpath watch=\"...\"> and its <remote>");

        var rsync = ReadRsync(sersync.Element("rsync"));
        var watches = ReadWatches(sersync, rsync.Ssh);
        var stateDir = ReadStateDirectory(sersync.Element("state"), watches);

        return new SerSyncConfig
        {
            SourceFile = fullPath,
            Host = host == null
                ? new HostConfig("localhost", 8008)
                : new HostConfig(Text(host, "hostip") ?? "localhost", Int(host, "port", 8008, 1, 65535)),
            Debug = Bool(root.Element("debug"), "start", false),
            Xfs = Bool(root.Element("fileSystem"), "xfs", false),
            Filter = filter == null ? FilterConfig.Disabled : ReadFilter(filter),
            Inotify = ReadInotify(inotify),
            Watches = watches,
            Rsync = rsync,
            FailLog = ReadFailLog(sersync.Element("failLog")),
            Crontab = ReadCrontab(sersync.Element("crontab")),
            Plugin = ReadPluginSwitch(sersync.Element("plugin")),
            Plugins = ReadPluginSections(root),
            StateDirectory = stateDir,
        };
    }

    // ---- shape ----

    private void CheckShape(XElement element, ElementSpec spec)
    {
        foreach (var attr in element.Attributes())
        {
            if (attr.Name.Namespace != XNamespace.None || Array.IndexOf(spec.Attributes, attr.Name.LocalName) < 0)
            {
                var allowed = spec.Attributes.Length == 0 ? "none" : string.Join(", ", spec.Attributes);
                throw Fail(attr, $"unknown attribute '{attr.Name}' on <{spec.Name}>; allowed here: {allowed}");
            }
        }

        var seen = new Dictionary<string, XElement>(StringComparer.Ordinal);
        foreach (var node in element.Nodes())
        {
            switch (node)
            {
                case XText text when !string.IsNullOrWhiteSpace(text.Value):
                    throw Fail(text, $"unexpected text {ConfigText.Quote(text.Value.Trim())} inside <{spec.Name}>; only elements and " +
                        "<!-- comments --> belong here (the '#' notes in blog copies of confxml.xml are not XML)");
                case XElement child:
                    var childSpec = child.Name.Namespace == XNamespace.None ? spec.Child(child.Name.LocalName) : null;
                    if (childSpec == null)
                    {
                        throw Fail(child, UnknownElement(child, spec));
                    }

                    if (!childSpec.Repeated)
                    {
                        if (seen.TryGetValue(childSpec.Name, out var first))
                        {
                            throw Fail(child, $"duplicate <{childSpec.Name}> inside <{spec.Name}> (the first is at line {LineOf(first)}); only one is allowed");
                        }

                        seen[childSpec.Name] = child;
                    }

                    if (spec == ConfigSchema.Head && childSpec.Name == "plugin")
                    {
                        childSpec = PluginSpec(child);
                    }

                    CheckShape(child, childSpec);
                    break;
            }
        }
    }

    private static string UnknownElement(XElement child, ElementSpec spec)
    {
        var allowed = spec.Children.Length == 0
            ? "nothing (it takes no child elements)"
            : string.Join(", ", spec.Children.Select(c => $"<{c.Name}>"));
        var hint = spec.Children.FirstOrDefault(c => string.Equals(c.Name, child.Name.LocalName, StringComparison.OrdinalIgnoreCase));
        var didYouMean = hint != null ? $" (names are case-sensitive: did you mean <{hint.Name}>?)" : "";
        return $"unknown element <{child.Name}> inside <{spec.Name}>{didYouMean}; allowed here: {allowed}";
    }

    private ElementSpec PluginSpec(XElement plugin)
    {
        var name = plugin.Attribute("name") ?? throw Fail(plugin, $"<plugin> has no name attribute; expected name=\"{string.Join("|", ConfigSchema.PluginNames)}\"");
        return ConfigSchema.PluginSections.TryGetValue(name.Value, out var spec)
            ? spec
            : throw Fail(name, $"unknown plugin name {ConfigText.Quote(name.Value)}; expected one of {string.Join(", ", ConfigSchema.PluginNames)}");
    }

    // ---- sections ----

    private FilterConfig ReadFilter(XElement filter)
    {
        var excludes = new List<ExcludeRule>();
        foreach (var ex in filter.Elements("exclude"))
        {
            var attr = Required(ex, "expression", "a regular expression such as (.*)\\.svn");
            excludes.Add(new ExcludeRule(attr.Value, CompileExclude(attr), LineOf(attr)));
        }

        return new FilterConfig(Bool(filter, "start", false), excludes);
    }

    private Regex CompileExclude(XAttribute attr)
    {
        var expr = attr.Value;
        if (expr.Length == 0)
        {
            throw Fail(attr, "empty expression; expected a regular expression (an empty one would match the watched root)");
        }

        try
        {
            // Compiled alone first, so a stray ')' cannot close our anchoring group and unanchor the rest.
            _ = new Regex(expr, RegexOptions.CultureInvariant, BacktrackingTimeout);
            var anchored = "^(?:" + expr + ")\\z";
            const RegexOptions options = RegexOptions.CultureInvariant | RegexOptions.Singleline;
            try
            {
                // Linear time in the path length, so no timeout is needed (or wanted: its lazy DFA construction
                // on first use counts against one).
                return new Regex(anchored, options | RegexOptions.NonBacktracking);
            }
            catch (NotSupportedException)
            {
                return new Regex(anchored, options, BacktrackingTimeout);
            }
        }
        catch (ArgumentException ex)
        {
            throw Fail(attr, $"invalid regular expression {ConfigText.Quote(expr)}: {RegexError(ex)}");
        }
    }

    // .NET's message repeats the whole pattern ("Invalid pattern '...' at offset N. Reason."); keep the rest.
    private static string RegexError(ArgumentException ex)
    {
        if (ex is RegexParseException parse)
        {
            var marker = $" at offset {parse.Offset.ToString(CultureInfo.InvariantCulture)}. ";
            var at = ex.Message.LastIndexOf(marker, StringComparison.Ordinal);
            if (at >= 0)
            {
                return $"{ConfigText.Escape(ex.Message[(at + marker.Length)..])} (at offset {parse.Offset.ToString(CultureInfo.InvariantCulture)})";
            }
        }

        return ConfigText.Show(ex.Message, ConfigText.MaxPathShown);
    }

    private InotifyConfig ReadInotify(XElement? inotify)
    {
        var d = InotifyConfig.Stock;
        if (inotify == null)
        {
            return d;
        }

        bool Flag(string name, bool dflt) => Bool(inotify.Element(name), "start", dflt);
        return new InotifyConfig(
            Flag("delete", d.Delete), Flag("createFolder", d.CreateFolder), Flag("createFile", d.CreateFile),
            Flag("closeWrite", d.CloseWrite), Flag("moveFrom", d.MoveFrom), Flag("moveTo", d.MoveTo),
            Flag("attrib", d.Attrib), Flag("modify", d.Modify));
    }

    private RsyncConfig ReadRsync(XElement? rsync)
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
                throw Fail(paramsAttr, $"commonParams: {error}");
            }

            error = CommonParamsSplitter.Validate(words);
            if (error != null)
            {
                throw Fail(paramsAttr, $"commonParams: {error}");
            }

            commonParams = words;
        }

        var ssh = rsync.Element("ssh");
        var sshOn = Bool(ssh, "start", false);
        var sshCommand = "ssh";
        var commandAttr = ssh?.Attribute("command");
        if (commandAttr != null)
        {
            if (string.IsNullOrWhiteSpace(commandAttr.Value) || commandAttr.Value.Any(char.IsControl))
            {
                throw Fail(commandAttr, $"ssh command {ConfigText.Quote(commandAttr.Value)} is empty or has control characters; expected a remote shell command line such as \"ssh -p 2222\"");
            }

            sshCommand = commandAttr.Value.Trim();
        }

        var authEl = rsync.Element("auth");
        var authOn = Bool(authEl, "start", d.Auth.Enabled);
        if (authOn && sshOn)
        {
            throw Fail(authEl, $"<auth start=\"true\"> cannot be combined with <ssh start=\"true\"> (line {LineOf(ssh)}): rsync refuses " +
                "--password-file over ssh (\"The --password-file option may only be used when accessing an rsync daemon\"); " +
                "use ssh keys, or turn ssh off to talk to an rsync daemon");
        }

        var auth = new AuthConfig(authOn, Text(authEl, "users") ?? d.Auth.Users, Text(authEl, "passwordfile") ?? d.Auth.PasswordFile);
        if (authOn)
        {
            CheckAuth(authEl!, auth);
        }

        var portEl = rsync.Element("userDefinedPort");
        var port = new SwitchedNumber(Bool(portEl, "start", false), Int(portEl, "port", d.Port.Value, 1, 65535));
        if (port.Enabled && sshOn)
        {
            throw Fail(portEl, $"<userDefinedPort start=\"true\"> cannot be combined with <ssh start=\"true\"> (line {LineOf(ssh)}): " +
                $"--port only means something to an rsync daemon; put the ssh port in the ssh command, e.g. <ssh start=\"true\" command=\"ssh -p {port.Value}\"/>");
        }

        var timeoutEl = rsync.Element("timeout");
        var timeout = new SwitchedNumber(Bool(timeoutEl, "start", false), Int(timeoutEl, "time", d.Timeout.Value, 1, 86400));

        return new RsyncConfig(commonParams, auth, port, timeout, sshOn) { SshCommand = sshCommand };
    }

    private void CheckAuth(XElement authEl, AuthConfig auth)
    {
        var usersAttr = authEl.Attribute("users");
        var users = auth.Users;
        if (users.Length == 0 || users[0] == '-' || users.Any(c => c is '@' or ':' || char.IsWhiteSpace(c) || char.IsControl(c)))
        {
            throw Fail((XObject?)usersAttr ?? authEl, $"auth users {ConfigText.Quote(users)} is not a valid rsync user name; expected a non-empty name " +
                "without '@', ':', whitespace or a leading '-'");
        }

        var fileAttr = (XObject?)authEl.Attribute("passwordfile") ?? authEl;
        var path = auth.PasswordFile;
        if (!path.StartsWith('/'))
        {
            throw Fail(fileAttr, $"passwordfile {ConfigText.Quote(path)} is not an absolute path; expected /absolute/path (e.g. /etc/rsync.pas)");
        }

        FileStatus? st;
        try
        {
            st = FileSystemBytes.Stat(Encoding.UTF8.GetBytes(path));
            if (st is { Type: EntryType.Symlink })
            {
                var target = File.ResolveLinkTarget(path, returnFinalTarget: true);
                st = target == null ? null : FileSystemBytes.Stat(Encoding.UTF8.GetBytes(target.FullName));
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw Fail(fileAttr, $"passwordfile {ConfigText.ShowPath(path)} cannot be examined: {ConfigText.Escape(ex.Message)}");
        }

        if (st == null)
        {
            throw Fail(fileAttr, $"passwordfile {ConfigText.ShowPath(path)} does not exist; expected a file holding the rsync daemon password (mode 600)");
        }

        if (st.Value.Type != EntryType.File)
        {
            throw Fail(fileAttr, $"passwordfile {ConfigText.ShowPath(path)} is not a regular file; expected a file holding the rsync daemon password");
        }

        if ((st.Value.Mode & 0x7) != 0)
        {
            throw Fail(fileAttr, $"passwordfile {ConfigText.ShowPath(path)} has mode {Convert.ToString(st.Value.Mode & 0xFFF, 8)}, which other users can access; " +
                $"rsync refuses it (\"password file must not be other-accessible\"): run chmod 600 {ConfigText.ShowPath(path)}");
        }

        if (Environment.IsPrivilegedProcess && st.Value.Uid != 0)
        {
            throw Fail(fileAttr, $"passwordfile {ConfigText.ShowPath(path)} is owned by uid {st.Value.Uid}, but sersyncd runs as root; rsync refuses it " +
                $"(\"password file must be owned by root when running as root\"): run chown root {ConfigText.ShowPath(path)}");
        }

        try
        {
            using var probe = File.OpenRead(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw Fail(fileAttr, $"passwordfile {ConfigText.ShowPath(path)} cannot be read: {ConfigText.Escape(ex.Message)}");
        }
    }

    private List<WatchConfig> ReadWatches(XElement sersync, bool ssh)
    {
        var watches = new List<WatchConfig>();
        var remoteAttrs = new List<(XAttribute Attr, string Path)>();
        foreach (var local in sersync.Elements("localpath"))
        {
            var watchAttr = Required(local, "watch", "the absolute path of the directory to mirror");
            var path = AbsolutePath(watchAttr, "watch");
            CheckDirectory(watchAttr, path);
            foreach (var other in watches)
            {
                if (IsSameOrInside(path, other.Path) || IsSameOrInside(other.Path, path))
                {
                    var how = path == other.Path ? "the same directory as" : "nested with";
                    throw Fail(watchAttr, $"watch {ConfigText.ShowPath(path)} is {how} watch {ConfigText.ShowPath(other.Path)} (line {other.Line}); watched directories must be disjoint");
                }
            }

            var remotes = new List<RemoteConfig>();
            foreach (var remote in local.Elements("remote"))
            {
                var r = ReadRemote(remote, ssh);
                if (remotes.Find(x => x.Label == r.Label) is { } dup)
                {
                    throw Fail(remote, $"remote {ConfigText.Show(r.Label)} is listed twice under this <localpath> (also at line {dup.Line})");
                }

                if (r.Path != null)
                {
                    remoteAttrs.Add((remote.Attribute("path")!, r.Path));
                }

                remotes.Add(r);
            }

            if (remotes.Count == 0)
            {
                throw Fail(local, $"<localpath watch={ConfigText.Quote(watchAttr.Value)}> has no <remote>; expected at least one " +
                    "<remote ip=\"HOST\" name=\"MODULE\"/> or <remote path=\"/abs/dir\"/>");
            }

            watches.Add(new WatchConfig(path, remotes, LineOf(local)));
        }

        if (watches.Count == 0)
        {
            throw Fail(sersync, "<sersync> has no <localpath>; expected at least one <localpath watch=\"/dir\"> with a <remote>");
        }

        foreach (var (attr, target) in remoteAttrs)
        {
            foreach (var w in watches)
            {
                if (IsSameOrInside(target, w.Path))
                {
                    throw Fail(attr, $"remote path {ConfigText.ShowPath(target)} is inside (or equal to) the watched directory {ConfigText.ShowPath(w.Path)} (line {w.Line}); " +
                        "a target inside its source would receive its own copies forever");
                }

                if (IsSameOrInside(w.Path, target))
                {
                    throw Fail(attr, $"remote path {ConfigText.ShowPath(target)} contains the watched directory {ConfigText.ShowPath(w.Path)} (line {w.Line}); " +
                        "a full sync with --delete into it would remove the source");
                }
            }
        }

        return watches;
    }

    private RemoteConfig ReadRemote(XElement remote, bool ssh)
    {
        var ip = remote.Attribute("ip");
        var name = remote.Attribute("name");
        var path = remote.Attribute("path");
        if (path != null)
        {
            if (ip != null || name != null)
            {
                throw Fail(remote, "<remote> mixes path with ip/name; expected either ip=\"HOST\" name=\"MODULE\" (rsync daemon or ssh) " +
                    "or path=\"/abs/dir\" (local directory)");
            }

            return new RemoteConfig(RemoteKind.LocalDirectory, null, null, AbsolutePath(path, "remote path"), LineOf(remote));
        }

        if (ip == null || name == null)
        {
            var missing = ip == null ? "ip" : "name";
            throw Fail(remote, $"<remote> has no {missing} attribute; expected ip=\"HOST\" name=\"MODULE\" (or path=\"/abs/dir\" for a local directory)");
        }

        if (!IsPlausibleHost(ip.Value))
        {
            throw Fail(ip, $"remote ip {ConfigText.Quote(ip.Value)} is not a host name or address; expected e.g. 192.168.1.5, backup.example.com or [2001:db8::5] " +
                "(no spaces, '@', '/', ':' or leading '-'; a user name goes in <auth users>)");
        }

        if (name.Value.Length == 0 || name.Value[0] == '-' || name.Value.Any(char.IsControl))
        {
            throw Fail(name, $"remote name {ConfigText.Quote(name.Value)} is not valid; expected a non-empty rsync module (or remote directory with ssh), " +
                "without a leading '-' or control characters");
        }

        return new RemoteConfig(ssh ? RemoteKind.Ssh : RemoteKind.RsyncDaemon, ip.Value, name.Value, null, LineOf(remote));
    }

    private static bool IsPlausibleHost(string host)
    {
        if (host.Length == 0 || host[0] == '-')
        {
            return false;
        }

        if (host[0] == '[')
        {
            // A bracketed IPv6 literal, optionally with a %zone (an interface name).
            if (host.Length < 4 || host[^1] != ']')
            {
                return false;
            }

            var inner = host[1..^1];
            var zone = inner.IndexOf('%', StringComparison.Ordinal);
            var address = zone < 0 ? inner : inner[..zone];
            return address.Contains(':', StringComparison.Ordinal)
                && address.All(c => char.IsAsciiHexDigit(c) || c is ':' or '.')
                && (zone < 0 || (zone < inner.Length - 1 && inner[(zone + 1)..].All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.')));
        }

        return !host.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || c is '@' or '/' or ':' or '[' or ']' or '\\');
    }

    private FailLogConfig ReadFailLog(XElement? failLog)
    {
        if (failLog == null)
        {
            return FailLogConfig.Absent;
        }

        var attr = Required(failLog, "path", "the absolute path of the retry script, e.g. /tmp/rsync_fail_log.sh");
        if (attr.Value.EndsWith('/'))
        {
            throw Fail(attr, $"failLog path {ConfigText.Quote(attr.Value)} ends with '/'; expected a file path");
        }

        var path = AbsolutePath(attr, "failLog path");
        var dir = Path.GetDirectoryName(path) ?? "/";
        if (Directory.Exists(path))
        {
            throw Fail(attr, $"failLog path {ConfigText.ShowPath(path)} is a directory; expected a file path (it is created if missing)");
        }

        if (!Directory.Exists(dir))
        {
            throw Fail(attr, $"failLog path {ConfigText.ShowPath(path)}: its directory {ConfigText.ShowPath(dir)} does not exist; expected an existing directory");
        }

        return new FailLogConfig(path, Int(failLog, "timeToExecute", FailLogConfig.Absent.TimeToExecuteMinutes, 1, int.MaxValue));
    }

    private CrontabConfig ReadCrontab(XElement? crontab)
    {
        var d = CrontabConfig.Disabled;
        if (crontab == null)
        {
            return d;
        }

        var enabled = Bool(crontab, "start", false);
        var schedule = Int(crontab, "schedule", d.ScheduleMinutes, int.MinValue, int.MaxValue);
        if (schedule < 1)
        {
            if (enabled)
            {
                throw Fail(crontab.Attribute("schedule"), $"crontab schedule \"{schedule}\" is out of range; expected minutes between full syncs, at least 1");
            }

            schedule = d.ScheduleMinutes; // sersync's meaning of <= 0
        }

        var filter = crontab.Element("crontabfilter");
        var excludes = new List<string>();
        foreach (var ex in filter?.Elements("exclude") ?? [])
        {
            var attr = Required(ex, "expression", "an rsync exclude pattern such as *.php");
            if (attr.Value.Length == 0 || attr.Value.Any(c => c is '\n' or '\r' or '\0'))
            {
                throw Fail(attr, $"crontab exclude {ConfigText.Quote(attr.Value)} is empty or spans lines; expected one rsync pattern such as *.php or info/*");
            }

            excludes.Add(attr.Value);
        }

        return new CrontabConfig(enabled, schedule, Bool(filter, "start", false), excludes);
    }

    private PluginSwitch ReadPluginSwitch(XElement? plugin)
    {
        if (plugin == null)
        {
            return new PluginSwitch(false, "command");
        }

        var nameAttr = plugin.Attribute("name");
        var name = nameAttr?.Value ?? "command";
        if (Array.IndexOf(ConfigSchema.PluginNames, name) < 0)
        {
            throw Fail((XObject?)nameAttr ?? plugin, $"unknown plugin name {ConfigText.Quote(name)}; expected one of {string.Join(", ", ConfigSchema.PluginNames)}");
        }

        var enabled = Bool(plugin, "start", false);
        if (enabled)
        {
            throw Fail(plugin, $"plugin '{name}' is not supported by this version of sersyncd; set start=\"false\"");
        }

        return new PluginSwitch(enabled, name);
    }

    private Dictionary<string, PluginSection> ReadPluginSections(XElement root)
    {
        var sections = new Dictionary<string, PluginSection>(StringComparer.Ordinal);
        foreach (var plugin in root.Elements("plugin"))
        {
            var name = plugin.Attribute("name")!.Value; // CheckShape made sure it exists and is known
            if (sections.TryGetValue(name, out var first))
            {
                throw Fail(plugin, $"duplicate <plugin name=\"{name}\"> (the first is at line {first.Line}); only one section per plugin is allowed");
            }

            var settings = new List<KeyValuePair<string, string>>();
            CollectSettings(plugin, "", settings);
            sections[name] = new PluginSection(name, settings, LineOf(plugin));
        }

        return sections;
    }

    // Plugin paths are kept as written: the plugins do not run yet, and the stock file names paths that rarely exist.
    private void CollectSettings(XElement element, string prefix, List<KeyValuePair<string, string>> settings)
    {
        foreach (var child in element.Elements())
        {
            var path = prefix.Length == 0 ? child.Name.LocalName : $"{prefix}/{child.Name.LocalName}";
            foreach (var attr in child.Attributes())
            {
                var key = $"{path}@{attr.Name.LocalName}";
                switch (key)
                {
                    case "param@ignoreError" or "filter@start" or "localpath/regexurl@regex":
                        _ = Bool(child, attr.Name.LocalName, false);
                        break;
                    case "localpath/deshost@port" or "localpath/cdninfo@port":
                        _ = Int(child, attr.Name.LocalName, 0, 1, 65535);
                        break;
                    case "filter/include@expression":
                        _ = CompileExclude(attr);
                        break;
                }

                settings.Add(new(key, attr.Value));
            }

            CollectSettings(child, path, settings);
        }
    }

    private string? ReadStateDirectory(XElement? state, List<WatchConfig> watches)
    {
        if (state == null)
        {
            return null;
        }

        var attr = Required(state, "dir", "an absolute directory for sersyncd's journal, e.g. /var/lib/sersyncd/NAME");
        var dir = AbsolutePath(attr, "state dir");
        foreach (var w in watches)
        {
            if (IsSameOrInside(dir, w.Path))
            {
                throw Fail(attr, $"state dir {ConfigText.ShowPath(dir)} is inside the watched directory {ConfigText.ShowPath(w.Path)} (line {w.Line}); journal writes would trigger syncs of themselves");
            }
        }

        return dir;
    }

    // ---- values ----

    private static string? Text(XElement? element, string attribute) => element?.Attribute(attribute)?.Value;

    private XAttribute Required(XElement element, string attribute, string expected) =>
        element.Attribute(attribute) ?? throw Fail(element, $"<{element.Name}> has no {attribute} attribute; expected {attribute}=\"...\": {expected}");

    private bool Bool(XElement? element, string attribute, bool dflt)
    {
        var attr = element?.Attribute(attribute);
        return attr?.Value switch
        {
            null => dflt,
            "true" => true,
            "false" => false,
            _ => throw Fail(attr, $"{attribute}={ConfigText.Quote(attr.Value)} on <{element!.Name}>: expected true or false"),
        };
    }

    private int Int(XElement? element, string attribute, int dflt, int min, int max)
    {
        var attr = element?.Attribute(attribute);
        if (attr == null)
        {
            return dflt;
        }

        if (!int.TryParse(attr.Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            throw Fail(attr, $"{attribute}={ConfigText.Quote(attr.Value)} on <{element!.Name}>: expected an integer{Range(min, max)}");
        }

        if (value < min || value > max)
        {
            throw Fail(attr, $"{attribute}={ConfigText.Quote(attr.Value)} on <{element!.Name}> is out of range: expected an integer{Range(min, max)}");
        }

        return value;
    }

    private static string Range(int min, int max) => (min, max) switch
    {
        (int.MinValue, int.MaxValue) => "",
        (_, int.MaxValue) => $" of at least {min}",
        _ => $" from {min} to {max}",
    };

    /// <summary>Absolute, without '.'/'..' components; repeated and trailing slashes removed.</summary>
    private string AbsolutePath(XAttribute attr, string what)
    {
        var value = attr.Value;
        if (!value.StartsWith('/'))
        {
            throw Fail(attr, $"{what} {ConfigText.Quote(value)} is not an absolute path; expected a path starting with '/'");
        }

        if (value.Any(char.IsControl))
        {
            throw Fail(attr, $"{what} {ConfigText.Quote(value)} contains control characters; expected a plain absolute path");
        }

        var parts = value.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Any(p => p is "." or ".."))
        {
            throw Fail(attr, $"{what} {ConfigText.Quote(value)} contains '.' or '..' components; expected a plain absolute path");
        }

        return "/" + string.Join('/', parts);
    }

    private void CheckDirectory(XAttribute attr, string path)
    {
        FileStatus? st;
        try
        {
            st = FileSystemBytes.Stat(Encoding.UTF8.GetBytes(path));
        }
        catch (IOException ex)
        {
            throw Fail(attr, $"watch {ConfigText.ShowPath(path)} cannot be examined: {ConfigText.Escape(ex.Message)}");
        }

        if (st == null)
        {
            throw Fail(attr, $"watch directory {ConfigText.ShowPath(path)} does not exist; expected an existing directory");
        }

        var isDirectory = st.Value.Type == EntryType.Directory
            || (st.Value.Type == EntryType.Symlink && Directory.Exists(path));
        if (!isDirectory)
        {
            var kind = st.Value.Type switch
            {
                EntryType.File => "a regular file",
                EntryType.Symlink => "a symlink that does not lead to a directory",
                _ => "not a regular file or directory",
            };
            throw Fail(attr, $"watch {ConfigText.ShowPath(path)} is not a directory (it is {kind}); expected an existing directory");
        }
    }

    private static bool IsSameOrInside(string path, string dir) =>
        path == dir || dir == "/" || path.StartsWith(dir + "/", StringComparison.Ordinal);

    private static int LineOf(XObject? o) => o is IXmlLineInfo li && li.HasLineInfo() ? li.LineNumber : 0;

    private ConfigException Fail(XObject? at, string message)
    {
        if (at is not IXmlLineInfo li || !li.HasLineInfo())
        {
            return new ConfigException(file, 0, 0, message);
        }

        var (line, column) = (li.LineNumber, li.LinePosition);
        if (at is XText text)
        {
            (line, column) = FirstVisible(text.Value, line, column);
        }

        return new ConfigException(file, line, column, message);
    }

    /// <summary>Where the first visible character of a text node starting at <paramref name="line"/>:<paramref
    /// name="column"/> is in the source. The value alone cannot tell: a line break in it may be a literal one or a
    /// character reference such as <c>&amp;#10;</c>, so this walks the source text, checking it against the value,
    /// and keeps the node's own position whenever the two do not agree.</summary>
    private (int Line, int Column) FirstVisible(string value, int line, int column)
    {
        var lead = 0;
        while (lead < value.Length && char.IsWhiteSpace(value[lead]))
        {
            lead++;
        }

        var raw = lead == 0 || lead == value.Length ? null : _source.Value;
        var i = raw == null ? -1 : OffsetOf(raw, line, column);
        if (i < 0)
        {
            return (line, column);
        }

        var (l, c) = (line, column);
        for (var k = 0; k < lead; k++)
        {
            if (i >= raw!.Length)
            {
                return (line, column);
            }

            var ch = raw[i];
            if (ch is '\r' or '\n')
            {
                // Literal line breaks (CR, LF, CR LF) reach the value as one LF.
                if (value[k] != '\n')
                {
                    return (line, column);
                }

                i += ch == '\r' && i + 1 < raw.Length && raw[i + 1] == '\n' ? 2 : 1;
                (l, c) = (l + 1, 1);
            }
            else if (ch == '&')
            {
                var end = raw.IndexOf(';', i, Math.Min(12, raw.Length - i));
                if (end < 0 || CharacterReference(raw.AsSpan(i + 1, end - i - 1)) != value[k])
                {
                    return (line, column);
                }

                c += end + 1 - i;
                i = end + 1;
            }
            else
            {
                if (ch != value[k])
                {
                    return (line, column);
                }

                i++;
                c++;
            }
        }

        return (l, c);
    }

    /// <summary>The offset of 1-based <paramref name="line"/>:<paramref name="column"/> as XmlReader counts them
    /// (CR, LF and CR LF end a line), or -1 if <paramref name="text"/> is shorter.</summary>
    private static int OffsetOf(string text, int line, int column)
    {
        var i = 0;
        for (var l = 1; l < line; l++)
        {
            var next = text.AsSpan(i).IndexOfAny('\r', '\n');
            if (next < 0)
            {
                return -1;
            }

            i += next;
            i += text[i] == '\r' && i + 1 < text.Length && text[i + 1] == '\n' ? 2 : 1;
        }

        var offset = i + column - 1;
        return column >= 1 && offset <= text.Length && text.AsSpan(i, column - 1).IndexOfAny('\r', '\n') < 0 ? offset : -1;
    }

    /// <summary>The character of a reference such as <c>#10</c> or <c>#x9</c> (without <c>&amp;</c> and
    /// <c>;</c>), or -1 for anything else (named entities, characters beyond U+FFFF).</summary>
    private static int CharacterReference(ReadOnlySpan<char> body)
    {
        if (body.Length < 2 || body[0] != '#')
        {
            return -1;
        }

        var hex = body[1] == 'x';
        var digits = hex ? body[2..] : body[1..];
        var style = hex ? NumberStyles.AllowHexSpecifier : NumberStyles.None;
        return int.TryParse(digits, style, CultureInfo.InvariantCulture, out var code) && code is >= 0 and <= 0xFFFF ? code : -1;
    }
}
