// Implementation notes. The journal is an append-only file of length-prefixed, CRC-checked records, one per
// change, written before the change is handed to the targets' queues. write(2) puts the bytes in the page cache,
// so a kill -9 right after loses nothing; the file is fsync'ed at most once a second for power loss, where the
// catch-up scan covers the last second. Each target acknowledges the highest sequence it has synced (a small file
// replaced by rename, which is atomic). At start the records above a target's acknowledgement are its pending
// work. A record cut short by a crash, or one whose CRC fails, ends the readable journal: the file is truncated
// there and the changes from that moment on are rediscovered by the catch-up scan.
using System.Buffers.Binary;
using System.Text;
using SerSync.Paths;

namespace SerSync.Journal;

/// <param name="Target">The one target this record is for (a full sync asked for that target alone), or null for
/// every target of the root.</param>
public sealed record JournalRecord(long Sequence, DateTimeOffset Time, FileChange Change, string? Target = null);

/// <summary>
/// The durable record of one watched root's pending changes, under <c>STATE/ROOT-ID/</c>: <c>journal</c> (the
/// records), <c>ack-TARGET-ID</c> per target, <c>seen</c> (a time before which every change is journaled) and
/// <c>root</c> (the watched path, for people).
/// </summary>
public sealed partial class ChangeJournal : IDisposable
{
    private const int HeaderBytes = 4;
    private const int JudgedFlag = 0x20;
    private const int FreshFlag = 0x40;
    private const int FixedBodyBytes = 8 + 8 + 1 + 1;
    private const long CompactWhenCaughtUpBytes = 1 << 20;
    private static readonly TimeSpan SyncInterval = TimeSpan.FromSeconds(1);

    private readonly Lock _gate = new();
    private FileStream _file; // replaced by a collapse's compaction (ChangeJournal.Collapse.cs)
    private long _bytes;
    private readonly Dictionary<string, long> _acks = [];
    private readonly List<JournalRecord> _recovered;
    private readonly HashSet<string> _unknownTargets = [];
    private readonly TimeProvider _time;
    private long _sequence;
    private DateTimeOffset _lastSync;

    private ChangeJournal(string directory, FileStream file, List<JournalRecord> recovered, TimeProvider time)
    {
        Directory = directory;
        _file = file;
        _bytes = file.Length;
        _recovered = recovered;
        _time = time;
    }

    public string Directory { get; }

    /// <summary>The journal file's size, read without the journal's lock (status and metrics).</summary>
    public long Bytes => Volatile.Read(ref _bytes);

    /// <summary>True when the previous run left a record cut short or corrupted (it was dropped).</summary>
    public bool TornTail { get; private set; }

    /// <summary>
    /// Where the catch-up scan must start: changes on disk at or after this time may not be journaled (made while
    /// the daemon was down, or still in the kernel's queue when it died). Null on a fresh state directory.
    /// </summary>
    public DateTimeOffset? CatchUpSince { get; private set; }

    /// <summary>True when the root had no state at all (a first start, or the operator deleted it).</summary>
    public bool Fresh { get; private set; }

    /// <summary>Targets this journal has no acknowledgement of: what they hold is unknown, so each needs a full sync.
    /// A target leaves the set when it first acknowledges.</summary>
    public IReadOnlySet<string> UnknownTargets
    {
        get
        {
            lock (_gate)
            {
                return _unknownTargets.ToHashSet();
            }
        }
    }

