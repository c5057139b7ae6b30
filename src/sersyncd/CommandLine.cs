namespace SerSync.Daemon;

/// <summary>
/// sersync 2.5's command line (getopt <c>hdro:n:m:</c>, so bundles such as <c>-dro FILE</c> work as in the
/// tutorials) plus sersyncd's long options.
/// </summary>
public sealed record CommandLine
{
    public const string Usage = """
        usage: sersyncd [-r] [-d] [-n N] [-o FILE] [-m PLUGIN] [-t] [--once]
               [--log-file FILE] [--pid-file FILE] [--state-dir DIR]
               sersyncd status [-o FILE] [--json]
               sersyncd verify [-o FILE] [--checksum] [--target NAME]
               sersyncd release [-o FILE] [--keep]

          -r               push every watched root in full to every target first (watches placed before it)
          -d               run as a daemon (detaches unless started by systemd)
          -n N             rsync processes running at once, across targets (default 10)
          -o FILE          configuration file, sersync 2.5 confxml.xml format (default ./confxml.xml)
          -m PLUGIN        run one plugin alone (refreshCDN, socket, command, http)
          -t               check the configuration and exit: 0 if valid, 78 if not
          --once           push every root in full to every target and exit (non-zero if a target failed)
          --log-file FILE  log to FILE as well as the console (with -d: instead of it)
          --pid-file FILE  write the daemon's PID to FILE (default with -d: /run/sersyncd/NAME.pid)
          --state-dir DIR  where pending work is kept (default /var/lib/sersyncd/NAME)
          -h, --help       this help
          --version        print the version

        status: ask the running instance for each target's state (exit 0 all in sync or syncing, 1 a target
                retrying or failed, 3 no daemon answers); --json prints it as JSON
        verify: compare every target with the source, daemon running or not (exit 0 all match, 1 something
                differs, 2 a target could not be checked); --checksum compares contents, --target NAME one target
        release: the running instance sends the deletes its delete guard holds (only those whose path is still
                 gone on the source); --keep drops them instead and the targets keep those files (exit 0, 3 no
                 daemon answers)
        """;

    /// <summary>What the invocation does: run the daemon (sersync's command line), or one of the operator's verbs.</summary>
    public CommandVerb Verb { get; init; } = CommandVerb.Run;

    /// <summary><c>status --json</c>.</summary>
    public bool Json { get; init; }

    /// <summary><c>verify --checksum</c>.</summary>
    public bool Checksum { get; init; }

    /// <summary><c>release --keep</c>.</summary>
    public bool Keep { get; init; }

    /// <summary><c>verify --target NAME</c>.</summary>
    public string? TargetName { get; init; }

    public bool FullPushFirst { get; init; }

    public bool Daemon { get; init; }

    public int Workers { get; init; } = 10;

    public string ConfigFile { get; init; } = "confxml.xml";

    public string? Plugin { get; init; }

    public bool CheckOnly { get; init; }

    public bool Once { get; init; }

    public bool Help { get; init; }

    public bool Version { get; init; }

    public string? LogFile { get; init; }

    public string? PidFile { get; init; }

    public string? StateDirectory { get; init; }

