// Implementation notes. A child started with posix_spawn (Libc.Spawn.cs), so argv, envp and the working directory are
// bytes. The child gets its own process group (pgroup 0: its pid), so a kill reaches whatever it started too; an
// empty signal mask and default dispositions for every signal, so it does not inherit the runtime's (SIGPIPE is
// ignored by .NET, for one). stdin is a pipe (or /dev/null), stdout and stderr one pipe; every fd of ours is
// close-on-exec (.NET opens all its fds that way, and these pipes are pipe2(O_CLOEXEC)), so the child holds only
// these three.
//
// Reaping. .NET's SIGCHLD handler (ProcessWaitState.Unix.cs, CheckChildren) peeks with waitid(P_ALL, WNOWAIT) and
// reaps only the pids System.Diagnostics.Process started, leaving the others alone, except when SIGCHLD was ignored
// when the runtime started or the process is pid 1 (a container without an init): then it reaps every child, ours
// included, and the exit status is lost (reported as such; run a container with an init). So a dedicated thread
// here waits with waitid(P_PID, WEXITED | WNOWAIT), which leaves the child a zombie, then reaps it with waitpid under
// the lock KillGroup takes: a kill is sent only while the child is unreaped, so its pid (and process group id)
// cannot have been reused by then.
//
// I/O. One more dedicated thread polls stdout (read into a bounded tail), stdin (written PIPE_BUF bytes at a time
// after POLLOUT, so a write never blocks) and an eventfd the waiter signals once the child is reaped. Then it drains
// what is left in the pipe without waiting for end of file, since something the child started in the background
// may hold the pipe open for ever.
//
// glibc before 2.29 has no posix_spawn_file_actions_addchdir_np; there the child is `/bin/sh -c 'cd -- "$0" &&
// exec "$@"' DIR PROGRAM ARGS...`: a shell, but one that never parses the arguments (they are its positional
// parameters), so no byte of them is interpreted. argv[0] is then the program's path.
using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace SerSync.Interop;

/// <summary>How a child ended.</summary>
/// <param name="ExitCode">Its exit status (0-255), 128 + the signal when a signal ended it (as shells report it), or
/// -1 when the status was lost.</param>
/// <param name="Signal">The signal that ended it, if one did.</param>
/// <param name="StatusLost">Someone else reaped it (the runtime does when sersyncd is pid 1 or SIGCHLD was
/// ignored at start), so the exit status is unknown.</param>
/// <param name="Output">The last bytes the child wrote to stdout and stderr (at most the bound given at start).</param>
/// <param name="OutputTruncated">Whether earlier output was dropped to keep to the bound.</param>
public sealed record NativeChildExit(int ExitCode, int? Signal, bool StatusLost, byte[] Output, bool OutputTruncated);

/// <summary>The child could not be started: <see cref="ErrorNumber"/> is posix_spawn's error (ENOENT, EACCES, ...).</summary>
public sealed class NativeSpawnException : IOException
{
    public NativeSpawnException(int errorNumber, string message)
        : base(message)
    {
        ErrorNumber = errorNumber;
    }

    public NativeSpawnException()
    {
    }

    public NativeSpawnException(string message)
        : base(message)
    {
    }

    public NativeSpawnException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public int ErrorNumber { get; }
}

/// <summary>A child process started from byte strings, in its own process group. Not a
/// <see cref="System.Diagnostics.Process"/>: .NET never reaps it (see the notes at the top of the file). Off Linux
/// it is one (NativeChild.Portable.cs), with what that loses.</summary>
public sealed partial class NativeChild
{
    /// <summary>SIGKILL: 9 on every Unix.</summary>
    public const int KillSignal = 9;

    private const int PipeBuf = 4096;
    private static int s_noChdir; // 1 once addchdir_np turned out to be missing

    private readonly Lock _gate = new();
    private readonly int _maxOutput;
    private bool _reaped;

    private NativeChild(int pid, int maxOutput)
    {
        Pid = pid;
        _maxOutput = maxOutput;
    }

    public int Pid { get; }

    /// <summary>Completes once the child is reaped and its output drained.</summary>
    public Task<NativeChildExit> Completion { get; private set; } = null!;

