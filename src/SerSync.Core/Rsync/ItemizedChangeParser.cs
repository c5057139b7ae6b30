// Implementation notes. rsync's %i (--itemize-changes) is 11 characters, YXcstpoguax: Y is the update type ('<'
// sent, '>' received, 'c' created or changed locally, 'h' hard link, '.' attributes only, '*' a message, here
// "*deleting" padded to 11), X the entry type (f file, d directory, L symlink, D device, S special), then one column
// per attribute, a letter when it differs ('c' checksum or link target/device numbers, 's' size, 't' or 'T' time, 'p'
// perms, 'o' owner, 'g' group, 'u'/'n'/'b' access/create time, 'a' ACL, 'x' xattr), '+' throughout for a new entry.
// The out format used is PREFIX + "%i %n", so a name starts 12 characters after the prefix and may begin with spaces;
// a directory's name ends with '/', the transfer root is "./". With LC_ALL=C (ProcessRunner sets it) rsync writes
// every byte that is not printable ASCII as \#ooo (octal), a backslash followed by '#' as \#134, and a newline in a
// name as \#012, so one name is one line and decodes to its exact bytes. With -8 (--8-bit-output) high bytes come
// through raw: the reader has decoded them as UTF-8, and they are encoded back (the audit drops -8, so only valid
// UTF-8 could arrive that way anyway).
using System.Text;
using SerSync.Paths;

namespace SerSync.Rsync;

/// <summary>Parses rsync's itemized dry-run lines (<c>--itemize-changes --out-format=PREFIX%i %n</c>) into
/// <see cref="DriftEntry"/>s.</summary>
public static class ItemizedChangeParser
{
    /// <summary>Marks the lines this parser reads, so other stdout (<c>-v</c>'s file-list chatter, a summary) is
    /// never taken for a path.</summary>
    public const string Prefix = "sersyncd-item: ";

    /// <summary>The out format that goes with <see cref="Prefix"/>.</summary>
    public const string OutFormat = "--out-format=" + Prefix + "%i %n";

    private const int ItemWidth = 11;
    private const string Deleting = "*deleting";

    /// <summary>The entry a line describes, or null for a line that is not an item or says nothing differs.</summary>
    public static DriftEntry? Parse(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        if (!line.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return null;
        }

        var item = line.AsSpan(Prefix.Length);
        if (item.Length <= ItemWidth + 1 || item[ItemWidth] != ' ')
        {
            return null;
        }

        var (path, endsWithSlash) = Name(item[(ItemWidth + 1)..]);
        if (item.StartsWith(Deleting, StringComparison.Ordinal))
        {
            return new DriftEntry(DriftKind.OnlyOnTarget, path, endsWithSlash, endsWithSlash ? "directory" : "entry");
        }

        var update = item[0];
        var type = item[1];
        if (update is not ('<' or '>' or 'c' or 'h' or '.') || type is not ('f' or 'd' or 'L' or 'D' or 'S'))
        {
            return null;
        }

        var isDir = type == 'd';
        var attributes = item[2..ItemWidth];
        if (attributes.Contains('+'))
        {
            return new DriftEntry(DriftKind.Missing, path, isDir, update == 'h' ? "hard link" : TypeName(type));
        }

        var what = Differences(type, attributes);
        if (what.Count == 0)
        {
            switch (update)
            {
                case '<' or '>':
                    what.Add("content"); // transferred although no attribute says why (e.g. --ignore-times)
                    break;
                case 'h':
                    what.Add("hard link");
                    break;
                case 'c':
                    what.Add("type");
                    break;
                default:
                    return null; // "-ii" lists unchanged entries too
            }
        }

        return new DriftEntry(DriftKind.Differs, path, isDir, string.Join(", ", what));
    }

    /// <summary>Whether <paramref name="line"/> is an item that <c>-ii</c> lists although nothing about it differs (the
    /// entry exists on both sides alike); <paramref name="isDirectory"/> says whether it is a directory.</summary>
    public static bool IsUnchanged(string line, out bool isDirectory)
    {
        ArgumentNullException.ThrowIfNull(line);
        isDirectory = false;
        if (!line.StartsWith(Prefix, StringComparison.Ordinal) || line.Length <= Prefix.Length + ItemWidth + 1)
        {
            return false;
        }

        var item = line.AsSpan(Prefix.Length, ItemWidth);
        isDirectory = item[1] == 'd';
        return item[0] == '.' && item[2..].IndexOfAnyExcept(". ") < 0;
    }

    /// <summary>Decodes one name as rsync printed it: <c>\#ooo</c> becomes that byte; anything else is the UTF-8 of
    /// the character (ASCII for everything rsync writes with LC_ALL=C).</summary>
    public static byte[] Unescape(ReadOnlySpan<char> text)
    {
        var bytes = new List<byte>(text.Length);
        Span<byte> utf8 = stackalloc byte[4];
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\\' && i + 4 < text.Length && text[i + 1] == '#' && IsOctal(text[i + 2]) && IsOctal(text[i + 3]) && IsOctal(text[i + 4]))
            {
                bytes.Add((byte)(((text[i + 2] - '0') << 6) | ((text[i + 3] - '0') << 3) | (text[i + 4] - '0')));
                i += 4;
            }
            else if (c < 0x80)
            {
                bytes.Add((byte)c);
            }
            else
            {
                if (Rune.DecodeFromUtf16(text[i..], out var rune, out var consumed) != System.Buffers.OperationStatus.Done)
                {
                    rune = Rune.ReplacementChar;
                }

                var n = rune.EncodeToUtf8(utf8);
                for (var k = 0; k < n; k++)
                {
                    bytes.Add(utf8[k]);
                }

                i += Math.Max(consumed, 1) - 1;
            }
        }

        return [.. bytes];
    }

    private static (RelativePath Path, bool EndsWithSlash) Name(ReadOnlySpan<char> printed)
    {
        var bytes = Unescape(printed);
        var slash = bytes.Length > 0 && bytes[^1] == (byte)'/';
        var end = slash ? bytes.Length - 1 : bytes.Length;
        var start = 0;
        if (end >= 1 && bytes[0] == (byte)'.' && (end == 1 || bytes[1] == (byte)'/'))
        {
            start = end == 1 ? 1 : 2; // "./" is the transfer root itself; "./x" (never printed, but harmless) is x
        }

        return (new RelativePath(bytes[start..end]), slash);
    }

    private static List<string> Differences(char type, ReadOnlySpan<char> item)
    {
        var what = new List<string>();
        var attributes = item.ToString();
        void Check(int column, string name)
        {
            if (attributes[column] is not ('.' or ' ' or '?'))
            {
                what.Add(name);
            }
        }

        Check(0, type switch
        {
            'L' => "link target",
            'D' or 'S' => "device",
            _ => "content",
        });
        Check(1, "size");
        Check(2, "time");
        Check(3, "perms");
        Check(4, "owner");
        Check(5, "group");
        Check(6, attributes[6] switch
        {
            'n' => "create time",
            'b' => "access and create time",
            _ => "access time",
        });
        Check(7, "acl");
        Check(8, "xattr");
        return what;
    }

    private static string TypeName(char type) => type switch
    {
        'd' => "directory",
        'L' => "symlink",
        'D' => "device",
        'S' => "special file",
        _ => "file",
    };

    private static bool IsOctal(char c) => c is >= '0' and <= '7';
}
