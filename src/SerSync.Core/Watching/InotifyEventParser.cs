// Implementation notes. A read() from an inotify fd yields back-to-back records:
//   int32 wd; uint32 mask; uint32 cookie; uint32 len; char name[len];
// in host byte order. len counts the name plus its NUL padding (to keep records aligned) and is 0 when the event
// is about the watched directory itself or about no file at all (IN_Q_OVERFLOW carries wd == -1, IN_IGNORED,
// self events). With len == 0 there is no name to read: sersync 2.5 read one anyway and got stale buffer bytes.
// A name is a slice of the buffer it was read into, not a copy: parsing allocates nothing per event, and the
// caller keeps that buffer unchanged until the batch is handled.
using System.Runtime.InteropServices;

namespace SerSync.Watching;

/// <summary>One inotify record. <see cref="Name"/> (a slice of the read buffer) is empty when the event carries no
/// name.</summary>
internal readonly record struct RawInotifyEvent(int Wd, InotifyMask Mask, uint Cookie, ReadOnlyMemory<byte> Name)
{
    public bool IsDirectory => (Mask & InotifyMask.IsDir) != 0;

    public bool Has(InotifyMask flag) => (Mask & flag) != 0;

    public override string ToString() =>
        $"wd={Wd} mask={Mask} cookie={Cookie} name={new SerSync.Paths.RelativePath(Name.ToArray())}";
}

internal static class InotifyEventParser
{
    internal const int HeaderSize = 16;

    /// <summary>Appends every record in <paramref name="buffer"/> to <paramref name="events"/>. The kernel only hands
    /// out whole records, so a truncated one means the buffer is not what read() returned.</summary>
    /// <exception cref="InvalidDataException">The buffer ends inside a record.</exception>
    public static void Parse(ReadOnlyMemory<byte> buffer, List<RawInotifyEvent> events)
    {
        var rest = buffer.Span;
        var offset = 0;
        while (!rest.IsEmpty)
        {
            if (rest.Length < HeaderSize)
            {
                throw new InvalidDataException($"inotify buffer ends inside a record header ({rest.Length} bytes left)");
            }

            var wd = MemoryMarshal.Read<int>(rest);
            var mask = (InotifyMask)MemoryMarshal.Read<uint>(rest[4..]);
            var cookie = MemoryMarshal.Read<uint>(rest[8..]);
            var len = MemoryMarshal.Read<uint>(rest[12..]);
            if (len > (uint)(rest.Length - HeaderSize))
            {
                throw new InvalidDataException($"inotify record wd={wd} claims a {len}-byte name but {rest.Length - HeaderSize} bytes remain");
            }

            var name = ReadOnlyMemory<byte>.Empty;
            if (len > 0)
            {
                var nul = rest.Slice(HeaderSize, (int)len).IndexOf((byte)0);
                name = buffer.Slice(offset + HeaderSize, nul < 0 ? (int)len : nul);
            }

            events.Add(new RawInotifyEvent(wd, mask, cookie, name));
            offset += HeaderSize + (int)len;
            rest = rest[(HeaderSize + (int)len)..];
        }
    }

    public static List<RawInotifyEvent> Parse(ReadOnlyMemory<byte> buffer)
    {
        var events = new List<RawInotifyEvent>();
        Parse(buffer, events);
        return events;
    }
}
