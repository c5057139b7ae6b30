using SerSync.Paths;

namespace SerSync.UnitTests.Paths;

public sealed class StableIdTests
{
    [Fact]
    public void The_managed_sha256_matches_the_standard_on_the_fips_vectors_and_on_every_padding_length()
    {
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", Convert.ToHexStringLower(Sha256.Hash("abc"u8)));
        Assert.Equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", Convert.ToHexStringLower(Sha256.Hash([])));
        var random = new Random(8);
        for (var length = 0; length <= 300; length++)
        {
            var data = new byte[length];
            random.NextBytes(data);
            Assert.Equal(System.Security.Cryptography.SHA256.HashData(data), Sha256.Hash(data));
        }
    }

    [Fact]
    public void Ids_are_what_earlier_versions_named_state_directories()
    {
        // The state of an installed daemon is found by these names: they must never change.
        var text = "/var/www/html";
        var expected = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)))[..16];
        Assert.Equal(expected, StableId.Of(text));
        Assert.Equal(16, StableId.Of("é/\n").Length);
    }
}
