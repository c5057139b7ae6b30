// Implementation notes. A batch's renames are replayed on the target before its rsync runs, and that rsync still
// covers both paths of every rename: a rename replayed leaves rsync's quick check (size and mtime, which rename
// keeps) nothing to send; one not replayed is the delete and the send it always was. So a stage may stop at any
// point and the batch is still right: it stops at the first rename it cannot do, because a later one may build on
// it (a chain a->b->c, a swap), and never guesses. A rename is replayed only when the target's old path is there
// and of the same kind (directory or not) as the source's. rename(2) replaces a file or an empty directory
// atomically and fails with EXDEV across file systems and ENOTEMPTY/EEXIST over a non-empty directory. GNU and
// POSIX `mv a b` move a INTO b when b is a directory (or a symlink to one), so the remote script refuses those
// cases itself instead of relying on mv -T, which is not POSIX.
using System.Text;
using Microsoft.Extensions.Logging;
using SerSync.Configuration;
using SerSync.Paths;
using SerSync.Processes;
using SerSync.Rsync;

namespace SerSync.Targets;

/// <param name="Applied">How many of the batch's moves, from the first, are done on the target.</param>
/// <param name="Reached">False when the target could not be reached at all (its directory is missing, ssh could not
/// connect): nothing was tried, the moves wait with the batch. True otherwise: the moves after
/// <paramref name="Applied"/> are left to rsync.</param>
/// <param name="Failure">Why the move after the last applied one was not done, for the log; null when all were.</param>
public readonly record struct MoveOutcome(int Applied, bool Reached, string? Failure = null);

/// <summary>Replays a batch's renames on one kind of target.</summary>
public interface IMoveStage
{
    Task<MoveOutcome> ApplyAsync(IReadOnlyList<PathMove> moves, CancellationToken cancellationToken);
}

public static class MoveStages
{
    /// <summary>The stage for <paramref name="target"/>: rename(2) for a local directory, one remote <c>/bin/sh</c>
    /// over ssh; null for an rsync daemon (it cannot rename), for <c>delete="false"</c> (the target keeps the old
    /// path, so there is nothing to rename: the new one is sent) and for options under which rsync protects target
    /// paths in ways a rename cannot honour (<see cref="RenameSafety"/>: excludes, filters, backups...). Under
    /// <c>-u</c> or <c>--ignore-existing</c> a rename never replaces a path the target holds.</summary>
    public static IMoveStage? For(SyncTarget target, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(target);
        var (mode, _) = RenameSafety.Of(target.Rsync.CommonParams);
        if (!target.Delete || mode == RenameMode.Off)
        {
            return null;
        }

        var replace = mode == RenameMode.Replace;
        return target.Remote.Kind switch
        {
            RemoteKind.LocalDirectory => new LocalMoveStage(target.Remote.Path!) { Replace = replace },
            RemoteKind.Ssh => new SshMoveStage(target, logger) { Replace = replace },
            _ => null,
        };
    }
}

/// <summary>rename(2) under a local target directory.</summary>
public sealed class LocalMoveStage(string targetRoot) : IMoveStage
{
    private readonly byte[] _root = FileSystemBytes.RootBytes(targetRoot);

    /// <summary>Whether a rename may replace a path the target holds (false under <c>-u</c>/<c>--ignore-existing</c>).</summary>
    public bool Replace { get; init; } = true;

    /// <summary>On a pool thread: a hung mount holds that thread in stat(2), never the worker's (whose heartbeat the
    /// watchdog reads).</summary>
    public Task<MoveOutcome> ApplyAsync(IReadOnlyList<PathMove> moves, CancellationToken cancellationToken) =>
        Task.Run(() => Apply(moves), CancellationToken.None);

