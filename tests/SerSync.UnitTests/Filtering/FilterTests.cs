using System.Text.RegularExpressions;
using SerSync.Configuration;
using SerSync.Filtering;
using SerSync.Paths;

namespace SerSync.UnitTests.Filtering;

public sealed class FilterTests
{
    private static ExcludeRule Rule(string expr) => new(expr, new Regex("^(?:" + expr + ")$"), 1);

    private static RelativePath R(string s) => RelativePath.FromString(s);

    [Theory]
    [InlineData(".x.swp")]
    [InlineData(".x.swx")]
    [InlineData(".index.html.swo")]
    [InlineData(".a.b.swn")]
    [InlineData("4913")]
    [InlineData("x~")]
    [InlineData("index.html~")]
    [InlineData("#notes.txt#")]
    [InlineData(".#notes.txt")]
    public void Editor_noise_is_dropped(string name) => Assert.True(NoiseFilter.IsNoise(System.Text.Encoding.UTF8.GetBytes(name)));

    [Theory]
    [InlineData(".htaccess")]
    [InlineData(".env")]
    [InlineData(".swp")]
    [InlineData("x.swp")]
    [InlineData("49130")]
    [InlineData("#")]
    [InlineData("a#b#")]
    [InlineData("~x")]
    [InlineData(".x.swpp")]
    public void Real_files_are_kept(string name) => Assert.False(NoiseFilter.IsNoise(System.Text.Encoding.UTF8.GetBytes(name)));

    [Fact]
    public void Noise_works_on_bytes_that_are_not_utf8()
    {
        Assert.True(NoiseFilter.IsNoise([(byte)'.', 0xff, (byte)'.', (byte)'s', (byte)'w', (byte)'p']));
        Assert.True(NoiseFilter.IsNoise([0xff, (byte)'~']));
        Assert.False(NoiseFilter.IsNoise([0xff]));
    }

    [Fact]
    public void Noise_applies_at_any_depth_to_files_and_directories_as_rsyncs_patterns_do()
    {
        var f = new PathFilter();
        Assert.True(f.IsExcluded(R("a/b/.x.swp"), false));
        Assert.True(f.IsExcluded(R("backup~"), true)); // rsync's --exclude=*~ leaves such a directory out too
        Assert.True(f.IsExcludedBelowIncluded(R("storm/d00/.~tmp~"), true)); // rsync's --delay-updates directory
        Assert.False(f.IsExcluded(R("a/b"), true));
        Assert.False(f.IsExcluded(R("a/.git/config"), false));
    }

    [Fact]
    public void Noise_filter_can_be_switched_off()
    {
        Assert.False(new PathFilter(dropEditorNoise: false).IsExcluded(R(".x.swp"), false));
        Assert.False(PathFilter.None.IsExcluded(R("4913"), false));
    }

    [Fact]
    public void Regexes_see_the_same_relative_subject_at_every_depth()
    {
        var f = new PathFilter(new FilterConfig(true, [Rule(@"(.*)\.gz"), Rule("static/keep.txt")]));
        Assert.True(f.IsExcluded(R("x.gz"), false));
        Assert.True(f.IsExcluded(R("a/b/x.gz"), false));
        Assert.True(f.IsExcluded(R("static/keep.txt"), false));
        Assert.False(f.IsExcluded(R("a/static/keep.txt"), false));
        Assert.False(f.IsExcluded(R("x.gzip"), false));
    }

    [Fact]
    public void A_matching_directory_excludes_its_subtree()
    {
        var f = new PathFilter(new FilterConfig(true, [Rule("static"), Rule(@"(.*)\.svn")]));
        Assert.True(f.IsExcluded(R("static"), true));
        Assert.True(f.IsExcluded(R("static/js/app.js"), false));
        Assert.False(f.IsExcluded(R("static2/app.js"), false));
        Assert.True(f.IsExcluded(R("src/.svn/entries"), false));
        Assert.True(f.IsExcluded(R("src/.svn"), true));
        Assert.False(f.IsExcluded(R("src/svn"), true));
    }

    [Fact]
    public void Disabled_filter_section_excludes_nothing_and_the_root_never()
    {
        var f = new PathFilter(new FilterConfig(false, [Rule(".*")]));
        Assert.False(f.IsExcluded(R("anything"), false));
        var all = new PathFilter(new FilterConfig(true, [Rule(".*")]));
        Assert.False(all.IsExcluded(RelativePath.Root, true));
        Assert.True(all.IsExcluded(R("anything"), false));
    }

    [Fact]
    public void Regexes_see_non_utf8_bytes_as_replacement_characters()
    {
        var f = new PathFilter(new FilterConfig(true, [Rule(@"bad\uFFFD/.*")]));
        Assert.True(f.IsExcluded(new RelativePath([(byte)'b', (byte)'a', (byte)'d', 0xff, (byte)'/', (byte)'f']), false));
    }
}
