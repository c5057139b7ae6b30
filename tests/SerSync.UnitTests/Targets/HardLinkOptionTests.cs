using SerSync.Rsync;

namespace SerSync.UnitTests.Targets;

public sealed class HardLinkOptionTests
{
    [Theory]
    [InlineData(true, "-artuzH")]
    [InlineData(true, "-H")]
    [InlineData(true, "-a", "--hard-links")]
    [InlineData(true, "--no-H", "-aH")]
    [InlineData(false, "-artuz")]
    [InlineData(false, "-aH", "--no-hard-links")]
    [InlineData(false, "-aH", "--no-H")]
    [InlineData(false, "-aeH")] // H is -e's value there
    [InlineData(false, "--hard-links-not")]
    public void H_and_hard_links_turn_it_on_the_last_word_wins(bool on, params string[] words) =>
        Assert.Equal(on, HardLinkOption.IsOn(words));
}
