using System.Text;
using SerSync.Configuration;
using SerSync.Testing;

namespace SerSync.UnitTests.Configuration;

/// <summary>
/// Seeded mutations of the stock confxml.xml and of our sample: the loader must answer every one with a
/// <see cref="SerSyncConfig"/> or a <see cref="ConfigException"/> that names the file and a line inside it, quickly;
/// the daemon's side is ConfigFuzzDaemonTests in the integration tests. A failure prints the seed and the mutated file:
/// <see cref="ConfigMutator.Mutate"/> with that seed rebuilds it (even seeds go through Load, odd ones through Parse).
/// </summary>
public sealed class ConfigFuzzTests : IDisposable
{
    private const int InProcessCases = 2000;
    private const int MaxReported = 25;

    private readonly TempDirectory _temp = new("sersync-fuzz-");
    private readonly ConfigMutator _mutator;

    public ConfigFuzzTests()
    {
        _mutator = new ConfigMutator(_temp);
    }

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Unmutated_bases_load()
    {
        foreach (var (name, bytes) in _mutator.Bases)
        {
            var file = Path.Combine(_temp.Path, name);
            File.WriteAllBytes(file, bytes);
            var config = ConfigLoader.Load(file);
            Assert.Equal(_mutator.Watch, Assert.Single(config.Watches).Path);
            Assert.Equal(_mutator.Watch, Assert.Single(ConfigLoader.Parse(Encoding.Latin1.GetString(bytes), name, _temp.Path).Watches).Path);
        }
    }

    [Fact]
    public void Mutated_configs_load_or_fail_with_a_config_exception()
    {
        var results = new ConfigFuzzRunner(_temp, _mutator).RunInProcess(InProcessCases);
        var outcomes = results.GroupBy(r => r.Outcome, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => $"{g.Key}={g.Count()}");
        var summary = string.Join(", ", outcomes);
        TestContext.Current.TestOutputHelper?.WriteLine($"outcomes: {summary}");
        var failures = results.Where(r => r.Problem != null).ToList();
        Assert.True(
            failures.Count == 0,
            $"{failures.Count} failing case(s) (outcomes: {summary}):\n\n" +
            string.Join("\n\n", failures.Take(MaxReported).Select(r => ConfigFuzzRunner.Describe(r.Seed, r.Mutant, r.Problem!))));
        Assert.True(results.Count(r => r.Outcome == "ok") > 50, $"too few mutants still load, the mutator is too destructive: {summary}");
        Assert.True(results.Count(r => r.Outcome.StartsWith("config-error", StringComparison.Ordinal)) > results.Count / 2, $"too few mutants are refused: {summary}");
    }
}
