// Why plugin sections are read strictly even when off: sersync's stock file carries all of them, so they must load
// as they are (the stock paths rarely exist, so watch paths are checked against the sync roots only for a plugin
// that is on), but a typo in a section an operator is about to switch on is better reported now, with its line.
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace SerSync.Configuration;

/// <summary>Reads the plugin switches <c>&lt;sersync&gt;&lt;plugin start name&gt;</c> and the top-level
/// <c>&lt;plugin name="..."&gt;</c> sections into typed settings.</summary>
internal sealed class PluginSectionReader(ConfigErrors errors, ConfigAttributeReader values, FilterExpressionCompiler patterns)
{
    private const int MaxSeconds = 86400;

    /// <summary>The names switched on, in file order; a name switched on twice is an error.</summary>
    public List<string> ReadSwitches(XElement sersync)
    {
        var enabled = new List<string>();
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var plugin in sersync.Elements("plugin"))
        {
            var nameAttr = plugin.Attribute("name");
            var name = nameAttr?.Value ?? "command";
            if (Array.IndexOf(ConfigSchema.PluginNames, name) < 0)
            {
                throw errors.Fail((XObject?)nameAttr ?? plugin, $"unknown plugin name {ConfigText.Quote(name)}; expected one of {string.Join(", ", ConfigSchema.PluginNames)}");
            }

            var line = ConfigSourcePositions.LineOf(plugin);
            if (!seen.TryAdd(name, line))
            {
                throw errors.Fail(plugin, $"duplicate <plugin name=\"{name}\"> switch under <sersync> (the first is at line {seen[name]}); one switch per plugin");
            }

            if (values.Bool(plugin, "start", false))
            {
                enabled.Add(name);
            }
        }

