// Implementation notes. rm -rf deletes children first, one IN_DELETE each, and rmdir(2) only succeeds on an empty
// directory, so a directory's own IN_DELETE removes no file of its own; a directory moved out of the tree is one
// IN_MOVED_FROM with no partner, and what it held is gone from the source already, so its size is found by
// counting the source again (the census minus what is still there). A rename inside the tree is a delete whose
// MoveTo half follows (MoveToFollows): it removes nothing and is never held. The census counts non-directory names
// (a hard link counts once per name, as rsync without -H sends it; excluded paths are not counted), kept by +1/-1 as
// the changes pass, so a directory costs nothing here: no node per file or per directory.
// The store can fail (a full state disk): the guard then keeps holding in memory, keeps the journal's records of
// what it could not persist unacknowledged (a crash replays them through the guard again), retries every tick, and
// says so in the log and in status; nothing it holds is sent for that, nothing is dropped.
using System.Buffers.Binary;
using Microsoft.Extensions.Logging;
using SerSync.Configuration;
using SerSync.Filtering;
using SerSync.Paths;

namespace SerSync.Journal;

/// <summary>A delete the guard holds, and how many files it removes on the targets.</summary>
public readonly record struct HeldDelete(FileChange Change, long Files);

/// <summary>The guard's state for status and metrics.</summary>
/// <param name="Enabled">False with <c>&lt;deleteGuard start="false"/&gt;</c>.</param>
/// <param name="Held">Deletes held now.</param>
/// <param name="HeldFiles">The files those deletes would remove on each target.</param>
/// <param name="HeldSince">When the current hold began; null when nothing is held.</param>
/// <param name="Holds">Holds begun since the pipeline started.</param>
/// <param name="TargetFiles">The census: the files the targets hold for the root, as far as the guard knows.</param>
/// <param name="Settling">Deletes waiting for their burst to settle.</param>
/// <param name="StoreError">Why the held deletes could not be written to the store (or the last tick failed); null
/// while all is well.</param>
public sealed record DeleteGuardSnapshot(bool Enabled, int Held, long HeldFiles, DateTimeOffset? HeldSince, long Holds, long TargetFiles, int Settling, int Percent, string? StoreError = null);

/// <summary>What a release did on one root.</summary>
public readonly record struct GuardRelease(int Released, int Cleared, long Files);

/// <summary>
/// The delete guard of one root, between the journal and the queues. Deletes wait for their burst to settle (a
/// short quiet period, bounded); the burst is judged whole, with what is already held and the deletes sent in a
/// trailing window: past <see cref="DeleteGuardConfig.Percent"/> of the census, or leaving the root with no entry, it
/// is held in <c>STATE/ROOT-ID/held-deletes</c> until <see cref="Release"/>. Everything else passes at once. Not
/// thread-safe on its own: the dispatcher calls it under its gate (status readers take the guard's own lock).
/// </summary>
public sealed partial class DeleteGuard
{
    /// <summary>How long no delete must arrive before a burst of a few deletes is judged: the cost an isolated
    /// delete pays.</summary>
    public static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(100);

    /// <summary>The quiet period once a burst has more than <see cref="FewDeletes"/>: an rm -rf on a loaded machine
    /// can pause longer than <see cref="Quiet"/>, and its first part must not go out alone.</summary>
    public static readonly TimeSpan QuietAfterMany = TimeSpan.FromSeconds(1);

    public const int FewDeletes = 8;

    /// <summary>A burst that never goes quiet (a slow rm -rf, a cleaner) is judged at most this long after it began.</summary>
    public static readonly TimeSpan MaxSettle = TimeSpan.FromSeconds(10);

    /// <summary>Deletes sent this recently count toward the next burst's share, so a slow rm -rf is caught too.</summary>
    public static readonly TimeSpan Trailing = TimeSpan.FromSeconds(30);

    /// <summary>While holding, how often each held path is looked at again (a restored path clears its delete).</summary>
    public static readonly TimeSpan Recheck = TimeSpan.FromSeconds(2);

    /// <summary>At most this often the census is counted again from the disk before a burst of many deletes.</summary>
    public static readonly TimeSpan RecountInterval = TimeSpan.FromSeconds(5);