    private MoveOutcome Apply(IReadOnlyList<PathMove> moves)
    {
        ArgumentNullException.ThrowIfNull(moves);
        if (FileSystemBytes.Stat(_root) is not { Type: EntryType.Directory })
        {
            return new MoveOutcome(0, Reached: false, "the target directory is missing");
        }

        for (var i = 0; i < moves.Count; i++)
        {
            var move = moves[i];
            var from = FileSystemBytes.Combine(_root, move.From);
            var old = FileSystemBytes.Stat(from);
            if (old is null || (old.Value.Type == EntryType.Directory) != move.IsDirectory)
            {
                return new MoveOutcome(i, true, old is null ? "its old path is not on the target" : "its old path is of another type on the target");
            }

            var to = FileSystemBytes.Combine(_root, move.To);
            if (!Replace && FileSystemBytes.Stat(to) is not null)
            {
                return new MoveOutcome(i, true, "its new path is on the target, which rsync's -u or --ignore-existing would keep");
            }

            var errno = FileSystemBytes.TryRename(from, to);
            if (errno == ENOENT && CreateParents(move.To.Parent))
            {
                errno = FileSystemBytes.TryRename(from, to);
            }

            if (errno != 0)
            {
                return new MoveOutcome(i, true, "rename: " + System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(errno));
            }
        }

        return new MoveOutcome(moves.Count, true);
    }

    private const int ENOENT = 2;

    /// <summary>
    /// The new path's missing directories (a directory created and a tree moved into it at once: <c>mkdir -p a/b;
    /// mv site a/b/</c>): created empty, private, since rsync sets their attributes in the same batch (they are
    /// pending as created). False when one cannot be (a file in the way).
    /// </summary>
    private bool CreateParents(RelativePath dir)
    {
        var missing = new Stack<RelativePath>();
        for (var p = dir; !p.IsRoot && FileSystemBytes.Stat(FileSystemBytes.Combine(_root, p)) is null; p = p.Parent)
        {
            missing.Push(p);
        }

        if (missing.Count == 0)
        {
            return false; // all there: ENOENT was about something else
        }

        while (missing.Count > 0)
        {
            if (FileSystemBytes.TryCreateDirectory(FileSystemBytes.Combine(_root, missing.Pop()), 0b111_000_000) != 0)
            {
                return false;
            }
        }

        return true;
    }
}

/// <summary>
/// One <c>/bin/sh</c> on the ssh target's host (through <see cref="RemoteShell.Argv"/>, so over the kept connection
/// when there is one) that reads the renames as a script on stdin. Names travel as bytes single-quoted in the
/// script, never in argv: a name need not be UTF-8 and .NET argv strings cannot carry such bytes.
/// </summary>
public sealed class SshMoveStage(SyncTarget target, ILogger logger) : IMoveStage
{
    /// <summary>ssh's exit status when it could not connect (or the connection broke).</summary>
    private const int SshFailed = 255;

    private static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(5);

    /// <summary>The line the script prints after each rename it did.</summary>
    internal const string Done = "moved";

    /// <summary>Whether a rename may replace a path the target holds (false under <c>-u</c>/<c>--ignore-existing</c>).</summary>
    public bool Replace { get; init; } = true;

    /// <summary>For tests: the runner that runs the argv (its program is the ssh words' first).</summary>
    internal Func<string, IProcessRunner> RunnerFor { get; init; } = program => new ProcessRunner(logger, program);

    public async Task<MoveOutcome> ApplyAsync(IReadOnlyList<PathMove> moves, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(moves);
        var argv = RemoteShell.Argv(target, "/bin/sh");
        var runner = RunnerFor(argv[0]);
        var applied = 0;
        var invocation = new ProcessInvocation(target.WatchRoot, [.. argv.Skip(1)], Script(target.Remote.Name ?? string.Empty, moves, Replace));
        var result = await runner.RunAsync(invocation, Lifetime, cancellationToken, line =>
        {
            if (line == Done)
            {
                applied++;
            }
        });
        if (applied == 0 && (result.ExitCode == SshFailed || result.ExitCode < 0))
        {
            return new MoveOutcome(0, Reached: false, "ssh: " + LastLine(result.Output));
        }

        return applied == moves.Count
            ? new MoveOutcome(applied, true)
            : new MoveOutcome(applied, true, result.ExitCode == 0 ? "its old path is not on the target as the source had it, or the new one is a directory" : "remote shell: " + LastLine(result.Output));
    }

