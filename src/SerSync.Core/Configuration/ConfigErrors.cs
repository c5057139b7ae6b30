using System.Xml.Linq;

namespace SerSync.Configuration;

/// <summary>Makes the one-line <see cref="ConfigException"/> for a problem at a node of one file being
/// loaded.</summary>
internal sealed class ConfigErrors(string file, ConfigSourcePositions positions)
{
    /// <summary>An exception pointing at <paramref name="at"/> (or at no position if it is null or has no line
    /// info); callers throw it, so the first problem found ends the load.</summary>
    public ConfigException Fail(XObject? at, string message)
    {
        var (line, column) = positions.Of(at);
        return new ConfigException(file, line, column, message);
    }
}
