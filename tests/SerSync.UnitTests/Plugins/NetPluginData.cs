using SerSync.Paths;
using SerSync.Plugins;
using SerSync.Testing;

namespace SerSync.UnitTests.Plugins;

/// <summary>Changes for the network plugins' tests: every nasty name under a root, with every event kind.</summary>
internal static class NetPluginData
{
    public const string Root = "/srv/www";

    public static readonly TimeSpan ShortTimeout = TimeSpan.FromMilliseconds(500);

    public static HookChange Change(byte[] relative, ChangeEvent e = ChangeEvent.Modify, bool isDirectory = false) =>
        new(e, isDirectory, new RelativePath(relative), NastyNames.Join(Root, relative));

    public static HookChange Change(string relative, ChangeEvent e = ChangeEvent.Modify, bool isDirectory = false) =>
        Change(System.Text.Encoding.UTF8.GetBytes(relative), e, isDirectory);

    /// <summary>Every nasty name, cycling through the events, every third a directory; one nested path.</summary>
    public static HookChange[] Nasty()
    {
        var events = new[] { ChangeEvent.Create, ChangeEvent.Modify, ChangeEvent.Delete, ChangeEvent.MoveFrom, ChangeEvent.MoveTo, ChangeEvent.Attrib, ChangeEvent.CloseWrite, ChangeEvent.Unknown };
        var changes = NastyNames.All.Select((name, i) => Change(name, events[i % events.Length], i % 3 == 2)).ToList();
        changes.Add(Change([.. "sub/"u8, .. NastyNames.All[19]]));
        return [.. changes];
    }

    /// <summary>Waits (bounded) for what a listener records.</summary>
    public static Task Until(Func<bool> condition, string because) =>
        Eventually.TrueAsync(condition, TimeSpan.FromSeconds(10), because, TestContext.Current.CancellationToken);

    public static HookBatch Batch(params HookChange[] changes) => new(Root, Root, changes);
}