    /// <summary>Starts <paramref name="program"/> (a path: nothing searches PATH here) with <paramref name="argv"/>
    /// (argv[0] included) and exactly <paramref name="environment"/> (each entry NAME=VALUE), in
    /// <paramref name="workingDirectory"/>. <paramref name="stdin"/> is written to its stdin, then closed; null gives
    /// it /dev/null.</summary>
    /// <param name="maxOutput">Bound on the output kept (the last bytes).</param>
    /// <exception cref="NativeSpawnException">The child could not be started.</exception>
    public static NativeChild Start(
        byte[] program,
        IReadOnlyList<byte[]> argv,
        IReadOnlyList<byte[]> environment,
        byte[] workingDirectory,
        byte[]? stdin,
        int maxOutput = 16384)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentNullException.ThrowIfNull(argv);
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(workingDirectory);
        if (!OperatingSystem.IsLinux())
        {
            return StartPortable(program, argv, environment, workingDirectory, stdin, maxOutput);
        }

        if (Volatile.Read(ref s_noChdir) == 0)
        {
            try
            {
                return StartCore(program, argv, environment, workingDirectory, chdir: true, stdin, maxOutput);
            }
            catch (EntryPointNotFoundException)
            {
                Volatile.Write(ref s_noChdir, 1);
            }
        }

