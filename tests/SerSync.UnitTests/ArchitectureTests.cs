using System.Text.RegularExpressions;

namespace SerSync.UnitTests;

/// <summary>
/// The dependency rule of ARCHITECTURE.md, checked on the sources: a folder of src/SerSync.Core may use only the
/// folders listed after it, every file's namespace is its folder's (so a `using` says what a file depends on), and
/// Core names neither Microsoft.Extensions.Hosting nor Serilog.
/// </summary>
public sealed partial class ArchitectureTests
{
    /// <summary>Top to bottom: each may use those below it, never one above.</summary>
    public static readonly string[] Layers =
    [
        "Pipeline", "Watching", "Journal", "Hooks", "Targets", "Scheduling", "Rsync", "Plugins", "FailLog", "Filtering",
        "Configuration", "Processes", "Paths", "Interop",
    ];

    private static string CoreDirectory
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                var core = Path.Combine(dir.FullName, "src", "SerSync.Core");
                if (Directory.Exists(core))
                {
                    return core;
                }
            }

            throw new DirectoryNotFoundException("src/SerSync.Core not found above " + AppContext.BaseDirectory);
        }
    }

    [Fact]
    public void Every_folder_of_core_is_a_layer_and_every_file_is_in_its_folders_namespace()
    {
        foreach (var file in Directory.EnumerateFiles(CoreDirectory, "*.cs", SearchOption.AllDirectories).Where(IsSource))
        {
            var folder = FolderOf(file);
            Assert.True(Layers.Contains(folder), $"{file}: folder {folder} is not in ARCHITECTURE.md's layer list");
            var ns = NamespaceLine().Match(File.ReadAllText(file));
            Assert.True(ns.Success, $"{file}: no file-scoped namespace");
            Assert.Equal("SerSync." + folder, ns.Groups[1].Value);
        }
    }

    [Fact]
    public void No_folder_uses_one_above_it()
    {
        var violations = new List<string>();
        foreach (var file in Directory.EnumerateFiles(CoreDirectory, "*.cs", SearchOption.AllDirectories).Where(IsSource))
        {
            var folder = FolderOf(file);
            var rank = Array.IndexOf(Layers, folder);
            var text = File.ReadAllText(file);
            foreach (var used in UsedLayers(text))
            {
                if (used != folder && Array.IndexOf(Layers, used) < rank)
                {
                    violations.Add($"{Path.GetRelativePath(CoreDirectory, file)} ({folder}) uses {used}");
                }
            }
        }

        Assert.True(violations.Count == 0, "dependencies that point up:\n" + string.Join('\n', violations));
    }

    [Fact]
    public void The_checker_sees_usings_and_qualified_names()
    {
        Assert.Equal(["Targets"], UsedLayers("using SerSync.Targets;\nnamespace SerSync.Journal;"));
        Assert.Equal(["Watching"], UsedLayers("var w = new SerSync.Watching.InotifyWatcher();"));
        Assert.Equal(["Filtering"], UsedLayers("void F(Filtering.PathFilter filter) { }"));
        Assert.Empty(UsedLayers("// Pipeline: a word in a comment\nvar pipeline = 1;"));
    }

    [Fact]
    public void No_log_method_has_a_verbatim_parameter_name()
    {
        // [LoggerMessage] keys a state entry by the parameter's name: "@class" does not fill "{Class}", and Serilog
        // then prints the placeholder itself ("rsync exit 127 (unknown exit code, {Class})").
        var src = Path.GetDirectoryName(CoreDirectory)!;
        var violations = Directory.EnumerateFiles(src, "*.cs", SearchOption.AllDirectories).Where(IsSource)
            .SelectMany(f => File.ReadLines(f).Select((line, i) => (f, line, i)))
            .Where(x => x.line.Contains("partial void ", StringComparison.Ordinal)
                && System.Text.RegularExpressions.Regex.IsMatch(x.line, @"[(,]\s*[\w<>?\[\]]+\s+@\w+"))
            .Select(x => $"{Path.GetRelativePath(src, x.f)}:{x.i + 1}: {x.line.Trim()}")
            .ToList();
        Assert.True(violations.Count == 0, string.Join('\n', violations));
        Assert.Matches(@"[(,]\s*[\w<>?\[\]]+\s+@\w+", "partial void X(ILogger logger, FailureClass @class);"); // the check sees one
    }

    [Fact]
    public void Core_references_neither_hosting_nor_serilog()
    {
        var project = File.ReadAllText(Path.Combine(CoreDirectory, "SerSync.Core.csproj"));
        Assert.DoesNotContain("Microsoft.Extensions.Hosting", project, StringComparison.Ordinal);
        Assert.DoesNotContain("Serilog", project, StringComparison.Ordinal);
        foreach (var file in Directory.EnumerateFiles(CoreDirectory, "*.cs", SearchOption.AllDirectories).Where(IsSource))
        {
            var text = File.ReadAllText(file);
            Assert.False(text.Contains("using Microsoft.Extensions.Hosting", StringComparison.Ordinal) || text.Contains("using Serilog", StringComparison.Ordinal), file);
        }
    }

    internal static IReadOnlyList<string> UsedLayers(string source)
    {
        var code = Comment().Replace(source, string.Empty);
        code = NamespaceLine().Replace(code, string.Empty);
        var used = new SortedSet<string>(StringComparer.Ordinal);
        foreach (Match m in Reference().Matches(code))
        {
            var name = m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value;
            if (Layers.Contains(name))
            {
                used.Add(name);
            }
        }

        return [.. used];
    }

    private static bool IsSource(string file) =>
        !file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
        && !file.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal);

    private static string FolderOf(string file) => Path.GetRelativePath(CoreDirectory, file).Split(Path.DirectorySeparatorChar)[0];

    [GeneratedRegex(@"^namespace (SerSync\.\w+);", RegexOptions.Multiline)]
    private static partial Regex NamespaceLine();

    // "SerSync.X" anywhere, or "X." as a qualifier (not preceded by an identifier character or a dot).
    [GeneratedRegex(@"SerSync\.(\w+)|(?<![\w.])(\w+)\.\w")]
    private static partial Regex Reference();

    [GeneratedRegex(@"//[^\n]*|/\*.*?\*/", RegexOptions.Singleline)]
    private static partial Regex Comment();

    [GeneratedRegex(@"\[LoggerMessage\(EventId = (\d+)")]
    private static partial Regex EventId();

    /// <summary>Log filters and the docs' event-id tables name a line by its id: no two lines may share one.</summary>
    [Fact]
    public void Every_log_event_id_is_used_once_across_the_core_and_the_daemon()
    {
        var src = Path.GetDirectoryName(CoreDirectory)!;
        var seen = new Dictionary<int, string>();
        var duplicates = new List<string>();
        foreach (var file in Directory.EnumerateFiles(src, "*.cs", SearchOption.AllDirectories).Where(IsSource))
        {
            foreach (Match m in EventId().Matches(File.ReadAllText(file)))
            {
                var id = int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
                if (!seen.TryAdd(id, file))
                {
                    duplicates.Add($"{id}: {seen[id]} and {file}");
                }
            }
        }

        Assert.True(seen.Count > 50, $"only {seen.Count} event ids found under {src}: the pattern no longer matches");
        Assert.Empty(duplicates);
    }
}
