// Implementation notes. statx(2) is used instead of stat(2) because struct statx has one layout on every
// architecture (struct stat differs per ABI). The kernel fills at most sizeof(struct statx) = 256 bytes and grows
// the struct only into its trailing spare space, so a 256-byte buffer with the fields below stays correct.
// This is the only copy of the layout: every stat in Core (and the tests) goes through it.
using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace SerSync.Interop;

[SupportedOSPlatform("linux")]
internal static partial class Libc
{
    internal const uint STATX_TYPE = 0x1;

    /// <summary>STATX_BASIC_STATS: type, mode, nlink, uid, gid, times, ino, size, blocks.</summary>
    internal const uint STATX_BASIC_STATS = 0x7ff;

    internal const ushort S_IFMT = 0xF000;
    internal const ushort S_IFDIR = 0x4000;
    internal const ushort S_IFREG = 0x8000;
    internal const ushort S_IFLNK = 0xA000;

    [LibraryImport("libc", SetLastError = true)]
    internal static unsafe partial int statx(int dirfd, byte* path, int flags, uint mask, Statx* statxbuf);

    [StructLayout(LayoutKind.Sequential)]
    internal struct StatxTimestamp
    {
        public long Seconds;
        public uint Nanoseconds;
        private readonly int _reserved;
    }

    /// <summary>struct statx (linux/stat.h), offsets in the comments.</summary>
    [StructLayout(LayoutKind.Sequential, Size = 256)]
    internal struct Statx
    {
        public uint Mask; // 0
        public uint BlockSize; // 4
        public ulong Attributes; // 8
        public uint Nlink; // 16
        public uint Uid; // 20
        public uint Gid; // 24
        public ushort Mode; // 28
        private readonly ushort _spare0; // 30
        public ulong Ino; // 32
        public ulong Size; // 40
        public ulong Blocks; // 48
        public ulong AttributesMask; // 56
        public StatxTimestamp Atime; // 64
        public StatxTimestamp Btime; // 80
        public StatxTimestamp Ctime; // 96
        public StatxTimestamp Mtime; // 112
        public uint RdevMajor; // 128
        public uint RdevMinor; // 132
        public uint DevMajor; // 136
        public uint DevMinor; // 140
    }
}
