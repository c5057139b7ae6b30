using SerSync.Paths;

namespace SerSync.Plugins;

/// <summary>HMAC-SHA256 (RFC 2104) over the managed <see cref="Sha256"/>, so that signing a webhook does not load
/// OpenSSL into the daemon. Bodies are small and signed once per request: the copies do not matter.</summary>
internal static class HmacSha256
{
    private const int BlockSize = 64;

    public static byte[] Compute(ReadOnlySpan<byte> key, ReadOnlySpan<byte> message)
    {
        // A key longer than the block is hashed first; a shorter one is padded with zeros.
        Span<byte> block = stackalloc byte[BlockSize];
        block.Clear();
        if (key.Length > BlockSize)
        {
            Sha256.Hash(key).CopyTo(block);
        }
        else
        {
            key.CopyTo(block);
        }

        var inner = new byte[BlockSize + message.Length];
        for (var i = 0; i < BlockSize; i++)
        {
            inner[i] = (byte)(block[i] ^ 0x36);
        }

        message.CopyTo(inner.AsSpan(BlockSize));
        var innerHash = Sha256.Hash(inner);

        var outer = new byte[BlockSize + innerHash.Length];
        for (var i = 0; i < BlockSize; i++)
        {
            outer[i] = (byte)(block[i] ^ 0x5c);
        }

        innerHash.CopyTo(outer.AsSpan(BlockSize));
        return Sha256.Hash(outer);
    }

    /// <summary>The header value GitHub's <c>X-Hub-Signature-256</c> uses: <c>sha256=</c> and lowercase hex.</summary>
    public static string SignatureHeader(string secret, ReadOnlySpan<byte> body) =>
        "sha256=" + Convert.ToHexStringLower(Compute(System.Text.Encoding.UTF8.GetBytes(secret), body));
}
