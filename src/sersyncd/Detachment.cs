using SerSync.Interop;

namespace SerSync.Daemon;

/// <summary>
/// The child half of <c>-d</c>. .NET cannot fork safely, so the parent starts a second copy of itself with
/// <see cref="MarkerVariable"/> set; that copy leaves the parent's session and terminal here, puts /dev/null on
/// its standard streams, and reports readiness over a private NOTIFY_SOCKET that the parent waits on.
/// </summary>
public static class Detachment
{
    public const string MarkerVariable = "SERSYNCD_DETACHED";

    public static bool IsDetachedChild => Environment.GetEnvironmentVariable(MarkerVariable) == "1";

    /// <summary>Started by systemd: stay in the foreground whatever <c>-d</c> says.</summary>
    public static bool UnderSystemd =>
        !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NOTIFY_SOCKET")) ||
        !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("INVOCATION_ID"));

    public static bool IsRoot => ProcessSession.IsRoot;

    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public static void DetachFromTerminal() => ProcessSession.DetachFromTerminal();
}
