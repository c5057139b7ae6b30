// rsync splits its -e string into words itself (spaces separate, single and double quotes group) and ssh takes the
// first value it is given for an option, so the user's own command comes first and wins over what is appended:
// the target's <ssh user/port/identity> (-l, -p, -i) and the kept connection's -o ControlPath/ControlMaster.
using SerSync.Configuration;

namespace SerSync.Rsync;

/// <summary>
/// How an ssh target's host is reached: the one place that turns the configured <c>&lt;ssh command&gt;</c> (with the
/// target's user, port, identity and kept connection) into what rsync's <c>-e</c> gets and into the argv of a command
/// sersyncd itself runs on that host (a rename), so both use the same options and the same connection.
/// </summary>
public static class RemoteShell
{
    /// <summary>ssh's connect timeout (the TCP connect and the handshake), added after the configured words so that
    /// one the user gives comes first and wins (ssh keeps the first value): without it a dropped link holds each
    /// retry for the kernel's two minutes of SYN retransmits instead of failing into the reachability probe.</summary>
    public const int ConnectTimeoutSeconds = 10;

    /// <summary>The remote shell for rsync <c>-e</c> (rsync splits it into words itself). Asks the target's kept
    /// connection for a master when it has none (without waiting for it).</summary>
    public static string RsyncOption(SyncTarget target)
    {
        var extra = Extra(target);
        return extra.Count == 0 ? target.Rsync.SshCommand : target.Rsync.SshCommand + " " + string.Join(' ', extra.Select(QuoteForRsync));
    }

    /// <summary>The argv that runs <paramref name="remoteCommand"/> on the target's host: the ssh words, the host,
    /// then the command, which the remote user's shell parses (so every word in it must be quoted for a shell).</summary>
    public static IReadOnlyList<string> Argv(SyncTarget target, string remoteCommand)
    {
        if (target.Remote.Kind != RemoteKind.Ssh)
        {
            throw new InvalidOperationException($"{target.Label} is not an ssh target");
        }

        // Keepalives for a command sersyncd runs itself (rsync has its own --timeout): a link lost mid-way ends it in
        // about 10 s instead of holding the target's slot for the command's lifetime. After the user's words: theirs win.
        string[] alive = IsSsh(target.Rsync.SshCommand) ? ["-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=2"] : [];
        return [.. Words(target), .. Extra(target).Skip(TargetOptions(target).Count), .. alive, Host(target), remoteCommand];
    }

    /// <summary>The ssh program and its options for this target without the kept connection's: the user's command
    /// split into words, then <c>-l</c>, <c>-p</c>, <c>-i</c> from <c>&lt;ssh user port identity&gt;</c>.</summary>
    public static IReadOnlyList<string> Words(SyncTarget target)
    {
        if (!CommonParamsSplitter.TrySplit(target.Rsync.SshCommand, out var words, out var error) || words.Count == 0)
        {
            throw new InvalidOperationException($"ssh command of {target.Label} cannot be split: {error}");
        }

        return [.. words, .. TargetOptions(target)];
    }

    /// <summary>The host argument: <c>user@host</c> when <c>ip</c> named a user, else the host; an IPv6 literal
    /// without its brackets (rsync strips them from <c>[addr]:dir</c>; ssh would try to resolve them as a name).</summary>
    public static string Host(SyncTarget target)
    {
        var host = target.Remote.Ip ?? string.Empty;
        if (host.Length > 2 && host[0] == '[' && host[^1] == ']')
        {
            host = host[1..^1];
        }

        return (target.Remote.User is { } user ? user + "@" : string.Empty) + host;
    }

    private static List<string> TargetOptions(SyncTarget target)
    {
        var s = target.Rsync;
        var options = new List<string>();
        if (s.SshUser is { } user)
        {
            options.Add("-l");
            options.Add(user);
        }

        if (s.SshPort is { } port)
        {
            options.Add("-p");
            options.Add(port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        if (s.SshIdentity is { } identity)
        {
            options.Add("-i");
            options.Add(identity);
        }

        return options;
    }

    private static List<string> Extra(SyncTarget target)
    {
        var extra = TargetOptions(target);
        if (target.Connection is { } connection)
        {
            connection.Ensure();
            extra.AddRange(connection.ClientOptions());
        }

        if (IsSsh(target.Rsync.SshCommand))
        {
            extra.Add("-o");
            extra.Add($"ConnectTimeout={ConnectTimeoutSeconds}");
        }

        return extra;
    }

    /// <summary>Whether the command's program is ssh (another program may not know <c>-o ConnectTimeout</c>).</summary>
    private static bool IsSsh(string command) =>
        CommonParamsSplitter.TrySplit(command, out var words, out _) && words.Count > 0 && Path.GetFileName(words[0]) == "ssh";

    /// <summary>A word as rsync's -e splitting reads it back (the loader and the socket directory keep single
    /// quotes out of these words).</summary>
    private static string QuoteForRsync(string word) =>
        word.Length > 0 && word.All(c => char.IsAsciiLetterOrDigit(c) || c is '/' or '.' or '_' or '-' or '=' or ':' or '@' or ',')
            ? word
            : "'" + word + "'";
}