    /// <summary>A failure told once, then at most this often while it lasts (a new one at once).</summary>
    public static readonly TimeSpan FailureLogInterval = TimeSpan.FromMinutes(1);

    private const string StoreName = "held-deletes";
    private static readonly byte[] Magic = "SSHELD1\n"u8.ToArray();

    private readonly Lock _lock = new();
    private readonly string _root;
    private readonly byte[] _rootBytes;
    private readonly DeleteGuardConfig _config;
    private readonly string? _store;
    private readonly PathFilter _filter;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly List<(FileChange Change, long Sequence, long Files)> _burst = [];
    private readonly Dictionary<RelativePath, HeldDelete> _held = [];
    private readonly Queue<(DateTimeOffset At, long Files)> _sent = new();

    // The census after each judgement in the trailing window: the trailing deletes count only as far as the census
    // really fell since its highest point, so deletes of what was made meanwhile (churn, a build's temporary files,
    // written with createFile off and so never counted as new) are no loss of what the targets held.
    private readonly Queue<(DateTimeOffset At, long Files)> _samples = new();
    private DateTimeOffset _lastRecount = DateTimeOffset.MinValue;
    private readonly HashSet<long> _replayed = [];
    private DateTimeOffset _burstStart;
    private DateTimeOffset _lastDelete;
    private DateTimeOffset _lastRecheck;
    private DateTimeOffset? _heldSince;
    private long _lowestSettling = long.MaxValue;
    private long _targetFiles;
    private long _heldFiles;
    private long _holds;

    // The store's health: a hold not yet written, the oldest journal record it covers (acknowledgements stay below it
    // until a write succeeds), and judged deletes the journal could not take (sent again by the next tick).
    private readonly List<FileChange> _unsent = [];
    private bool _storeDirty;
    private long _unpersistedLowest = long.MaxValue;
    private string? _storeError;
    private string? _tickError;
    private string? _lastFailureLogged;
    private DateTimeOffset _lastFailureLog = DateTimeOffset.MinValue;

    /// <param name="stateDirectory">The root's state directory (the journal's), or null to hold in memory only.</param>
    public DeleteGuard(string root, DeleteGuardConfig config, string? stateDirectory, PathFilter filter, TimeProvider time, ILogger logger)
    {
        _root = root;
        _rootBytes = FileSystemBytes.RootBytes(root);
        _config = config;
        _store = stateDirectory is null ? null : Path.Combine(stateDirectory, StoreName);
        _filter = filter;
        _time = time;
        _logger = logger;
    }

    public bool Enabled => _config.Enabled;

    /// <summary>The census (files the targets hold for the root).</summary>
    public long TargetFiles
    {
        get
        {
            lock (_lock)
            {
                return _targetFiles;
            }
        }
    }

    public int HeldCount
    {
        get
        {
            lock (_lock)
            {
                return _held.Count;
            }
        }
    }

    /// <summary>Counts the root (the census) and reads back what a previous run held. Before any change passes.</summary>
    public void Load()
    {
        if (!Enabled)
        {
            return;
        }

        var held = ReadStore();
        lock (_lock)
        {
            ReadCensus();
            _targetFiles = CountFiles(RelativePath.Root);
            foreach (var h in held)
            {
                _held[h.Change.Path] = h;
                _heldFiles += h.Files;
                _targetFiles += h.Files; // gone from the source, still on the targets
            }

            _countAtLoad = _targetFiles; // before any replayed delete is counted back

            ProtectedChanged();
            if (_held.Count > 0)
            {
                _heldSince = _time.GetUtcNow();
                _lastRecheck = _heldSince.Value;
                StillHolding(_root, _held.Count, _heldFiles);
            }
        }
    }

