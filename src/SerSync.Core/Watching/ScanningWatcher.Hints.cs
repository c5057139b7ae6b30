using System.Text;
using SerSync.Paths;

namespace SerSync.Watching;

public sealed partial class ScanningWatcher
{
    /// <summary>Past this many hints waiting, a pass compares the whole tree instead (cheaper than one stat each).</summary>
    private const int MaxHintsPerPass = 20_000;

    private void StartHints()
    {
        var fsw = new FileSystemWatcher(Root)
        {
            IncludeSubdirectories = true,
            InternalBufferSize = 64 * 1024, // the most ReadDirectoryChangesW takes over a network; plenty elsewhere
            NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.Size
                | NotifyFilters.LastWrite | NotifyFilters.Attributes | NotifyFilters.Security | NotifyFilters.CreationTime,
        };
        fsw.Created += OnHint;
        fsw.Changed += OnHint;
        fsw.Deleted += OnHint;
        fsw.Renamed += OnRenamed;
        fsw.Error += OnError;
        fsw.EnableRaisingEvents = true;
        _fsw = fsw;
    }

    /// <summary>For tests: FileSystemWatcher stops raising events without a word, as it was seen to do.</summary>
    internal void SilenceHints()
    {
        if (_fsw is { } fsw)
        {
            fsw.EnableRaisingEvents = false;
        }
    }

    private void StopHints()
    {
        var fsw = Interlocked.Exchange(ref _fsw, null);
        if (fsw is null)
        {
            return;
        }

        fsw.EnableRaisingEvents = false;
        fsw.Created -= OnHint;
        fsw.Changed -= OnHint;
        fsw.Deleted -= OnHint;
        fsw.Renamed -= OnRenamed;
        fsw.Error -= OnError;
        fsw.Dispose();
    }

    private void OnHint(object sender, FileSystemEventArgs e) => Hinted(e.FullPath, gone: e.ChangeType == WatcherChangeTypes.Deleted);

    private void OnRenamed(object sender, RenamedEventArgs e)
    {
        Hinted(e.OldFullPath, gone: true);
        Hinted(e.FullPath, gone: false);
    }

    private void OnError(object sender, ErrorEventArgs e)
    {
        if (_dropHints || _stopping)
        {
            return;
        }

        Interlocked.Increment(ref _overflows);
        HintsLost(_logger, Root, e.GetException().Message);
        _hints.Enqueue(new Hint(null, Everything: true));
        _wake.Release();
    }

    private void Hinted(string fullPath, bool gone)
    {
        Interlocked.Exchange(ref _lastHint, _time.GetTimestamp());
        if (_probeName is { } probe && fullPath.EndsWith(probe, StringComparison.Ordinal))
        {
            Volatile.Write(ref _probeName, null);
            return;
        }

        if (_dropHints || _stopping)
        {
            return;
        }

        _hints.Enqueue(new Hint(ToRelative(fullPath), Everything: false, gone));
        _wake.Release();
    }

    /// <summary>The path below the root; its parent when the name did not survive decoding (a name that is not
    /// UTF-8 reaches FileSystemWatcher's string with U+FFFD in it), so a listing of bytes finds it instead.</summary>
    private RelativePath? ToRelative(string fullPath)
    {
        var root = Root.TrimEnd('/');
        if (!fullPath.StartsWith(root, StringComparison.Ordinal) || (fullPath.Length > root.Length && fullPath[root.Length] != '/'))
        {
            return null;
        }

        var relative = fullPath[root.Length..].Trim('/');
        var lossy = relative.Contains('\uFFFD', StringComparison.Ordinal);
        if (lossy)
        {
            var slash = relative.LastIndexOf('/');
            while (slash >= 0 && relative[..slash].Contains('\uFFFD', StringComparison.Ordinal))
            {
                slash = relative.LastIndexOf('/', slash - 1);
            }

            return DirectoryMarker(slash < 0 ? RelativePath.Root : RelativePath.FromString(relative[..slash]));
        }

        return relative.Length == 0 ? RelativePath.Root : new RelativePath(Encoding.UTF8.GetBytes(relative));
    }

    // A hint on a directory whose entries must be listed: marked by a trailing '/', which no real path has.
    private static RelativePath DirectoryMarker(RelativePath dir) => new([.. dir.Bytes, (byte)'/']);

    /// <summary>Moves the waiting hints into <paramref name="paths"/>; true when the whole tree is to be compared
    /// (an error, or more hints than a pass takes).</summary>
    private bool TakeHints(ScanPass pass, out List<(RelativePath Path, bool Gone)> paths)
    {
        paths = [];
        var everything = false;
        var seen = new Dictionary<RelativePath, int>();
        var directories = new List<RelativePath>();
        while (_hints.TryDequeue(out var hint))
        {
            if (hint.Everything || seen.Count >= MaxHintsPerPass)
            {
                everything = true;
                continue;
            }

            if (hint.Path is not { } path)
            {
                continue;
            }

            if (seen.TryGetValue(path, out var at))
            {
                if (at >= 0 && hint.Gone)
                {
                    paths[at] = (path, true); // created and deleted within the pass: a delete may be due
                }

                continue;
            }

            if (path.Bytes.Length > 0 && path.Bytes[^1] == (byte)'/')
            {
                seen[path] = -1;
                directories.Add(new RelativePath(path.Bytes[..^1].ToArray()));
            }
            else if (path.IsRoot)
            {
                seen[path] = -1;
                directories.Add(path);
            }
            else
            {
                seen[path] = paths.Count;
                paths.Add((path, hint.Gone));
            }
        }

        if (everything)
        {
            paths.Clear();
            return true;
        }

        // Listed directories are compared as a recheck of each of their entries would be: by the parent's pass.
        foreach (var dir in directories)
        {
            _scanner.Rescan(dir, recursive: false, pass);
        }

        return false;
    }

    /// <summary>While no hint came for <see cref="ProbeAfterQuiet"/>, a probe file is made in the root; when its own
    /// hint does not arrive within <see cref="ProbeTimeout"/>, FileSystemWatcher is made again and the whole tree is
    /// compared at the next pass.</summary>
    private void CheckHintsAlive()
    {
        if (_dropHints || _stopping)
        {
            return;
        }

        if (Volatile.Read(ref _probeName) is { } waiting)
        {
            if (_time.GetElapsedTime(_probeSent) < ProbeTimeout)
            {
                return;
            }

            Volatile.Write(ref _probeName, null);
            Interlocked.Increment(ref _overflows);
            HintsStopped(_logger, Root, ProbeTimeout.TotalSeconds);
            StopHints();
            StartHints();
            _hints.Enqueue(new Hint(null, Everything: true));
            _wake.Release();
            TryDelete(waiting);
            return;
        }

        if (_time.GetElapsedTime(Interlocked.Read(ref _lastHint)) < ProbeAfterQuiet)
        {
            return;
        }

        var name = ProbePrefix + Environment.ProcessId + "-" + Interlocked.Increment(ref _probeCounter);
        var path = Path.Combine(Root, name);
        _probeSent = _time.GetTimestamp();
        Volatile.Write(ref _probeName, name);
        try
        {
            File.WriteAllBytes(path, []);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A root we may not write to cannot be probed: the scans still cover it.
            Volatile.Write(ref _probeName, null);
            Interlocked.Exchange(ref _lastHint, _time.GetTimestamp());
            return;
        }

        TryDelete(name);
    }

    private void TryDelete(string name)
    {
        try
        {
            File.Delete(Path.Combine(Root, name));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Left behind: ".#" names are never sent, and the next probe has another name.
        }
    }
}
