using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace SerSync.Interop;

[SupportedOSPlatform("linux")]
internal static partial class Libc
{
    /// <summary>Reclaim these pages now (Linux 5.4+): clean file pages leave this process's resident set.</summary>
    internal const int MADV_PAGEOUT = 21;

    [LibraryImport("libc", SetLastError = true)]
    internal static partial int madvise(nint addr, nuint length, int advice);
}
