// Implementation notes. NativeChild off Linux: a System.Diagnostics.Process (posix_spawn's file actions, attribute
// flags and struct layouts are glibc's in Libc.Spawn.cs). Never a shell: the program and ArgumentList go to execve
// as they are. What it loses against the native child, all of it said in README's "Platforms":
// - argv and the environment are strings: bytes that are not UTF-8 cannot be passed (the start fails with EINVAL,
//   reported as a spawn error), and argv[0] is the program's path, not the caller's argv[0].
// - No process group of its own: the kill at a timeout or a stop is .NET's Kill(entireProcessTree), which finds the
//   descendants alive at that moment (one that has been re-parented to init is missed).
// - The signal mask and dispositions are what .NET gives its children (it resets them too).
// - A signal that ended the child is only known for our own SIGKILL: .NET reports 128 + N as the exit code, as a
//   shell would, but not whether a signal or exit(128 + N) made it.
// The output is stdout and stderr into one bounded tail, as the native pipe does; after the child exits it is
// collected for at most OutputGrace more, since something the child started in the background may hold the pipes.
using System.ComponentModel;
using System.Diagnostics;
using System.Text;

namespace SerSync.Interop;

public sealed partial class NativeChild
{
    private const int EINVAL = 22;
    private static readonly TimeSpan OutputGrace = TimeSpan.FromSeconds(1);
    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly Process? _process;
    private bool _killed;

    private NativeChild(Process process, int maxOutput)
    {
        _process = process;
        Pid = process.Id;
        _maxOutput = maxOutput;
    }

    /// <summary>The start on <see cref="Process"/>: what runs off Linux; internal so the tests run it on Linux too.</summary>
    internal static NativeChild StartPortable(byte[] program, IReadOnlyList<byte[]> argv, IReadOnlyList<byte[]> environment, byte[] workingDirectory, byte[]? stdin, int maxOutput)
    {
        var psi = new ProcessStartInfo(Text(program, "the program's path"))
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Text(workingDirectory, "the working directory"),
        };
        foreach (var arg in argv.Skip(1))
        {
            psi.ArgumentList.Add(Text(arg, "an argument"));
        }

        psi.Environment.Clear(); // exactly the caller's environment, as envp is
        foreach (var entry in environment)
        {
            var text = Text(entry, "an environment entry");
            var eq = text.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                psi.Environment[text[..eq]] = text[(eq + 1)..];
            }
        }

        if (!Directory.Exists(psi.WorkingDirectory))
        {
            throw new NativeSpawnException(2, $"chdir {psi.WorkingDirectory}: no such directory"); // ENOENT, as posix_spawn
        }

        var process = new Process { StartInfo = psi };
        try
        {
            process.Start();
        }
        catch (Win32Exception ex)
        {
            process.Dispose();
            throw new NativeSpawnException(ex.NativeErrorCode, ex.Message);
        }

        var child = new NativeChild(process, maxOutput);
        child.Completion = child.CompletePortableAsync(stdin);
        return child;
    }

    private static string Text(byte[] bytes, string what)
    {
        if (bytes.AsSpan().IndexOf((byte)0) >= 0)
        {
            throw new ArgumentException($"{what} holds a NUL byte", nameof(bytes));
        }

        try
        {
            return Strict.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw new NativeSpawnException(EINVAL, $"{what} is not UTF-8, which this platform's process API cannot pass");
        }
    }

    private static bool PortableIsExecutable(string path) =>
        OperatingSystem.IsWindows() || (File.GetUnixFileMode(path) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0;

    private async Task<NativeChildExit> CompletePortableAsync(byte[]? stdin)
    {
        var process = _process!;
        var tail = new Tail(_maxOutput);
        var gate = new Lock();
        var stdout = PumpPortableAsync(process.StandardOutput.BaseStream, tail, gate);
        var stderr = PumpPortableAsync(process.StandardError.BaseStream, tail, gate);
        var written = WriteStdinAsync(process.StandardInput.BaseStream, stdin);
        try
        {
            await process.WaitForExitAsync().ConfigureAwait(false);
            await Task.WhenAny(Task.WhenAll(stdout, stderr), Task.Delay(OutputGrace)).ConfigureAwait(false);
            await written.ConfigureAwait(false);
            int code;
            bool killed;
            lock (_gate)
            {
                code = process.ExitCode;
                killed = _killed;
            }

            var signal = killed && code == 128 + KillSignal ? KillSignal : (int?)null;
            (byte[] Output, bool Truncated) output;
            lock (gate)
            {
                output = tail.ToArray();
            }

            return new NativeChildExit(code, signal, false, output.Output, output.Truncated);
        }
        finally
        {
            process.Dispose();
        }
    }

    private static async Task PumpPortableAsync(Stream stream, Tail tail, Lock gate)
    {
        var buffer = new byte[16384];
        try
        {
            int n;
            while ((n = await stream.ReadAsync(buffer).ConfigureAwait(false)) > 0)
            {
                lock (gate)
                {
                    tail.Add(buffer.AsSpan(0, n));
                }
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            // The pipe went away with the process.
        }
    }

    private static async Task WriteStdinAsync(Stream stream, byte[]? stdin)
    {
        try
        {
            if (stdin is { Length: > 0 })
            {
                await stream.WriteAsync(stdin).ConfigureAwait(false);
                await stream.FlushAsync().ConfigureAwait(false);
            }
        }
        catch (IOException)
        {
            // The child exited (or closed its stdin) before reading all of it: EPIPE. Its exit status says why.
        }
        finally
        {
            try
            {
                await stream.DisposeAsync().ConfigureAwait(false);
            }
            catch (IOException)
            {
            }
        }
    }

    private void KillPortable()
    {
        lock (_gate)
        {
            try
            {
                if (_process!.HasExited)
                {
                    return;
                }

                _killed = true;
                _process.Kill(entireProcessTree: true);
            }
            catch (Exception ex) when (ex is InvalidOperationException or Win32Exception or NotSupportedException)
            {
                // Exited (and perhaps disposed) in between.
            }
        }
    }
}
