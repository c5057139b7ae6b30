using SerSync.Paths;
using SerSync.Plugins;

namespace SerSync.Hooks;

/// <summary>
/// Which changes of a sync root one plugin reports, and how they look to it: those at or below the plugin's own
/// <c>localpath</c> (the root itself for the command plugin), with the absolute path built from the root's bytes.
/// A change that covers the plugin's directory from above (the directory or an ancestor deleted, moved or replaced;
/// events lost and the root rescanned) is reported as a change of the plugin's directory itself.
/// </summary>
public sealed class HookScope
{
    private readonly byte[] _rootBytes;

    public HookScope(string root, string pluginRoot)
    {
        Root = root;
        PluginRoot = pluginRoot;
        _rootBytes = FileSystemBytes.RootBytes(root);
        var relative = pluginRoot.Length > root.Length ? pluginRoot[(root.Length + (root == "/" ? 0 : 1))..] : "";
        Directory = RelativePath.FromString(relative);
    }

    public string Root { get; }

    public string PluginRoot { get; }

    /// <summary>The plugin's directory, relative to the root (the root itself when they are the same).</summary>
    public RelativePath Directory { get; }

    /// <summary>The change as the plugin sees it, or null when it lies outside the plugin's directory.</summary>
    public HookChange? Map(FileChange change)
    {
        if (change.Event == ChangeEvent.Recheck)
        {
            return null; // the plugin had (or has pending) the journaled change itself
        }

        if (change.Kind == ChangeKind.Rescan)
        {
            return Make(ChangeEvent.Unknown, true, Directory);
        }

        if (change.Path.IsAtOrBelow(Directory))
        {
            var isDir = change.IsDirectory || change.Kind == ChangeKind.UpsertContents;
            return Make(change.Event, isDir, change.Path);
        }

        // An ancestor of the plugin's directory as a whole: a tree created, moved or deleted.
        var covers = Directory.IsAtOrBelow(change.Path)
            && (change.Kind is ChangeKind.UpsertTree || (change.Kind == ChangeKind.Delete && change.IsDirectory));
        return covers ? Make(change.Event, true, Directory) : null;
    }

    private HookChange Make(ChangeEvent what, bool isDirectory, RelativePath path) =>
        new(what, isDirectory, path, FileSystemBytes.Combine(_rootBytes, path));
}
