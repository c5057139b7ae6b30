// Implementation note: getgrnam_r fills a struct group { char *gr_name; char *gr_passwd; gid_t gr_gid; char **gr_mem; }
// and points its strings into the caller's buffer. On the 64-bit ABIs sersyncd ships for (x86-64, arm64) gr_gid sits
// at offset 16 and the struct is 32 bytes. NSS (LDAP, sssd) is consulted as for any program, unlike parsing /etc/group.
using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace SerSync.Interop;

/// <summary>Group names to ids, and handing a file to a group: the status socket's <c>group</c>. POSIX calls whose
/// struct is the same on Linux, macOS and the BSDs (64-bit); Windows has no groups of this kind.</summary>
[UnsupportedOSPlatform("windows")]
public static partial class UnixGroups
{
    private const int ERANGE = 34;

    /// <summary>The id of group <paramref name="name"/>; null when there is no such group.</summary>
    public static unsafe uint? IdOf(string name)
    {
        var group = stackalloc byte[32];
        for (var size = 4096; size <= 1 << 20; size *= 4)
        {
            var buffer = new byte[size];
            fixed (byte* b = buffer)
            {
                nint result;
                var rc = getgrnam_r(name, group, b, (nuint)size, &result);
                if (rc == ERANGE)
                {
                    continue;
                }

                if (rc != 0 || result == 0)
                {
                    return null;
                }

                return *(uint*)(group + 16);
            }
        }

        return null;
    }

    /// <summary>Gives <paramref name="path"/> to group <paramref name="gid"/>, the owner unchanged.</summary>
    public static void ChangeGroup(string path, uint gid)
    {
        if (chown(path, uint.MaxValue, gid) != 0)
        {
            throw new IOException($"chown {path} to group {gid}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        }
    }

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int getgrnam_r(string name, byte* group, byte* buffer, nuint size, nint* result);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int chown(string path, uint owner, uint group);
}
