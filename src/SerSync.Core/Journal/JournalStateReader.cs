using System.Buffers.Binary;

using SerSync.Paths;

namespace SerSync.Journal;

/// <summary>
/// Reads a root's state files (<c>journal</c>, <c>ack-TARGET-ID</c>, <c>seen</c>) the way <see cref="ChangeJournal.Open"/>
/// does, without creating, truncating or writing anything: for tools and tests that look at a live or stopped
/// daemon's state. A file that is missing, or fails its check, reads as null, as it does at start.
/// </summary>
public static class JournalStateReader
{
    /// <summary>The state directory of the watched <paramref name="root"/> under <paramref name="stateDirectory"/>.</summary>
    public static string RootDirectory(string stateDirectory, string root) => Path.Combine(stateDirectory, StableId.Of(root));

    public static string JournalPath(string rootDirectory) => Path.Combine(rootDirectory, "journal");

    /// <summary>The journal's readable records; <paramref name="tornTail"/> tells whether bytes follow the last good
    /// one (a record cut short or failing its check, which the next start drops). None when there is no journal.</summary>
    public static IReadOnlyList<JournalRecord> ReadRecords(string rootDirectory, out bool tornTail)
    {
        tornTail = false;
        FileStream file;
        try
        {
            // The daemon keeps the journal open for writing: share it, and read what has reached the page cache.
            file = new FileStream(JournalPath(rootDirectory), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return [];
        }

        using (file)
        {
            var records = ChangeJournal.ReadAll(file, out var goodLength);
            tornTail = goodLength < file.Length;
            return records;
        }
    }

    /// <summary>The highest sequence <paramref name="targetId"/> has acknowledged, or null when it has none.</summary>
    public static long? ReadAck(string rootDirectory, string targetId) => ReadChecked(Path.Combine(rootDirectory, "ack-" + targetId));

    /// <summary>The "every change before this is journaled" mark, or null when there is none yet.</summary>
    public static DateTimeOffset? ReadSeen(string rootDirectory) =>
        ReadChecked(Path.Combine(rootDirectory, "seen")) is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null;

    private static long? ReadChecked(string path) => ChangeJournal.ReadChecked(path);
}
