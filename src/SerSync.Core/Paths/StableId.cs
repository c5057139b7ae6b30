using System.Text;

namespace SerSync.Paths;

/// <summary>A short, stable file-name-safe id for a text (a watched root, a target): the state directory's names.
/// The first 16 hex digits of the text's SHA-256.</summary>
public static class StableId
{
    public static string Of(string text) => Convert.ToHexStringLower(Sha256.Hash(Encoding.UTF8.GetBytes(text)))[..16];
}
