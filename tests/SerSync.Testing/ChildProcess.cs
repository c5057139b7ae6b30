using System.Diagnostics;
using System.Text;

namespace SerSync.Testing;

/// <summary>What a finished child process left behind.</summary>
public sealed record ChildProcessResult(int ExitCode, string StandardOutput, string StandardError)
{
    public override string ToString() => $"exit {ExitCode}\nstdout:\n{StandardOutput}\nstderr:\n{StandardError}";
}

/// <summary>
/// Runs programs the way the daemon will: an argv list (<see cref="ProcessStartInfo.ArgumentList"/>), never a shell
/// line. A child that outlives its timeout is killed with its whole process tree, by PID.
/// </summary>
public static class ChildProcess
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    public static ProcessStartInfo StartInfo(string fileName, IEnumerable<string> arguments, string? workingDirectory = null)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        var psi = new ProcessStartInfo(fileName)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory ?? string.Empty,
        };
        foreach (var argument in arguments)
        {
            psi.ArgumentList.Add(argument);
        }

        return psi;
    }

    /// <summary>Runs to completion and returns the exit code and output; throws <see cref="TimeoutException"/>
    /// (after killing the process tree) when it takes longer than <paramref name="timeout"/>.</summary>
    public static async Task<ChildProcessResult> RunAsync(
        string fileName,
        IEnumerable<string> arguments,
        string? workingDirectory = null,
        TimeSpan? timeout = null,
        IReadOnlyDictionary<string, string?>? environment = null,
        CancellationToken cancellationToken = default)
    {
        var psi = StartInfo(fileName, arguments, workingDirectory);
        if (environment is not null)
        {
            foreach (var (key, value) in environment)
            {
                psi.Environment[key] = value;
            }
        }

        var limit = timeout ?? DefaultTimeout;
        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {fileName}");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(limit);
        try
        {
            await process.WaitForExitAsync(cts.Token);
            // A grandchild may still hold the pipes open; do not wait on it forever.
            await Task.WhenAll(stdout, stderr).WaitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            KillTree(process, TimeSpan.FromSeconds(10));
            var partialOut = stdout.IsCompletedSuccessfully ? stdout.Result : string.Empty;
            var partialErr = stderr.IsCompletedSuccessfully ? stderr.Result : string.Empty;
            cancellationToken.ThrowIfCancellationRequested();
            throw new TimeoutException(
                $"{fileName} {string.Join(' ', psi.ArgumentList)} did not finish within {limit.TotalSeconds:0.#} s and was killed\n" +
                $"stdout:\n{partialOut}\nstderr:\n{partialErr}");
        }

        return new ChildProcessResult(process.ExitCode, await stdout, await stderr);
    }

    /// <inheritdoc cref="RunAsync"/>
    public static ChildProcessResult Run(
        string fileName,
        IEnumerable<string> arguments,
        string? workingDirectory = null,
        TimeSpan? timeout = null,
        IReadOnlyDictionary<string, string?>? environment = null) =>
        RunAsync(fileName, arguments, workingDirectory, timeout, environment).GetAwaiter().GetResult();

    /// <summary>SIGKILLs the process and its descendants (found by PID through /proc) and waits for it to exit.
    /// Returns false if it is still running after <paramref name="wait"/>.</summary>
    public static bool KillTree(Process process, TimeSpan wait)
    {
        ArgumentNullException.ThrowIfNull(process);
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited (and reaped).
        }

        return process.WaitForExit(wait);
    }
}

/// <summary>
/// A long-running server child (rsync daemon, sshd) whose stdout and stderr are collected in memory for error
/// messages. Stopped only by PID.
/// </summary>
public sealed class BackgroundProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private BackgroundProcess(Process process)
    {
        _process = process;
    }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>Everything written to stdout and stderr so far, interleaved by line.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public static BackgroundProcess Start(string fileName, IEnumerable<string> arguments, string? workingDirectory = null)
    {
        var psi = ChildProcess.StartInfo(fileName, arguments, workingDirectory);
        var process = new Process { StartInfo = psi };
        var result = new BackgroundProcess(process);
        process.OutputDataReceived += result.OnLine;
        process.ErrorDataReceived += result.OnLine;
        if (!process.Start())
        {
            throw new InvalidOperationException($"could not start {fileName}");
        }

        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return result;
    }

    /// <summary>Waits (bounded) for the process to exit on its own; its exit code, or null if still running.</summary>
    public int? WaitForExit(TimeSpan wait) => _process.WaitForExit(wait) ? _process.ExitCode : null;

    /// <summary>SIGKILL to the process and its descendants, by PID, then wait for it to exit.</summary>
    public void Kill()
    {
        if (!ChildProcess.KillTree(_process, TimeSpan.FromSeconds(10)))
        {
            throw new InvalidOperationException($"process {Pid} ({_process.StartInfo.FileName}) did not exit after SIGKILL");
        }
    }

    public void Dispose()
    {
        try
        {
            Kill();
        }
        finally
        {
            _process.Dispose();
        }
    }

    private void OnLine(object sender, DataReceivedEventArgs e)
    {
        if (e.Data is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(e.Data);
        }
    }
}
