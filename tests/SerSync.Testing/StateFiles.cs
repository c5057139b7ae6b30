using SerSync.Journal;
using SerSync.Paths;

namespace SerSync.Testing;

/// <summary>A test daemon's state files for its one watched root, read through <see cref="JournalStateReader"/>
/// (the journal's own format code), never parsed here.</summary>
public static class StateFiles
{
    /// <summary>The per-root state directory: the only subdirectory of the state directory in these tests, or null
    /// while there is none.</summary>
    public static string? RootDirectory(string stateDirectory) =>
        Directory.Exists(stateDirectory) && Directory.GetDirectories(stateDirectory) is [var only] ? only : null;

    public static string JournalPath(string stateDirectory) =>
        JournalStateReader.JournalPath(RootDirectory(stateDirectory) ?? throw new DirectoryNotFoundException($"no root state directory in {stateDirectory}"));

    /// <summary>The journal's readable records (none while there is no journal).</summary>
    public static IReadOnlyList<JournalRecord> ReadRecords(string stateDirectory, out bool tornTail)
    {
        tornTail = false;
        return RootDirectory(stateDirectory) is { } dir ? JournalStateReader.ReadRecords(dir, out tornTail) : [];
    }

    /// <summary>The "everything before this is journaled" mark, or null when there is none yet.</summary>
    public static DateTimeOffset? ReadSeen(string stateDirectory) =>
        RootDirectory(stateDirectory) is { } dir ? JournalStateReader.ReadSeen(dir) : null;

    /// <summary>The sequence <paramref name="targetId"/> acknowledged, or null when it has none yet.</summary>
    public static long? ReadAck(string stateDirectory, string targetId) =>
        RootDirectory(stateDirectory) is { } dir ? JournalStateReader.ReadAck(dir, targetId) : null;

    public static DateTimeOffset ChangeTime(string path) =>
        FileSystemBytes.Stat(FileSystemBytes.Combine(path, RelativePath.Root))?.ChangeTime ?? throw new FileNotFoundException(path);
}
