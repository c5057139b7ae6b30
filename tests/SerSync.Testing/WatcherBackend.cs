namespace SerSync.Testing;

/// <summary>
/// The watcher backend a test run forces (<c>SERSYNCD_WATCHER</c>, which the daemon and the config loader read): CI
/// runs the end-to-end suite once with inotify and once with the portable backend. A test of what only inotify does
/// (its raw-event log lines, its kernel limits, what its stock switches leave unseen) is skipped under another one,
/// saying why.
/// </summary>
public static class WatcherBackend
{
    public static string? Forced => Environment.GetEnvironmentVariable("SERSYNCD_WATCHER") is { Length: > 0 } v ? v : null;

    public static bool IsInotify => Forced is null or "auto" or "inotify";

    public static void SkipUnlessInotify(string what) =>
        Xunit.Assert.SkipUnless(IsInotify, $"{what} is inotify's own behaviour; this run forces the {Forced} backend");
}
