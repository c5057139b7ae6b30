// Implementation notes. Deletes made while the daemon is down leave no event: at the next start the catch-up scan
// finds each changed directory by its ctime and syncs it with deletion, and a census counted then from the source
// already lacks what was removed, so an rm -rf made during a stop would reach the targets unjudged. The census is
// therefore kept on disk (what the targets hold, as far as the guard knows) with the journal sequence it counts up
// to, written only while no delete settles. At a start the journal's records after that sequence bring it forward
// (files made +1, deleted -1, as the census counts them), and what the source still lacks against it was lost with
// no event: that is judged like one burst. When the journal no longer holds every record after that sequence, or
// the census is older than the journal's format, nothing is judged.
using System.Buffers.Binary;
using Microsoft.Extensions.Logging;

namespace SerSync.Journal;

public sealed partial class DeleteGuard
{
    private const string CensusName = "census";
    private static readonly byte[] CensusMagic = "SSCENS2\n"u8.ToArray();
    private const int CensusBytes = 8 + 8 + 8 + 4; // magic, census, sequence, CRC-32

    /// <summary>At most this often the census is written while it changes.</summary>
    public static readonly TimeSpan CensusInterval = TimeSpan.FromSeconds(5);

    private long? _previousCensus;
    private long _previousSequence;
    private long _countAtLoad;
    private long _writtenCensus = -1;
    private DateTimeOffset _censusWrittenAt = DateTimeOffset.MinValue;
    private bool _censusWriteFailed;

    private string? CensusPath => _store is null ? null : Path.Combine(Path.GetDirectoryName(_store)!, CensusName);

    /// <summary>The journal's last sequence (the census is written with it); none: 0.</summary>
    public Func<long> JournalSequence { get; init; } = () => 0;

    /// <summary>The journal sequence the census left by the last run counts up to (null: no census kept).</summary>
    public long? PreviousCensusSequence
    {
        get
        {
            lock (_lock)
            {
                return _previousCensus is null ? null : _previousSequence;
            }
        }
    }

    /// <summary>At a start: the files the targets held at the last census that the source lost with no event while
    /// the daemon was down, when they are past the share or leave the root empty (the catch-up must then not delete
    /// them unjudged); null when the loss passes or cannot be told. <paramref name="changeSince"/>: what the journal's
    /// records after <see cref="PreviousCensusSequence"/> change in the count (null: the journal lacks some).</summary>
    public long? LossWhileDown(long? changeSince)
    {
        if (!Enabled || changeSince is not { } delta)
        {
            return null;
        }

        lock (_lock)
        {
            if (_previousCensus is not { } census)
            {
                return null;
            }

            var before = census + delta;
            var lost = before - _countAtLoad;
            if (lost <= 0 || (_config.AllowsShare(lost, before) && !RootIsEmpty()))
            {
                return null;
            }

            LostWhileDown(_root, lost, before, lost * 100.0 / before, _config.Percent);
            return lost;
        }
    }

    /// <summary>At a stop, once the last burst is judged: the census is counted again and written. The count made
    /// as changes pass drifts within a run (a file saved by rename over an old name counts its temporary name), and
    /// after a stop's drain the targets hold what the source has, plus what is held.</summary>
    public void Stopped()
    {
        if (!Enabled || _store is null)
        {
            return;
        }

        lock (_lock)
        {
            if (_burst.Count == 0)
            {
                _targetFiles = CountFiles(Paths.RelativePath.Root) + _heldFiles;
            }

            WriteCensus(_time.GetUtcNow(), force: true);
        }
    }

    /// <summary>Reads the census the last run left (before the count of this start replaces it).</summary>
    private void ReadCensus()
    {
        if (CensusPath is not { } path || !File.Exists(path))
        {
            return;
        }

        var bytes = File.ReadAllBytes(path);
        if (bytes.Length == CensusBytes && bytes.AsSpan(0, CensusMagic.Length).SequenceEqual(CensusMagic)
            && BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(CensusBytes - 4)) == Crc32.Compute(bytes.AsSpan(0, CensusBytes - 4)))
        {
            _previousCensus = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(CensusMagic.Length));
            _previousSequence = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(CensusMagic.Length + 8));
        }
    }

    /// <summary>Writes the census when it changed (at most every <see cref="CensusInterval"/> unless forced).
    /// Under <c>_lock</c>. A write that fails is said once and tried again later: it only weakens the next start's
    /// judgement, never the live guard.</summary>
    private void WriteCensus(DateTimeOffset now, bool force)
    {
        // Only while no delete settles: then the census accounts for every record up to the journal's last one.
        if (CensusPath is not { } path || _burst.Count > 0 || _targetFiles == _writtenCensus || (!force && now - _censusWrittenAt < CensusInterval))
        {
            return;
        }

        var bytes = new byte[CensusBytes];
        CensusMagic.CopyTo(bytes, 0);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(CensusMagic.Length), _targetFiles);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(CensusMagic.Length + 8), JournalSequence());
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(CensusBytes - 4), Crc32.Compute(bytes.AsSpan(0, CensusBytes - 4)));
        _censusWrittenAt = now;
        try
        {
            ChangeJournal.ReplaceFile(path, bytes);
            _writtenCensus = _targetFiles;
            _censusWriteFailed = false;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            if (!_censusWriteFailed)
            {
                CensusNotWritten(path, e.Message);
                _censusWriteFailed = true;
            }
        }
    }

    [LoggerMessage(EventId = 14212, Level = LogLevel.Critical, Message = "delete guard: {Root} lost {Lost} of the {Before} file(s) the targets held while the daemon was down ({Share:0.#} %, over the {Percent} % allowed, or the root is empty): the catch-up runs as a guarded full sync per target, which holds those deletes (sersyncd release [--keep])")]
    private partial void LostWhileDown(string root, long lost, long before, double share, int percent);

    [LoggerMessage(EventId = 14213, Level = LogLevel.Warning, Message = "delete guard: the census {Path} could not be written ({Reason}); the next start judges what was lost while down less well until it can")]
    private partial void CensusNotWritten(string path, string reason);
}
