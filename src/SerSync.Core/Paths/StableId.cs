using System.Security.Cryptography;
using System.Text;

namespace SerSync.Paths;

/// <summary>A short, stable file-name-safe id for a text (a watched root, a target): the state directory's names.</summary>
public static class StableId
{
    public static string Of(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..16];
}
