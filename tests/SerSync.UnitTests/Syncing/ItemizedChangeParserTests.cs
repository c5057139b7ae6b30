using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging.Abstractions;
using SerSync.Configuration;
using SerSync.Filtering;
using SerSync.Paths;
using SerSync.Processes;
using SerSync.Rsync;
using SerSync.Testing;

namespace SerSync.UnitTests.Syncing;

/// <summary>rsync's itemized lines into drift entries: hand-written lines for each column, then the output of a real
/// rsync dry run over a tree with every kind of difference and hostile names.</summary>
public sealed class ItemizedChangeParserTests
{
    private const string P = ItemizedChangeParser.Prefix;
    private static readonly string[] Named = ["size.txt", "perms.txt", "newer-on-target.txt", "d/missing.txt", "link", "extra.txt", "extradir", "extradir/sub", "extradir/sub/f"];

    [Theory]
    [InlineData(">f+++++++++ d/b", DriftKind.Missing, "d/b", false, "file")]
    [InlineData("cd+++++++++ newdir/", DriftKind.Missing, "newdir", true, "directory")]
    [InlineData("cL+++++++++ link", DriftKind.Missing, "link", false, "symlink")]
    [InlineData("cD+++++++++ dev", DriftKind.Missing, "dev", false, "device")]
    [InlineData("cS+++++++++ fifo", DriftKind.Missing, "fifo", false, "special file")]
    [InlineData("hf+++++++++ hard", DriftKind.Missing, "hard", false, "hard link")]
    [InlineData("*deleting   extradir/", DriftKind.OnlyOnTarget, "extradir", true, "directory")]
    [InlineData("*deleting   extra", DriftKind.OnlyOnTarget, "extra", false, "entry")]
    [InlineData(">f.st...... a", DriftKind.Differs, "a", false, "size, time")]
    [InlineData(".d..t...... ./", DriftKind.Differs, "", true, "time")]
    [InlineData(".f...p..... x", DriftKind.Differs, "x", false, "perms")]
    [InlineData(">fcs....... x", DriftKind.Differs, "x", false, "content, size")]
    [InlineData("cLc.t...... l", DriftKind.Differs, "l", false, "link target, time")]
    [InlineData(".f....og... x", DriftKind.Differs, "x", false, "owner, group")]
    [InlineData(".f.......ax x", DriftKind.Differs, "x", false, "acl, xattr")]
    [InlineData(".f..T...... x", DriftKind.Differs, "x", false, "time")]
    [InlineData(".d......b.. x/", DriftKind.Differs, "x", true, "access and create time")]
    [InlineData(">f......... x", DriftKind.Differs, "x", false, "content")]
    [InlineData(">f+++++++++  leading space", DriftKind.Missing, " leading space", false, "file")]
    [InlineData(">f+++++++++ .hidden", DriftKind.Missing, ".hidden", false, "file")]
    public void Each_column_reads_as_what_differs(string item, DriftKind kind, string path, bool isDirectory, string detail)
    {
        var entry = ItemizedChangeParser.Parse(P + item);
        Assert.Equal(new DriftEntry(kind, RelativePath.FromString(path), isDirectory, detail), entry);
    }

    [Theory]
    [InlineData("sending incremental file list")]
    [InlineData(">f+++++++++ a")] // no prefix: not one of ours
    [InlineData(P + ".f          unchanged")] // -ii lists unchanged entries
    [InlineData(P + ".d..t......")] // no name
    [InlineData(P + "?f+++++++++ a")]
    [InlineData(P + ">x+++++++++ a")]
    [InlineData("")]
    public void Lines_that_are_not_a_difference_are_skipped(string line) =>
        Assert.Null(ItemizedChangeParser.Parse(line));

    [Fact]
    public void Escapes_decode_to_the_exact_bytes()
    {
        Assert.Equal("back\\#123slash"u8.ToArray(), ItemizedChangeParser.Unescape("back\\#134#123slash"));
        Assert.Equal(new byte[] { (byte)'b', 0xff, 0x01, (byte)'n' }, ItemizedChangeParser.Unescape("b\\#377\\#001n"));
        Assert.Equal("new\nline"u8.ToArray(), ItemizedChangeParser.Unescape("new\\#012line"));
        Assert.Equal("a\\#99"u8.ToArray(), ItemizedChangeParser.Unescape("a\\#99")); // not an escape: kept as printed
        Assert.Equal("café 中文"u8.ToArray(), ItemizedChangeParser.Unescape("café 中文")); // -8 output decoded as UTF-8
    }

