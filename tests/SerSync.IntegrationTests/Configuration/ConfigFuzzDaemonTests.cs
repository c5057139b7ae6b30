using System.Text.RegularExpressions;
using SerSync.Configuration;
using SerSync.Daemon;
using SerSync.Testing;

namespace SerSync.IntegrationTests.Configuration;

/// <summary>
/// A spread of the seeded config mutations (see <see cref="ConfigFuzzRunner"/>) fed to the built daemon: it must
/// answer <c>-t</c> with 0, or 78 and one plain line. A failure prints the seed and the mutated file.
/// </summary>
public sealed class ConfigFuzzDaemonTests : IDisposable
{
    private const int DaemonCases = 40;

    private readonly TempDirectory _temp = new("sersync-fuzz-");
    private readonly ConfigMutator _mutator;

    public ConfigFuzzDaemonTests()
    {
        _mutator = new ConfigMutator(_temp);
    }

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Mutated_configs_exit_0_or_78_with_one_line_from_the_daemon()
    {
        // Spread the few daemon runs over what the loader does in-process: loads, and each kind of refusal.
        var picked = new List<ConfigFuzzCase>();
        var perKind = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var r in new ConfigFuzzRunner(_temp, _mutator).RunInProcess(300))
        {
            var kind = r.Error == null ? r.Outcome : Regex.Match(r.Error.Detail, "^[^\"':<(]*").Value.Trim();
            if (picked.Count < DaemonCases && perKind.GetValueOrDefault(kind) < 3 && r.Outcome != "hang")
            {
                perKind[kind] = perKind.GetValueOrDefault(kind) + 1;
                picked.Add(r);
            }
        }

        var (daemon, prefix) = EndToEnd.DaemonProcess.Locate();
        var failures = new List<string>();
        using var gate = new SemaphoreSlim(Math.Max(2, Environment.ProcessorCount));
        var runs = picked.Select(async p =>
        {
            await gate.WaitAsync(TestContext.Current.CancellationToken);
            try
            {
                var file = Path.Combine(_temp.Path, $"daemon-{p.Seed}.xml");
                File.WriteAllBytes(file, p.Mutant.Bytes);
                var r = await ChildProcess.RunAsync(
                    daemon, [.. prefix, "-t", "-o", file],
                    timeout: TimeSpan.FromSeconds(60),
                    cancellationToken: TestContext.Current.CancellationToken);
                var problem = DaemonProblem(r);
                if (problem != null)
                {
                    lock (failures)
                    {
                        failures.Add(ConfigFuzzRunner.Describe(p.Seed, p.Mutant, $"{problem}\n{r}"));
                    }
                }
            }
            finally
            {
                gate.Release();
            }
        });
        await Task.WhenAll(runs);
        Assert.True(
            failures.Count == 0,
            $"{failures.Count} of {picked.Count} daemon run(s) failed:\n\n{string.Join("\n\n", failures.Order(StringComparer.Ordinal))}");
        Assert.True(picked.Count >= DaemonCases / 2, $"only {picked.Count} daemon cases picked");
    }

    private static string? DaemonProblem(ChildProcessResult r)
    {
        if (r.ExitCode == 0)
        {
            return r.StandardOutput.Contains(": OK (", StringComparison.Ordinal) ? null : "exit 0 without the OK line";
        }

        if (r.ExitCode != ExitCodes.Config)
        {
            return $"exit {r.ExitCode}; expected 0 or {ExitCodes.Config}";
        }

        var err = r.StandardError.TrimEnd('\n');
        if (err.Contains("   at ", StringComparison.Ordinal))
        {
            return "stderr holds a stack trace";
        }

        if (!err.StartsWith("sersyncd: ", StringComparison.Ordinal))
        {
            return "stderr does not start with 'sersyncd: '";
        }

        return err.AsSpan().IndexOfAny('\n', '\r') >= 0 ? "stderr is not one line" : null;
    }
}
