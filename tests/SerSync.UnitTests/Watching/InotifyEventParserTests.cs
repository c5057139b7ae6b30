using System.Runtime.InteropServices;
using SerSync.Watching;

namespace SerSync.UnitTests.Watching;

public sealed class InotifyEventParserTests
{
    /// <summary>One record the way the kernel lays it out (host byte order), name NUL-padded to <paramref name="len"/>.</summary>
    private static byte[] Record(int wd, InotifyMask mask, uint cookie, byte[] name, int? len = null)
    {
        var l = len ?? (name.Length == 0 ? 0 : (name.Length + 1 + 15) / 16 * 16);
        var buf = new byte[16 + l];
        MemoryMarshal.Write(buf.AsSpan(0), in wd);
        var m = (uint)mask;
        MemoryMarshal.Write(buf.AsSpan(4), in m);
        MemoryMarshal.Write(buf.AsSpan(8), in cookie);
        var ul = (uint)l;
        MemoryMarshal.Write(buf.AsSpan(12), in ul);
        name.CopyTo(buf, 16);
        return buf;
    }

    [Fact]
    public void Parses_several_records_with_padded_names()
    {
        byte[] buffer = [
            .. Record(1, InotifyMask.Create, 0, "a.txt"u8.ToArray()),
            .. Record(1, InotifyMask.CloseWrite, 0, "a.txt"u8.ToArray()),
            .. Record(2, InotifyMask.MovedFrom | InotifyMask.IsDir, 77, "sixteen-bytes-xx"u8.ToArray()),
            .. Record(3, InotifyMask.MovedTo | InotifyMask.IsDir, 77, "b"u8.ToArray()),
        ];
        var events = InotifyEventParser.Parse(buffer);
        Assert.Equal(4, events.Count);
        Assert.Equal("a.txt"u8.ToArray(), events[0].Name.ToArray());
        Assert.Equal(InotifyMask.CloseWrite, events[1].Mask);
        Assert.Equal("sixteen-bytes-xx"u8.ToArray(), events[2].Name.ToArray());
        Assert.True(events[2].IsDirectory);
        Assert.Equal(77u, events[2].Cookie);
        Assert.Equal(3, events[3].Wd);
        Assert.Equal("b"u8.ToArray(), events[3].Name.ToArray());
    }

    [Fact]
    public void Nameless_records_have_an_empty_name_and_nothing_is_read_past_the_header()
    {
        // A nameless overflow followed by a named event: garbage-looking bytes follow the first header and must
        // be taken as the next record, never as a name.
        byte[] buffer = [
            .. Record(-1, InotifyMask.QueueOverflow, 0, []),
            .. Record(5, InotifyMask.Ignored, 0, []),
            .. Record(4, InotifyMask.Attrib | InotifyMask.IsDir, 0, []),
            .. Record(4, InotifyMask.Delete, 0, "x"u8.ToArray()),
        ];
        var events = InotifyEventParser.Parse(buffer);
        Assert.Equal(4, events.Count);
        Assert.Equal(-1, events[0].Wd);
        Assert.True(events[0].Has(InotifyMask.QueueOverflow));
        Assert.Empty(events[0].Name.ToArray());
        Assert.Empty(events[1].Name.ToArray());
        Assert.Empty(events[2].Name.ToArray());
        Assert.Equal("x"u8.ToArray(), events[3].Name.ToArray());
    }

    [Fact]
    public void Names_keep_every_byte_that_is_not_nul()
    {
        byte[] name = [(byte)'-', (byte)'\n', 0xff, 0x80, (byte)' '];
        var events = InotifyEventParser.Parse(Record(9, InotifyMask.Create, 0, name));
        Assert.Equal(name, events[0].Name.ToArray());
    }

    [Fact]
    public void A_name_filling_its_whole_length_without_nul_is_kept()
    {
        var events = InotifyEventParser.Parse(Record(9, InotifyMask.Create, 0, "abcd"u8.ToArray(), len: 4));
        Assert.Equal("abcd"u8.ToArray(), events[0].Name.ToArray());
    }

    [Fact]
    public void Empty_buffer_gives_no_events()
    {
        Assert.Empty(InotifyEventParser.Parse(ReadOnlyMemory<byte>.Empty));
    }

    [Fact]
    public void Truncated_records_are_rejected()
    {
        var whole = Record(1, InotifyMask.Create, 0, "name"u8.ToArray());
        Assert.Throws<InvalidDataException>(() => InotifyEventParser.Parse(whole.AsMemory(0, 10)));
        Assert.Throws<InvalidDataException>(() => InotifyEventParser.Parse(whole.AsMemory(0, whole.Length - 1)));
    }
}
