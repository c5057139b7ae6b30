using System.Security.Cryptography;
using SerSync.Plugins;

namespace SerSync.UnitTests.Plugins;

public sealed class HmacSha256Tests
{
    [Fact]
    public void Matches_the_standard_for_keys_and_messages_of_every_length_around_the_block()
    {
        var random = new Random(9);
        foreach (var keyLength in new[] { 0, 1, 20, 31, 32, 63, 64, 65, 100, 128, 200 })
        {
            for (var length = 0; length <= 200; length += keyLength % 7 + 1)
            {
                var key = new byte[keyLength];
                var message = new byte[length];
                random.NextBytes(key);
                random.NextBytes(message);
                Assert.Equal(HMACSHA256.HashData(key, message), HmacSha256.Compute(key, message));
            }
        }
    }

    [Fact]
    public void Gives_the_rfc_4231_vectors_and_githubs_header_form()
    {
        // RFC 4231 test case 2, and test case 6 (a 131-byte key, longer than the block).
        Assert.Equal(
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            Convert.ToHexStringLower(HmacSha256.Compute("Jefe"u8, "what do ya want for nothing?"u8)));
        Assert.Equal(
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
            Convert.ToHexStringLower(HmacSha256.Compute(Enumerable.Repeat((byte)0xaa, 131).ToArray(), "Test Using Larger Than Block-Size Key - Hash Key First"u8)));
        Assert.Equal(
            "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData("s3cr3t"u8, "{}"u8)),
            HmacSha256.SignatureHeader("s3cr3t", "{}"u8));
    }
}
