namespace SerSync.Daemon;

/// <summary>Every exit status sersyncd uses, from sysexits.h where one fits.</summary>
public static class ExitCodes
{
    public const int Ok = 0;

    /// <summary><c>--once</c>: at least one target failed.</summary>
    public const int SomeTargetsFailed = 1;

    /// <summary><c>status</c>: a target is retrying or failed.</summary>
    public const int TargetsBehind = 1;

    /// <summary><c>status</c>: no daemon answers on the instance's socket (LSB's "program is not running").</summary>
    public const int NotRunning = 3;

    /// <summary><c>verify</c>: a target differs from its source.</summary>
    public const int Drift = 1;

    /// <summary><c>verify</c>: a target could not be checked (unreachable, refused, rsync failed); wins over <see cref="Drift"/>.</summary>
    public const int TargetNotChecked = 2;

    /// <summary>EX_USAGE: a bad command line, or a plugin name sersync never had.</summary>
    public const int Usage = 64;

    /// <summary>EX_TEMPFAIL, <c>--once</c>: the delete guard held a target's deletes (pushed without deleting); wins
    /// over <see cref="SomeTargetsFailed"/>.</summary>
    public const int DeletesHeld = 75;

    /// <summary>EX_UNAVAILABLE: the operating system is not one sersyncd runs on (Windows).</summary>
    public const int Unsupported = 69;

    /// <summary>EX_SOFTWARE: an unexpected fatal error.</summary>
    public const int Software = 70;

    /// <summary>EX_OSERR: a watched root was lost, or the inotify limits are exhausted.</summary>
    public const int OsError = 71;

    /// <summary>EX_CONFIG: the configuration is invalid.</summary>
    public const int Config = 78;
}
