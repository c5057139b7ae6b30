using System.Text;
using System.Text.RegularExpressions;
using SerSync.Configuration;
using SerSync.Daemon;
using SerSync.Tests.Infrastructure;

namespace SerSync.Tests.Configuration;

/// <summary>
/// Seeded mutations of the stock confxml.xml and of our sample: the loader must answer every one with a
/// <see cref="SerSyncConfig"/> or a <see cref="ConfigException"/> that names the file and a line inside it, quickly;
/// the daemon must answer <c>-t</c> with 0, or 78 and one plain line. A failure prints the seed and the mutated file:
/// <see cref="ConfigMutator.Mutate"/> with that seed rebuilds it (even seeds go through Load, odd ones through Parse).
/// </summary>
public sealed class ConfigFuzzTests : IDisposable
{
    private const int InProcessCases = 2000;
    private const int DaemonCases = 40;
    private const int MaxReported = 25;
    private static readonly TimeSpan CaseTimeout = TimeSpan.FromSeconds(5);

    private readonly TempDirectory _temp = new("sersync-fuzz-");
    private readonly ConfigMutator _mutator;

    public ConfigFuzzTests()
    {
        _mutator = new ConfigMutator(_temp);
    }

    public void Dispose() => _temp.Dispose();

    /// <summary>What one case did: its outcome class, the refusal if any, and what broke the contract if anything.</summary>
    private sealed record CaseResult(int Seed, Mutant Mutant, string Outcome, ConfigException? Error, string? Problem);

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
        var results = RunInProcess(InProcessCases);
        var outcomes = results.GroupBy(r => r.Outcome, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => $"{g.Key}={g.Count()}");
        var summary = string.Join(", ", outcomes);
        TestContext.Current.TestOutputHelper?.WriteLine($"outcomes: {summary}");
        var failures = results.Where(r => r.Problem != null).ToList();
        Assert.True(
            failures.Count == 0,
            $"{failures.Count} failing case(s) (outcomes: {summary}):\n\n" +
            string.Join("\n\n", failures.Take(MaxReported).Select(r => Describe(r.Seed, r.Mutant, r.Problem!))));
        Assert.True(results.Count(r => r.Outcome == "ok") > 50, $"too few mutants still load, the mutator is too destructive: {summary}");
        Assert.True(results.Count(r => r.Outcome.StartsWith("config-error", StringComparison.Ordinal)) > results.Count / 2, $"too few mutants are refused: {summary}");
    }

    [Fact]
    public async Task Mutated_configs_exit_0_or_78_with_one_line_from_the_daemon()
    {
        // Spread the few daemon runs over what the loader does in-process: loads, and each kind of refusal.
        var picked = new List<CaseResult>();
        var perKind = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var r in RunInProcess(300))
        {
            var kind = r.Error == null ? r.Outcome : Regex.Match(r.Error.Detail, "^[^\"':<(]*").Value.Trim();
            if (picked.Count < DaemonCases && perKind.GetValueOrDefault(kind) < 3 && r.Outcome != "hang")
            {
                perKind[kind] = perKind.GetValueOrDefault(kind) + 1;
                picked.Add(r);
            }
        }

        var daemon = Path.Combine(AppContext.BaseDirectory, "sersyncd.dll");
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
                    "dotnet", [daemon, "-t", "-o", file],
                    timeout: TimeSpan.FromSeconds(60),
                    cancellationToken: TestContext.Current.CancellationToken);
                var problem = DaemonProblem(r);
                if (problem != null)
                {
                    lock (failures)
                    {
                        failures.Add(Describe(p.Seed, p.Mutant, $"{problem}\n{r}"));
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

    // ---- running cases ----

    /// <summary>Seeds 0..count-1 on one worker thread per core, each case on its own task with a time limit.</summary>
    private List<CaseResult> RunInProcess(int count)
    {
        var results = new CaseResult?[count];
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
                    mutant = _mutator.Mutate(seed);
                }
                catch (Exception ex)
                {
                    results[seed] = new CaseResult(seed, new Mutant("?", [], []), "mutator-bug", null, $"the mutator threw: {ex}");
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
        return [.. results.OfType<CaseResult>()];
    }

    /// <summary>Loads <paramref name="mutant"/> from a file (even seeds) or from text (odd seeds).</summary>
    private CaseResult LoadInProcess(Mutant mutant, int seed, int worker)
    {
        var fromFile = seed % 2 == 0;
        var file = fromFile ? Path.Combine(_temp.Path, $"case-{worker}.xml") : ConfigTestSupport.FileName;
        var text = fromFile ? "" : mutant.Text;
        if (fromFile)
        {
            File.WriteAllBytes(file, mutant.Bytes);
        }

        var how = fromFile ? "Load" : "Parse";
        var task = Task.Run(() => fromFile ? ConfigLoader.Load(file) : ConfigLoader.Parse(text, file, _temp.Path));
        try
        {
            if (!task.Wait(CaseTimeout))
            {
                return new CaseResult(seed, mutant, "hang", null, $"{how} gave no answer within {CaseTimeout.TotalSeconds} s");
            }

            return task.Result == null
                ? new CaseResult(seed, mutant, "null", null, $"{how} returned null")
                : new CaseResult(seed, mutant, "ok", null, null);
        }
        catch (AggregateException ae) when (ae.InnerException is ConfigException ex)
        {
            var outcome = ex.Message.AsSpan().IndexOfAny('\n', '\r') >= 0 ? "config-error-multi-line" : "config-error";
            return new CaseResult(seed, mutant, outcome, ex, ConfigExceptionProblem(ex, file, mutant.LineBound));
        }
        catch (AggregateException ae)
        {
            var inner = ae.InnerException ?? ae;
            return new CaseResult(seed, mutant, "other-exception", null, $"{how} threw {inner.GetType().FullName}: {inner}");
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

    private static string Describe(int seed, Mutant mutant, string problem)
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

/// <summary>One mutated file: its raw bytes (what Load reads) and their Latin-1 view (what Parse gets).</summary>
public sealed record Mutant(string Base, byte[] Bytes, IReadOnlyList<string> Operations)
{
    public string Text => Encoding.Latin1.GetString(Bytes);

    /// <summary>The highest line an error may name: the number of lines plus one, counting every CR and LF byte as a
    /// line break (generous for any encoding).</summary>
    public int LineBound => ConfigMutator.LineBound(Text);
}

/// <summary>Deterministic mutations: <c>Mutate(seed)</c> always builds the same file for the same temp layout. Files
/// are handled as Latin-1 strings, one char per byte, so byte-level edits and text edits mix freely.</summary>
public sealed class ConfigMutator
{
    private static readonly string[] ElementNames =
    [
        "head", "host", "debug", "fileSystem", "filter", "exclude", "inotify", "delete", "createFolder", "sersync",
        "localpath", "remote", "rsync", "commonParams", "auth", "userDefinedPort", "timeout", "ssh", "failLog",
        "crontab", "crontabfilter", "plugin", "state", "param", "include", "deshost", "cdninfo", "regexurl",
    ];

    private static readonly string[] AttributeNames =
    [
        "version", "hostip", "port", "start", "xfs", "expression", "watch", "ip", "name", "path", "params", "users",
        "passwordfile", "time", "command", "timeToExecute", "schedule", "dir", "prefix", "ignoreError", "regex",
    ];

    private static readonly string[] Encodings =
    [
        "UTF-8", "utf-8", "UTF-16", "UTF-16LE", "UTF-16BE", "UTF-32", "ISO-8859-1", "latin1", "US-ASCII", "GB2312",
        "GBK", "GB18030", "Big5", "Shift_JIS", "windows-1252", "IBM037", "UTF-7", "bogus-encoding", "", " UTF-8",
    ];

    private static readonly string[] Fragments =
    [
        "\0", "\x01", "\x08", "\x1b", "\x7f", "\x80", "\x85", "\xa0", "\xc3", "\xff", "\xfe", "<", ">", "&", "\"", "'",
        "\n", "\r", "\r\n", " ", "\t", "#", "/", "=", "]]>", "<!--", "-->", "<![CDATA[", "<?", "?>", "&amp;", "&lt;",
        "&#10;", "&#13;", "&#9;", "&#0;", "&#x1;", "&#xD800;", "&#1114112;", "&#x10FFFF;", "&lol;", "&amp", "&#",
        "\xef\xbb\xbf", "\xc3\xa9", "\xe4\xb8\xad", "\xed\xa0\x80", "\xf4\x90\x80\x80", "<!DOCTYPE head>", "<x/>",
        "</head>", "<head>", "xmlns=\"urn:x\"", " x:a=\"1\"",
    ];

    /// <summary>XDocument's load time grows with the square of the depth: 10,000 levels take about a second, this
    /// many about a minute.</summary>
    public const int DeepestNesting = 100_000;

    private readonly string _file;
    private readonly string _dir;

    public ConfigMutator(TempDirectory temp)
    {
        ArgumentNullException.ThrowIfNull(temp);
        Encoding.RegisterProvider(CodePagesEncodingProvider.Instance); // GB2312 and friends, whatever ran first
        Watch = temp.Sub("www");
        _dir = temp.Sub("other-dir");
        _file = Path.Combine(temp.Path, "a-file");
        File.WriteAllText(_file, "not a directory\n");
        var failLog = Path.Combine(temp.Path, "fail.sh");
        Bases =
        [
            ("stock-confxml.xml", Prepare("stock-confxml.xml", failLog)),
            ("sample-confxml.xml", Prepare("sample-confxml.xml", failLog)),
        ];
        EdgeValues =
        [
            "", " ", "\t", "  x  ", "99999999999999999999", "-99999999999999999999", "2147483648", "-2147483649", "-1",
            "-0", "0", "+5", "0x10", "1e3", "1.5", "\x41\xd9\xa3", "true", "false", "TRUE", "yes", "1",
            new string('x', 100_000), new string('/', 5000), "/" + string.Join('/', Enumerable.Repeat("d", 3000)),
            "../..", "..", ".", "www", "relative/dir", "/", "//", "/..", "/./", "/tmp/../tmp", "~/x", "/nonexistent/dir",
            Watch, Watch + "/", Watch + "//", Watch + "/sub", Path.GetDirectoryName(Watch)!, _dir, _file, _file + "/",
            "/dev/null", "/proc/self", "/etc/passwd", "(", ")", "[", "[a-", "*", "+", "?", "(a+)+$", "(a|a)*b", "\\",
            "\\1", "(?<=a)b", "(?<n>a)\\k<n>", "a{99999999999999}", "a{1000000}", "(a{1000}){1000}", "\\p{Bogus}",
            ".*", "^", "$", "-e", "--delete", "-az --rsh=evil", "\"-a", "'", "a b", "a@b", "host:1", "[::1]", "[::1",
            "[fe80::1%eth0]", "127.0.0.1", "&#10;", "a&#10;b", "a&#13;b", "&#9;", "&#0;", "&amp;", "&lt;", "&gt;",
            "&quot;", "&apos;", "\"", "<", "&", ">", "\xe9", "\xc3\xa9", "\xe4\xb8\xad", "\xa0", "\x01", "\x1b[31m",
        ];
    }

    /// <summary>The real directory both bases watch.</summary>
    public string Watch { get; }

    public IReadOnlyList<(string Name, byte[] Bytes)> Bases { get; }

    private string[] EdgeValues { get; }

    public static int LineBound(string text) => text.Count(c => c is '\n' or '\r') + 2;

    public Mutant Mutate(int seed)
    {
        var rng = new Random(seed);
        var (name, bytes) = Bases[seed % Bases.Count];
        var s = Encoding.Latin1.GetString(bytes);
        var ops = new List<string>();
        var count = rng.Next(10) switch
        {
            < 5 => 1,
            < 8 => 2,
            _ => 3 + rng.Next(3),
        };
        for (var i = 0; i < count; i++)
        {
            s = Apply(rng, s, ops);
        }

        return new Mutant(name, Encoding.Latin1.GetBytes(s), ops);
    }

    private byte[] Prepare(string fixture, string failLog)
    {
        var text = File.ReadAllText(ConfigTestSupport.FixturePath(fixture), Encoding.Latin1);
        Assert.Contains("watch=\"/www\"", text, StringComparison.Ordinal);
        text = text
            .Replace("watch=\"/www\"", $"watch=\"{Watch}\"", StringComparison.Ordinal)
            .Replace("/tmp/rsync_fail_log.sh", failLog, StringComparison.Ordinal);
        return Encoding.Latin1.GetBytes(text);
    }

    private string Apply(Random rng, string s, List<string> ops)
    {
        var lines = s.Split('\n');
        int Pos() => s.Length == 0 ? 0 : rng.Next(s.Length + 1);
        switch (rng.Next(22))
        {
            case 0:
                {
                    var i = rng.Next(lines.Length);
                    ops.Add($"delete line {i + 1}");
                    return string.Join('\n', lines.Where((_, j) => j != i));
                }

            case 1:
                {
                    var i = rng.Next(lines.Length);
                    ops.Add($"duplicate line {i + 1}");
                    return string.Join('\n', lines.Take(i + 1).Append(lines[i]).Concat(lines.Skip(i + 1)));
                }

            case 2:
                {
                    var (i, j) = (rng.Next(lines.Length), rng.Next(lines.Length));
                    ops.Add($"swap lines {i + 1} and {j + 1}");
                    (lines[i], lines[j]) = (lines[j], lines[i]);
                    return string.Join('\n', lines);
                }

            case 3:
                {
                    var p = Pos();
                    var n = Math.Min(1 + rng.Next(12), s.Length - p);
                    ops.Add($"delete {n} char(s) at {p}");
                    return s.Remove(p, n);
                }

            case 4 or 5:
                {
                    var p = Pos();
                    var f = rng.Next(4) == 0 ? ((char)rng.Next(256)).ToString() : Fragments[rng.Next(Fragments.Length)];
                    ops.Add($"insert {Show(f)} at {p}");
                    return s.Insert(p, f);
                }

            case 6:
                {
                    if (s.Length == 0)
                    {
                        return s;
                    }

                    var p = rng.Next(s.Length);
                    var c = (char)(s[p] ^ (1 << rng.Next(8)));
                    ops.Add($"flip char {p} to {Show(c.ToString())}");
                    return string.Concat(s.AsSpan(0, p), c.ToString(), s.AsSpan(p + 1));
                }

            case 7 or 8 or 9 or 10:
                {
                    var values = Regex.Matches(s, "=\"([^\"<]*)\"");
                    if (values.Count == 0)
                    {
                        return s;
                    }

                    var g = values[rng.Next(values.Count)].Groups[1];
                    var v = EdgeValues[rng.Next(EdgeValues.Length)];
                    ops.Add($"value \"{Show(g.Value)}\" at {g.Index} -> \"{Show(v)}\"");
                    return string.Concat(s.AsSpan(0, g.Index), v, s.AsSpan(g.Index + g.Length));
                }

            case 11:
                {
                    var tags = Regex.Matches(s, "</?([A-Za-z_][-A-Za-z0-9_.:]*)");
                    if (tags.Count == 0)
                    {
                        return s;
                    }

                    var g = tags[rng.Next(tags.Count)].Groups[1];
                    var to = rng.Next(5) switch
                    {
                        0 => g.Value.ToUpperInvariant(),
                        1 => g.Value + "x",
                        2 => "x:" + g.Value,
                        3 => "1" + g.Value,
                        _ => ElementNames[rng.Next(ElementNames.Length)],
                    };
                    ops.Add($"rename element <{g.Value}> at {g.Index} to <{to}>");
                    return string.Concat(s.AsSpan(0, g.Index), to, s.AsSpan(g.Index + g.Length));
                }

            case 12:
                {
                    var attrs = Regex.Matches(s, "\\s([A-Za-z_][-A-Za-z0-9_.:]*)=");
                    if (attrs.Count == 0)
                    {
                        return s;
                    }

                    var g = attrs[rng.Next(attrs.Count)].Groups[1];
                    var to = rng.Next(5) switch
                    {
                        0 => g.Value.ToUpperInvariant(),
                        1 => "xml:" + g.Value,
                        2 => "xmlns",
                        3 => "xmlns:" + g.Value,
                        _ => AttributeNames[rng.Next(AttributeNames.Length)],
                    };
                    ops.Add($"rename attribute {g.Value} at {g.Index} to {to}");
                    return string.Concat(s.AsSpan(0, g.Index), to, s.AsSpan(g.Index + g.Length));
                }

            case 13:
                {
                    var p = rng.Next(s.Length);
                    ops.Add($"truncate at {p}");
                    return s[..p];
                }

            case 14:
                {
                    var decl = s.StartsWith("<?xml", StringComparison.Ordinal) ? s.IndexOf("?>", StringComparison.Ordinal) + 2 : 0;
                    if (rng.Next(2) == 0)
                    {
                        ops.Add("wrap the document in <wrap>");
                        return string.Concat(s.AsSpan(0, decl), "<wrap>", s.AsSpan(decl), "</wrap>\n");
                    }

                    var i = rng.Next(lines.Length);
                    ops.Add($"wrap line {i + 1} in <x>");
                    lines[i] = "<x a=\"1\">" + lines[i] + "</x>";
                    return string.Join('\n', lines);
                }

            case 15:
                {
                    var roll = rng.Next(100);
                    var depth = roll == 0 ? DeepestNesting : roll < 6 ? 10_000 : 1 + rng.Next(100);
                    var closed = rng.Next(3) != 0;
                    var name = rng.Next(2) == 0 ? "a" : ElementNames[rng.Next(ElementNames.Length)];
                    var nest = new StringBuilder();
                    for (var k = 0; k < depth; k++)
                    {
                        nest.Append('<').Append(name).Append('>');
                    }

                    for (var k = 0; closed && k < depth; k++)
                    {
                        nest.Append("</").Append(name).Append('>');
                    }

                    var i = rng.Next(lines.Length);
                    ops.Add($"insert {depth} nested <{name}>{(closed ? "" : " unclosed")} before line {i + 1}");
                    lines[i] = nest + lines[i];
                    return string.Join('\n', lines);
                }

            case 16:
                {
                    var decl = s.StartsWith("<?xml", StringComparison.Ordinal) ? s.IndexOf("?>", StringComparison.Ordinal) + 2 : 0;
                    var (label, dtd, use) = rng.Next(5) switch
                    {
                        0 => ("billion laughs", BillionLaughs, "&lol9;"),
                        1 => ("external entity", "<!DOCTYPE head [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>", "&xxe;"),
                        2 => ("quadratic blowup", $"<!DOCTYPE head [<!ENTITY a \"{new string('a', 50_000)}\">]>", string.Concat(Enumerable.Repeat("&a;", 2000))),
                        3 => ("parameter entity", "<!DOCTYPE head [<!ENTITY % p SYSTEM \"http://127.0.0.1:9/x.dtd\"> %p;]>", "&x;"),
                        _ => ("internal entity", "<!DOCTYPE head [<!ENTITY w \"/www\">]>", "&w;"),
                    };
                    ops.Add($"DOCTYPE: {label}");
                    s = string.Concat(s.AsSpan(0, decl), "\n", dtd, s.AsSpan(decl));
                    var values = Regex.Matches(s, "watch=\"[^\"]*\"");
                    return values.Count == 0 ? s : s.Remove(values[0].Index, values[0].Length).Insert(values[0].Index, $"watch=\"{use}\"");
                }

            case 17:
                {
                    var (label, bom) = rng.Next(5) switch
                    {
                        0 => ("UTF-8", "\xef\xbb\xbf"),
                        1 => ("UTF-16LE", "\xff\xfe"),
                        2 => ("UTF-16BE", "\xfe\xff"),
                        3 => ("UTF-32LE", "\xff\xfe\0\0"),
                        _ => ("two UTF-8", "\xef\xbb\xbf\xef\xbb\xbf"),
                    };
                    ops.Add($"prepend {label} BOM");
                    return bom + s;
                }

            case 18:
                {
                    var declared = Encodings[rng.Next(Encodings.Length)];
                    var transcode = rng.Next(2) == 0;
                    var actual = transcode ? Encodings[rng.Next(Encodings.Length)] : "";
                    ops.Add($"declare encoding \"{declared}\"" + (transcode ? $", written as {actual}" : ""));
                    var declMatch = Regex.Match(s, "encoding=\"[^\"]*\"");
                    s = declMatch.Success
                        ? s.Remove(declMatch.Index, declMatch.Length).Insert(declMatch.Index, $"encoding=\"{declared}\"")
                        : $"<?xml version=\"1.0\" encoding=\"{declared}\"?>\n" + s;
                    if (!transcode)
                    {
                        return s;
                    }

                    try
                    {
                        var encoding = Encoding.GetEncoding(actual.Trim());
                        return Encoding.Latin1.GetString(encoding.GetBytes(s));
                    }
                    catch (Exception ex) when (ex is ArgumentException or NotSupportedException)
                    {
                        return s;
                    }
                }

            case 19:
                {
                    var decl = s.StartsWith("<?xml", StringComparison.Ordinal) ? s.IndexOf("?>", StringComparison.Ordinal) + 2 : 0;
                    switch (rng.Next(4))
                    {
                        case 0:
                            ops.Add("remove the XML declaration");
                            return s[decl..];
                        case 1:
                            ops.Add("text before the XML declaration");
                            return (rng.Next(2) == 0 ? "\n" : " x") + s;
                        case 2:
                            ops.Add("second XML declaration");
                            return string.Concat(s.AsSpan(0, decl), "\n<?xml version=\"1.0\"?>", s.AsSpan(decl));
                        default:
                            ops.Add("XML version 1.1");
                            return s.Replace("version=\"1.0\"", "version=\"1.1\"", StringComparison.Ordinal);
                    }
                }

            case 20:
                {
                    // Text where only elements belong, often spanning lines or made of character references.
                    var i = rng.Next(lines.Length);
                    var text = rng.Next(4) switch
                    {
                        0 => "# a note",
                        1 => "first\nsecond",
                        2 => string.Concat(Enumerable.Repeat("&#10;", 1 + rng.Next(60))) + "x",
                        _ => "  \t&#13;&#10;  y&#10;z",
                    };
                    ops.Add($"text {Show(text)} at the end of line {i + 1}");
                    lines[i] += text;
                    return string.Join('\n', lines);
                }

            default:
                {
                    // A character reference or special character inside an attribute value.
                    var values = Regex.Matches(s, "=\"([^\"<]*)\"");
                    if (values.Count == 0)
                    {
                        return s;
                    }

                    var g = values[rng.Next(values.Count)].Groups[1];
                    var f = Fragments[rng.Next(Fragments.Length)];
                    var p = g.Index + rng.Next(g.Length + 1);
                    ops.Add($"insert {Show(f)} into value \"{Show(g.Value)}\" at {p}");
                    return s.Insert(p, f);
                }
        }
    }

    private static readonly string BillionLaughs =
        "<!DOCTYPE head [\n <!ENTITY lol \"lol\">\n" +
        string.Concat(Enumerable.Range(1, 9).Select(i =>
            $" <!ENTITY lol{i} \"{string.Concat(Enumerable.Repeat($"&lol{(i == 1 ? "" : (i - 1).ToString(System.Globalization.CultureInfo.InvariantCulture))};", 10))}\">\n")) +
        "]>";

    private static string Show(string s)
    {
        var b = new StringBuilder();
        foreach (var c in s.Length > 60 ? s[..40] + $"...({s.Length} chars)" : s)
        {
            _ = c >= ' ' && c < 0x7f ? b.Append(c) : b.Append($"\\x{(int)c:X2}");
        }

        return b.ToString();
    }
}
