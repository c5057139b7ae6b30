// Implementation notes. The bound: a collapse is tried when an append leaves the file over MaxBytes; it collapses
// the consumers that hold the journal back, lowest acknowledgement first, until what the others still need is at
// most half the bound, and copies that part to a new file. So the file never stays over the bound for longer than
// the append that crossed it (the "slack": one Append call, at most RootDispatcher's 4,096 records).
// Crash safety rests on rename(2) being atomic: the new file (the kept records, then one targeted full-sync record
// per collapsed target) is written beside the journal, fsync'ed, and renamed over it; the directory is fsync'ed;
// only then are the collapsed targets' acknowledgements moved to the old tip. A crash before the rename leaves the
// old journal and a stray file that Open deletes; a crash after it and before the acknowledgements leaves a target
// whose old acknowledgement is below its full-sync record, so it gets that full sync. A target is never
// acknowledged past records it lacks without its full sync on disk first.
using System.Buffers.Binary;
using SerSync.Interop;
using SerSync.Paths;

namespace SerSync.Journal;

/// <summary>What the journal may do with a consumer that holds it back past its bound.</summary>
public enum CollapseKind
{
    /// <summary>A target that is reachable (syncing, or in sync): it is not collapsed, unless the journal is twice
    /// over its bound (a target whose rsync hangs), when it is treated as away.</summary>
    Keep,

    /// <summary>A target that is away (retrying, failed): what it is owed becomes one full sync.</summary>
    FullSync,

    /// <summary>A plugin's hook: it cannot be given a full sync, so it stops holding the journal back; what it has
    /// not delivered is still delivered by this run from memory, but a restart no longer replays it.</summary>
    Skip,
}

/// <summary>One consumer a collapse moved to the journal's tip.</summary>
/// <param name="FullSyncSequence">The sequence of the full-sync record written for it; 0 for a hook.</param>
/// <param name="Skipped">How many sequences it had not acknowledged.</param>
public readonly record struct CollapsedConsumer(string Id, CollapseKind Kind, long FullSyncSequence, long Skipped);

/// <summary>The outcome of one collapse: who was collapsed and the file's size before and after.</summary>
public sealed record JournalCollapse(IReadOnlyList<CollapsedConsumer> Consumers, long BytesBefore, long BytesAfter);

public sealed partial class ChangeJournal
{
    private const string CompactFileName = "journal.compact";
    private long _maxBytes = long.MaxValue;
    private long _collapseCheckAt = long.MaxValue;
    private long _collapses;

    /// <summary>The bound on the journal file (<c>&lt;journal maxSize&gt;</c>); unbounded until set.</summary>
    public long MaxBytes
    {
        get => Volatile.Read(ref _maxBytes);
        set
        {
            lock (_gate)
            {
                _maxBytes = value;
                _collapseCheckAt = value;
            }
        }
    }

    /// <summary>How many collapses this journal has made since it was opened.</summary>
    public long Collapses => Interlocked.Read(ref _collapses);

    /// <summary>True when the file is over its bound and a collapse should be tried (a read of two fields: cheap
    /// enough to ask after every append).</summary>
    public bool OverBound => Volatile.Read(ref _bytes) > Volatile.Read(ref _collapseCheckAt);

    /// <summary>For tests: called at the collapse's steps ("written": the new file is on disk, not renamed yet;
    /// "renamed": it replaced the journal, the acknowledgements are not moved yet). A throw there is a crash.</summary>
    internal Action<string>? CrashPoint { get; set; }