        return StartThroughShell(program, argv, environment, workingDirectory, stdin, maxOutput);
    }

    /// <summary>The start for a glibc without addchdir_np: <c>/bin/sh -c 'cd -- "$0" &amp;&amp; exec "$@"' DIR PROGRAM
    /// ARGS...</c>. Internal for the tests.</summary>
    [SupportedOSPlatform("linux")]
    internal static NativeChild StartThroughShell(byte[] program, IReadOnlyList<byte[]> argv, IReadOnlyList<byte[]> environment, byte[] workingDirectory, byte[]? stdin, int maxOutput)
    {
        List<byte[]> shArgv = ["sh"u8.ToArray(), "-c"u8.ToArray(), "cd -- \"$0\" && exec \"$@\""u8.ToArray(), workingDirectory, program];
        shArgv.AddRange(argv.Skip(1));
        return StartCore("/bin/sh"u8.ToArray(), shArgv, environment, workingDirectory, chdir: false, stdin, maxOutput);
    }

    /// <summary>SIGKILL to the child's whole process group, while the child is not reaped yet (afterwards its pid
    /// may belong to someone else). Safe to call at any time, more than once.</summary>
    public void KillGroup()
    {
        if (_process is not null)
        {
            KillPortable();
            return;
        }

        if (!OperatingSystem.IsLinux())
        {
            return; // unreachable: off Linux every child is a portable one
        }

        lock (_gate)
        {
            if (_reaped)
            {
                return;
            }

            if (Posix.kill(-Pid, Libc.SIGKILL) != 0)
            {
                _ = Posix.kill(Pid, Libc.SIGKILL); // no group (it left it by setpgid/setsid): the child at least
            }
        }
    }

    /// <summary>Where <paramref name="name"/> runs from, as execvp would find it: a name with a '/' is taken as it
    /// is (made absolute against the current directory); otherwise the first directory of <paramref name="searchPath"/>
    /// (PATH; /bin:/usr/bin when unset) holding an executable regular file of that name. Unlike execvp, an empty PATH
    /// entry does not mean the current directory (a daemon's current directory is no place to find programs).</summary>
    /// <returns>The absolute path, or null when nothing executable of that name is found.</returns>
    public static string? FindProgram(string name, string? searchPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (name.Contains('/', StringComparison.Ordinal))
        {
            return Path.GetFullPath(name);
        }

        foreach (var dir in (searchPath ?? "/bin:/usr/bin").Split(':'))
        {
            if (dir.Length == 0)
            {
                continue;
            }

            var candidate = Path.Combine(Path.GetFullPath(dir), name);
            if (File.Exists(candidate) && IsExecutable(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    private static bool IsExecutable(string path) => OperatingSystem.IsLinux() ? LinuxIsExecutable(path) : PortableIsExecutable(path);

    [SupportedOSPlatform("linux")]
    private static unsafe bool LinuxIsExecutable(string path)
    {
        fixed (byte* p = Libc.ToCString(System.Text.Encoding.UTF8.GetBytes(path)))
        {
            return Libc.access(p, Libc.X_OK) == 0;
        }
    }

    [SupportedOSPlatform("linux")]
    private static unsafe NativeChild StartCore(
        byte[] program,
        IReadOnlyList<byte[]> argv,
        IReadOnlyList<byte[]> environment,
        byte[] workingDirectory,
        bool chdir,
        byte[]? stdin,
        int maxOutput)
    {
        int* output = stackalloc int[2] { -1, -1 };
        int* input = stackalloc int[2] { -1, -1 };
        var wake = -1;
        var actions = NativeMemory.AlignedAlloc(Libc.OpaqueSize, 16);
        var attr = NativeMemory.AlignedAlloc(Libc.OpaqueSize, 16);
        var sets = NativeMemory.AlignedAlloc(2 * Libc.OpaqueSize, 16);
        NativeMemory.Clear(actions, Libc.OpaqueSize);
        NativeMemory.Clear(attr, Libc.OpaqueSize);
        NativeMemory.Clear(sets, 2 * Libc.OpaqueSize);
        var actionsReady = false;
        var attrReady = false;
        var started = false;
        try
        {
            Check(Libc.pipe2(output, Libc.O_CLOEXEC) == 0 ? 0 : Marshal.GetLastPInvokeError(), "pipe2");
            if (stdin is not null)
            {
                Check(Libc.pipe2(input, Libc.O_CLOEXEC) == 0 ? 0 : Marshal.GetLastPInvokeError(), "pipe2");
            }

            wake = Libc.eventfd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
            Check(wake >= 0 ? 0 : Marshal.GetLastPInvokeError(), "eventfd");

            Check(Libc.posix_spawn_file_actions_init(actions), "posix_spawn_file_actions_init");
            actionsReady = true;
            if (stdin is not null)
            {
                Check(Libc.posix_spawn_file_actions_adddup2(actions, input[0], 0), "posix_spawn_file_actions_adddup2");
            }
            else
            {
                fixed (byte* devNull = "/dev/null\0"u8)
                {
                    Check(Libc.posix_spawn_file_actions_addopen(actions, 0, devNull, Libc.O_RDONLY, 0), "posix_spawn_file_actions_addopen");
                }
            }

            Check(Libc.posix_spawn_file_actions_adddup2(actions, output[1], 1), "posix_spawn_file_actions_adddup2");
            Check(Libc.posix_spawn_file_actions_adddup2(actions, output[1], 2), "posix_spawn_file_actions_adddup2");
            if (chdir)
            {
                fixed (byte* dir = Libc.ToCString(workingDirectory))
                {
                    Check(Libc.posix_spawn_file_actions_addchdir_np(actions, dir), "posix_spawn_file_actions_addchdir_np");
                }
            }

            Check(Libc.posix_spawnattr_init(attr), "posix_spawnattr_init");
            attrReady = true;
            var emptySet = sets;
            var fullSet = (byte*)sets + Libc.OpaqueSize;
            _ = Libc.sigemptyset(emptySet);
            _ = Libc.sigfillset(fullSet);
            Check(Libc.posix_spawnattr_setflags(attr, Libc.POSIX_SPAWN_SETPGROUP | Libc.POSIX_SPAWN_SETSIGMASK | Libc.POSIX_SPAWN_SETSIGDEF), "posix_spawnattr_setflags");
            Check(Libc.posix_spawnattr_setpgroup(attr, 0), "posix_spawnattr_setpgroup");
            Check(Libc.posix_spawnattr_setsigmask(attr, emptySet), "posix_spawnattr_setsigmask");
            Check(Libc.posix_spawnattr_setsigdefault(attr, fullSet), "posix_spawnattr_setsigdefault");

            int pid;
            using (var args = new CStringArray(argv))
            using (var env = new CStringArray(environment))
            {
                fixed (byte* path = Libc.ToCString(program))
                {
                    var rc = Libc.posix_spawn(&pid, path, actions, attr, args.Pointer, env.Pointer);
                    if (rc != 0)
                    {
                        throw new NativeSpawnException(rc, Marshal.GetPInvokeErrorMessage(rc));
                    }
                }
            }

            started = true;

            // The child has its copies; ours of its ends must go, or we would never see end of file.
            _ = Libc.close(output[1]);
            output[1] = -1;
            if (stdin is not null)
            {
                _ = Libc.close(input[0]);
                input[0] = -1;
            }

            var child = new NativeChild(pid, maxOutput);
            var outFd = output[0];
            var inFd = input[1];
            var wakeFd = wake;
            var waited = Task.Factory.StartNew(() => child.WaitForExit(wakeFd), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            var pumped = Task.Factory.StartNew(() => child.Pump(outFd, inFd, wakeFd, stdin), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            child.Completion = CompleteAsync(waited, pumped, wakeFd);
            return child;
        }
        finally
        {
            if (actionsReady)
            {
                _ = Libc.posix_spawn_file_actions_destroy(actions);
            }

            if (attrReady)
            {
                _ = Libc.posix_spawnattr_destroy(attr);
            }

            NativeMemory.AlignedFree(actions);
            NativeMemory.AlignedFree(attr);
            NativeMemory.AlignedFree(sets);
            if (!started)
            {
                CloseAll(output[0], output[1], input[0], input[1], wake);
            }
        }
    }

    [SupportedOSPlatform("linux")]
    private static async Task<NativeChildExit> CompleteAsync(Task<(int Code, int? Signal, bool Lost)> waited, Task<(byte[] Output, bool Truncated)> pumped, int wake)
    {
        try
        {
            var (code, signal, lost) = await waited.ConfigureAwait(false);
            var (output, truncated) = await pumped.ConfigureAwait(false);
            return new NativeChildExit(code, signal, lost, output, truncated);
        }
        finally
        {
            _ = Libc.close(wake);
        }
    }

    [SupportedOSPlatform("linux")]
    private unsafe (int Code, int? Signal, bool Lost) WaitForExit(int wake)
    {
        try
        {
            // WNOWAIT: the child stays a zombie (its pid reserved) until the reap below, under the kill's lock.
            var info = stackalloc byte[256];
            while (Libc.waitid(Libc.P_PID, Pid, info, Libc.WEXITED | Libc.WNOWAIT) != 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                if (errno != Libc.EINTR)
                {
                    lock (_gate)
                    {
                        _reaped = true;
                    }

                    return (-1, null, true); // ECHILD: someone else reaped it
                }
            }

            int status;
            int rc;
            lock (_gate)
            {
                do
                {
                    rc = Libc.waitpid(Pid, &status, 0);
                }
                while (rc < 0 && Marshal.GetLastPInvokeError() == Libc.EINTR);
                _reaped = true;
            }

            if (rc != Pid)
            {
                return (-1, null, true);
            }

            var termSignal = status & 0x7f;
            return termSignal == 0 ? ((status >> 8) & 0xff, null, false) : (128 + termSignal, termSignal, false);
        }
        finally
        {
            var one = 1UL;
            _ = Libc.write(wake, (byte*)&one, sizeof(ulong));
        }
    }

    [SupportedOSPlatform("linux")]
    private unsafe (byte[] Output, bool Truncated) Pump(int outFd, int inFd, int wake, byte[]? stdin)
    {
        var tail = new Tail(_maxOutput);
        var buffer = new byte[16384];
        var written = 0;
        var fds = stackalloc Libc.PollFd[3];
        try
        {
            if (inFd >= 0 && (stdin is null || stdin.Length == 0))
            {
                _ = Libc.close(inFd);
                inFd = -1;
            }

            var woken = false;
            while (!woken && (outFd >= 0 || inFd >= 0))
            {
                // A closed fd is -1: poll ignores negative fds.
                fds[0] = new Libc.PollFd { Fd = wake, Events = Libc.POLLIN };
                fds[1] = new Libc.PollFd { Fd = outFd, Events = Libc.POLLIN };
                fds[2] = new Libc.PollFd { Fd = inFd, Events = Libc.POLLOUT };
                if (Libc.poll(fds, 3, -1) < 0)
                {
                    if (Marshal.GetLastPInvokeError() == Libc.EINTR)
                    {
                        continue;
                    }

                    break;
                }

                woken = fds[0].Revents != 0;
                if (outFd >= 0 && fds[1].Revents != 0 && !ReadOnce(ref outFd, buffer, tail))
                {
                    _ = Libc.close(outFd);
                    outFd = -1;
                }

                if (inFd >= 0 && fds[2].Revents != 0)
                {
                    // POLLOUT promises room for PIPE_BUF bytes; POLLERR means the reader is gone (EPIPE).
                    var chunk = Math.Min(PipeBuf, stdin!.Length - written);
                    nint n;
                    fixed (byte* p = &stdin[written])
                    {
                        n = (fds[2].Revents & Libc.POLLOUT) != 0 ? Libc.write(inFd, p, chunk) : -1;
                    }

                    if (n > 0)
                    {
                        written += (int)n;
                    }

                    if ((n < 0 && Marshal.GetLastPInvokeError() != Libc.EINTR && Marshal.GetLastPInvokeError() != Libc.EAGAIN) || written == stdin.Length)
                    {
                        _ = Libc.close(inFd);
                        inFd = -1;
                    }
                }
            }

            // The child is gone: everything it wrote is in the pipe already. Take it without waiting for end of file.
            while (outFd >= 0)
            {
                fds[0] = new Libc.PollFd { Fd = outFd, Events = Libc.POLLIN };
                var ready = Libc.poll(fds, 1, 0);
                if (ready < 0 && Marshal.GetLastPInvokeError() == Libc.EINTR)
                {
                    continue;
                }

                if (ready <= 0 || !ReadOnce(ref outFd, buffer, tail))
                {
                    break;
                }
            }

            return tail.ToArray();
        }
        finally
        {
            CloseAll(outFd, inFd);
        }
    }

    /// <summary>One read after poll said the pipe is readable (so it does not block); false at end of file or error.</summary>
    [SupportedOSPlatform("linux")]
    private static unsafe bool ReadOnce(ref int fd, byte[] buffer, Tail tail)
    {
        while (true)
        {
            nint n;
            fixed (byte* p = buffer)
            {
                n = Libc.read(fd, p, buffer.Length);
            }

            if (n > 0)
            {
                tail.Add(buffer.AsSpan(0, (int)n));
                return true;
            }

            if (n < 0 && Marshal.GetLastPInvokeError() == Libc.EINTR)
            {
                continue;
            }

            return false;
        }
    }

    private static void Check(int error, string call)
    {
        if (error != 0)
        {
            throw new NativeSpawnException(error, $"{call}: {Marshal.GetPInvokeErrorMessage(error)}");
        }
    }

    [SupportedOSPlatform("linux")]
    private static void CloseAll(params ReadOnlySpan<int> fds)
    {
        foreach (var fd in fds)
        {
            if (fd >= 0)
            {
                _ = Libc.close(fd);
            }
        }
    }

    /// <summary>The last bytes of a stream, in a ring of fixed size.</summary>
    private sealed class Tail(int max)
    {
        private readonly byte[] _ring = new byte[Math.Max(1, max)];
        private long _total;

        public void Add(ReadOnlySpan<byte> data)
        {
            if (data.Length > _ring.Length)
            {
                // The bytes skipped count as seen, before the rest is placed: a chunk longer than the ring would
                // otherwise land rotated (its end in the middle of the tail).
                _total += data.Length - _ring.Length;
                data = data[^_ring.Length..];
            }

            foreach (var b in data)
            {
                _ring[_total++ % _ring.Length] = b;
            }
        }

        public (byte[] Output, bool Truncated) ToArray()
        {
            if (_total <= _ring.Length)
            {
                return (_ring[..(int)_total], false);
            }

            var start = (int)(_total % _ring.Length);
            return ([.. _ring[start..], .. _ring[..start]], true);
        }
    }

    /// <summary>A NULL-terminated array of NUL-terminated strings in native memory, as argv and envp are.</summary>
    private sealed unsafe class CStringArray : IDisposable
    {
        private readonly byte** _array;
        private readonly int _count;

        public CStringArray(IReadOnlyList<byte[]> items)
        {
            _count = items.Count;
            _array = (byte**)NativeMemory.AllocZeroed((nuint)(_count + 1), (nuint)sizeof(byte*));
            for (var i = 0; i < _count; i++)
            {
                var item = items[i];
                if (item.AsSpan().IndexOf((byte)0) >= 0)
                {
                    Dispose();
                    throw new ArgumentException("an argument or environment entry holds a NUL byte", nameof(items));
                }

                var s = (byte*)NativeMemory.Alloc((nuint)item.Length + 1);
                item.CopyTo(new Span<byte>(s, item.Length));
                s[item.Length] = 0;
                _array[i] = s;
            }
        }

        public byte** Pointer => _array;

        public void Dispose()
        {
            for (var i = 0; i < _count; i++)
            {
                NativeMemory.Free(_array[i]); // null (not allocated yet) is fine
            }

            NativeMemory.Free(_array);
        }
    }
}