    /// <summary>True when the guard keeps <paramref name="change"/> (a delete, for now); false: it goes to the queues.</summary>
    public bool Take(FileChange change, long sequence)
    {
        if (!Enabled)
        {
            return false;
        }

        lock (_lock)
        {
            if (change.Kind != ChangeKind.Delete)
            {
                Count(change);
                return false;
            }

            if (change.MoveToFollows)
            {
                return false; // a rename inside the tree: its MoveTo half follows, nothing is removed
            }

            if (change.Event == ChangeEvent.MoveFrom && !change.IsDirectory && IsRsyncTempName(change.Path.Name))
            {
                // A relay tier: rsync --delay-updates moves its temporary file (.NAME.XXXXXX) into .~tmp~, which is
                // not watched, so the move reads as one out of the tree. No target ever had that name.
                return false;
            }

            if (_held.ContainsKey(change.Path))
            {
                return true; // held already (a replay after a restart, or deleted again before it cleared)
            }

            if (change.Fresh)
            {
                return false; // a name created and gone before it was ever reported: no target had it
            }

            if (MadeRecently(change.Path))
            {
                // Churn: made within the trailing window, so nothing the targets held before it.
                if (!change.IsDirectory)
                {
                    _targetFiles = Math.Max(0, _targetFiles - 1);
                }

                return false;
            }

            var now = _time.GetUtcNow();
            if (_burst.Count == 0)
            {
                _burstStart = now;
            }

            _lastDelete = now;
            // A file removes one; a directory's own IN_DELETE none (its children came first); one moved out: unknown.
            var files = !change.IsDirectory ? 1 : change.Event == ChangeEvent.Delete ? 0 : -1;
            _burst.Add((change, sequence, files));
            ProtectedChanged();
            _lowestSettling = Math.Min(_lowestSettling, sequence);
            return true;
        }
    }

    /// <summary>A delete read back from the journal at start: taken once for every consumer (they all get it when it
    /// goes); the census gains it, since the targets that had not acknowledged it still hold its file.</summary>
    public bool TakeReplayed(FileChange change, long sequence)
    {
        if (!Enabled || change.Kind != ChangeKind.Delete)
        {
            return false;
        }

        lock (_lock)
        {
            if (!_replayed.Add(sequence))
            {
                return true;
            }

            if (!change.IsDirectory && !_held.ContainsKey(change.Path))
            {
                _targetFiles++;
            }
        }

        return Take(change with { MoveToFollows = false }, sequence);
    }

    /// <summary>Ends the replay (frees what it needed to take each record once).</summary>
    public void ReplayDone()
    {
        lock (_lock)
        {
            _replayed.Clear();
        }
    }

    /// <summary>The acknowledgement a target may durably give: below the oldest delete still settling, or held but not
    /// yet written to the store, whose record only the journal has (a crash then replays it through the guard again).</summary>
    public long CapAcknowledgement(long sequence)
    {
        lock (_lock)
        {
            var lowest = Math.Min(_lowestSettling, _unpersistedLowest);
            return lowest == long.MaxValue ? sequence : Math.Min(sequence, lowest - 1);
        }
    }

    /// <summary>Judged deletes the dispatcher could not journal (an I/O error): the next tick sends them first.</summary>
    public void Unsent(IEnumerable<FileChange> changes)
    {
        lock (_lock)
        {
            _unsent.AddRange(changes);
        }
    }

    /// <summary>A tick that failed (the dispatcher's loop goes on): logged once, then at most once a minute, and shown
    /// in status until a tick succeeds.</summary>
    public void TickFailed(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        lock (_lock)
        {
            _tickError = exception.GetType().Name + ": " + exception.Message;
            if (ShouldLogFailure(_tickError))
            {
                TickFailure(_root, _tickError);
            }
        }
    }

    /// <summary>Run every few tens of milliseconds: judges a settled burst (returns the deletes that may go now) and,
    /// while holding, clears the held deletes whose path exists again.</summary>
    public List<FileChange> Tick(bool force = false)
    {
        if (!Enabled)
        {
            return [];
        }

        lock (_lock)
        {
            if (_storeDirty)
            {
                PersistStore();
            }

            var send = TickLocked(force);
            _tickError = null;
            if (_unsent.Count > 0)
            {
                send.InsertRange(0, _unsent);
                _unsent.Clear();
            }

            return send;
        }
    }

