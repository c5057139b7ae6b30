using System.Text.RegularExpressions;

namespace SerSync.Configuration;

/// <summary>
/// One plugin's settings, from its top-level <c>&lt;plugin name="..."&gt;</c> section. Read (and checked) whether or
/// not the plugin is switched on, so a mistake shows before it is enabled; its watch path is checked against the
/// sync roots only when it is on, since sersync's stock sections name paths that rarely exist.
/// </summary>
/// <param name="Watch">The plugin's <c>localpath@watch</c> (trailing slash trimmed), or null for the command plugin
/// (it follows every sync root, as sersync's followed its only one).</param>
/// <param name="MaxDelay">Addition, <c>&lt;plugin maxDelay="SECONDS"&gt;</c>: how long a target that keeps failing
/// may hold back a hook (default 60 s); then the hook fires and a warning names the target.</param>
/// <param name="Line">The section's line, for messages.</param>
public abstract record PluginConfig(string Name, string? Watch, TimeSpan MaxDelay, int Line)
{
    public static readonly TimeSpan DefaultMaxDelay = TimeSpan.FromSeconds(60);
}

/// <summary><c>&lt;plugin name="command"&gt;</c>: runs a program per changed path (sersync's form) or per batch.</summary>
/// <param name="Prefix"><c>param@prefix</c>, split into words by the loader (as <c>commonParams</c>); the program is
/// its first word. Never given to a shell.</param>
/// <param name="Suffix"><c>param@suffix</c>, split likewise; the words after the path.</param>
/// <param name="IgnoreError"><c>param@ignoreError</c>: a failed run is logged at debug and not retried.</param>
/// <param name="Batch">Addition, <c>param@batch="true"</c>: one run per batch (and per event kind), the paths
/// NUL-separated on stdin and none in argv.</param>
/// <param name="Timeout">Addition, <c>param@timeout</c> seconds (default 60): a run is killed, with its process group,
/// after this long.</param>
/// <param name="Concurrency">Addition, <c>param@concurrency</c> (default 4): runs at once in the per-path form.</param>
/// <param name="Includes"><c>filter/include@expression</c> when <c>filter@start="true"</c>, else null: a path is given
/// to the command only if one of these matches its absolute path (whole string), as in sersync.</param>
public sealed record CommandPluginConfig(
    IReadOnlyList<string> Prefix,
    IReadOnlyList<string> Suffix,
    bool IgnoreError,
    bool Batch,
    TimeSpan Timeout,
    int Concurrency,
    IReadOnlyList<Regex>? Includes,
    TimeSpan MaxDelay,
    int Line) : PluginConfig("command", null, MaxDelay, Line)
{
    private static readonly string[] Shells = ["sh", "bash", "dash", "ash", "zsh", "ksh", "mksh", "busybox"];

    /// <summary>True when the prefix would run the changed file itself as a script (sersync's stock
    /// <c>prefix="/bin/sh"</c>, <c>bash</c>, <c>sh -c</c>): worth a warning, since a file someone uploads is executed.</summary>
    public bool ExecutesChangedFile =>
        Prefix.Count > 0
        && Array.IndexOf(Shells, System.IO.Path.GetFileName(Prefix[0])) >= 0
        && Prefix.Skip(1).All(w => w.StartsWith('-'));
}

public enum SocketFormat
{
    /// <summary>sersyncd's frame: <c>EVENT SP TYPE SP ABSOLUTE-PATH NUL</c> per change, one connection per batch.</summary>
    Frames,

    /// <summary>sersync's: one connection per path carrying only the absolute path's bytes.</summary>
    Sersync,
}

/// <summary><c>&lt;plugin name="socket"&gt;&lt;localpath watch&gt;&lt;deshost ip port/&gt;</c>.</summary>
/// <param name="Host"><c>deshost@ip</c>: an IPv4 or IPv6 literal, or a host name (resolved at each connection).</param>
/// <param name="Format">Addition, <c>deshost@format="frames|sersync"</c> (default frames).</param>
/// <param name="Timeout">Addition, <c>deshost@timeout</c> seconds (default 10): connect, and the whole write.</param>
public sealed record SocketPluginConfig(string Watch, string Host, int Port, SocketFormat Format, TimeSpan Timeout, TimeSpan MaxDelay, int Line)
    : PluginConfig("socket", Watch, MaxDelay, Line);

