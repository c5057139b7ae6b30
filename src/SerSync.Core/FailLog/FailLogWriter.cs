using System.Text;
using SerSync.Processes;

namespace SerSync.FailLog;

/// <summary>A file the failed run read (an exclude list), recreated by the script before the command.</summary>
public sealed record FailLogFile(string Path, IEnumerable<byte[]> NulSeparatedEntries);

/// <summary>
/// sersync's fail log: a shell script of failed rsync runs, each as <c>#errno N</c> and a runnable command, so an
/// operator (or the periodic replay) can redo exactly the failed work. Unlike sersync's, each command is quoted
/// for real, runs without a shell between sersyncd and rsync's arguments, and feeds rsync the same NUL-separated
/// list on stdin that the failed run had (through <c>printf '%s\0'</c>).
/// </summary>
/// <param name="describeExitCode">What an exit code means, for the entry's comment line (rsync's table: the fail log
/// itself knows nothing of rsync).</param>
public sealed class FailLogWriter(string path, Func<int, string> describeExitCode)
{
    /// <summary>Serializes appends with <see cref="FailLogReplayer"/>'s rewrite, so no entry appended during a replay is lost.</summary>
    internal static readonly Lock Gate = new();

    public string Path { get; } = path;

    /// <param name="stdinEntries">The NUL-separated entries the run had on stdin (without the NULs).</param>
    public void Append(int exitCode, string program, ProcessInvocation invocation, IEnumerable<byte[]> stdinEntries, string targetLabel, DateTimeOffset when, FailLogFile? extraFile = null)
    {
        using var entry = new MemoryStream();
        entry.Write(Encoding.UTF8.GetBytes($"#errno {exitCode}\n"));
        entry.Write(Encoding.UTF8.GetBytes($"# {when:yyyy-MM-dd HH:mm:ss zzz} {Sanitize(targetLabel)}: {Sanitize(describeExitCode(exitCode))}\n"));
        entry.Write("cd "u8);
        ShellQuote.Append(entry, invocation.WorkingDirectory);
        entry.Write(" && "u8);
        if (extraFile is not null)
        {
            entry.Write("printf '%s\\0'"u8);
            foreach (var e in extraFile.NulSeparatedEntries)
            {
                entry.WriteByte((byte)' ');
                ShellQuote.Append(entry, e);
            }

            entry.Write(" > "u8);
            ShellQuote.Append(entry, extraFile.Path);
            entry.Write(" && "u8);
        }

        var entries = stdinEntries.ToList();
        if (entries.Count > 0)
        {
            entry.Write("printf '%s\\0'"u8);
            foreach (var e in entries)
            {
                entry.WriteByte((byte)' ');
                ShellQuote.Append(entry, e);
            }

            entry.Write(" | "u8);
        }

        ShellQuote.Append(entry, program);
        foreach (var arg in invocation.Arguments)
        {
            entry.WriteByte((byte)' ');
            ShellQuote.Append(entry, arg);
        }

        entry.Write("\n\n"u8);
        Write(entry);
    }

    /// <summary>A failed run of the command plugin, as a runnable entry: <c>cd ROOT &amp;&amp;</c>, its stdin list through
    /// <c>printf '%s\0' ... |</c> when it had one, its environment additions as shell assignments
    /// (<c>SERSYNC_EVENT='create' ...</c>, not <c>env</c>, which would take a program path holding '=' for one more
    /// assignment), the program and the arguments after argv[0]; every word single-quoted, byte for byte.</summary>
    /// <param name="label">The plugin's label (<c>command PROGRAM</c>: no arguments, they could hold secrets).</param>
    /// <param name="meaning">The run's outcome in words (exit status, timeout).</param>
    /// <param name="retriedBySersyncd">The plugin's own worker retries the run (journaled): the command is written
    /// commented out, as a record and a line to run by hand, so the periodic replay cannot run it a second time.</param>
    public void AppendCommand(int exitCode, CommandInvocation invocation, string label, string meaning, DateTimeOffset when, bool retriedBySersyncd = false)
    {
        ArgumentNullException.ThrowIfNull(invocation);
        using var entry = new MemoryStream();
        entry.Write(Encoding.UTF8.GetBytes($"#errno {exitCode}\n"));
        entry.Write(Encoding.UTF8.GetBytes($"# {when:yyyy-MM-dd HH:mm:ss zzz} {Sanitize(label)}: {Sanitize(meaning)}\n"));
        if (retriedBySersyncd)
        {
            entry.Write("# sersyncd retries this run itself until it succeeds; to run it by hand, remove the '# ' before each line below\n"u8);
            using var command = new MemoryStream();
            WriteCommand(command, invocation);
            foreach (var line in command.ToArray().AsSpan().Split((byte)'\n'))
            {
                entry.Write("# "u8);
                entry.Write(command.ToArray().AsSpan()[line]);
                entry.WriteByte((byte)'\n');
            }

            entry.WriteByte((byte)'\n');
            Write(entry);
            return;
        }

        WriteCommand(entry, invocation);
        entry.Write("\n\n"u8);
        Write(entry);
    }

    private static void WriteCommand(MemoryStream entry, CommandInvocation invocation)
    {
        entry.Write("cd "u8);
        ShellQuote.Append(entry, invocation.WorkingDirectory);
        entry.Write(" && "u8);
        if (invocation.Stdin is { Length: > 0 })
        {
            entry.Write("printf '%s\\0'"u8);
            foreach (var e in SplitNul(invocation.Stdin))
            {
                entry.WriteByte((byte)' ');
                ShellQuote.Append(entry, e);
            }

            entry.Write(" | "u8);
        }

        foreach (var (name, value) in invocation.Environment)
        {
            if (!IsShellName(name))
            {
                throw new ArgumentException($"not a shell variable name: {name}", nameof(invocation));
            }

            entry.Write(Encoding.ASCII.GetBytes(name));
            entry.WriteByte((byte)'=');
            ShellQuote.Append(entry, value);
            entry.WriteByte((byte)' ');
        }

        ShellQuote.Append(entry, invocation.Program);
        foreach (var arg in invocation.Arguments.Skip(1))
        {
            entry.WriteByte((byte)' ');
            ShellQuote.Append(entry, arg);
        }

    }

    private static bool IsShellName(string name) =>
        name.Length > 0 && !char.IsAsciiDigit(name[0]) && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');

    private void Write(MemoryStream entry)
    {
        lock (Gate)
        {
            var created = !File.Exists(Path);
            using (var file = new FileStream(Path, FileMode.Append, FileAccess.Write, FileShare.Read))
            {
                if (created)
                {
                    file.Write("#!/bin/sh\n# sersyncd fail log: failed rsync runs, replayed periodically.\n\n"u8);
                }

                entry.Position = 0;
                entry.CopyTo(file);
                file.Flush(flushToDisk: true);
            }

            if (created && !OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
        }
    }

    /// <summary>Splits a NUL-separated stdin list back into entries.</summary>
    public static IEnumerable<byte[]> SplitNul(byte[]? list)
    {
        if (list is null)
        {
            yield break;
        }

        var start = 0;
        for (var i = 0; i < list.Length; i++)
        {
            if (list[i] == 0)
            {
                yield return list[start..i];
                start = i + 1;
            }
        }

        if (start < list.Length)
        {
            yield return list[start..];
        }
    }

    /// <summary>Text for a comment line: a newline in it would end the comment and start a command.</summary>
    internal static string Sanitize(string text) => text.Replace('\n', ' ').Replace('\r', ' ');
}