    private List<FileChange> TickLocked(bool force)
    {
        var now = _time.GetUtcNow();
        while (_sent.Count > 0 && now - _sent.Peek().At > Trailing)
        {
            _sent.Dequeue();
        }

        while (_samples.Count > 0 && now - _samples.Peek().At > Trailing)
        {
            _samples.Dequeue();
        }

        ExpireRecent(now);
        if (_held.Count > 0 && (force || now - _lastRecheck >= Recheck))
        {
            _lastRecheck = now;
            ClearRestored();
        }

        var quiet = _burst.Count > FewDeletes ? QuietAfterMany : Quiet;
        if (_burst.Count == 0 || !(force || now - _lastDelete >= quiet || now - _burstStart >= MaxSettle))
        {
            if (_burst.Count == 0)
            {
                WriteCensus(now, force); // settled: what the targets hold, for the next start's judgement
            }

            return [];
        }

        var send = Judge(now);
        WriteCensus(now, force);
        return send;
    }

    /// <summary><c>sersyncd release</c>: the held deletes whose path is still gone, to be journaled again and queued
    /// (<paramref name="keep"/>: dropped instead). Returns what to send and what was done.</summary>
    public (List<FileChange> Send, GuardRelease Done) Release(bool keep)
    {
        lock (_lock)
        {
            var send = new List<FileChange>();
            long files = 0;
            var cleared = 0;
            foreach (var h in _held.Values.OrderByDescending(h => h.Change.Path))
            {
                if (Restored(h.Change))
                {
                    cleared++;
                    continue;
                }

                files += h.Files;
                if (!keep)
                {
                    send.Add(h.Change);
                }
            }

            var released = _held.Count - cleared;
            // Kept: the targets still hold those files, and the census goes on counting them.
            if (!keep)
            {
                _targetFiles -= files;
            }

            _held.Clear();
            ProtectedChanged();
            _heldFiles = 0;
            _heldSince = null;
            _unpersistedLowest = long.MaxValue; // what is sent is journaled again; what is kept, dropped on purpose
            PersistStore();
            if (released > 0 || cleared > 0)
            {
                Released(_root, keep ? "dropped (the targets keep those files)" : "sent to the targets", released, files, cleared);
            }

            return (send, new GuardRelease(released, cleared, files));
        }
    }

    public DeleteGuardSnapshot Snapshot()
    {
        lock (_lock)
        {
            return new DeleteGuardSnapshot(Enabled, _held.Count, _heldFiles, _heldSince, _holds, _targetFiles, _burst.Count, _config.Percent, _storeError ?? _tickError);
        }
    }

    private List<FileChange> Judge(DateTimeOffset now)
    {
        var burst = new List<(FileChange Change, long Files)>();
        var lowest = _lowestSettling;
        var unknown = false;
        foreach (var (change, _, files) in _burst)
        {
            if (Restored(change))
            {
                continue; // there again (re-created since): the delete no longer applies
            }

            unknown |= files < 0;
            burst.Add((change, files));
        }

        _burst.Clear();
        ProtectedChanged();
        _lowestSettling = long.MaxValue;
        if (burst.Count == 0)
        {
            return [];
        }

        var known = burst.Sum(b => Math.Max(0, b.Files));
        if (unknown)
        {
            // A directory moved out: what the targets lose is what they hold and the source no longer has.
            var missing = Math.Max(0, _targetFiles - CountFiles(RelativePath.Root) - _heldFiles);
            var extra = Math.Max(0, missing - known);
            var first = burst.FindIndex(b => b.Files < 0);
            for (var i = 0; i < burst.Count; i++)
            {
                if (burst[i].Files < 0)
                {
                    burst[i] = (burst[i].Change, i == first ? extra : 0);
                }
            }

            known += extra;
        }
        else if (burst.Count > FewDeletes && now - _lastRecount >= RecountInterval)
        {
            // The census counts only names it saw created; files written with createFile off arrive as a close_write,
            // which does not say whether the name is new. Before judging a burst of many, count again: the targets
            // hold what the source has now plus what this burst and the hold remove.
            _lastRecount = now;
            _targetFiles = CountFiles(RelativePath.Root) + known + _heldFiles;
        }

        var (deletes, total) = Share(known);
        if (!unknown && _lastRecount != now && !_config.AllowsShare(deletes, total))
        {
            // About to hold on a census counted a while ago: names written since (close_write, never counted as new)
            // are missing from it, and churn drives it down. Count again before holding.
            _lastRecount = now;
            _targetFiles = CountFiles(RelativePath.Root) + known + _heldFiles;
            (deletes, total) = Share(known);
        }

        var emptied = RootIsEmpty();
        // While a hold lasts every later delete joins it: the operator decides on them together.
        if (_held.Count == 0 && _config.AllowsShare(deletes, total) && !emptied)
        {
            _targetFiles -= known;
            _sent.Enqueue((now, known));
            _samples.Enqueue((now, _targetFiles + known));
            return [.. burst.Select(b => b.Change)];
        }

        var starts = _held.Count == 0;
        foreach (var (change, files) in burst)
        {
            if (_held.TryAdd(change.Path, new HeldDelete(change, files)))
            {
                _heldFiles += files;
            }
        }

        _unpersistedLowest = Math.Min(_unpersistedLowest, lowest);
        PersistStore();
        if (starts)
        {
            _holds++;
            _heldSince = now;
            _lastRecheck = now;
            var share = total > 0 ? deletes * 100.0 / total : 100.0;
            HoldStarted(_root, _held.Count, _heldFiles, total, share, _config.Percent, emptied ? "; it would leave the root empty" : "");
        }
        else
        {
            HoldGrew(_root, burst.Count, _held.Count, _heldFiles);
        }

        return [];
    }