    [Fact]
    public void Update_and_8_bit_output_leave_the_dry_run_only()
    {
        Assert.Equal(["-artz"], DriftAudit.WithoutUpdateAnd8Bit(["-artuz"]));
        Assert.Equal(["-a"], DriftAudit.WithoutUpdateAnd8Bit(["-u", "--update", "-a", "-8", "--8-bit-output"]));
        Assert.Equal(["-a"], DriftAudit.WithoutUpdateAnd8Bit(["-8au"]));
        Assert.Equal(["-aT/tmp/u8"], DriftAudit.WithoutUpdateAnd8Bit(["-auT/tmp/u8"])); // the rest after T is its value
        Assert.Equal(["-aT", "-u"], DriftAudit.WithoutUpdateAnd8Bit(["-auT", "-u"])); // the next word is T's value
        Assert.Equal(["--exclude=u", "-z"], DriftAudit.WithoutUpdateAnd8Bit(["--exclude=u", "-zu"]));
        Assert.True(DriftAudit.UsesUpdate(["-artuz"]));
        Assert.True(DriftAudit.UsesUpdate(["-a", "--update"]));
        Assert.False(DriftAudit.UsesUpdate(["-artz", "-T", "-u", "--temp-dir=/u"]));
        Assert.False(DriftAudit.UsesUpdate(["-aT/u"]));
    }

    [Fact]
    public void The_dry_run_is_the_full_push_with_itemized_output()
    {
        var target = LocalTarget("/src", "/dst", ["-artuz"]);
        var args = DriftAudit.Arguments(target, hasExcludeList: true, checksum: true);
        var push = RsyncArguments.FullPush(target with { Rsync = target.Rsync with { CommonParams = ["-artz"] } }, true, []);
        Assert.Equal([.. push[..^2], "--dry-run", "--itemize-changes", ItemizedChangeParser.OutFormat, "--checksum", "./", "/dst/"], args);
        Assert.Contains("--delete", args);
        Assert.DoesNotContain("--checksum", DriftAudit.Arguments(target, false, checksum: false));
        Assert.DoesNotContain("--delete", DriftAudit.Arguments(target with { Delete = false }, false, false));
    }

