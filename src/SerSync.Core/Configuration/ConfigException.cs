namespace SerSync.Configuration;

/// <summary>
/// A configuration the daemon refuses. The message is complete and meant for the operator as it is:
/// <c>FILE:LINE:COLUMN: what was found; what was expected</c>. The daemon prints it and exits 78 (EX_CONFIG).
/// It is always one line: values are quoted through <see cref="ConfigText"/>, and whatever control character still
/// reaches a constructor (a file name, a runtime message) is escaped here.
/// </summary>
public sealed class ConfigException : Exception
{
    public ConfigException(string file, int line, int column, string message)
        : base(line > 0 ? $"{ConfigText.Escape(file)}:{line}:{column}: {ConfigText.Escape(message)}" : $"{ConfigText.Escape(file)}: {ConfigText.Escape(message)}")
    {
        File = file;
        Line = line;
        Column = column;
        Detail = ConfigText.Escape(message);
    }

    public ConfigException()
    {
        File = string.Empty;
        Detail = string.Empty;
    }

    public ConfigException(string message)
        : base(ConfigText.Escape(message))
    {
        File = string.Empty;
        Detail = Message;
    }

    public ConfigException(string message, Exception innerException)
        : base(ConfigText.Escape(message), innerException)
    {
        File = string.Empty;
        Detail = Message;
    }

    public string File { get; }

    public int Line { get; }

    public int Column { get; }

    public string Detail { get; }
}
