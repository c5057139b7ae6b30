using SerSync.Interop;

namespace SerSync.UnitTests.Interop;

public sealed class StartupPagesTests
{
    [Fact]
    public void The_executables_read_only_mappings_are_advised_out_and_the_process_goes_on()
    {
        // The test host's executable (dotnet) stands in for sersyncd: it has read-only mappings of its own file.
        var exe = File.ResolveLinkTarget("/proc/self/exe", returnFinalTarget: true)!.FullName;
        var readOnly = File.ReadAllLines("/proc/self/maps").Count(l => l.EndsWith(" " + exe, StringComparison.Ordinal) && !l.Split(' ')[1].Contains('w', StringComparison.Ordinal));
        Assert.True(readOnly > 0, $"{exe} has read-only mappings");

        var advised = StartupPages.Release();

        Assert.True(advised > 0, "MADV_PAGEOUT accepted (Linux 5.4 or later)");
        Assert.Equal(0, advised % Environment.SystemPageSize);
    }
}
