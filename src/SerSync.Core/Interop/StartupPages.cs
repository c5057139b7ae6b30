// Implementation notes. A NativeAOT binary is mapped from its file; start-up (the host, the container, the config
// reader, the XML parser, placing the watches) runs code and reads data that the running mirror never touches again,
// yet those pages stay in the resident set, each fault having mapped its neighbours too (fault-around, 64 KB). They
// are clean file pages: MADV_PAGEOUT drops them from this process (pages other processes map are left alone) and a
// later use faults them back from the page cache, so nothing is lost but the start's footprint. Kernels before 5.4
// answer EINVAL, and then nothing changes.
using System.Runtime.Versioning;

namespace SerSync.Interop;

/// <summary>Returns the executable's start-up pages to the kernel once the daemon is ready.</summary>
[SupportedOSPlatform("linux")]
public static class StartupPages
{
    /// <summary>Advises every read-only mapping of the running executable out; returns the bytes advised (0 when the
    /// kernel refused or nothing matched).</summary>
    public static long Release()
    {
        string exe;
        string[] maps;
        try
        {
            exe = File.ResolveLinkTarget("/proc/self/exe", returnFinalTarget: true)?.FullName ?? string.Empty;
            maps = File.ReadAllLines("/proc/self/maps");
        }
        catch (IOException)
        {
            return 0;
        }
        catch (UnauthorizedAccessException)
        {
            return 0;
        }

        long advised = 0;
        foreach (var line in maps)
        {
            // address perms offset dev inode path; writable mappings hold the executable's data: not those.
            var fields = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 6 || fields[1].Contains('w', StringComparison.Ordinal) || fields[5] != exe)
            {
                continue;
            }

            var range = fields[0].Split('-');
            var start = Convert.ToInt64(range[0], 16);
            var end = Convert.ToInt64(range[1], 16);
            if (Libc.madvise((nint)start, (nuint)(end - start), Libc.MADV_PAGEOUT) == 0)
            {
                advised += end - start;
            }
        }

        return advised;
    }
}