    [Fact]
    public async Task A_real_dry_run_reports_every_kind_of_difference_with_exact_names()
    {
        using var tmp = new TempDirectory("sersync-itemize-");
        var src = tmp.Sub("src");
        var dst = tmp.Sub("dst");
        void Src(string path, string text) => File.WriteAllText(Path.Combine(src, path), text);
        void Dst(string path, string text) => File.WriteAllText(Path.Combine(dst, path), text);
        Directory.CreateDirectory(Path.Combine(src, "d"));
        Src("same.txt", "same");
        Src("size.txt", "short");
        Src("perms.txt", "perms");
        Src("newer-on-target.txt", "12345");
        Src("d/missing.txt", "missing");
        Src("new.log", "the filter excludes it: never sent, so not missing either");
        var nasty = NastyNames.All.Take(22).ToList(); // every hostile name but the 200-byte one and those after it
        foreach (var name in nasty)
        {
            NastyNames.CreateFile(NastyNames.Join(src, name), name);
        }

        File.CreateSymbolicLink(Path.Combine(src, "link"), "same.txt");
        var rsync = new ProcessRunner(NullLogger.Instance);
        var target = LocalTarget(src, dst, ["-artuz"]);
        var copy = await rsync.RunAsync(new ProcessInvocation(src, RsyncArguments.FullPush(target, false, ["*.log"])), TimeSpan.FromMinutes(1), TestContext.Current.CancellationToken);
        Assert.True(copy.Succeeded, copy.Output);

        Dst("size.txt", "much longer now");
        File.SetLastWriteTimeUtc(Path.Combine(dst, "size.txt"), DateTime.UtcNow.AddHours(-1));
        File.SetUnixFileMode(Path.Combine(dst, "perms.txt"), UnixFileMode.UserRead);
        Dst("newer-on-target.txt", "54321"); // same size, later: -u would hide it
        File.SetLastWriteTimeUtc(Path.Combine(dst, "newer-on-target.txt"), DateTime.UtcNow.AddDays(1));
        File.Delete(Path.Combine(dst, "d/missing.txt"));
        File.Delete(Path.Combine(dst, "link"));
        Dst("extra.txt", "only here");
        Dst("old.log", "only here, but excluded: protected, no drift");
        Dst(".x.swp", "only here, but editor noise");
        Directory.CreateDirectory(Path.Combine(dst, "extradir/sub"));
        Dst("extradir/sub/f", "only here");
        foreach (var name in nasty)
        {
            NastyNames.Delete(NastyNames.Join(dst, name));
            NastyNames.CreateFile(NastyNames.Join(dst, [.. "x"u8, .. name]), name);
        }

        var lines = new List<string>();
        var recording = new RecordingRunner(rsync, lines);
        var filter = new PathFilter(new FilterConfig(true, [new ExcludeRule(@"(.*)\.log", new Regex(@"^(.*)\.log$"), 1)]));
        var report = await new DriftAudit(recording, TimeProvider.System, NullLogger.Instance).RunAsync(target, filter, checksum: false, TestContext.Current.CancellationToken);

        Assert.True(report.Succeeded, report.Failure?.Output);
        Assert.Contains(lines, l => l.StartsWith(P + "*deleting", StringComparison.Ordinal)); // real itemized output was parsed
        var found = report.Entries.ToDictionary(e => e.Path, e => (e.Kind, e.Detail));
        Assert.Equal((DriftKind.Differs, "size, time"), found[RelativePath.FromString("size.txt")]);
        Assert.Equal((DriftKind.Differs, "perms"), found[RelativePath.FromString("perms.txt")]);
        Assert.Equal((DriftKind.Differs, "time"), found[RelativePath.FromString("newer-on-target.txt")]);
        Assert.Equal((DriftKind.Missing, "file"), found[RelativePath.FromString("d/missing.txt")]);
        Assert.Equal((DriftKind.Missing, "symlink"), found[RelativePath.FromString("link")]);
        Assert.Equal((DriftKind.OnlyOnTarget, "entry"), found[RelativePath.FromString("extra.txt")]);
        Assert.Equal((DriftKind.OnlyOnTarget, "directory"), found[RelativePath.FromString("extradir")]);
        Assert.Equal((DriftKind.OnlyOnTarget, "directory"), found[RelativePath.FromString("extradir/sub")]);
        Assert.Equal((DriftKind.OnlyOnTarget, "entry"), found[RelativePath.FromString("extradir/sub/f")]);
        foreach (var name in nasty)
        {
            Assert.Equal((DriftKind.Missing, "file"), found[new RelativePath(name)]);
            Assert.Equal((DriftKind.OnlyOnTarget, "entry"), found[new RelativePath([.. "x"u8, .. name])]);
        }

        // What is left is the directories whose times the changes above moved; nothing excluded, no noise, nothing equal.
        var rest = found.Where(f => f.Value.Kind != DriftKind.Differs || f.Value.Detail != "time" || !IsDirectory(dst, f.Key)).Select(f => f.Key).ToHashSet();
        var named = new HashSet<RelativePath>(
            Named.Select(RelativePath.FromString)
                .Concat(nasty.Select(n => new RelativePath(n)))
                .Concat(nasty.Select(n => new RelativePath([.. "x"u8, .. n]))));
        Assert.Equal(named.Order(), rest.Order());
        Assert.Equal(named.Count + found.Count - rest.Count, report.Entries.Count);
        Assert.DoesNotContain(report.Entries, e => Encoding.UTF8.GetString(e.Path.Bytes) is "same.txt" or "old.log" or "new.log" or ".x.swp");
    }

    private static bool IsDirectory(string root, RelativePath path) =>
        FileSystemBytes.Stat(FileSystemBytes.Combine(root, path))?.Type == EntryType.Directory;

    private static SyncTarget LocalTarget(string src, string dst, string[] commonParams) =>
        new(src, new RemoteConfig(RemoteKind.LocalDirectory, null, null, dst, 1), RsyncConfig.Stock with { CommonParams = commonParams }, Delete: true);

    /// <summary>The real runner, keeping every stdout line it passes on.</summary>
    private sealed class RecordingRunner(IProcessRunner inner, List<string> lines) : IProcessRunner
    {
        public string Program => inner.Program;

        public Task<ProcessResult> RunAsync(ProcessInvocation invocation, TimeSpan lifetime, CancellationToken cancellationToken, Action<string>? stdoutLine = null) =>
            inner.RunAsync(invocation, lifetime, cancellationToken, line =>
            {
                lines.Add(line);
                stdoutLine?.Invoke(line);
            });
    }
}