    /// <summary>The deletes judged (this burst, the hold, and how far the census fell in the trailing window) against
    /// what the targets hold.</summary>
    private (long Deletes, long Total) Share(long known)
    {
        var highest = _samples.Count > 0 ? Math.Max(_samples.Max(x => x.Files), _targetFiles) : _targetFiles;
        var trailing = Math.Min(_sent.Sum(x => x.Files), highest - _targetFiles);
        return (known + _heldFiles + trailing, _targetFiles + trailing);
    }

    private void ClearRestored()
    {
        var restored = _held.Values.Where(h => Restored(h.Change)).ToList();
        if (restored.Count == 0)
        {
            return;
        }

        foreach (var h in restored)
        {
            _held.Remove(h.Change.Path);
            _heldFiles -= h.Files;
        }

        ProtectedChanged();
        PersistStore();
        if (_held.Count == 0)
        {
            _heldSince = null;
            HoldCleared(_root, restored.Count);
        }
        else
        {
            PartlyCleared(_root, restored.Count, _held.Count);
        }
    }

    /// <summary>The census's view of a change that passes: a new name +1; a directory that appeared, what it holds.</summary>
    private void Count(FileChange change)
    {
        if (change.MovedFrom is { } from)
        {
            if (MadeRecently(from))
            {
                NoteMade(change.Path, _time.GetUtcNow()); // a name made moments ago, renamed: still churn
            }

            return; // renamed inside the tree: the same files
        }

        long added = 0;
        if (change.Kind == ChangeKind.Upsert && !change.IsDirectory && change.Event is ChangeEvent.Create or ChangeEvent.MoveTo)
        {
            added = 1;
        }
        else if (change.Kind == ChangeKind.UpsertTree && change.Event is ChangeEvent.Create or ChangeEvent.MoveTo)
        {
            added = CountFiles(change.Path);
        }

        if (change.Fresh && change.Kind == ChangeKind.Upsert && !change.IsDirectory && change.Event is not (ChangeEvent.Create or ChangeEvent.MoveTo))
        {
            added = 1; // created with createFile off: its first report is its close_write
        }

        if ((change.Fresh || change.Event is ChangeEvent.Create or ChangeEvent.MoveTo) && change.Kind is ChangeKind.Upsert or ChangeKind.UpsertTree)
        {
            NoteMade(change.Path, _time.GetUtcNow());
        }

        _targetFiles += added;
    }

