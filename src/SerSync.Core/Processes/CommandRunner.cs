// Implementation notes. Runs a program whose argv may hold bytes that are not UTF-8 (a changed file's name), which
// ProcessStartInfo cannot pass: the child is a NativeChild (posix_spawn, its own process group). The time bound and
// the caller's cancellation both SIGKILL the whole group; such a run reports -1 (as ProcessRunner does for a killed
// rsync), a run ended by someone else's signal reports 128 + the signal, as shells do.
using System.Collections;
using System.Text;
using SerSync.Interop;

namespace SerSync.Processes;

/// <summary>What to run, as bytes.</summary>
/// <param name="Program">The program's path (found already: nothing searches PATH here).</param>
/// <param name="Arguments">argv, argv[0] included.</param>
/// <param name="Environment">Set in the child's environment on top of the daemon's own (replacing a variable of the
/// same name).</param>
/// <param name="WorkingDirectory">The child's current directory.</param>
/// <param name="Stdin">Written to the child's stdin, which is then closed; null gives it /dev/null.</param>
public sealed record CommandInvocation(
    byte[] Program,
    IReadOnlyList<byte[]> Arguments,
    IReadOnlyList<KeyValuePair<string, byte[]>> Environment,
    byte[] WorkingDirectory,
    byte[]? Stdin);

/// <summary>How a run ended.</summary>
/// <param name="ExitCode">The exit status; 128 + N when signal N ended it; -1 when it did not start, was killed for
/// its time bound or a cancellation, or its status was lost.</param>
/// <param name="Output">The tail of its stdout and stderr (bounded), decoded for the log (bad bytes as U+FFFD).</param>
/// <param name="Error">Why it did not start or has no status (null when it ran and ended normally).</param>
/// <param name="StatusLost">It ran and ended, but someone else reaped it, so its exit status is unknown (the runtime
/// reaps every child when sersyncd is pid 1 or was started with SIGCHLD ignored).</param>
public sealed record CommandResult(int ExitCode, string Output, TimeSpan Duration, bool TimedOut, bool Started, string? Error = null, bool StatusLost = false)
{
    public bool Succeeded => ExitCode == 0;

    /// <summary>The exit status in words, for the log and the fail log.</summary>
    public string Describe(TimeSpan timeout) =>
        TimedOut ? $"timed out after {timeout.TotalSeconds:0.###} s, killed with its process group (exit -1)"
        : Error is not null ? $"{Error} (exit -1)"
        : ExitCode > 128 ? $"killed by signal {ExitCode - 128} (exit {ExitCode})"
        : $"exit {ExitCode}";
}

/// <summary>Runs one program from byte strings to its end, bounded in time.</summary>
public sealed class CommandRunner(TimeProvider time)
{
    /// <summary>Output kept for the log: the last this many characters.</summary>
    public const int OutputTailChars = 4000;

    public TimeProvider Time { get; } = time;

    public async Task<CommandResult> RunAsync(CommandInvocation invocation, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(invocation);
        var started = Time.GetTimestamp();
        if (cancellationToken.IsCancellationRequested)
        {
            return new CommandResult(-1, string.Empty, TimeSpan.Zero, false, false, "cancelled before it started");
        }

        NativeChild child;
        try
        {
            child = NativeChild.Start(invocation.Program, invocation.Arguments, BuildEnvironment(invocation.Environment), invocation.WorkingDirectory, invocation.Stdin, OutputTailChars * 4);
        }
        catch (NativeSpawnException ex)
        {
            return new CommandResult(-1, string.Empty, Time.GetElapsedTime(started), false, false, DescribeSpawnError(invocation, ex));
        }

        using var bound = new CancellationTokenSource(timeout, Time);
        using var onTimeout = bound.Token.Register(child.KillGroup);
        using var onCancel = cancellationToken.Register(child.KillGroup);
        var exit = await child.Completion.ConfigureAwait(false);
        var cancelled = cancellationToken.IsCancellationRequested;
        var timedOut = bound.IsCancellationRequested && !cancelled && exit.Signal == NativeChild.KillSignal;
        var output = Decode(exit.Output, exit.OutputTruncated);
        var duration = Time.GetElapsedTime(started);
        if (exit.StatusLost)
        {
            return new CommandResult(-1, output, duration, timedOut, true, "its exit status was taken by another reaper (sersyncd as pid 1, or started with SIGCHLD ignored)", StatusLost: true);
        }

        if (cancelled && exit.Signal == NativeChild.KillSignal)
        {
            return new CommandResult(-1, output, duration, false, true, "killed: sersyncd is stopping");
        }

        return new CommandResult(timedOut ? -1 : exit.ExitCode, output, duration, timedOut, true);
    }

    // The same on every Unix (Linux, macOS, the BSDs).
    private const int ENOENT = 2;
    private const int EACCES = 13;
    private const int ENOEXEC = 8;

    private static string DescribeSpawnError(CommandInvocation invocation, NativeSpawnException ex)
    {
        var program = Encoding.UTF8.GetString(invocation.Program);
        var why = ex.ErrorNumber switch
        {
            ENOENT when !Directory.Exists(Encoding.UTF8.GetString(invocation.WorkingDirectory)) => "its working directory does not exist",
            ENOENT => "no such file",
            EACCES => "permission denied (not executable, or a directory on the way is not searchable)",
            ENOEXEC => "not an executable format (a script needs a #! line)",
            _ => ex.Message,
        };
        return $"cannot start {program}: {why}";
    }

    /// <summary>The daemon's environment with the invocation's variables set on top, as NAME=VALUE bytes.</summary>
    internal static List<byte[]> BuildEnvironment(IReadOnlyList<KeyValuePair<string, byte[]>> additions)
    {
        var result = new List<byte[]>();
        var names = new HashSet<string>(additions.Select(a => a.Key), StringComparer.Ordinal);
        foreach (DictionaryEntry e in System.Environment.GetEnvironmentVariables())
        {
            if (e.Key is string name && !names.Contains(name) && e.Value is string value)
            {
                result.Add(Encoding.UTF8.GetBytes($"{name}={value}"));
            }
        }

        foreach (var (name, value) in additions)
        {
            var entry = new byte[Encoding.UTF8.GetByteCount(name) + 1 + value.Length];
            var n = Encoding.UTF8.GetBytes(name, entry);
            entry[n] = (byte)'=';
            value.CopyTo(entry, n + 1);
            result.Add(entry);
        }

        return result;
    }

    private static string Decode(byte[] output, bool truncated)
    {
        var text = Encoding.UTF8.GetString(output).TrimEnd();
        if (text.Length > OutputTailChars)
        {
            text = text[^OutputTailChars..];
            truncated = true;
        }

        return truncated ? "..." + text : text;
    }
}