    /// <summary>
    /// Collapses the consumers that hold the journal back past its bound (see the notes above) and compacts the file.
    /// <paramref name="kindOf"/> says what may be done with each consumer. Returns null when nothing was collapsed
    /// (every consumer that holds it back is reachable): then it is tried again after another sixteenth of the bound.
    /// </summary>
    public JournalCollapse? Collapse(Func<string, CollapseKind> kindOf)
    {
        lock (_gate)
        {
            _file.Flush(flushToDisk: false);
            var length = _file.Length;
            var maxBytes = _maxBytes;
            var ordered = _acks.OrderBy(a => a.Value).ThenBy(a => a.Key, StringComparer.Ordinal).ToList();
            var offsets = OffsetsAfter(ordered.Select(a => a.Value).Distinct().ToList(), length);
            // Past the bound even a reachable consumer that holds it back gives way (a storm larger than the bound, an
            // rsync that hangs): the bound is the bound, and a full sync loses nothing.
            var hard = length > maxBytes;
            var chosen = new List<(string Id, CollapseKind Kind, long Ack)>();
            var i = 0;
            for (; i < ordered.Count; i++)
            {
                var (id, ack) = (ordered[i].Key, ordered[i].Value);
                if (length - offsets[ack] <= maxBytes / 2)
                {
                    break;
                }

                var kind = kindOf(id);
                if (kind == CollapseKind.Keep && !hard)
                {
                    break;
                }

                chosen.Add((id, kind == CollapseKind.Skip ? CollapseKind.Skip : CollapseKind.FullSync, ack));
            }

            if (chosen.Count == 0)
            {
                // Nobody to collapse: each consumer still needs at most half the bound. The file can still be over
                // it with records every consumer has acknowledged (a target that keeps up but never reaches the tip
                // in a long storm, so the file is never emptied): drop that dead prefix.
                var deadPrefix = ordered.Count == 0 ? length : offsets[ordered[0].Value];
                if (hard && deadPrefix > 0)
                {
                    Rewrite(deadPrefix, length, []);
                    _recovered.RemoveAll(r => r.Sequence <= ordered[0].Value);
                    Volatile.Write(ref _collapseCheckAt, maxBytes);
                    return null;
                }

                Volatile.Write(ref _collapseCheckAt, length + Math.Max(maxBytes / 16, 64 << 10));
                return null;
            }

            var tip = _sequence;
            var keepFrom = i < ordered.Count ? offsets[ordered[i].Value] : length;
            var now = _time.GetUtcNow();
            var result = new List<CollapsedConsumer>();
            var fullSyncs = new List<JournalRecord>();
            foreach (var (id, kind, ack) in chosen)
            {
                var sequence = kind == CollapseKind.FullSync ? ++_sequence : 0;
                if (sequence > 0)
                {
                    fullSyncs.Add(new JournalRecord(sequence, now, new FileChange(ChangeKind.Rescan, RelativePath.Root, true), id));
                }

                result.Add(new CollapsedConsumer(id, kind, sequence, tip - ack));
            }

            Rewrite(keepFrom, length, fullSyncs);

            // Only now: each full sync is on disk above the acknowledgement it replaces.
            foreach (var (id, _, _) in chosen)
            {
                _unknownTargets.Remove(id);
                _acks[id] = tip;
                WriteAck(id, tip);
            }

            var floor = i < ordered.Count ? ordered[i].Value : tip;
            _recovered.RemoveAll(r => r.Sequence <= floor);
            Volatile.Write(ref _collapseCheckAt, maxBytes);
            Interlocked.Increment(ref _collapses);
            return new JournalCollapse(result, length, _file.Length);
        }
    }

    /// <summary>Replaces the journal with its part from <paramref name="keepFrom"/> on, then
    /// <paramref name="append"/>: written beside it, fsync'ed, renamed over it, the directory fsync'ed. Under
    /// <c>_gate</c>.</summary>
    private void Rewrite(long keepFrom, long length, List<JournalRecord> append)
    {
        var path = Path.Combine(Directory, "journal");
        var temp = Path.Combine(Directory, CompactFileName);
        using (var output = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            _file.Seek(keepFrom, SeekOrigin.Begin);
            CopyBytes(_file, output, length - keepFrom);
            foreach (var record in append)
            {
                WriteRecord(output, record);
            }

            output.Flush(flushToDisk: true);
        }

        _file.Seek(0, SeekOrigin.End);
        CrashPoint?.Invoke("written");
        File.Move(temp, path, overwrite: true);
        if (OperatingSystem.IsLinux())
        {
            Libc.FsyncDirectory(Directory);
        }

        // Elsewhere .NET cannot open a directory to fsync it: the rename stands at once, and survives a power loss
        // once the file system commits its metadata (README, "Platforms").
        var replaced = _file;
        _file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read);
        _file.Seek(0, SeekOrigin.End);
        replaced.Dispose();
        Volatile.Write(ref _bytes, _file.Length);
        _lastSync = _time.GetUtcNow();
        CrashPoint?.Invoke("renamed");
    }

    /// <summary>For each acknowledgement (ascending), the file offset of the first record above it (the file's
    /// length when there is none). Sequences grow along the file, so one pass of the headers finds them all.</summary>
    private Dictionary<long, long> OffsetsAfter(List<long> acks, long length)
    {
        var offsets = new Dictionary<long, long>();
        using var input = new FileStream(Path.Combine(Directory, "journal"), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16);
        var header = new byte[HeaderBytes + 8];
        var next = 0;
        long position = 0;
        while (next < acks.Count && position + header.Length <= length)
        {
            input.Seek(position, SeekOrigin.Begin);
            input.ReadExactly(header);
            var bodyLength = BinaryPrimitives.ReadInt32LittleEndian(header);
            var sequence = BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(HeaderBytes));
            while (next < acks.Count && sequence > acks[next])
            {
                offsets[acks[next++]] = position;
            }

            position += HeaderBytes + bodyLength + 4;
        }

        while (next < acks.Count)
        {
            offsets[acks[next++]] = length;
        }

        return offsets;
    }

    private static void CopyBytes(Stream input, Stream output, long count)
    {
        var buffer = new byte[1 << 16];
        while (count > 0)
        {
            var read = input.Read(buffer, 0, (int)Math.Min(buffer.Length, count));
            if (read == 0)
            {
                throw new IOException("the journal ended before the part a compaction keeps");
            }

            output.Write(buffer, 0, read);
            count -= read;
        }
    }

    private void WriteAck(string targetId, long sequence)
    {
        var ackBytes = new byte[12];
        BinaryPrimitives.WriteInt64LittleEndian(ackBytes, sequence);
        BinaryPrimitives.WriteUInt32LittleEndian(ackBytes.AsSpan(8), Crc32.Compute(ackBytes.AsSpan(0, 8)));
        ReplaceFile(Path.Combine(Directory, "ack-" + targetId), ackBytes);
    }
}
