namespace SerSync.Rsync;

public enum FailureClass
{
    Success,

    /// <summary>Some files were not transferred (23, 24): the affected paths are retried, never counted as done.</summary>
    Partial,

    /// <summary>Network, timeouts, a busy daemon, a killed run: retry with backoff.</summary>
    Transient,

    /// <summary>Auth, unknown module, bad option: this target is failed until probed again; the others go on.</summary>
    Fatal,
}

/// <summary>rsync's exit codes (rsync(1) "EXIT VALUES"), classified. The README's failure table is this table.</summary>
public static class RsyncExitCodes
{
    /// <summary>What rsync (and ssh) exit with when the remote shell failed: transient.</summary>
    public const int RemoteShellFailed = 255;

    /// <summary>rsync stopped deleting at <c>--max-delete</c>: the guarded full push judged fewer deletes than the source
    /// now asks for. Transient: the retry judges again.</summary>
    public const int MaxDeleteReached = 25;

    public static FailureClass Classify(int exitCode) => exitCode switch
    {
        0 => FailureClass.Success,
        23 or 24 => FailureClass.Partial,
        1 or 2 or 4 => FailureClass.Fatal, // syntax or usage error, protocol incompatibility, unsupported action
        5 => FailureClass.Fatal, // error starting client-server protocol: bad password, unknown module, refused
        MaxDeleteReached => FailureClass.Transient, // the guard's limit: retried, and the retry's dry run judges again
        // 3 file selection, 6 daemon log, 10 socket I/O, 11 file I/O, 12 protocol data stream, 13 diagnostics,
        // 14 IPC, 20 signal, 21 waitpid, 22 memory, 25 max-delete, 30 I/O timeout, 35 daemon connect timeout,
        // 255 ssh failure, -1 killed by us (life bound) or not started: all worth retrying later.
        _ => FailureClass.Transient,
    };

    public static string Describe(int exitCode) => exitCode switch
    {
        -1 => "killed or not started",
        0 => "success",
        1 => "syntax or usage error",
        2 => "protocol incompatibility",
        3 => "errors selecting input/output files, dirs",
        4 => "requested action not supported",
        5 => "error starting client-server protocol",
        6 => "daemon unable to append to log-file",
        10 => "error in socket I/O",
        11 => "error in file I/O",
        12 => "error in rsync protocol data stream",
        13 => "errors with program diagnostics",
        14 => "error in IPC code",
        20 => "received SIGUSR1 or SIGINT",
        21 => "some error returned by waitpid()",
        22 => "error allocating core memory buffers",
        23 => "partial transfer due to error",
        24 => "partial transfer due to vanished source files",
        25 => "the --max-delete limit stopped deletions",
        30 => "timeout in data send/receive",
        35 => "timeout waiting for daemon connection",
        255 => "remote shell failed",
        _ => "unknown exit code",
    };
}
