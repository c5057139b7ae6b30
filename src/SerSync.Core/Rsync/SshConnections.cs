using System.Text;
using Microsoft.Extensions.Logging;
using SerSync.Configuration;

namespace SerSync.Rsync;

/// <summary>The kept ssh connections of one pipeline: gives each ssh target that wants one its
/// <see cref="SshConnection"/>, starts their masters, stops them.</summary>
public sealed class SshConnections(string? stateDirectory, TimeProvider time, ILoggerFactory loggers) : IDisposable
{
    private readonly List<SshConnection> _all = [];
    private string? _directory;
    private bool _noDirectory;

    public IReadOnlyList<SshConnection> All => _all;

    /// <summary><paramref name="target"/> with its connection when it is an ssh target with <c>keepOpen</c> on whose
    /// ssh command does not manage connection sharing itself (a ControlPath or ControlMaster of the user's wins);
    /// otherwise <paramref name="target"/> as it is.</summary>
    public SyncTarget Attach(SyncTarget target)
    {
        if (target.Remote.Kind != RemoteKind.Ssh || !target.Rsync.SshKeepOpen || target.Connection is not null
            || !CommonParamsSplitter.TrySplit(target.Rsync.SshCommand, out var command, out _) || command.Count == 0
            || command.Any(w => w.Contains("ControlPath", StringComparison.OrdinalIgnoreCase) || w.Contains("ControlMaster", StringComparison.OrdinalIgnoreCase) || w == "-S"))
        {
            return target;
        }

        if (Directory() is not { } dir)
        {
            return target;
        }

        var connection = new SshConnection(target.Label, RemoteShell.Words(target), RemoteShell.Host(target), SshConnection.NewControlPath(dir, target.Id), time, loggers.CreateLogger<SshConnection>());
        _all.Add(connection);
        return target with { Connection = connection };
    }

    /// <summary>A dead instance's leftovers, once per pipeline (its errors only cost the cleanup).</summary>
    private static async Task SweepAsync(string dir)
    {
        try
        {
            await SshConnection.SweepAsync(dir, "ssh", TimeSpan.FromSeconds(3)).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Left for the next start.
        }
    }

    /// <summary>Starts every master (without waiting for the handshakes).</summary>
    public void StartAll() => _all.ForEach(c => c.Ensure());

    public Task StopAsync() => Task.WhenAll(_all.Select(c => c.StopAsync(TimeSpan.FromSeconds(3))));

    public void Dispose() => _all.ForEach(c => c.Dispose());

    /// <summary>The private directory for the sockets: <c>STATE/ssh</c>, else <c>/run/sersyncd/ssh-UID</c>, else
    /// <c>TMP/sersyncd-ssh-UID</c>; the first that can be made 0700 and whose sockets' paths fit sun_path and hold
    /// only characters that neither rsync's -e splitting nor ssh's tokens change. Null (no kept connections, logged
    /// by no one: rsync then connects as before) when none can.</summary>
    private string? Directory()
    {
        if (_directory is not null || _noDirectory)
        {
            return _directory;
        }

        var uid = Interop.ProcessSession.EffectiveUserId;
        string?[] candidates = [stateDirectory is null ? null : Path.Combine(stateDirectory, "ssh"), OperatingSystem.IsLinux() ? $"/run/sersyncd/ssh-{uid}" : $"/var/run/sersyncd/ssh-{uid}", Path.Combine(Path.GetTempPath(), $"sersyncd-ssh-{uid}")];
        foreach (var dir in candidates)
        {
            if (dir is null || Encoding.UTF8.GetByteCount(dir) + 1 + SshConnection.MaxNameBytes > SshConnection.MaxControlPathBytes || !dir.All(c => char.IsAsciiLetterOrDigit(c) || c is '/' or '.' or '_' or '-'))
            {
                continue;
            }

            if (OperatingSystem.IsWindows())
            {
                break; // no ssh control sockets (ControlMaster) there
            }

            try
            {
                System.IO.Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                if (!Interop.FileIdentity.IsOwnDirectory(dir))
                {
                    continue;
                }

                File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                _directory = dir;
                _ = Task.Run(() => SweepAsync(dir)); // never delays the start
                return dir;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // The next candidate.
            }
        }

        _noDirectory = true;
        return null;
    }
}
