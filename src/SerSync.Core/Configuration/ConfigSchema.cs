namespace SerSync.Configuration;

/// <summary>One element the loader accepts: its attributes and children. <paramref name="Repeated"/> marks elements
/// that may appear more than once in their parent.</summary>
internal sealed record ElementSpec(string Name, string[] Attributes, ElementSpec[] Children, bool Repeated = false)
{
    public ElementSpec? Child(string name) => Array.Find(Children, c => c.Name == name);
}

/// <summary>sersync 2.5's confxml.xml shape plus sersyncd's additions (<c>remote@path</c>, <c>ssh@command</c>,
/// <c>state</c>, several <c>&lt;sersync&gt;&lt;plugin&gt;</c> switches, the plugins' extra attributes). The top-level <c>&lt;plugin&gt;</c> is special: its content depends on its name.</summary>
internal static class ConfigSchema
{
    private static ElementSpec Switch(string name, params string[] extra) => new(name, ["start", .. extra], []);

    /// <summary><c>&lt;rsync&gt;</c>, shared under <c>&lt;sersync&gt;</c> or a target's own under <c>&lt;remote&gt;</c>.</summary>
    private static ElementSpec Rsync { get; } = new("rsync", [],
    [
        new("commonParams", ["params"], []),
        Switch("auth", "users", "passwordfile"),
        Switch("userDefinedPort", "port"),
        Switch("timeout", "time"),
        Switch("ssh", "command", "user", "port", "identity", "keepOpen"),
    ]);

    /// <summary><c>&lt;deleteGuard&gt;</c>, for every root under <c>&lt;sersync&gt;</c> or one root under its <c>&lt;localpath&gt;</c>.</summary>
    private static ElementSpec DeleteGuard { get; } = Switch("deleteGuard", "percent", "minFiles");

    /// <summary><c>&lt;journal maxSize&gt;</c>, for every root under <c>&lt;sersync&gt;</c> or one root under its <c>&lt;localpath&gt;</c>.</summary>
    private static ElementSpec Journal { get; } = new("journal", ["maxSize"], []);

    public static ElementSpec Sersync { get; } = new("sersync", [],
    [
        new("localpath", ["watch"], [new("remote", ["ip", "name", "path"], [Rsync], Repeated: true), DeleteGuard, Journal], Repeated: true),
        Rsync,
        new("failLog", ["path", "timeToExecute"], []),
        new("crontab", ["start", "schedule"],
        [
            new("crontabfilter", ["start"], [new("exclude", ["expression"], [], Repeated: true)]),
        ]),
        new("audit", ["start", "schedule", "repair"], []),
        new("plugin", ["start", "name"], [], Repeated: true),
        new("state", ["dir"], []),
        DeleteGuard,
        Journal,
    ]);

    /// <summary>Top-level plugin sections by name; each spec's children describe the section's content.</summary>
    public static IReadOnlyDictionary<string, ElementSpec> PluginSections { get; } = new Dictionary<string, ElementSpec>(StringComparer.Ordinal)
    {
        ["command"] = new("plugin", ["name", "maxDelay"],
        [
            new("param", ["prefix", "suffix", "ignoreError", "batch", "timeout", "concurrency"], []),
            new("filter", ["start"], [new("include", ["expression"], [], Repeated: true)]),
        ]),
        ["socket"] = new("plugin", ["name", "maxDelay"],
        [
            new("localpath", ["watch"], [new("deshost", ["ip", "port", "format", "timeout"], [])]),
        ]),
        ["refreshCDN"] = new("plugin", ["name", "maxDelay"],
        [
            new("localpath", ["watch", "timeout"],
            [
                new("cdninfo", ["domainname", "port", "username", "passwd"], []),
                new("sendurl", ["base"], []),
                new("regexurl", ["regex", "match"], []),
                new("purge", ["method", "url", "body", "maxUrls"], [new("header", ["name", "value"], [], Repeated: true)]),
            ]),
        ]),
        ["http"] = new("plugin", ["name", "maxDelay"],
        [
            new("localpath", ["watch"], [new("deshost", ["url", "port", "format", "secret", "secretFile", "timeout"], [])]),
        ]),
    };

    public static readonly string[] PluginNames = ["command", "socket", "refreshCDN", "http"];

    /// <summary>The root. Its <c>plugin</c> child is a placeholder: the loader picks the spec by <c>name</c>.</summary>
    public static ElementSpec Head { get; } = new("head", ["version"],
    [
        new("host", ["hostip", "port"], []),
        new("status", ["socket", "group", "listen", "unhealthyAfter"], []),
        Switch("debug"),
        new("fileSystem", ["xfs", "watcher", "scanInterval"], []),
        new("filter", ["start"], [new("exclude", ["expression"], [], Repeated: true)]),
        new("inotify", [],
        [
            Switch("delete"), Switch("createFolder"), Switch("createFile"), Switch("closeWrite"),
            Switch("moveFrom"), Switch("moveTo"), Switch("attrib"), Switch("modify"),
        ]),
        Sersync,
        new("plugin", ["name"], [], Repeated: true),
    ]);
}
