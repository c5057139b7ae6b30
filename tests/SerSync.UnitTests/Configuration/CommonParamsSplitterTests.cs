using SerSync.Configuration;

namespace SerSync.UnitTests.Configuration;

public class CommonParamsSplitterTests
{
    private static List<string> Split(string text)
    {
        Assert.True(CommonParamsSplitter.TrySplit(text, out var words, out var error), error);
        return words;
    }

    private static string SplitError(string text)
    {
        Assert.False(CommonParamsSplitter.TrySplit(text, out _, out var error));
        return error!;
    }

    [Theory]
    [InlineData("-az", new[] { "-az" })]
    [InlineData("  -a \t -z\n", new[] { "-a", "-z" })]
    [InlineData("--exclude='*.tmp' -a", new[] { "--exclude=*.tmp", "-a" })]
    [InlineData("\"--filter=- a b\"", new[] { "--filter=- a b" })]
    [InlineData("--x=\"a\\\"b\"", new[] { "--x=a\"b" })]
    [InlineData("--x=\"a\\b\"", new[] { "--x=a\\b" })]
    [InlineData("--x='a\\b'", new[] { "--x=a\\b" })]
    [InlineData("--x=a\\ b", new[] { "--x=a b" })]
    [InlineData("--x='$HOME'", new[] { "--x=$HOME" })]
    [InlineData("--x=\\$HOME", new[] { "--x=$HOME" })]
    [InlineData("--x=\"\\$HOME\"", new[] { "--x=$HOME" })]
    [InlineData("--x='a;b|c&d<e>f`g'", new[] { "--x=a;b|c&d<e>f`g" })]
    [InlineData("--x=''", new[] { "--x=" })]
    [InlineData("-a'b'\"c\"d", new[] { "-abcd" })]
    public void Splits_like_a_posix_shell_without_expansion(string text, string[] expected) =>
        Assert.Equal(expected, Split(text));

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public void Blank_gives_no_words(string text) => Assert.Empty(Split(text));

    [Theory]
    [InlineData("-a 'b", "unterminated single quote")]
    [InlineData("-a \"b", "unterminated double quote")]
    [InlineData("-a \\", "escapes nothing")]
    public void Unterminated_syntax_is_an_error(string text, string phrase) =>
        Assert.Contains(phrase, SplitError(text), StringComparison.Ordinal);

    [Theory]
    [InlineData("-az; rm -rf /", ';')]
    [InlineData("-az | tee x", '|')]
    [InlineData("-az &", '&')]
    [InlineData("-az < x", '<')]
    [InlineData("-az >/dev/null", '>')]
    [InlineData("--temp-dir=$TMP", '$')]
    [InlineData("--temp-dir=`pwd`", '`')]
    public void Unquoted_shell_syntax_is_an_error(string text, char c)
    {
        var error = SplitError(text);
        Assert.Contains($"unquoted '{c}'", error, StringComparison.Ordinal);
        Assert.Contains("not through a shell", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--temp-dir=\"$TMP\"")]
    [InlineData("--temp-dir=\"`pwd`\"")]
    public void Expansion_inside_double_quotes_is_an_error(string text) =>
        Assert.Contains("nothing is expanded", SplitError(text), StringComparison.Ordinal);

    [Theory]
    [InlineData("--files-from=/x", "--files-from")]
    [InlineData("--files-from", "--files-from")]
    [InlineData("--from0", "--from0")]
    [InlineData("--include-from=/x", "--include-from")]
    [InlineData("--exclude-from=/x", "--exclude-from")]
    [InlineData("--server", "--server")]
    [InlineData("--sender", "--sender")]
    [InlineData("--daemon", "--daemon")]
    [InlineData("--remove-source-files", "--remove-source-files")]
    [InlineData("--read-batch=b", "--read-batch")]
    [InlineData("--write-batch=b", "--write-batch")]
    [InlineData("--only-write-batch=b", "--only-write-batch")]
    [InlineData("--list-only", "--list-only")]
    [InlineData("--rsh=ssh", "<ssh")]
    [InlineData("--password-file=/etc/rsync.pas", "<auth")]
    [InlineData("--port=874", "<userDefinedPort")]
    [InlineData("-e", "<ssh")]
    [InlineData("-avze", "<ssh")]
    [InlineData("-avz0", "--from0")]
    [InlineData("--dry-run", "--dry-run")]
    [InlineData("-avn", "--dry-run")]
    [InlineData("--version", "--version")]
    [InlineData("--help", "--help")]
    [InlineData("--no-relative", "-R")]
    [InlineData("--no-R", "-R")]
    public void Protocol_breaking_options_are_rejected(string word, string phrase)
    {
        var error = CommonParamsSplitter.Validate(["-a", word]);
        Assert.NotNull(error);
        Assert.Contains(phrase, error, StringComparison.Ordinal);
        Assert.Contains($"'{word}'", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("-artuz")]
    [InlineData("--partial")]
    [InlineData("--exclude=*.e")]
    [InlineData("-T/tmp/e0n")]
    [InlineData("-B1024")]
    [InlineData("--bwlimit=1000")]
    public void Ordinary_options_pass(string word) => Assert.Null(CommonParamsSplitter.Validate([word]));

    [Theory]
    [InlineData("/tmp/www")]
    [InlineData("-")]
    [InlineData("a")]
    public void Bare_words_are_rejected(string word) =>
        Assert.Contains("must start with '-'", CommonParamsSplitter.Validate(["-a", word]), StringComparison.Ordinal);
}