    /// <summary>Parses argv; throws <see cref="UsageException"/> with a one-line reason.</summary>
    public static CommandLine Parse(IReadOnlyList<string> args)
    {
        var result = new CommandLine();
        var start = 0;
        if (args.Count > 0 && !args[0].StartsWith('-'))
        {
            result = args[0] switch
            {
                "status" => result with { Verb = CommandVerb.Status },
                "verify" => result with { Verb = CommandVerb.Verify },
                "release" => result with { Verb = CommandVerb.Release },
                _ => throw new UsageException($"unknown command '{args[0]}' (commands are status, verify and release; options start with '-')"),
            };
            start = 1;
        }

        for (var i = start; i < args.Count; i++)
        {
            var arg = args[i];
            string NextValue(string option)
            {
                if (i + 1 >= args.Count)
                {
                    throw new UsageException($"option {option} needs a value");
                }

                return args[++i];
            }

            if (arg.StartsWith("--", StringComparison.Ordinal))
            {
                var eq = arg.IndexOf('=', StringComparison.Ordinal);
                var name = eq < 0 ? arg : arg[..eq];
                string Value() => eq < 0 ? NextValue(name) : arg[(eq + 1)..];
                result = name switch
                {
                    "--help" => result with { Help = true },
                    "--version" => result with { Version = true },
                    "--once" => result with { Once = true },
                    "--log-file" => result with { LogFile = NonEmpty(name, Value()) },
                    "--pid-file" => result with { PidFile = NonEmpty(name, Value()) },
                    "--state-dir" => result with { StateDirectory = NonEmpty(name, Value()) },
                    "--json" when result.Verb == CommandVerb.Status => result with { Json = true },
                    "--checksum" when result.Verb == CommandVerb.Verify => result with { Checksum = true },
                    "--target" when result.Verb == CommandVerb.Verify => result with { TargetName = NonEmpty(name, Value()) },
                    "--keep" when result.Verb == CommandVerb.Release => result with { Keep = true },
                    "--keep" => throw new UsageException("option --keep belongs to release"),
                    "--json" or "--checksum" or "--target" => throw new UsageException($"option {name} belongs to {(name == "--json" ? "status" : "verify")}"),
                    _ => throw new UsageException($"unknown option {name}"),
                };
                if (eq >= 0 && name is "--help" or "--version" or "--once" or "--json" or "--checksum" or "--keep")
                {
                    throw new UsageException($"option {name} takes no value");
                }

                continue;
            }

            if (arg.Length < 2 || arg[0] != '-')
            {
                throw new UsageException($"unexpected argument '{arg}' (options start with '-')");
            }

            // A getopt bundle: flags, and at most one option with a value that takes the rest or the next word.
            for (var j = 1; j < arg.Length; j++)
            {
                var flag = arg[j];
                string BundleValue()
                {
                    var rest = arg[(j + 1)..];
                    j = arg.Length;
                    return rest.Length > 0 ? rest : NextValue("-" + flag);
                }

                result = flag switch
                {
                    'r' => result with { FullPushFirst = true },
                    'd' => result with { Daemon = true },
                    't' => result with { CheckOnly = true },
                    'h' => result with { Help = true },
                    'o' => result with { ConfigFile = NonEmpty("-o", BundleValue()) },
                    'm' => result with { Plugin = NonEmpty("-m", BundleValue()) },
                    'n' => result with { Workers = ParseWorkers(BundleValue()) },
                    _ => throw new UsageException($"unknown option -{flag}"),
                };
            }
        }

        if (result.Verb != CommandVerb.Run && (result.Daemon || result.Once || result.FullPushFirst || result.CheckOnly || result.Plugin is not null))
        {
            throw new UsageException($"{result.Verb.ToString().ToLowerInvariant()} takes -o FILE and its own options, not -r, -d, -t, -m or --once");
        }

        if (result.Once && result.Daemon)
        {
            // --once is a foreground run that ends: detached, nobody would see how it ended.
            throw new UsageException("--once runs in the foreground and exits; it cannot be combined with -d");
        }

        return result;
    }

    private static int ParseWorkers(string value)
    {
        if (!int.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) || n < 1 || n > 1000)
        {
            throw new UsageException($"-n expects a number of workers from 1 to 1000, not '{value}'");
        }

        return n;
    }

    private static string NonEmpty(string option, string value) =>
        value.Length == 0 ? throw new UsageException($"option {option} needs a non-empty value") : value;
}

public enum CommandVerb
{
    /// <summary>sersync's command line: run the mirror (or -t, --once).</summary>
    Run,

    /// <summary><c>sersyncd status</c>: ask the running instance.</summary>
    Status,

    /// <summary><c>sersyncd verify</c>: the drift audit.</summary>
    Verify,

    /// <summary><c>sersyncd release [--keep]</c>: ask the running instance to send (or drop) the held deletes.</summary>
    Release,
}

public sealed class UsageException : Exception
{
    public UsageException(string message)
        : base(message)
    {
    }

    public UsageException()
    {
    }

    public UsageException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