    private static string LastLine(string output) =>
        output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? "no output";

    /// <summary>
    /// The script: change to the target directory, then each rename in order through <c>m KIND OLD NEW</c>, which
    /// checks what the target holds first and prints <see cref="Done"/> when it renamed; the first that fails ends
    /// the script (exit 0: the rest is rsync's). Every path is <c>./</c>-prefixed (no leading <c>-</c> reaches a
    /// command) and single-quoted byte for byte.
    /// </summary>
    internal static byte[] Script(string directory, IReadOnlyList<PathMove> moves, bool replace = true)
    {
        using var script = new MemoryStream();
        void Text(string text) => script.Write(Encoding.ASCII.GetBytes(text));
        Text("set -u\n");
        Text(replace ? "R=y\n" : "R=n\n");
        if (directory.StartsWith("~/", StringComparison.Ordinal))
        {
            Text("cd -- \"$HOME\"/");
            Quote(script, Encoding.UTF8.GetBytes(directory[2..]));
            Text(" || exit 3\n");
        }
        else if (directory.Length > 0)
        {
            Text("cd -- ");
            Quote(script, Encoding.UTF8.GetBytes(directory));
            Text(" || exit 3\n");
        }

        // m KIND OLD NEW NEWPARENT. A directory: the old path a directory (not a symlink to one), nothing at the new
        // path (mv would move into a directory there, and cannot replace a file by a directory). Anything else: the
        // old path there and not a directory, the new path not a directory nor a symlink to one (mv would move into
        // it), and with R=n (-u, --ignore-existing) nothing at the new path at all. The new path's missing parents
        // are created private (rsync sets their attributes in the same batch).
        Text("""
            m() {
              if [ "$1" = d ]; then
                [ -d "$2" ] && [ ! -h "$2" ] || return 1
                if [ -e "$3" ] || [ -h "$3" ]; then return 1; fi
              else
                if [ -e "$2" ] || [ -h "$2" ]; then :; else return 1; fi
                if [ -d "$2" ] && [ ! -h "$2" ]; then return 1; fi
                if [ -d "$3" ]; then return 1; fi
                if [ "$R" = n ]; then if [ -e "$3" ] || [ -h "$3" ]; then return 1; fi; fi
              fi
              if [ ! -d "$4" ]; then mkdir -p -m 700 -- "$4" || return 1; fi
              mv -f -- "$2" "$3" || return 1
              echo
            """);
        Text(" " + Done + "\n}\n");
        foreach (var move in moves)
        {
            Text(move.IsDirectory ? "m d " : "m f ");
            Quote(script, Prefixed(move.From));
            script.WriteByte((byte)' ');
            Quote(script, Prefixed(move.To));
            script.WriteByte((byte)' ');
            Quote(script, Prefixed(move.To.Parent));
            Text(" || exit 0\n");
        }

        Text("exit 0\n");
        return script.ToArray();
    }

    private static byte[] Prefixed(RelativePath path) => [.. "./"u8, .. path.Bytes];

    /// <summary>Single quotes around every byte; a quote inside is closed, escaped and reopened (<c>'\''</c>).</summary>
    internal static void Quote(Stream output, ReadOnlySpan<byte> bytes)
    {
        output.WriteByte((byte)'\'');
        foreach (var b in bytes)
        {
            if (b == (byte)'\'')
            {
                output.Write("'\\''"u8);
            }
            else
            {
                output.WriteByte(b);
            }
        }

        output.WriteByte((byte)'\'');
    }
}
