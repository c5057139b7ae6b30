using System.Xml.Linq;

namespace SerSync.Configuration;

/// <summary>Reads the <c>&lt;localpath&gt;</c> elements of <c>&lt;sersync&gt;</c> and their
/// <c>&lt;remote&gt;</c>s, refusing watches that overlap and local targets that overlap a watch.</summary>
internal sealed class LocalPathSectionReader(ConfigErrors errors, ConfigAttributeReader values, ConfigFileSystemChecks disk, RsyncSectionReader rsyncReader)
{
    /// <param name="shared">The shared <c>&lt;rsync&gt;</c>'s settings (read from <paramref name="sharedRsync"/>),
    /// which a <c>&lt;remote&gt;</c> without its own <c>&lt;rsync&gt;</c> uses and one with it inherits from.</param>
    public List<WatchConfig> Read(XElement sersync, RsyncConfig shared, XElement? sharedRsync)
    {
        var watches = new List<WatchConfig>();
        var sharedGuard = ReadDeleteGuard(sersync.Element("deleteGuard"), DeleteGuardConfig.Default);
        var sharedJournal = JournalConfigReader.Read(errors, sersync.Element("journal"), JournalConfig.Default);
        var remoteAttrs = new List<(XAttribute Attr, string Path)>();
        foreach (var local in sersync.Elements("localpath"))
        {
            var watchAttr = values.Required(local, "watch", "the absolute path of the directory to mirror");
            var path = values.AbsolutePath(watchAttr, "watch");
            disk.CheckWatchDirectory(watchAttr, path);
            foreach (var other in watches)
            {
                if (ConfigAttributeReader.IsSameOrInside(path, other.Path) || ConfigAttributeReader.IsSameOrInside(other.Path, path))
                {
                    var how = path == other.Path ? "the same directory as" : "nested with";
                    throw errors.Fail(watchAttr, $"watch {ConfigText.ShowPath(path)} is {how} watch {ConfigText.ShowPath(other.Path)} (line {other.Line}); watched directories must be disjoint");
                }
            }

            var remotes = new List<RemoteConfig>();
            foreach (var remote in local.Elements("remote"))
            {
                var r = ReadRemote(remote, shared, sharedRsync);
                if (remotes.Find(x => x.Label == r.Label) is { } dup)
                {
                    throw errors.Fail(remote, $"remote {ConfigText.Show(r.Label)} is listed twice under this <localpath> (also at line {dup.Line})");
                }

                if (r.Path != null)
                {
                    remoteAttrs.Add((remote.Attribute("path")!, r.Path));
                }

                remotes.Add(r);
            }

            if (remotes.Count == 0)
            {
                throw errors.Fail(local, $"<localpath watch={ConfigText.Quote(watchAttr.Value)}> has no <remote>; expected at least one " +
                    "<remote ip=\"HOST\" name=\"MODULE\"/> or <remote path=\"/abs/dir\"/>");
            }

            watches.Add(new WatchConfig(path, remotes, ConfigSourcePositions.LineOf(local))
            {
                DeleteGuard = ReadDeleteGuard(local.Element("deleteGuard"), sharedGuard),
                Journal = JournalConfigReader.Read(errors, local.Element("journal"), sharedJournal),
            });
        }

        if (watches.Count == 0)
        {
            throw errors.Fail(sersync, "<sersync> has no <localpath>; expected at least one <localpath watch=\"/dir\"> with a <remote>");
        }

        foreach (var (attr, target) in remoteAttrs)
        {
            foreach (var w in watches)
            {
                if (ConfigAttributeReader.IsSameOrInside(target, w.Path))
                {
                    throw errors.Fail(attr, $"remote path {ConfigText.ShowPath(target)} is inside (or equal to) the watched directory {ConfigText.ShowPath(w.Path)} (line {w.Line}); " +
                        "a target inside its source would receive its own copies forever");
                }

                if (ConfigAttributeReader.IsSameOrInside(w.Path, target))
                {
                    throw errors.Fail(attr, $"remote path {ConfigText.ShowPath(target)} contains the watched directory {ConfigText.ShowPath(w.Path)} (line {w.Line}); " +
                        "a full sync with --delete into it would remove the source");
                }
            }
        }

        return watches;
    }

