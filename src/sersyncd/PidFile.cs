namespace SerSync.Daemon;

/// <summary>
/// A PID file that refuses a second daemon for the same config: if the file names a live process, start-up stops.
/// Removed at a clean exit.
/// </summary>
public sealed class PidFile : IDisposable
{
    private PidFile(string path) => Path = path;

    public string Path { get; }

    public static PidFile Create(string path)
    {
        var dir = System.IO.Path.GetDirectoryName(path);
        if (!string.IsNullOrEmpty(dir))
        {
            Directory.CreateDirectory(dir);
        }

        if (File.Exists(path) && int.TryParse(File.ReadAllText(path).Trim(), out var old) && old != Environment.ProcessId && SerSync.Interop.ProcessSession.IsAlive(old))
        {
            throw new IOException($"{path} names PID {old}, which is still running: is another sersyncd using this config?");
        }

        File.WriteAllText(path, $"{Environment.ProcessId}\n");
        return new PidFile(path);
    }

    public void Dispose()
    {
        try
        {
            if (File.Exists(Path) && File.ReadAllText(Path).Trim() == Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture))
            {
                File.Delete(Path);
            }
        }
        catch (IOException)
        {
        }
    }
}