/// <summary>The URL a changed path is published at (refreshCDN).</summary>
/// <param name="Base"><c>sendurl@base</c>, for example <c>http://pic.example.com/cms</c>.</param>
/// <param name="Match"><c>regexurl@match</c> when <c>regexurl@regex="true"</c>: the URL is then the base, capture
/// group 1 of the first match in the absolute path, and the rest of the path after the match; null uses the path
/// relative to the plugin's watch.</param>
public sealed record CdnUrlConfig(string Base, Regex? Match);

/// <summary>sersync's ChinaCache contract: <c>&lt;cdninfo domainname port username passwd/&gt;</c>.</summary>
public sealed record ChinaCacheConfig(string DomainName, int Port, string UserName, string Password);

/// <summary>Addition, <c>&lt;purge method url body&gt;&lt;header name value/&gt;*&lt;/purge&gt;</c> inside the
/// refreshCDN <c>localpath</c>: a generic HTTP purge. When present it is used instead of ChinaCache.</summary>
/// <param name="Method">HTTP method, default <c>PURGE</c>.</param>
/// <param name="UrlTemplate">The request URL, default <c>{url}</c>. Placeholders: <c>{url}</c> (the changed path's
/// public URL), <c>{path}</c> (its URL path), <c>{urls}</c> (every public URL of the batch, comma-separated),
/// <c>{urls_json}</c> (a JSON array of them). With <c>{urls}</c> or <c>{urls_json}</c> in the URL or the body, one
/// request carries a whole batch (up to <paramref name="MaxUrls"/>); otherwise one request per path.</param>
/// <param name="BodyTemplate">A request body with the same placeholders, or null for none.</param>
/// <param name="Headers">Extra request headers (credentials go here; they are never logged).</param>
public sealed record PurgeConfig(string Method, string UrlTemplate, string? BodyTemplate, IReadOnlyList<KeyValuePair<string, string>> Headers, int MaxUrls)
{
    public bool IsBatched =>
        UrlTemplate.Contains("{urls", StringComparison.Ordinal) || (BodyTemplate?.Contains("{urls", StringComparison.Ordinal) ?? false);
}

/// <summary><c>&lt;plugin name="refreshCDN"&gt;</c>: ChinaCache's request as sersync sent it, or a generic purge.</summary>
/// <param name="Timeout">Addition, <c>localpath@timeout</c> seconds (default 10) per request.</param>
public sealed record CdnPluginConfig(string Watch, CdnUrlConfig Url, ChinaCacheConfig? ChinaCache, PurgeConfig? Purge, TimeSpan Timeout, TimeSpan MaxDelay, int Line)
    : PluginConfig("refreshCDN", Watch, MaxDelay, Line);

public enum HttpFormat
{
    /// <summary>One POST per batch: <c>{"root", "changes": [{"path", "kind", "isDir"}]}</c>.</summary>
    Json,

    /// <summary>sersync's (never enabled in 2.5): one form POST per path,
    /// <c>watchroot=W&amp;isdir=0|1&amp;inotifyPath=ABS&amp;mask=N</c>.</summary>
    Sersync,
}

/// <summary><c>&lt;plugin name="http"&gt;&lt;localpath watch&gt;&lt;deshost url port/&gt;</c>.</summary>
/// <param name="Url"><c>deshost@url</c> (http:// or https://; a bare host is taken as http://HOST/), with
/// <c>deshost@port</c> applied when the URL names none.</param>
/// <param name="Format">Addition, <c>deshost@format="json|sersync"</c> (default json).</param>
/// <param name="Secret">Addition, <c>deshost@secret</c> or the first line of <c>deshost@secretFile</c>: signs each
/// body with HMAC-SHA256 in <c>X-Sersync-Signature-256: sha256=HEX</c>. Never logged.</param>
/// <param name="Timeout">Addition, <c>deshost@timeout</c> seconds (default 10) per request.</param>
public sealed record HttpPluginConfig(string Watch, Uri Url, HttpFormat Format, string? Secret, TimeSpan Timeout, TimeSpan MaxDelay, int Line)
    : PluginConfig("http", Watch, MaxDelay, Line);
