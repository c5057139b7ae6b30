using SerSync.Configuration;

namespace SerSync.Rsync;

/// <summary>
/// How an ssh target's host is reached: the one place that turns the configured <c>&lt;ssh command&gt;</c> into
/// what rsync's <c>-e</c> gets and into the argv of a command sersyncd itself runs on that host (a rename), so both
/// use the same options and the same connection.
/// </summary>
public static class RemoteShell
{
    /// <summary>ssh's connect timeout (the TCP connect and the handshake), added after the configured words so that
    /// one the user gives comes first and wins (ssh keeps the first value): without it a dropped link holds each
    /// retry for the kernel's two minutes of SYN retransmits instead of failing into the reachability probe.</summary>
    public const int ConnectTimeoutSeconds = 10;

    /// <summary>The remote shell for rsync <c>-e</c> (rsync splits it into words itself).</summary>
    public static string RsyncOption(SyncTarget target) => WithConnectTimeout(target.Rsync.SshCommand);

    /// <summary><paramref name="command"/> with <c>-o ConnectTimeout=N</c> when its program is ssh (another program
    /// may not know the option).</summary>
    private static string WithConnectTimeout(string command) =>
        CommonParamsSplitter.TrySplit(command, out var words, out _) && words.Count > 0 && Path.GetFileName(words[0]) == "ssh"
            ? $"{command} -o ConnectTimeout={ConnectTimeoutSeconds}"
            : command;

    /// <summary>The argv that runs <paramref name="remoteCommand"/> on the target's host: the ssh words, the host,
    /// then the command, which the remote user's shell parses (so every word in it must be quoted for a shell).</summary>
    public static IReadOnlyList<string> Argv(SyncTarget target, string remoteCommand)
    {
        if (target.Remote.Kind != RemoteKind.Ssh)
        {
            throw new InvalidOperationException($"{target.Label} is not an ssh target");
        }

        if (!CommonParamsSplitter.TrySplit(RsyncOption(target), out var words, out var error) || words.Count == 0)
        {
            throw new InvalidOperationException($"ssh command of {target.Label} cannot be split: {error}");
        }

        return [.. words, target.Remote.Ip!, remoteCommand];
    }
}
