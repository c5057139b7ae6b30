using SerSync.FailLog;
using SerSync.Paths;

namespace SerSync.Plugins;

/// <summary>One change as a plugin receives it: what happened, and where, as raw bytes (a name need not be UTF-8).</summary>
/// <param name="Path">Relative to the watched root (the sync root, not the plugin's own <c>localpath</c>).</param>
/// <param name="AbsolutePath">The root's bytes, '/', then <paramref name="Path"/>; the root alone for the root itself.</param>
public sealed record HookChange(ChangeEvent Event, bool IsDirectory, RelativePath Path, byte[] AbsolutePath)
{
    public string EventName => ChangeEvents.Name(Event);
}

/// <summary>What one delivery carries: changes under one root, oldest first, one per path.</summary>
/// <param name="Root">The watched root, as configured (no trailing slash).</param>
/// <param name="PluginRoot">The plugin's own <c>localpath watch</c> (the root or a directory inside it).</param>
public sealed record HookBatch(string Root, string PluginRoot, IReadOnlyList<HookChange> Changes);

/// <summary>The result of one delivery.</summary>
/// <param name="Failed">The changes that did not get through and should be tried again (empty on success). A plugin
/// that sends a batch as one unit fails all of them or none.</param>
/// <param name="Message">Why, for the log: never a credential.</param>
/// <param name="ExitCode">A command's exit status (-1 when it did not start or was killed); null for network plugins.
/// A command run that failed with <c>ignoreError="true"</c> is not a failure here: the plugin logs it at debug.</param>
public sealed record HookOutcome(IReadOnlyList<HookChange> Failed, string Message = "", int? ExitCode = null)
{
    public static HookOutcome Delivered { get; } = new([]);

    public bool Succeeded => Failed.Count == 0;
}

/// <summary>
/// A plugin's transport: delivers a batch of changes to a script, a listener, a CDN or a webhook. Called only once
/// the targets have the changes (or the bound on waiting for them ran out), never concurrently for one plugin; it
/// may run its own deliveries in parallel inside one call (bounded). It never retries by itself: the hook worker
/// retries what it reports failed, with backoff, and journals what is pending.
/// </summary>
public interface IHookPlugin
{
    /// <summary>sersync's name: <c>command</c>, <c>socket</c>, <c>refreshCDN</c>, <c>http</c>.</summary>
    string Name { get; }

    /// <summary>Where it delivers, for the log (never a password or a secret).</summary>
    string Label { get; }

    /// <summary>The most changes one call takes (it may split them further itself).</summary>
    int MaxBatch { get; }

    Task<HookOutcome> DeliverAsync(HookBatch batch, CancellationToken cancellationToken);

    /// <summary>Writes what failed to sersync's fail log (a runnable script), when the plugin's work can be redone by
    /// a shell command: the command plugin can, the network plugins write nothing. Called by the hook worker on the
    /// same failure a target batch would write on (the third in a row), once per outage.</summary>
    void WriteFailLog(FailLogWriter failLog, HookBatch failed, HookOutcome outcome, DateTimeOffset failedAt)
    {
    }
}
