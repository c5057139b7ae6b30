using SerSync.Testing;

namespace SerSync.IntegrationTests.EndToEnd;

/// <summary>A seeded random workload against the running daemon; afterwards the target must equal the source,
/// permissions included.</summary>
public sealed class ChurnEndToEndTests
{
    /// <summary>How long the churn runs. The rest of the test is the convergence wait.</summary>
    public static readonly TimeSpan ChurnDuration = TimeSpan.FromSeconds(30);

    private const int Seed = 20_250_611;
    private const int MaxFiles = 1500;
    private static readonly UnixFileMode[] FileModes =
    [
        (UnixFileMode)0b110_100_100, // 644
        (UnixFileMode)0b110_000_000, // 600
        (UnixFileMode)0b111_101_101, // 755
        (UnixFileMode)0b110_100_000, // 640
    ];

    private static readonly UnixFileMode[] DirectoryModes =
    [
        (UnixFileMode)0b111_101_101, // 755
        (UnixFileMode)0b111_000_000, // 700
        (UnixFileMode)0b111_101_000, // 750
        (UnixFileMode)0b111_111_101, // 775
    ];

    [Fact]
    public async Task Seeded_random_churn_converges_with_permissions()
    {
        await using var m = await Mirror.StartAsync(m =>
        {
            m.Config.Attrib = true; // chmod alone must travel too
            Directory.CreateDirectory(m.Src("seed/inner"));
            File.WriteAllText(m.Src("seed/inner/a.txt"), "seed");
        });
        var churn = new Churn(new Random(Seed), m.Source, m.Outside);
        var deadline = DateTime.UtcNow + ChurnDuration;
        var random = new Random(Seed + 1);
        while (DateTime.UtcNow < deadline)
        {
            // Bursts of operations, then a short pause, as a busy publisher would write.
            var burst = random.Next(1, 40);
            for (var i = 0; i < burst; i++)
            {
                churn.Step();
            }

            await Task.Delay(random.Next(0, 15), TestContext.Current.CancellationToken);
        }

        TestContext.Current.TestOutputHelper?.WriteLine($"churn: {churn.Summary}");
        var converge = System.Diagnostics.Stopwatch.StartNew();
        await m.WaitForTargetAsync(new TreeCompareOptions { ComparePermissions = true }, TimeSpan.FromSeconds(60));
        TestContext.Current.TestOutputHelper?.WriteLine($"converged {converge.Elapsed.TotalSeconds:0.0} s after the churn");
        Assert.True(churn.Operations > 500, $"only {churn.Operations} operations ran: {churn.Summary}");
        await m.Daemon.StopAsync();
    }

    /// <summary>The workload: a picture of the tree kept in lists, refreshed from disk after directory operations.</summary>
    private sealed class Churn(Random random, string root, string outside)
    {
        private readonly Dictionary<string, int> _counts = new(StringComparer.Ordinal);
        private List<string> _files = [];
        private List<string> _dirs = [];
        private int _names;

        public int Operations { get; private set; }

        public string Summary => string.Join(", ", _counts.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key} {kv.Value}")) +
            $"; now {_files.Count} files in {_dirs.Count} directories";

        public void Step()
        {
            if (Operations % 50 == 0)
            {
                Rescan();
            }

            var roll = random.Next(100);
            var op = roll switch
            {
                < 20 => "create",
                < 32 => "append",
                < 38 => "truncate",
                < 48 => "rename",
                < 53 => "rename-dir",
                < 58 => "move-in",
                < 62 => "move-in-dir",
                < 67 => "move-out",
                < 77 => "delete",
                < 80 => "delete-dir",
                < 88 => "chmod",
                < 92 => "chmod-dir",
                _ => "mkdir",
            };
            if (_files.Count > MaxFiles && op is "create" or "move-in" or "move-in-dir")
            {
                op = "delete";
            }

            try
            {
                Run(op);
                _counts[op] = _counts.GetValueOrDefault(op) + 1;
            }
            catch (IOException)
            {
                // Picked something a directory operation already moved: the picture is refreshed and we go on.
                _counts["skipped"] = _counts.GetValueOrDefault("skipped") + 1;
                Rescan();
            }

            Operations++;
        }

