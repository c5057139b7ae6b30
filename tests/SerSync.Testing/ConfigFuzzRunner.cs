using System.Text;
using SerSync.Configuration;

namespace SerSync.Testing;

/// <summary>What one fuzz case did: its outcome class, the refusal if any, and what broke the contract if anything.</summary>
public sealed record ConfigFuzzCase(int Seed, Mutant Mutant, string Outcome, ConfigException? Error, string? Problem);

/// <summary>
/// Runs seeded <see cref="ConfigMutator"/> cases through the loader in-process: the loader must answer each with a
/// config or a <see cref="ConfigException"/> naming the file and a line inside it, within <see cref="CaseTimeout"/>.
/// Shared by the in-process fuzz test and the one that feeds a spread of the cases to the daemon.
/// </summary>
public sealed class ConfigFuzzRunner(TempDirectory temp, ConfigMutator mutator)
{
    public static readonly TimeSpan CaseTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Seeds 0..count-1 on one worker thread per core, each case on its own task with a time limit.</summary>
    public List<ConfigFuzzCase> RunInProcess(int count)
    {
        var results = new ConfigFuzzCase?[count];
        var next = -1;
        var hangs = 0;
        var workers = Enumerable.Range(0, Math.Max(2, Environment.ProcessorCount)).Select(worker => new Thread(() =>
        {
            int seed;
            while ((seed = Interlocked.Increment(ref next)) < count && Volatile.Read(ref hangs) < 3)
            {
                Mutant mutant;
                try
                {
                    mutant = mutator.Mutate(seed);
                }
                catch (Exception ex)
                {
                    results[seed] = new ConfigFuzzCase(seed, new Mutant("?", [], []), "mutator-bug", null, $"the mutator threw: {ex}");
                    continue;
                }

                var r = LoadInProcess(mutant, seed, worker);
                if (r.Outcome == "hang")
                {
                    Interlocked.Increment(ref hangs);
                }

                results[seed] = r;
            }
        })
        { IsBackground = true, Name = $"fuzz-{worker}" }).ToList();
        workers.ForEach(t => t.Start());
        workers.ForEach(t => t.Join());
        return [.. results.OfType<ConfigFuzzCase>()];
    }

    /// <summary>Loads <paramref name="mutant"/> from a file (even seeds) or from text (odd seeds).</summary>
    private ConfigFuzzCase LoadInProcess(Mutant mutant, int seed, int worker)
    {
        var fromFile = seed % 2 == 0;
        var file = fromFile ? Path.Combine(temp.Path, $"case-{worker}.xml") : ConfigTestSupport.FileName;
        var text = fromFile ? "" : mutant.Text;
        if (fromFile)
        {
            File.WriteAllBytes(file, mutant.Bytes);
        }

        var how = fromFile ? "Load" : "Parse";
        var task = Task.Run(() => fromFile ? ConfigLoader.Load(file) : ConfigLoader.Parse(text, file, temp.Path));
        try
        {
            if (!task.Wait(CaseTimeout))
            {
                return new ConfigFuzzCase(seed, mutant, "hang", null, $"{how} gave no answer within {CaseTimeout.TotalSeconds} s");
            }

            return task.Result == null
                ? new ConfigFuzzCase(seed, mutant, "null", null, $"{how} returned null")
                : new ConfigFuzzCase(seed, mutant, "ok", null, null);
        }
        catch (AggregateException ae) when (ae.InnerException is ConfigException ex)
        {
            var outcome = ex.Message.AsSpan().IndexOfAny('\n', '\r') >= 0 ? "config-error-multi-line" : "config-error";
            return new ConfigFuzzCase(seed, mutant, outcome, ex, ConfigExceptionProblem(ex, file, mutant.LineBound));
        }
        catch (AggregateException ae)
        {
            var inner = ae.InnerException ?? ae;
            return new ConfigFuzzCase(seed, mutant, "other-exception", null, $"{how} threw {inner.GetType().FullName}: {inner}");
        }
    }

    private static string? ConfigExceptionProblem(ConfigException ex, string file, int lineBound)
    {
        if (string.IsNullOrWhiteSpace(ex.Message) || string.IsNullOrWhiteSpace(ex.Detail))
        {
            return "ConfigException with an empty message";
        }

        if (!ex.Message.StartsWith(file + ":", StringComparison.Ordinal))
        {
            return $"message does not start with the file name {file}: {ex.Message}";
        }

        if (ex.Message.AsSpan().IndexOfAny("\r\n\u0085\u2028\u2029") >= 0)
        {
            return $"message spans lines: {ex.Message}";
        }

        if (ex.Line < 0 || ex.Line > lineBound)
        {
            return $"line {ex.Line} is past the end of the input (at most {lineBound} allowed): {ex.Message}";
        }

        // The loader's last-resort wrapper: an internal exception it did not anticipate, not a finding about the file.
        if (ex.Detail.StartsWith("cannot be loaded: ", StringComparison.Ordinal))
        {
            return $"an unexpected internal exception was wrapped: {ex.Message}";
        }

        return null;
    }

    public static string Describe(int seed, Mutant mutant, string problem)
    {
        const int Max = 3000;
        var text = mutant.Text;
        var shown = text.Length <= Max ? text : text[..(Max / 2)] + $"\n[... {text.Length - Max} chars ...]\n" + text[^(Max / 2)..];
        var escaped = new StringBuilder();
        foreach (var c in shown)
        {
            _ = c is '\n' or '\t' || (c >= ' ' && c < 0x7f) ? escaped.Append(c) : escaped.Append($"\\x{(int)c:X2}");
        }

        return $"seed {seed} ({mutant.Base}; {string.Join(", ", mutant.Operations)}): {problem}\n--- mutated file (Latin-1 view) ---\n{escaped}\n---";
    }
}
