// Implementation notes. rsync is started with an argv list (ProcessStartInfo.ArgumentList: execve, no shell).
// Its stdin carries the NUL-separated list, written as raw bytes to the base stream so no encoding touches a
// name; stdin is closed after the list so rsync sees EOF. stdout and stderr are drained concurrently (a full pipe
// would block rsync). A run that outlives its bound is killed with its whole process tree (rsync forks a
// receiver/generator and, over ssh, an ssh client) and reported as timed out.
using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace SerSync.Processes;

/// <summary>What to run: argv after the program name, the working directory, and optional stdin bytes.</summary>
public sealed record ProcessInvocation(string WorkingDirectory, IReadOnlyList<string> Arguments, byte[]? Stdin = null);

/// <param name="ExitCode">rsync's exit code; -1 when it could not be started or was killed.</param>
/// <param name="Output">The tail of rsync's stderr and stdout, for the log.</param>
public sealed record ProcessResult(int ExitCode, string Output, TimeSpan Duration, bool TimedOut)
{
    public bool Succeeded => ExitCode == 0;
}

/// <summary>Runs one program to its end. The seam between the pipeline and the operating system: tests give the
/// worker a scripted runner instead of rsync.</summary>
public interface IProcessRunner
{
    /// <summary>The program every invocation runs (for the log and the fail log).</summary>
    string Program { get; }

    /// <param name="lifetime">The run is killed, with its whole process tree, when it lasts longer.</param>
    /// <param name="stdoutLine">When set, every stdout line goes here (whole) instead of into the kept tail.</param>
    Task<ProcessResult> RunAsync(ProcessInvocation invocation, TimeSpan lifetime, CancellationToken cancellationToken, Action<string>? stdoutLine = null);
}

public sealed partial class ProcessRunner(ILogger logger, string program = "rsync") : IProcessRunner
{
    private const int OutputTailChars = 4000;

    public string Program { get; } = program;

    public async Task<ProcessResult> RunAsync(ProcessInvocation invocation, TimeSpan lifetime, CancellationToken cancellationToken, Action<string>? stdoutLine = null)
    {
        var psi = new ProcessStartInfo(Program)
        {
            WorkingDirectory = invocation.WorkingDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in invocation.Arguments)
        {
            psi.ArgumentList.Add(arg);
        }

        // rsync reads these; clear them so the daemon's environment cannot change what a run does.
        psi.Environment.Remove("RSYNC_PASSWORD");
        psi.Environment.Remove("RSYNC_RSH");
        psi.Environment.Remove("RSYNC_CONNECT_PROG");
        psi.Environment["LC_ALL"] = "C";

        var watch = Stopwatch.StartNew();
        using var process = new Process { StartInfo = psi };
        try
        {
            process.Start();
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return new ProcessResult(-1, $"cannot start {Program}: {ex.Message}", watch.Elapsed, false);
        }

        var output = new OutputTail(OutputTailChars);
        var stdout = stdoutLine is null ? PumpAsync(process.StandardOutput, output) : PumpAsync(process.StandardOutput, stdoutLine);
        var stderr = PumpAsync(process.StandardError, output);
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bound.CancelAfter(lifetime);
        var timedOut = false;
        try
        {
            await WriteStdinAsync(process, invocation.Stdin, bound.Token);
            await process.WaitForExitAsync(bound.Token);
        }
        catch (OperationCanceledException)
        {
            timedOut = !cancellationToken.IsCancellationRequested;
            KillTree(process);
            await process.WaitForExitAsync(CancellationToken.None);
        }

        await Task.WhenAll(stdout, stderr);
        var text = output.ToString();
        if (text.Length > 0)
        {
            LogOutput(logger, Program, text);
        }

        return new ProcessResult(timedOut || cancellationToken.IsCancellationRequested ? -1 : process.ExitCode, text, watch.Elapsed, timedOut);
    }

    private static async Task WriteStdinAsync(Process process, byte[]? stdin, CancellationToken token)
    {
        var stream = process.StandardInput.BaseStream;
        try
        {
            if (stdin is { Length: > 0 })
            {
                await stream.WriteAsync(stdin, token);
                await stream.FlushAsync(token);
            }
        }
        catch (IOException)
        {
            // rsync exited before reading everything (e.g. it failed to connect); its exit code says why.
        }
        finally
        {
            try
            {
                process.StandardInput.Close();
            }
            catch (IOException)
            {
            }
        }
    }

    private static Task PumpAsync(StreamReader reader, OutputTail output) => PumpAsync(reader, output.Add);

    private static async Task PumpAsync(StreamReader reader, Action<string> line)
    {
        while (await reader.ReadLineAsync() is { } text)
        {
            line(text);
        }
    }

    private static void KillTree(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
    }

    /// <summary>Keeps the last lines of output, bounded, so a chatty rsync cannot grow the daemon's memory.</summary>
    private sealed class OutputTail(int maxChars)
    {
        private readonly LinkedList<string> _lines = new();
        private int _chars;

        public void Add(string line)
        {
            lock (_lines)
            {
                _lines.AddLast(line);
                _chars += line.Length + 1;
                while (_chars > maxChars && _lines.Count > 1)
                {
                    _chars -= _lines.First!.Value.Length + 1;
                    _lines.RemoveFirst();
                }
            }
        }

        public override string ToString()
        {
            lock (_lines)
            {
                return string.Join('\n', _lines);
            }
        }
    }
}