        return enabled;
    }

    public PluginSettings ReadSections(XElement root)
    {
        var lines = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var plugin in root.Elements("plugin"))
        {
            var name = plugin.Attribute("name")!.Value; // ConfigShapeChecker made sure it exists and is known
            if (!lines.TryAdd(name, ConfigSourcePositions.LineOf(plugin)))
            {
                throw errors.Fail(plugin, $"duplicate <plugin name=\"{name}\"> (the first is at line {lines[name]}); only one section per plugin is allowed");
            }
        }

        var settings = PluginSettings.None;
        foreach (var plugin in root.Elements("plugin"))
        {
            var name = plugin.Attribute("name")!.Value;
            var line = lines[name];
            var maxDelay = Seconds(plugin, "maxDelay", PluginConfig.DefaultMaxDelay, 0);
            settings = name switch
            {
                "command" => settings with { Command = ReadCommand(plugin, maxDelay, line) },
                "socket" => settings with { Socket = ReadSocket(plugin, maxDelay, line) },
                "refreshCDN" => settings with { RefreshCdn = ReadCdn(plugin, maxDelay, line) },
                _ => settings with { Http = ReadHttp(plugin, maxDelay, line) },
            };
        }

        return settings;
    }

    /// <summary>Every plugin that is on needs a section, and (in sync mode) a watch path that is one of the sync roots
    /// or a directory inside one: the plugin fires only for changes the targets receive.</summary>
    public void CheckEnabled(XElement root, XElement sersync, IReadOnlyList<string> enabled, PluginSettings settings, IReadOnlyList<WatchConfig> watches)
    {
        foreach (var name in enabled)
        {
            var at = sersync.Elements("plugin").First(p => (p.Attribute("name")?.Value ?? "command") == name);
            var section = settings.Get(name)
                ?? throw errors.Fail(at, $"plugin '{name}' is switched on but the file has no <plugin name=\"{name}\"> section to configure it");
            if (section.Watch is { } watch && !watches.Any(w => ConfigAttributeReader.IsSameOrInside(watch, w.Path)))
            {
                var localpath = root.Elements("plugin").First(p => p.Attribute("name")!.Value == name).Element("localpath");
                throw errors.Fail((XObject?)localpath?.Attribute("watch") ?? at, $"plugin '{name}' watches {ConfigText.ShowPath(watch)}, which is not one of the <sersync><localpath> roots ({string.Join(", ", watches.Select(w => ConfigText.ShowPath(w.Path)))}) or a directory inside one; in sync mode a plugin fires only for changes the targets receive (run it alone with -m {name} to watch another directory)");
            }
        }
    }

    private CommandPluginConfig ReadCommand(XElement plugin, TimeSpan maxDelay, int line)
    {
        var param = plugin.Element("param");
        var prefix = Words(param?.Attribute("prefix"), "prefix");
        var suffix = Words(param?.Attribute("suffix"), "suffix");
        if (param?.Attribute("prefix") is { } p && prefix.Count == 0)
        {
            throw errors.Fail(p, "command plugin prefix is empty; expected the program to run, e.g. prefix=\"/usr/local/bin/on-change\"");
        }

        var filter = plugin.Element("filter");
        List<Regex>? includes = null;
        var includeRegexes = new List<Regex>();
        foreach (var include in filter?.Elements("include") ?? [])
        {
            includeRegexes.Add(patterns.Compile(values.Required(include, "expression", "a regular expression matched against the changed file's absolute path")));
        }

        if (values.Bool(filter, "start", false))
        {
            includes = includeRegexes;
        }

        return new CommandPluginConfig(
            prefix,
            suffix,
            values.Bool(param, "ignoreError", false),
            values.Bool(param, "batch", false),
            Seconds(param, "timeout", TimeSpan.FromSeconds(60), 1),
            values.Int(param, "concurrency", 4, 1, 64),
            includes,
            maxDelay,
            line);
    }

    private SocketPluginConfig ReadSocket(XElement plugin, TimeSpan maxDelay, int line)
    {
        var (localpath, watch) = LocalPath(plugin, "socket");
        var deshost = Child(localpath, "deshost", "<deshost ip=\"...\" port=\"...\"/>: the listener to tell");
        var ip = Host(values.Required(deshost, "ip", "the listener's address or host name"));
        if (deshost.Attribute("port") is null)
        {
            throw errors.Fail(deshost, "<deshost> has no port attribute; expected port=\"...\": the listener's TCP port");
        }

        var format = ConfigAttributeReader.Text(deshost, "format") switch
        {
            null or "frames" => SocketFormat.Frames,
            "sersync" => SocketFormat.Sersync,
            var other => throw errors.Fail(deshost.Attribute("format"), $"format={ConfigText.Quote(other)} on <deshost>: expected frames (sersyncd's: event, type and path per change) or sersync (the path's bytes alone, one connection per path)"),
        };
        return new SocketPluginConfig(watch, ip, values.Int(deshost, "port", 0, 1, 65535), format, Seconds(deshost, "timeout", TimeSpan.FromSeconds(10), 1), maxDelay, line);
    }

    private CdnPluginConfig ReadCdn(XElement plugin, TimeSpan maxDelay, int line)
    {
        var (localpath, watch) = LocalPath(plugin, "refreshCDN");
        var regexurl = localpath.Element("regexurl");
        var regex = values.Bool(regexurl, "regex", false);
        var sendurl = Child(localpath, "sendurl", "<sendurl base=\"http://...\"/>: the public URL of the watched directory");
        var baseUrl = values.Required(sendurl, "base", "the public URL of the watched directory, e.g. http://pic.example.com/cms");
        if (!IsHttpUrl(baseUrl.Value))
        {
            throw errors.Fail(baseUrl, $"sendurl base {ConfigText.Quote(baseUrl.Value)} is not an http:// or https:// URL");
        }

        Regex? match = null;
        if (regex)
        {
            var attr = values.Required(regexurl!, "match", "a regular expression searched in the changed file's absolute path; its group 1 goes into the URL");
            match = Searching(attr);
        }

        ChinaCacheConfig? chinaCache = null;
        if (localpath.Element("cdninfo") is { } cdninfo)
        {
            chinaCache = new ChinaCacheConfig(
                Host(values.Required(cdninfo, "domainname", "the CDN's purge host, e.g. ccms.chinacache.com")),
                values.Int(cdninfo, "port", 80, 1, 65535),
                ConfigAttributeReader.Text(cdninfo, "username") ?? "",
                ConfigAttributeReader.Text(cdninfo, "passwd") ?? "");
        }

        PurgeConfig? purge = null;
        if (localpath.Element("purge") is { } p)
        {
            var method = ConfigAttributeReader.Text(p, "method") ?? "PURGE";
            if (method.Length == 0 || !method.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            {
                throw errors.Fail(p.Attribute("method"), $"purge method {ConfigText.Quote(method)} is not an HTTP method; expected e.g. PURGE, BAN, POST, DELETE");
            }

            var url = ConfigAttributeReader.Text(p, "url") ?? "{url}";
            if (!url.StartsWith("{url}", StringComparison.Ordinal) && !IsHttpUrl(url))
            {
                throw errors.Fail(p.Attribute("url"), $"purge url {ConfigText.Quote(url)} is not an http:// or https:// URL template (or one starting with {{url}})");
            }

            var headers = new List<KeyValuePair<string, string>>();
            foreach (var h in p.Elements("header"))
            {
                var name = values.Required(h, "name", "an HTTP header name, e.g. Authorization");
                if (name.Value.Length == 0 || !name.Value.All(c => char.IsAsciiLetterOrDigit(c) || "-_!#$%&'*+.^`|~".Contains(c)))
                {
                    throw errors.Fail(name, $"header name {ConfigText.Quote(name.Value)} is not an HTTP header name");
                }

                var value = values.Required(h, "value", "the header's value");
                if (value.Value.Any(c => c is '\r' or '\n' or '\0'))
                {
                    throw errors.Fail(h, $"header {name.Value}'s value spans lines; expected one line");
                }

                headers.Add(new(name.Value, value.Value));
            }

            purge = new PurgeConfig(method, url, ConfigAttributeReader.Text(p, "body"), headers, values.Int(p, "maxUrls", 100, 1, 10000));
        }

        if (chinaCache is null && purge is null)
        {
            throw errors.Fail(localpath, "refreshCDN has neither <cdninfo> (ChinaCache, as sersync) nor <purge> (an HTTP purge); expected one of them");
        }

        return new CdnPluginConfig(watch, new CdnUrlConfig(baseUrl.Value.TrimEnd('/'), match), chinaCache, purge, Seconds(localpath, "timeout", TimeSpan.FromSeconds(10), 1), maxDelay, line);
    }

    private HttpPluginConfig ReadHttp(XElement plugin, TimeSpan maxDelay, int line)
    {
        var (localpath, watch) = LocalPath(plugin, "http");
        var deshost = Child(localpath, "deshost", "<deshost url=\"http://...\"/>: where to POST");
        var urlAttr = values.Required(deshost, "url", "the URL to POST to, e.g. http://127.0.0.1:8080/hook");
        var text = urlAttr.Value.Contains("://", StringComparison.Ordinal) ? urlAttr.Value : "http://" + urlAttr.Value;
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.Host.Length == 0)
        {
            throw errors.Fail(urlAttr, $"url {ConfigText.Quote(urlAttr.Value)} is not an http:// or https:// URL");
        }

        if (deshost.Attribute("port") is not null && uri.IsDefaultPort && !HasExplicitPort(text))
        {
            uri = new UriBuilder(uri) { Port = values.Int(deshost, "port", 80, 1, 65535) }.Uri;
        }
        else
        {
            _ = values.Int(deshost, "port", 80, 1, 65535);
        }

        var format = ConfigAttributeReader.Text(deshost, "format") switch
        {
            null or "json" => HttpFormat.Json,
            "sersync" => HttpFormat.Sersync,
            var other => throw errors.Fail(deshost.Attribute("format"), $"format={ConfigText.Quote(other)} on <deshost>: expected json (one POST per batch) or sersync (sersync's form POST per path)"),
        };
        string? secret = null;
        if (deshost.Attribute("secret") is { } s)
        {
            if (deshost.Attribute("secretFile") is not null)
            {
                throw errors.Fail(s, "<deshost> has both secret and secretFile; give one");
            }

            secret = s.Value.Length > 0 ? s.Value : throw errors.Fail(s, "secret is empty; expected the shared secret that signs each body");
        }
        else if (deshost.Attribute("secretFile") is { } f)
        {
            var path = values.AbsolutePath(f, "secretFile");
            try
            {
                secret = File.ReadLines(path).FirstOrDefault()?.TrimEnd('\r');
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw errors.Fail(f, $"secretFile {ConfigText.ShowPath(path)} cannot be read: {ex.Message}");
            }

            if (string.IsNullOrEmpty(secret))
            {
                throw errors.Fail(f, $"secretFile {ConfigText.ShowPath(path)} is empty; expected the shared secret on its first line");
            }
        }

        return new HttpPluginConfig(watch, uri, format, secret, Seconds(deshost, "timeout", TimeSpan.FromSeconds(10), 1), maxDelay, line);
    }

    private (XElement LocalPath, string Watch) LocalPath(XElement plugin, string name)
    {
        var localpath = plugin.Element("localpath")
            ?? throw errors.Fail(plugin, $"<plugin name=\"{name}\"> has no <localpath watch=\"...\">; expected the directory whose changes it reports");
        var watch = values.AbsolutePath(values.Required(localpath, "watch", "the directory whose changes the plugin reports"), $"{name} plugin watch");
        return (localpath, watch);
    }

    private XElement Child(XElement parent, string name, string expected) =>
        parent.Element(name) ?? throw errors.Fail(parent, $"<{parent.Name}> has no <{name}>; expected {expected}");

    private List<string> Words(XAttribute? attr, string what)
    {
        if (attr is null)
        {
            return [];
        }

        if (!CommonParamsSplitter.TrySplit(attr.Value, out var words, out var error))
        {
            throw errors.Fail(attr, $"command plugin {what} {ConfigText.Quote(attr.Value)}: {error}");
        }

        return words;
    }

    private string Host(XAttribute attr)
    {
        var host = attr.Value.Trim();
        if (host.Length == 0 || host.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || c is '/' or '@'))
        {
            throw errors.Fail(attr, $"{attr.Name.LocalName}={ConfigText.Quote(attr.Value)}: expected a host name or an IPv4 or IPv6 address");
        }

        return host.StartsWith('[') && host.EndsWith(']') ? host[1..^1] : host;
    }

    private TimeSpan Seconds(XElement? element, string attribute, TimeSpan dflt, int min) =>
        element?.Attribute(attribute) is null ? dflt : TimeSpan.FromSeconds(values.Int(element, attribute, 0, min, MaxSeconds));

    private Regex Searching(XAttribute attr)
    {
        try
        {
            return new Regex(attr.Value, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        }
        catch (ArgumentException ex)
        {
            throw errors.Fail(attr, $"invalid regular expression {ConfigText.Quote(attr.Value)}: {ConfigText.Show(ex.Message, ConfigText.MaxPathShown)}");
        }
    }

    // Placeholders stand for text of their kind ({path} a path, the others a word), so a template checks as a URL.
    private static bool IsHttpUrl(string text) =>
        Uri.TryCreate(
            Regex.Replace(text.Replace("{path}", "/p", StringComparison.Ordinal), "\\{[a-z_]+\\}", "x", RegexOptions.None, TimeSpan.FromSeconds(1)),
            UriKind.Absolute,
            out var u)
        && u.Scheme is "http" or "https" && u.Host.Length > 0;

    private static bool HasExplicitPort(string url)
    {
        var rest = url[(url.IndexOf("://", StringComparison.Ordinal) + 3)..];
        var authority = rest.Split('/', '?', '#')[0];
        return authority.LastIndexOf(':') > authority.LastIndexOf(']');
    }
}