    /// <summary>rsync's temporary name for a file it receives: a dot, the name, a dot and six letters or digits.</summary>
    internal static bool IsRsyncTempName(ReadOnlySpan<byte> name)
    {
        if (name.Length < 9 || name[0] != (byte)'.' || name[^7] != (byte)'.')
        {
            return false;
        }

        foreach (var b in name[^6..])
        {
            if (!char.IsAsciiLetterOrDigit((char)b))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Whether the source has the deleted entry again, so its delete no longer applies: the path is there,
    /// reached through real directories only (a directory replaced by a symlink to one that happens to hold the same
    /// names does not bring its old children back), and a deleted directory is a directory again.</summary>
    private bool Restored(FileChange change)
    {
        var stat = FileSystemBytes.Stat(FileSystemBytes.Combine(_rootBytes, change.Path));
        if (stat is null || (change.IsDirectory && stat.Value.Type != EntryType.Directory))
        {
            return false;
        }

        for (var dir = change.Path.Parent; !dir.IsRoot; dir = dir.Parent)
        {
            if (FileSystemBytes.Stat(FileSystemBytes.Combine(_rootBytes, dir)) is not { Type: EntryType.Directory })
            {
                return false;
            }
        }

        return true;
    }

    private bool RootIsEmpty() => FileSystemBytes.ListDirectory(_rootBytes) is not { Count: > 0 };

    /// <summary>Non-directory names at or below <paramref name="top"/> that the filter lets through.</summary>
    private long CountFiles(RelativePath top)
    {
        long count = 0;
        var stack = new Stack<RelativePath>();
        stack.Push(top);
        while (stack.Count > 0)
        {
            var dir = stack.Pop();
            foreach (var entry in FileSystemBytes.ListDirectory(FileSystemBytes.Combine(_rootBytes, dir)) ?? [])
            {
                var path = dir.Append(entry.Name);
                var isDirectory = entry.Type == EntryType.Directory
                    || (entry.Type == EntryType.Unknown && FileSystemBytes.Stat(FileSystemBytes.Combine(_rootBytes, path))?.Type == EntryType.Directory);
                if (_filter.IsExcluded(path, isDirectory))
                {
                    continue;
                }

                if (isDirectory)
                {
                    stack.Push(path);
                }
                else
                {
                    count++;
                }
            }
        }

        return count;
    }

    /// <summary>Writes the store; on an I/O error keeps the hold in memory, marked to be written again next tick.</summary>
    private void PersistStore()
    {
        try
        {
            WriteStore();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _storeDirty = true;
            _storeError = e.GetType().Name + ": " + e.Message;
            if (ShouldLogFailure(_storeError))
            {
                StoreWriteFailed(_store!, _held.Count, _storeError);
            }

            return;
        }

        _storeDirty = false;
        _unpersistedLowest = long.MaxValue;
        if (_storeError is not null)
        {
            _storeError = null;
            _lastFailureLogged = null;
            StoreWritten(_store!, _held.Count);
        }
    }

    /// <summary>Once per distinct failure, then at most once a <see cref="FailureLogInterval"/>.</summary>
    private bool ShouldLogFailure(string failure)
    {
        var now = _time.GetUtcNow();
        if (failure == _lastFailureLogged && now - _lastFailureLog < FailureLogInterval)
        {
            return false;
        }

        _lastFailureLogged = failure;
        _lastFailureLog = now;
        return true;
    }

    /// <summary>Magic, then per delete: Int32 path length, flags (bit 0 directory), event, Int64 files, the path's
    /// bytes; then the CRC-32 of all before it. Replaced by rename; no file when nothing is held.</summary>
    private void WriteStore()
    {
        if (_store is null)
        {
            return;
        }

        if (_held.Count == 0)
        {
            File.Delete(_store);
            return;
        }

        using var buffer = new MemoryStream();
        buffer.Write(Magic);
        Span<byte> head = stackalloc byte[14];
        foreach (var h in _held.Values)
        {
            var path = h.Change.Path.Bytes;
            BinaryPrimitives.WriteInt32LittleEndian(head, path.Length);
            head[4] = (byte)(h.Change.IsDirectory ? 1 : 0);
            head[5] = (byte)h.Change.Event;
            BinaryPrimitives.WriteInt64LittleEndian(head[6..], h.Files);
            buffer.Write(head);
            buffer.Write(path);
        }

        Span<byte> crc = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(crc, Crc32.Compute(buffer.GetBuffer().AsSpan(0, (int)buffer.Length)));
        buffer.Write(crc);
        var temp = _store + ".tmp";
        using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write))
        {
            buffer.Position = 0;
            buffer.CopyTo(file);
            file.Flush(flushToDisk: true); // a hold is rare and must survive a power loss: the deletes exist nowhere else
        }

        File.Move(temp, _store, overwrite: true);
    }