        private void Run(string op)
        {
            switch (op)
            {
                case "create":
                    {
                        var path = Path.Combine(PickDir(), NewName("f"));
                        File.WriteAllBytes(path, RandomBytes(random.Next(0, 8192)));
                        _files.Add(path);
                        break;
                    }

                case "append" when _files.Count > 0:
                    using (var s = new FileStream(PickFile(), FileMode.Append))
                    {
                        s.Write(RandomBytes(random.Next(1, 2048)));
                    }

                    break;
                case "truncate" when _files.Count > 0:
                    using (var s = new FileStream(PickFile(), FileMode.Open))
                    {
                        s.SetLength(s.Length == 0 ? 0 : random.NextInt64(s.Length));
                    }

                    break;
                case "rename" when _files.Count > 0:
                    {
                        var from = PickFile();
                        var to = Path.Combine(PickDir(), NewName("r"));
                        File.Move(from, to);
                        _files.Remove(from);
                        _files.Add(to);
                        break;
                    }

                case "rename-dir" when _dirs.Count > 1:
                    {
                        var from = PickSubdirectory();
                        var parent = PickDir();
                        if (parent.StartsWith(from + "/", StringComparison.Ordinal) || parent == from)
                        {
                            break; // not into itself
                        }

                        Directory.Move(from, Path.Combine(parent, NewName("rd")));
                        Rescan();
                        break;
                    }

                case "move-in":
                    {
                        var staged = Path.Combine(outside, NewName("in"));
                        File.WriteAllBytes(staged, RandomBytes(random.Next(0, 4096)));
                        var to = Path.Combine(PickDir(), NewName("mi"));
                        File.Move(staged, to);
                        _files.Add(to);
                        break;
                    }

                case "move-in-dir":
                    {
                        var staged = Path.Combine(outside, NewName("ind"));
                        Directory.CreateDirectory(Path.Combine(staged, "x/y"));
                        File.WriteAllBytes(Path.Combine(staged, "top"), RandomBytes(random.Next(0, 1024)));
                        File.WriteAllBytes(Path.Combine(staged, "x/y/deep"), RandomBytes(random.Next(0, 1024)));
                        Directory.Move(staged, Path.Combine(PickDir(), NewName("mid")));
                        Rescan();
                        break;
                    }

                case "move-out" when _files.Count > 0 && random.Next(3) > 0:
                    {
                        var from = PickFile();
                        File.Move(from, Path.Combine(outside, NewName("out")));
                        _files.Remove(from);
                        break;
                    }

                case "move-out" when _dirs.Count > 1:
                    Directory.Move(PickSubdirectory(), Path.Combine(outside, NewName("outd")));
                    Rescan();
                    break;
                case "delete" when _files.Count > 0:
                    {
                        var victim = PickFile();
                        File.Delete(victim);
                        _files.Remove(victim);
                        break;
                    }

                case "delete-dir" when _dirs.Count > 1:
                    Directory.Delete(PickSubdirectory(), recursive: true);
                    Rescan();
                    break;
                case "chmod" when _files.Count > 0:
                    File.SetUnixFileMode(PickFile(), FileModes[random.Next(FileModes.Length)]);
                    break;
                case "chmod-dir" when _dirs.Count > 1:
                    File.SetUnixFileMode(PickSubdirectory(), DirectoryModes[random.Next(DirectoryModes.Length)]);
                    break;
                case "mkdir":
                    {
                        var path = Path.Combine(PickDir(), NewName("d"));
                        if (random.Next(3) == 0)
                        {
                            path = Path.Combine(path, NewName("p"), NewName("q")); // mkdir -p
                        }

                        Directory.CreateDirectory(path);
                        if (random.Next(2) == 0)
                        {
                            File.WriteAllBytes(Path.Combine(path, NewName("f")), RandomBytes(random.Next(0, 512)));
                        }

                        Rescan();
                        break;
                    }

                default:
                    break;
            }
        }

        private void Rescan()
        {
            _dirs = [root, .. Directory.EnumerateDirectories(root, "*", SearchOption.AllDirectories)];
            _files = [.. Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)];
        }

        private string PickFile() => _files[random.Next(_files.Count)];

        private string PickDir() => _dirs[random.Next(_dirs.Count)];

        private string PickSubdirectory() => _dirs[random.Next(1, _dirs.Count)];

        /// <summary>Unique names; every tenth has a space, none is editor noise.</summary>
        private string NewName(string prefix)
        {
            var n = Interlocked.Increment(ref _names);
            return n % 10 == 0 ? $"{prefix} {n}" : $"{prefix}{n}";
        }

        private byte[] RandomBytes(int length)
        {
            var bytes = new byte[length];
            random.NextBytes(bytes);
            return bytes;
        }
    }
}
