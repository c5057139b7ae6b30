using System.Text;

namespace SerSync.Paths;

/// <summary>
/// A path relative to a watched root, kept as the raw bytes Linux gave us ('/'-separated, no leading or trailing
/// slash; the root itself is empty). Linux file names are bytes, not text: a name that is not valid UTF-8 must still
/// reach rsync unchanged, so the bytes are the identity and strings are only derived for logs and regex matching.
/// </summary>
public readonly struct RelativePath : IEquatable<RelativePath>, IComparable<RelativePath>
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
    private readonly byte[]? _bytes;

    public RelativePath(byte[] bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        _bytes = bytes;
    }

    public static RelativePath Root => default;

    public static RelativePath FromString(string path) => new(Encoding.UTF8.GetBytes(path.Trim('/')));

    public ReadOnlySpan<byte> Bytes => _bytes ?? [];

    public bool IsRoot => Bytes.Length == 0;

    /// <summary>The last component's bytes (the whole path when it has no '/').</summary>
    public ReadOnlySpan<byte> Name
    {
        get
        {
            var b = Bytes;
            var slash = b.LastIndexOf((byte)'/');
            return slash < 0 ? b : b[(slash + 1)..];
        }
    }

    public RelativePath Parent
    {
        get
        {
            var b = Bytes;
            var slash = b.LastIndexOf((byte)'/');
            return slash < 0 ? Root : new RelativePath(b[..slash].ToArray());
        }
    }

    public RelativePath Append(ReadOnlySpan<byte> name)
    {
        if (IsRoot)
        {
            return new RelativePath(name.ToArray());
        }

        var b = Bytes;
        var result = new byte[b.Length + 1 + name.Length];
        b.CopyTo(result);
        result[b.Length] = (byte)'/';
        name.CopyTo(result.AsSpan(b.Length + 1));
        return new RelativePath(result);
    }

    /// <summary>True when this path is <paramref name="ancestor"/> or lies below it.</summary>
    public bool IsAtOrBelow(RelativePath ancestor)
    {
        if (ancestor.IsRoot)
        {
            return true;
        }

        var b = Bytes;
        var a = ancestor.Bytes;
        return b.StartsWith(a) && (b.Length == a.Length || b[a.Length] == (byte)'/');
    }

    /// <summary>Absolute path for local file-system calls. Non-UTF-8 names cannot round-trip through string.</summary>
    public bool TryGetString(out string value)
    {
        try
        {
            value = StrictUtf8.GetString(Bytes);
            return true;
        }
        catch (DecoderFallbackException)
        {
            value = string.Empty;
            return false;
        }
    }

    /// <summary>
    /// The text regexes see: UTF-8 decoded, each invalid byte as U+FFFD. Used only for matching and logs; never
    /// written anywhere a target could see it.
    /// </summary>
    public string ToMatchString() => Encoding.UTF8.GetString(Bytes);

    /// <summary>For logs: invalid bytes and control characters are shown as \xNN so a log line stays one line.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder(Bytes.Length);
        var rest = Bytes;
        while (!rest.IsEmpty)
        {
            var status = System.Text.Rune.DecodeFromUtf8(rest, out var rune, out var consumed);
            if (status != System.Buffers.OperationStatus.Done || rune.Value < 0x20 || rune.Value == 0x7f || rune.Value == '\\')
            {
                for (var i = 0; i < consumed; i++)
                {
                    sb.Append(rune.Value == '\\' ? "\\\\" : $"\\x{rest[i]:x2}");
                }
            }
            else
            {
                sb.Append(rune.ToString());
            }

            rest = rest[consumed..];
        }

        return sb.ToString();
    }

    public bool Equals(RelativePath other) => Bytes.SequenceEqual(other.Bytes);

    public override bool Equals(object? obj) => obj is RelativePath other && Equals(other);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.AddBytes(Bytes);
        return hash.ToHashCode();
    }

    public int CompareTo(RelativePath other) => Bytes.SequenceCompareTo(other.Bytes);

    public static bool operator ==(RelativePath left, RelativePath right) => left.Equals(right);

    public static bool operator !=(RelativePath left, RelativePath right) => !left.Equals(right);

    public static bool operator <(RelativePath left, RelativePath right) => left.CompareTo(right) < 0;

    public static bool operator >(RelativePath left, RelativePath right) => left.CompareTo(right) > 0;

    public static bool operator <=(RelativePath left, RelativePath right) => left.CompareTo(right) <= 0;

    public static bool operator >=(RelativePath left, RelativePath right) => left.CompareTo(right) >= 0;
}
