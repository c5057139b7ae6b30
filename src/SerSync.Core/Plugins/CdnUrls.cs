using System.Text;
using SerSync.Configuration;

namespace SerSync.Plugins;

/// <summary>The public URL refreshCDN purges for a change, as sersync built it, with the path's bytes
/// percent-encoded where a URL cannot carry them (<see cref="UrlBytes.AppendPathEscaped"/>).</summary>
internal static class CdnUrls
{
    /// <summary>Without <c>Match</c>: the base, '/', the path relative to the plugin's watch. With it: the base,
    /// capture group 1 of the first match in the absolute path, and the rest of the path after the match (no '/'
    /// added, as sersync); a path the regex does not match falls back to the first form. A directory's URL ends in
    /// '/'.</summary>
    public static string PublicUrl(CdnUrlConfig url, string pluginRoot, HookChange change)
    {
        var text = new StringBuilder();
        if (url.Match is not null)
        {
            var path = UrlBytes.DecodeEscaped(change.AbsolutePath);
            var match = url.Match.Match(path);
            if (match.Success)
            {
                text.Append(url.Base);
                var group = match.Groups.Count > 1 ? match.Groups[1].Value : string.Empty;
                UrlBytes.AppendPathEscaped(text, UrlBytes.EncodeEscaped(group));
                UrlBytes.AppendPathEscaped(text, UrlBytes.EncodeEscaped(path.AsSpan(match.Index + match.Length)));
                return Finish(text, change.IsDirectory);
            }
        }

        text.Append(url.Base.TrimEnd('/')).Append('/');
        UrlBytes.AppendPathEscaped(text, RelativeToWatch(pluginRoot, change));
        return Finish(text, change.IsDirectory);
    }

    /// <summary>The URL's path: what follows <c>scheme://authority</c> (all of it when there is no scheme).</summary>
    public static string UrlPath(string publicUrl)
    {
        var scheme = publicUrl.IndexOf("://", StringComparison.Ordinal);
        if (scheme < 0)
        {
            return publicUrl;
        }

        var slash = publicUrl.IndexOf('/', scheme + 3);
        return slash < 0 ? "/" : publicUrl[slash..];
    }

    private static ReadOnlySpan<byte> RelativeToWatch(string pluginRoot, HookChange change)
    {
        var watch = Encoding.UTF8.GetBytes(pluginRoot.TrimEnd('/'));
        var absolute = change.AbsolutePath.AsSpan();
        if (absolute.StartsWith(watch))
        {
            if (absolute.Length == watch.Length)
            {
                return [];
            }

            if (absolute[watch.Length] == (byte)'/')
            {
                return absolute[(watch.Length + 1)..];
            }
        }

        return change.Path.Bytes; // not under the watch (the worker only hands over what is): relative to the root
    }

    private static string Finish(StringBuilder text, bool isDirectory)
    {
        if (isDirectory && (text.Length == 0 || text[^1] != '/'))
        {
            text.Append('/');
        }

        return text.ToString();
    }
}
