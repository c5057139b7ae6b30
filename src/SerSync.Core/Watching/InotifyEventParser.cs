// Implementation notes. A read() from an inotify fd yields back-to-back records:
//   int32 wd; uint32 mask; uint32 cookie; uint32 len; char name[len];
// in host byte order. len counts the name plus its NUL padding (to keep records aligned) and is 0 when the event
// is about the watched directory itself or about no file at all (IN_Q_OVERFLOW carries wd == -1, IN_IGNORED,
// self events). With len == 0 there is no name to read: sersync 2.5 read one anyway and got stale buffer bytes.
using System.Runtime.InteropServices;

namespace SerSync.Watching;

/// <summary>One inotify record. <see cref="Name"/> is empty when the event carries no name.</summary>
internal readonly record struct RawInotifyEvent(int Wd, InotifyMask Mask, uint Cookie, byte[] Name)
{
    public bool IsDirectory => (Mask & InotifyMask.IsDir) != 0;

    public bool Has(InotifyMask flag) => (Mask & flag) != 0;

    public override string ToString() =>
        $"wd={Wd} mask={Mask} cookie={Cookie} name={new SerSync.Paths.RelativePath(Name)}";
}

internal static class InotifyEventParser
{
    internal const int HeaderSize = 16;

    /// <summary>Appends every record in <paramref name="buffer"/> to <paramref name="events"/>. The kernel only hands
    /// out whole records, so a truncated one means the buffer is not what read() returned.</summary>
    /// <exception cref="InvalidDataException">The buffer ends inside a record.</exception>
    public static void Parse(ReadOnlySpan<byte> buffer, List<RawInotifyEvent> events)
    {
        while (!buffer.IsEmpty)
        {
            if (buffer.Length < HeaderSize)
            {
                throw new InvalidDataException($"inotify buffer ends inside a record header ({buffer.Length} bytes left)");
            }

            var wd = MemoryMarshal.Read<int>(buffer);
            var mask = (InotifyMask)MemoryMarshal.Read<uint>(buffer[4..]);
            var cookie = MemoryMarshal.Read<uint>(buffer[8..]);
            var len = MemoryMarshal.Read<uint>(buffer[12..]);
            if (len > (uint)(buffer.Length - HeaderSize))
            {
                throw new InvalidDataException($"inotify record wd={wd} claims a {len}-byte name but {buffer.Length - HeaderSize} bytes remain");
            }

            byte[] name = [];
            if (len > 0)
            {
                var raw = buffer.Slice(HeaderSize, (int)len);
                var nul = raw.IndexOf((byte)0);
                name = (nul < 0 ? raw : raw[..nul]).ToArray();
            }

            events.Add(new RawInotifyEvent(wd, mask, cookie, name));
            buffer = buffer[(HeaderSize + (int)len)..];
        }
    }

    public static List<RawInotifyEvent> Parse(ReadOnlySpan<byte> buffer)
    {
        var events = new List<RawInotifyEvent>();
        Parse(buffer, events);
        return events;
    }
}