    /// <summary>A <c>&lt;deleteGuard&gt;</c>; each attribute it leaves out comes from <paramref name="inherited"/>.</summary>
    private DeleteGuardConfig ReadDeleteGuard(XElement? guard, DeleteGuardConfig inherited)
    {
        if (guard == null)
        {
            return inherited;
        }

        return new DeleteGuardConfig(
            values.Bool(guard, "start", inherited.Enabled),
            values.Int(guard, "percent", inherited.Percent, 1, 100),
            values.Int(guard, "minFiles", inherited.MinFiles, 0, int.MaxValue),
            ConfigSourcePositions.LineOf(guard));
    }

    private RemoteConfig ReadRemote(XElement remote, RsyncConfig shared, XElement? sharedRsync)
    {
        var ip = remote.Attribute("ip");
        var name = remote.Attribute("name");
        var path = remote.Attribute("path");
        var own = remote.Element("rsync");
        if (path != null)
        {
            if (ip != null || name != null)
            {
                throw errors.Fail(remote, "<remote> mixes path with ip/name; expected either ip=\"HOST\" name=\"MODULE\" (rsync daemon or ssh) " +
                    "or path=\"/abs/dir\" (local directory)");
            }

            var local = own == null ? null : rsyncReader.ReadOwn(own, shared, sharedRsync, localDirectory: true);
            return new RemoteConfig(RemoteKind.LocalDirectory, null, null, values.AbsolutePath(path, "remote path"), ConfigSourcePositions.LineOf(remote)) { Rsync = local };
        }

        if (ip == null || name == null)
        {
            var missing = ip == null ? "ip" : "name";
            throw errors.Fail(remote, $"<remote> has no {missing} attribute; expected ip=\"HOST\" name=\"MODULE\" (or path=\"/abs/dir\" for a local directory)");
        }

        var settings = own == null ? null : rsyncReader.ReadOwn(own, shared, sharedRsync, localDirectory: false);
        var ssh = (settings ?? shared).Ssh;
        var host = ip.Value;
        string? user = null;
        var at = host.LastIndexOf('@');
        if (at >= 0)
        {
            // ssh's user@host; an rsync daemon's login is <auth users>, which also carries the password file.
            user = host[..at];
            host = host[(at + 1)..];
            if (!ssh)
            {
                throw errors.Fail(ip, $"remote ip {ConfigText.Quote(ip.Value)} names a user, but this target is an rsync daemon: its user goes in <auth users=...> " +
                    "(with the password file); user@host is for ssh targets");
            }

            if (!RsyncSectionReader.IsLoginName(user))
            {
                throw errors.Fail(ip, $"remote ip {ConfigText.Quote(ip.Value)}: user {ConfigText.Quote(user)} is not a valid login name; expected a non-empty name without '@', ':', whitespace, quotes or a leading '-'");
            }

            if ((settings ?? shared).SshUser is { } other)
            {
                throw errors.Fail(ip, $"remote ip {ConfigText.Quote(ip.Value)} names user {ConfigText.Quote(user)} and this target's <ssh user> is {ConfigText.Quote(other)}; " +
                    "give the user in one place only");
            }
        }

        if (!IsPlausibleHost(host))
        {
            throw errors.Fail(ip, $"remote ip {ConfigText.Quote(ip.Value)} is not a host name or address; expected e.g. 192.168.1.5, backup.example.com or [2001:db8::5] " +
                "(no spaces, '/', ':' or leading '-'; a user name goes in <auth users>, or user@host for ssh)");
        }

        if (name.Value.Length == 0 || name.Value[0] == '-' || name.Value.Any(char.IsControl))
        {
            throw errors.Fail(name, $"remote name {ConfigText.Quote(name.Value)} is not valid; expected a non-empty rsync module (or remote directory with ssh), " +
                "without a leading '-' or control characters");
        }

        return new RemoteConfig(ssh ? RemoteKind.Ssh : RemoteKind.RsyncDaemon, host, name.Value, null, ConfigSourcePositions.LineOf(remote)) { User = user, Rsync = settings };
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
}
