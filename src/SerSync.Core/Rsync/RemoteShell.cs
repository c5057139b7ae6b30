using SerSync.Configuration;

namespace SerSync.Rsync;

/// <summary>
/// How an ssh target's host is reached: the one place that turns the configured <c>&lt;ssh command&gt;</c> into
/// what rsync's <c>-e</c> gets and into the argv of a command sersyncd itself runs on that host (a rename), so both
/// use the same options and the same connection.
/// </summary>
public static class RemoteShell
{
    /// <summary>The remote shell for rsync <c>-e</c> (rsync splits it into words itself).</summary>
    public static string RsyncOption(SyncTarget target) => target.Rsync.SshCommand;

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
