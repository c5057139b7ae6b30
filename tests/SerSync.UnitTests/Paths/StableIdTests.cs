using System.Security.Cryptography;
using System.Text;
using SerSync.Paths;

namespace SerSync.UnitTests.Paths;

public sealed class StableIdTests
{
    [Fact]
    public void The_built_in_sha256_matches_the_platform_at_every_padding_boundary()
    {
        var rnd = new Random(256);
        for (var length = 0; length < 300; length++)
        {
            var message = new byte[length];
            rnd.NextBytes(message);
            Assert.Equal(SHA256.HashData(message), StableId.Sha256(message));
        }
    }

    [Fact]
    public void Ids_are_what_earlier_versions_named_state_directories()
    {
        // The first 8 bytes of SHA-256("abc") (FIPS 180-4's example), and an id as the journal tests see it.
        Assert.Equal("ba7816bf8f01cfea", StableId.Of("abc"));
        var root = "/www/site";
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(root)))[..16], StableId.Of(root));
    }
}