    private List<HeldDelete> ReadStore()
    {
        var result = new List<HeldDelete>();
        if (_store is null || !File.Exists(_store))
        {
            return result;
        }

        var bytes = File.ReadAllBytes(_store);
        var body = bytes.Length >= Magic.Length + 4 ? bytes.AsSpan(0, bytes.Length - 4) : [];
        if (body.Length < Magic.Length || !body[..Magic.Length].SequenceEqual(Magic)
            || BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(bytes.Length - 4)) != Crc32.Compute(body))
        {
            StoreDamaged(_store);
            return result;
        }

        var at = Magic.Length;
        while (at + 14 <= body.Length)
        {
            var length = BinaryPrimitives.ReadInt32LittleEndian(body[at..]);
            var isDirectory = (body[at + 4] & 1) != 0;
            var e = (ChangeEvent)body[at + 5];
            var files = BinaryPrimitives.ReadInt64LittleEndian(body[(at + 6)..]);
            at += 14;
            if (length < 0 || at + length > body.Length)
            {
                break;
            }

            var path = new RelativePath(body.Slice(at, length).ToArray());
            at += length;
            result.Add(new HeldDelete(new FileChange(ChangeKind.Delete, path, isDirectory, e), files));
        }

        return result;
    }

    [LoggerMessage(EventId = 14201, Level = LogLevel.Critical, Message = "delete guard: HOLDING {Count} delete(s) under {Root} ({Files} file(s) of the {Total} the targets hold, {Share:0.#} %, over the {Percent} % allowed{Why}): nothing is deleted on any target until `sersyncd release -o CONFIG` (send them) or `sersyncd release --keep -o CONFIG` (drop them, the targets keep the files); everything else goes on syncing")]
    private partial void HoldStarted(string root, int count, long files, long total, double share, int percent, string why);

    [LoggerMessage(EventId = 14202, Level = LogLevel.Warning, Message = "delete guard: {Count} more delete(s) under {Root} joined the hold ({Held} held, {Files} file(s)); run sersyncd release")]
    private partial void HoldGrew(string root, int count, int held, long files);

    [LoggerMessage(EventId = 14203, Level = LogLevel.Warning, Message = "delete guard: {Root}: the hold is cleared by itself, the {Count} held path(s) exist again on the source; nothing was deleted on the targets")]
    private partial void HoldCleared(string root, int count);

    [LoggerMessage(EventId = 14204, Level = LogLevel.Information, Message = "delete guard: {Root}: {Count} held delete(s) cleared (their path exists again); {Held} still held")]
    private partial void PartlyCleared(string root, int count, int held);

    [LoggerMessage(EventId = 14205, Level = LogLevel.Warning, Message = "delete guard: {Root}: release: {Released} held delete(s) {What} ({Files} file(s)); {Cleared} no longer applied (the path exists again)")]
    private partial void Released(string root, string what, int released, long files, int cleared);

    [LoggerMessage(EventId = 14206, Level = LogLevel.Critical, Message = "delete guard: {Root}: {Count} delete(s) held by a previous run ({Files} file(s)) are still held: run sersyncd release [--keep]")]
    private partial void StillHolding(string root, int count, long files);

    [LoggerMessage(EventId = 14208, Level = LogLevel.Error, Message = "delete guard: cannot write {Store} ({Error}): the {Count} held delete(s) stay held in memory, their journal records are kept, and the write is retried every tick; check the state directory's disk")]
    private partial void StoreWriteFailed(string store, int count, string error);

    [LoggerMessage(EventId = 14209, Level = LogLevel.Warning, Message = "delete guard: {Store} is written again ({Count} held delete(s)): the store failure is over")]
    private partial void StoreWritten(string store, int count);

    [LoggerMessage(EventId = 14210, Level = LogLevel.Error, Message = "delete guard: {Root}: a tick failed ({Error}); the guard goes on and tries again on the next tick")]
    private partial void TickFailure(string root, string error);

    [LoggerMessage(EventId = 14207, Level = LogLevel.Critical, Message = "delete guard: {Store} is damaged (bad check): what it held is unknown and is not sent; the deletes will reach the targets only through an audit or a full sync")]
    private partial void StoreDamaged(string store);
}