    /// <summary>Opens (creating it if needed) the journal of <paramref name="root"/> under <paramref name="stateDirectory"/>.</summary>
    public static ChangeJournal Open(string stateDirectory, string root, IEnumerable<string> targetIds, TimeProvider time, TimeSpan catchUpMargin)
    {
        var dir = Path.Combine(stateDirectory, StableId.Of(root));
        var fresh = !System.IO.Directory.Exists(dir);
        System.IO.Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "root"), root + "\n");
        File.Delete(Path.Combine(dir, CompactFileName)); // a compaction cut short: the journal it was to replace stands
        var file = new FileStream(Path.Combine(dir, "journal"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
        var records = ReadAll(file, out var goodLength);
        var journal = new ChangeJournal(dir, file, records, time) { Fresh = fresh };
        if (goodLength < file.Length)
        {
            journal.TornTail = true;
            file.SetLength(goodLength);
        }

        file.Seek(0, SeekOrigin.End);
        var configured = targetIds.ToHashSet(StringComparer.Ordinal);
        ForgetUnconfiguredTargets(dir, configured);
        foreach (var id in configured)
        {
            // No acknowledgement on record (a first start, a target new to this root, state deleted by the operator,
            // a damaged file): nothing says what that target holds, so it needs a full sync.
            if (ReadChecked(Path.Combine(dir, "ack-" + id)) is { } ack)
            {
                journal._acks[id] = ack;
            }
            else
            {
                journal._acks[id] = 0;
                journal._unknownTargets.Add(id);
            }
        }

        journal._sequence = Math.Max(records.Count > 0 ? records[^1].Sequence : 0, journal._acks.Values.DefaultIfEmpty(0).Max());
        // A clean stop proved (by its cookie barrier) that every change before the barrier began was journaled.
        var cleanFile = Path.Combine(dir, "clean-stop");
        var barrier = ReadBarrier(cleanFile);
        File.Delete(cleanFile);
        if (!fresh)
        {
            var seen = ReadSeen(Path.Combine(dir, "seen"));
            var since = seen ?? DateTimeOffset.MinValue;
            if (journal.TornTail)
            {
                // What followed the last good record is unknown: look from there.
                var lastGood = records.Count > 0 ? records[^1].Time : DateTimeOffset.MinValue;
                since = lastGood < since ? lastGood : since;
            }

            if (barrier is { } b && !journal.TornTail && b.Began <= since)
            {
                // No margin: the barrier is the proof. It touched the root (its cookie), which is no change.
                // A second early: the kernel stamps ctime from its coarse clock, a tick behind ours. What the journal
                // has of that second comes back as Recheck, so this costs no duplicate hook.
                journal.CatchUpSince = b.Began - TimeSpan.FromSeconds(1);
                journal.StopBarrier = b;
            }
            else
            {
                journal.CatchUpSince = since == DateTimeOffset.MinValue ? since : since - catchUpMargin;
            }
        }

        return journal;
    }

    /// <summary>The sequence of the last record appended.</summary>
    public long LastSequence
    {
        get
        {
            lock (_gate)
            {
                return _sequence;
            }
        }
    }

    /// <summary>The highest sequence <paramref name="id"/> has acknowledged (0 when unknown).</summary>
    public long AcknowledgedOf(string id)
    {
        lock (_gate)
        {
            return _acks.GetValueOrDefault(id);
        }
    }

    /// <summary>
    /// For a consumer that needs no history (a plugin hook newly switched on): if the journal has no acknowledgement
    /// file of it, it starts from the journal's end, as if it had seen everything. Returns true when that happened.
    /// </summary>
    public bool StartFromEndIfUnknown(string id)
    {
        long tip;
        lock (_gate)
        {
            // A file that is there but fails its check was damaged (a power loss): what it said is unknown, so the
            // consumer gets the whole journal again. A duplicate is better than a lost hook.
            if (!_unknownTargets.Contains(id) || File.Exists(Path.Combine(Directory, "ack-" + id)))
            {
                return false;
            }

            tip = _sequence;
        }

        Acknowledge(id, tip);
        return true;
    }

    /// <summary>The journaled changes <paramref name="targetId"/> has not acknowledged.</summary>
    public IEnumerable<JournalRecord> PendingFor(string targetId)
    {
        var ack = _acks.GetValueOrDefault(targetId);
        return _recovered.Where(r => r.Sequence > ack && (r.Target is null || r.Target == targetId));
    }

    /// <summary>Appends changes for every target; returns the sequence of each, in order.</summary>
    public long[] Append(IReadOnlyList<FileChange> changes) => Append(changes, target: null);

    /// <summary>Appends a full sync for one target alone (a target added by a reload, one that fell behind the
    /// crontab, one whose <c>-r</c> push failed); returns its sequence.</summary>
    public long AppendFullSync(string targetId) =>
        Append([new FileChange(ChangeKind.Rescan, RelativePath.Root, true)], targetId)[0];

    private long[] Append(IReadOnlyList<FileChange> changes, string? target)
    {
        var now = _time.GetUtcNow();
        var result = new long[changes.Count];
        lock (_gate)
        {
            using var buffer = new MemoryStream();
            for (var i = 0; i < changes.Count; i++)
            {
                result[i] = ++_sequence;
                WriteRecord(buffer, new JournalRecord(_sequence, now, changes[i], target));
            }

            buffer.Position = 0;
            buffer.CopyTo(_file);
            _file.Flush(flushToDisk: false);
            Volatile.Write(ref _bytes, _bytes + buffer.Length); // counted, not asked of the kernel on every append
            if (now - _lastSync >= SyncInterval)
            {
                _file.Flush(flushToDisk: true);
                _lastSync = now;
            }
        }

        return result;
    }

    /// <summary>Records that <paramref name="targetId"/> has synced every change up to <paramref name="sequence"/>.
    /// When every target has caught up with the whole journal, the file is emptied.</summary>
    public void Acknowledge(string targetId, long sequence)
    {
        lock (_gate)
        {
            // The first acknowledgement of an unknown target is written even at sequence 0 (its full sync ran
            // before anything was journaled): from then on the target is known.
            if (sequence <= _acks.GetValueOrDefault(targetId) && !_unknownTargets.Remove(targetId))
            {
                return;
            }

            _acks[targetId] = sequence;
            var ackBytes = new byte[12];
            BinaryPrimitives.WriteInt64LittleEndian(ackBytes, sequence);
            BinaryPrimitives.WriteUInt32LittleEndian(ackBytes.AsSpan(8), Crc32.Compute(ackBytes.AsSpan(0, 8)));
            ReplaceFile(Path.Combine(Directory, "ack-" + targetId), ackBytes);
            if (_acks.Values.All(a => a >= _sequence) && _file.Length > CompactWhenCaughtUpBytes)
            {
                _file.SetLength(0);
                _file.Seek(0, SeekOrigin.Begin);
                _recovered.Clear();
                Volatile.Write(ref _bytes, 0);
            }
        }
    }

    /// <summary>How the records read at open after <paramref name="sequence"/> change the delete guard's census:
    /// +1 per file made (created, moved in, or first reported fresh), -1 per file deleted (a fresh delete, or the
    /// judged copy of a delete, counts nothing); null when the file no longer holds every record after it.</summary>
    public long? FileCountChangeSince(long sequence)
    {
        if (sequence >= _sequence)
        {
            return 0;
        }

        if (_recovered.Count == 0 || _recovered[0].Sequence > sequence + 1)
        {
            return null; // compacted or emptied since: the records in between are gone
        }

        long delta = 0;
        foreach (var record in _recovered)
        {
            var change = record.Change;
            if (record.Sequence <= sequence || change.IsDirectory)
            {
                continue;
            }

            if (change.Kind == ChangeKind.Delete)
            {
                delta -= change.Fresh || change.Judged ? 0 : 1;
            }
            else if (change.Kind == ChangeKind.Upsert && (change.Fresh || change.Event is ChangeEvent.Create or ChangeEvent.MoveTo))
            {
                delta++;
            }
        }

        return delta;
    }

    /// <summary>The names the journal file (as read at open) says were made, created or moved in, within
    /// <paramref name="window"/> before its newest record: the churn of the moments before a stop or a crash.</summary>
    public List<RelativePath> MadeRecently(TimeSpan window)
    {
        if (_recovered.Count == 0)
        {
            return [];
        }

        var since = _recovered.Max(r => r.Time) - window;
        return [.. _recovered
            .Where(r => r.Time >= since && r.Change.Kind is ChangeKind.Upsert or ChangeKind.UpsertTree && (r.Change.Fresh || r.Change.Event is ChangeEvent.Create or ChangeEvent.MoveTo))
            .Select(r => r.Change.Path)];
    }

    /// <summary>
    /// For each path the journal file still holds a record of, the time of its newest record (a change is journaled
    /// after it happened, so a file whose ctime is not after that time has its change journaled). A directory also
    /// gets the newest time of its children's records, since adding or removing an entry changes its ctime.
    /// </summary>
    public Dictionary<RelativePath, DateTimeOffset> LatestRecordTimes()
    {
        var times = new Dictionary<RelativePath, DateTimeOffset>();
        void Note(RelativePath path, DateTimeOffset time)
        {
            if (!times.TryGetValue(path, out var t) || t < time)
            {
                times[path] = time;
            }
        }

        foreach (var record in _recovered)
        {
            if (record.Change.Kind == ChangeKind.Rescan)
            {
                continue;
            }

            Note(record.Change.Path, record.Time);
            if (!record.Change.Path.IsRoot)
            {
                Note(record.Change.Path.Parent, record.Time);
            }
        }

        return times;
    }

    /// <summary>When the previous run stopped cleanly: the span of its stop barrier (whose cookie file in the root
    /// changed the root's ctime then); null after a crash.</summary>
    public (DateTimeOffset Began, DateTimeOffset Ended)? StopBarrier { get; private set; }

    /// <summary>Records that the stop was clean: every change made before <paramref name="began"/> is journaled (the
    /// stop's cookie barrier, started then and back at <paramref name="ended"/>, proved it), so the next start's
    /// catch-up scan starts there, with no safety margin.</summary>
    public void MarkCleanStop(DateTimeOffset began, DateTimeOffset ended)
    {
        var bytes = new byte[20];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, began.ToUnixTimeMilliseconds());
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(8), ended.ToUnixTimeMilliseconds() + 1); // ms, rounded out
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(16), Crc32.Compute(bytes.AsSpan(0, 16)));
        lock (_gate)
        {
            ReplaceFile(Path.Combine(Directory, "clean-stop"), bytes);
        }
    }

    private static (DateTimeOffset Began, DateTimeOffset Ended)? ReadBarrier(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        var bytes = File.ReadAllBytes(path);
        if (bytes.Length != 20 || BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(16)) != Crc32.Compute(bytes.AsSpan(0, 16)))
        {
            return null;
        }

        return (DateTimeOffset.FromUnixTimeMilliseconds(BinaryPrimitives.ReadInt64LittleEndian(bytes)),
            DateTimeOffset.FromUnixTimeMilliseconds(BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(8))));
    }

    /// <summary>Records that every change made before <paramref name="time"/> has been journaled.</summary>
    public void MarkSeen(DateTimeOffset time)
    {
        var bytes = new byte[12];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, time.ToUnixTimeMilliseconds());
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), Crc32.Compute(bytes.AsSpan(0, 8)));
        lock (_gate)
        {
            ReplaceFile(Path.Combine(Directory, "seen"), bytes);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _file.Flush(flushToDisk: true);
            _file.Dispose();
        }
    }

    internal static void WriteRecord(Stream output, JournalRecord record)
    {
        // A full sync has no path; its path field names the one target it is for, if any (older records: empty).
        var path = record.Change.Kind == ChangeKind.Rescan ? Encoding.ASCII.GetBytes(record.Target ?? string.Empty) : record.Change.Path.Bytes;
        var body = new byte[FixedBodyBytes + path.Length];
        BinaryPrimitives.WriteInt64LittleEndian(body, record.Sequence);
        BinaryPrimitives.WriteInt64LittleEndian(body.AsSpan(8), record.Time.ToUnixTimeMilliseconds());
        body[16] = (byte)record.Change.Kind;
        // Bit 0: a directory. Bits 1-4: the plugins' event (0, unknown, in records written before it was kept).
        // Bit 5: a delete the guard judged (FileChange.Judged); bit 6: a name the watcher saw created (Fresh).
        body[17] = (byte)((record.Change.IsDirectory ? 1 : 0) | ((int)record.Change.Event << 1) | (record.Change.Judged ? JudgedFlag : 0)
            | (record.Change.Fresh ? FreshFlag : 0));
        path.CopyTo(body.AsSpan(FixedBodyBytes));
        Span<byte> header = stackalloc byte[HeaderBytes];
        BinaryPrimitives.WriteInt32LittleEndian(header, body.Length);
        output.Write(header);
        output.Write(body);
        Span<byte> crc = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(crc, Crc32.Compute(body));
        output.Write(crc);
    }

    /// <summary>Reads records up to the first that is cut short or fails its check.</summary>
    internal static List<JournalRecord> ReadAll(Stream input, out long goodLength)
    {
        var records = new List<JournalRecord>();
        goodLength = 0;
        input.Seek(0, SeekOrigin.Begin);
        var header = new byte[HeaderBytes];
        var crc = new byte[4];
        while (true)
        {
            if (input.ReadAtLeast(header, HeaderBytes, throwOnEndOfStream: false) < HeaderBytes)
            {
                return records;
            }

            var length = BinaryPrimitives.ReadInt32LittleEndian(header);
            if (length < FixedBodyBytes || length > FixedBodyBytes + 65536)
            {
                return records;
            }

            var body = new byte[length];
            if (input.ReadAtLeast(body, length, throwOnEndOfStream: false) < length
                || input.ReadAtLeast(crc, 4, throwOnEndOfStream: false) < 4
                || BinaryPrimitives.ReadUInt32LittleEndian(crc) != Crc32.Compute(body)
                || body[16] > (byte)ChangeKind.Rescan
                || ((body[17] >> 1) & 0xF) > (int)ChangeEvents.Last)
            {
                return records;
            }

            var kind = (ChangeKind)body[16];
            var pathBytes = body[FixedBodyBytes..];
            var rescan = kind == ChangeKind.Rescan;
            var change = new FileChange(kind, rescan ? RelativePath.Root : new RelativePath(pathBytes), (body[17] & 1) != 0, (ChangeEvent)((body[17] >> 1) & 0xF))
            {
                Judged = (body[17] & JudgedFlag) != 0,
                Fresh = (body[17] & FreshFlag) != 0,
            };
            records.Add(new JournalRecord(
                BinaryPrimitives.ReadInt64LittleEndian(body),
                DateTimeOffset.FromUnixTimeMilliseconds(BinaryPrimitives.ReadInt64LittleEndian(body.AsSpan(8))),
                change,
                rescan && pathBytes.Length > 0 ? Encoding.ASCII.GetString(pathBytes) : null));
            goodLength = input.Position;
        }
    }

    /// <summary>
    /// Deletes the acknowledgements of targets no longer in the configuration. The journal compacts once every
    /// configured target has caught up, dropping records such a target never received; were its old acknowledgement
    /// kept, its return (a reload, a restart) would trust it. Without one it returns unknown and gets a full sync.
    /// </summary>
    private static void ForgetUnconfiguredTargets(string dir, HashSet<string> configured)
    {
        foreach (var file in System.IO.Directory.EnumerateFiles(dir, "ack-*"))
        {
            if (!configured.Contains(Path.GetFileName(file)["ack-".Length..]))
            {
                File.Delete(file);
            }
        }
    }

    private static DateTimeOffset? ReadSeen(string path) =>
        ReadChecked(path) is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null;

    /// <summary>The 12-byte form of <c>ack-*</c> and <c>seen</c>: a little-endian Int64 and the CRC-32 of those 8
    /// bytes; null when the file is missing or fails its check.</summary>
    internal static long? ReadChecked(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        var bytes = File.ReadAllBytes(path);
        if (bytes.Length != 12 || BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8)) != Crc32.Compute(bytes.AsSpan(0, 8)))
        {
            return null;
        }

        return BinaryPrimitives.ReadInt64LittleEndian(bytes);
    }

    /// <summary>Writes beside <paramref name="path"/> and renames over it: a reader sees the old bytes or the new.</summary>
    internal static void ReplaceFile(string path, byte[] bytes)
    {
        var temp = path + ".tmp";
        File.WriteAllBytes(temp, bytes);
        File.Move(temp, path, overwrite: true);
    }
}
