namespace SerSync.Configuration;

/// <summary>
/// A configuration the daemon refuses. The message is complete and meant for the operator as it is:
/// <c>FILE:LINE:COLUMN: what was found; what was expected</c>. The daemon prints it and exits 78 (EX_CONFIG).
/// </summary>
public sealed class ConfigException : Exception
{
    public ConfigException(string file, int line, int column, string message)
        : base(line > 0 ? $"{file}:{line}:{column}: {message}" : $"{file}: {message}")
    {
        File = file;
        Line = line;
        Column = column;
        Detail = message;
    }

    public ConfigException()
    {
        File = string.Empty;
        Detail = string.Empty;
    }

    public ConfigException(string message)
        : base(message)
    {
        File = string.Empty;
        Detail = message;
    }

    public ConfigException(string message, Exception innerException)
        : base(message, innerException)
    {
        File = string.Empty;
        Detail = message;
    }

    public string File { get; }

    public int Line { get; }

    public int Column { get; }

    public string Detail { get; }

    /// <summary>sysexits.h EX_CONFIG.</summary>
    public const int ExitCode = 78;
}
