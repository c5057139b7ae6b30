using System.Diagnostics;

namespace SerSync.Testing;

/// <summary>
/// A scratch directory removed at dispose with <c>rm -rf</c>: .NET's own delete cannot remove names that are not
/// UTF-8, and tests create such names on purpose.
/// </summary>
public sealed class TempDirectory : IDisposable
{
    public TempDirectory(string prefix = "sersync-test-")
    {
        Path = Directory.CreateTempSubdirectory(prefix).FullName;
    }

    public string Path { get; }

    public string Sub(string name)
    {
        var p = System.IO.Path.Combine(Path, name);
        Directory.CreateDirectory(p);
        return p;
    }

    public void Dispose()
    {
        var psi = new ProcessStartInfo("rm") { ArgumentList = { "-rf", "--", Path } };
        using var p = Process.Start(psi)!;
        p.WaitForExit();
    }
}
