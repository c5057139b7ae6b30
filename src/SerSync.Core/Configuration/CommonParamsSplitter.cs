using System.Text;

namespace SerSync.Configuration;

/// <summary>
/// Turns <c>&lt;commonParams params&gt;</c> into rsync argv words. sersync pasted the string into a <c>/bin/sh -c</c>
/// line; sersyncd never runs a shell, so it splits POSIX-like itself and refuses shell syntax it cannot honour
/// rather than passing it to rsync literally.
/// </summary>
public static class CommonParamsSplitter
{
    private const string NoShell = "params are passed to rsync as argv, not through a shell";

    /// <summary>Splits <paramref name="text"/>: whitespace separates words, single quotes keep everything literally,
    /// double quotes keep everything but <c>\</c> escapes of <c>$ ` " \</c>; outside quotes <c>\</c> escapes any
    /// character. Returns false with a message for an unterminated quote or shell syntax.</summary>
    public static bool TrySplit(string text, out List<string> words, out string? error)
    {
        ArgumentNullException.ThrowIfNull(text);
        words = [];
        error = null;
        var word = new StringBuilder();
        var inWord = false;
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (c is ' ' or '\t' or '\n' or '\r')
            {
                if (inWord)
                {
                    words.Add(word.ToString());
                    word.Clear();
                    inWord = false;
                }

                i++;
                continue;
            }

            inWord = true;
            switch (c)
            {
                case '\'':
                    {
                        var end = text.IndexOf('\'', i + 1);
                        if (end < 0)
                        {
                            error = $"unterminated single quote at offset {i} in {ConfigText.Quote(text)}";
                            return false;
                        }

                        word.Append(text, i + 1, end - i - 1);
                        i = end + 1;
                        break;
                    }

                case '"':
                    {
                        var j = i + 1;
                        while (true)
                        {
                            if (j >= text.Length)
                            {
                                error = $"unterminated double quote at offset {i} in {ConfigText.Quote(text)}";
                                return false;
                            }

                            var d = text[j];
                            if (d == '"')
                            {
                                break;
                            }

                            if (d == '\\' && j + 1 < text.Length && text[j + 1] is '$' or '`' or '"' or '\\')
                            {
                                word.Append(text[j + 1]);
                                j += 2;
                                continue;
                            }

                            // A shell expands these even inside double quotes; we cannot.
                            if (d is '$' or '`')
                            {
                                error = $"'{d}' inside double quotes at offset {j}: {NoShell}, so nothing is expanded; " +
                                    "write the value literally, or use single quotes or a backslash to mean the character itself";
                                return false;
                            }

                            word.Append(d);
                            j++;
                        }

                        i = j + 1;
                        break;
                    }

                case '\\':
                    if (i + 1 >= text.Length)
                    {
                        error = $"backslash at the end of {ConfigText.Quote(text)} escapes nothing";
                        return false;
                    }

                    word.Append(text[i + 1]);
                    i += 2;
                    break;

                case '$' or '`' or ';' or '|' or '&' or '<' or '>':
                    error = $"unquoted '{c}' at offset {i}: {NoShell}, so variables, command substitution, " +
                        "pipes, redirections and command separators cannot work; quote the character if rsync should see it";
                    return false;

                default:
                    word.Append(c);
                    i++;
                    break;
            }
        }

        if (inWord)
        {
            words.Add(word.ToString());
        }

        return true;
    }

    /// <summary>Checks split words against what the daemon's rsync protocol allows. Returns null when fine, else
    /// a message naming the word and what to do instead.</summary>
    public static string? Validate(IReadOnlyList<string> words)
    {
        ArgumentNullException.ThrowIfNull(words);
        for (var i = 0; i < words.Count; i++)
        {
            var w = words[i];
            if (w.Length < 2 || w[0] != '-')
            {
                return $"'{ConfigText.Show(w)}' is not an option: every commonParams word must start with '-' (rsync would read a bare " +
                    "word as a source path); give option values as --option=value or -Xvalue";
            }

            var problem = w.StartsWith("--", StringComparison.Ordinal) ? CheckLong(w) : CheckBundle(w);
            if (problem != null)
            {
                return problem;
            }
        }

        return null;
    }

    /// <summary>The words that make rsync delete on the target: <c>--del</c>, <c>--delete</c> and every
    /// <c>--delete-*</c> (before, during, delay, after, excluded, missing-args). rsync has no short form of them.</summary>
    public static string? FirstDeleteOption(IReadOnlyList<string> words)
    {
        ArgumentNullException.ThrowIfNull(words);
        foreach (var w in words)
        {
            var name = LongName(w);
            if (name is "--del" or "--delete" || name.StartsWith("--delete-", StringComparison.Ordinal))
            {
                return w;
            }
        }

        return null;
    }

    /// <summary>Short options of rsync 3.x that take a value: the rest of a bundle after one of them is that value
    /// (<c>-T/tmp/x</c>), so its letters are not options. popt reads a bundle letter by letter up to such a one.</summary>
    private const string ShortWithValue = "efBTM@";

    /// <summary>A short cluster such as <c>-avzn</c>: each letter up to one that takes a value.</summary>
    private static string? CheckBundle(string w)
    {
        for (var k = 1; k < w.Length; k++)
        {
            var f = w[k];
            var problem = f switch
            {
                'e' => $"'{ConfigText.Show(w)}' contains -e (remote shell): set <ssh start=\"true\" command=\"...\"/> instead",
                '0' => $"'{ConfigText.Show(w)}' contains -0 (--from0): sersyncd feeds rsync its own file list, so it must not be changed",
                'n' => $"'{ConfigText.Show(w)}' contains -n (--dry-run): rsync would transfer nothing while sersyncd counts the changes as synced",
                'V' => $"'{ConfigText.Show(w)}' contains -V (--version): rsync would transfer nothing while sersyncd counts the changes as synced",
                'q' => $"'{ConfigText.Show(w)}' contains -q (--quiet): {QuietAdvice}",
                '8' => $"'{ConfigText.Show(w)}' contains -8 (--8-bit-output): {EightBitAdvice}",
                _ => null,
            };
            if (problem != null)
            {
                return problem;
            }

            if (f == 'M')
            {
                // --remote-option: its value is an option for the rsync on the other side, checked the same way.
                return CheckRemoteOption(w, w[(k + 1)..]);
            }

            if (ShortWithValue.Contains(f, StringComparison.Ordinal))
            {
                break;
            }
        }

        return null;
    }

    private static string? CheckRemoteOption(string word, string value)
    {
        if (!value.StartsWith('-') || value.Length < 2)
        {
            return null;
        }

        var inner = value.StartsWith("--", StringComparison.Ordinal) ? CheckLong(value) : CheckBundle(value);
        return inner == null ? null : $"'{ConfigText.Show(word)}' passes an option to the rsync on the other side that is refused here too: {inner}";
    }

    private static string LongName(string word)
    {
        var eq = word.IndexOf('=', StringComparison.Ordinal);
        return eq < 0 ? word : word[..eq];
    }

    private const string QuietAdvice = "it silences the itemized lines that the audit and the full push's protecting dry run read, " +
        "so drift would go unseen and target-only paths the filter excludes would be deleted; sersyncd shows rsync's output only on failure anyway";

    private const string EightBitAdvice = "rsync would print names' high bytes raw instead of as \\#ooo escapes, and a name that is not UTF-8 " +
        "would be read back wrong from the full push's protecting dry run (the excluded target-only path it names would not be protected); " +
        "sersyncd logs names escaped itself";

    private const string FileList = "sersyncd feeds rsync its own file list";

    private const string DaemonOnly = "it is an rsync daemon option: rsync would start in daemon mode and refuse every run (exit 1)";

    private static readonly (string Prefix, bool IsPrefix, string Advice)[] Forbidden =
    [
        ("--files-from", true, FileList),
        ("--from0", false, FileList),
        ("--include-from", true, FileList + "; use <filter> or <crontabfilter> excludes"),
        ("--exclude-from", true, FileList + "; use <filter> or <crontabfilter> excludes"),
        ("--no-implied-dirs", false, "sersyncd lists a new directory's files with -R and relies on rsync sending the implied parent " +
            "directories with their modes and owners; without them a parent made by rsync would get default attributes"),
        ("--server", false, "it is internal to rsync"),
        ("--sender", false, "it is internal to rsync"),
        ("--daemon", false, "sersyncd runs rsync as a client"),
        ("--config", true, DaemonOnly),
        ("--dparam", true, DaemonOnly),
        ("--detach", false, DaemonOnly),
        ("--no-detach", false, DaemonOnly),
        ("--remove-source-files", false, "it would delete the watched files after each transfer"),
        ("--delete-excluded", false, "it would delete on the target the paths the filter excludes, which the filter promises to leave alone " +
            "(target-only logs, caches); remove it, excluded paths are then neither sent nor deleted"),
        ("--read-batch", true, "batch mode does not mix with real-time transfers"),
        ("--write-batch", true, "batch mode does not mix with real-time transfers"),
        ("--only-write-batch", true, "batch mode does not mix with real-time transfers"),
        ("--list-only", false, "it transfers nothing"),
        ("--dry-run", false, "it transfers nothing while sersyncd counts the changes as synced"),
        ("--version", false, "rsync would print its version and transfer nothing"),
        ("--help", false, "rsync would print its help and transfer nothing"),
        ("--no-relative", false, "sersyncd sends paths relative to the watched directory (-R)"),
        ("--no-R", false, "sersyncd sends paths relative to the watched directory (-R)"),
        ("--quiet", false, QuietAdvice),
        ("--msgs2stderr", false, "rsync would write the itemized and --stats lines sersyncd reads from stdout to stderr, " +
            "so the audit and the full push's protecting dry run would see nothing (drift unseen, excluded target-only paths deleted)"),
        ("--8-bit-output", false, EightBitAdvice),
        ("--rsh", true, "set <ssh start=\"true\" command=\"...\"/> instead"),
        ("--password-file", true, "set <auth start=\"true\" passwordfile=\"...\"/> instead"),
        ("--port", true, "set <userDefinedPort start=\"true\" port=\"...\"/> instead"),
    ];

    private static string? CheckLong(string word)
    {
        var name = LongName(word);
        foreach (var (option, isPrefix, advice) in Forbidden)
        {
            var hit = isPrefix ? word.StartsWith(option, StringComparison.Ordinal) : name == option;
            if (hit)
            {
                return $"'{ConfigText.Show(word)}' is not allowed in commonParams ({option} breaks how sersyncd drives rsync: {advice})";
            }
        }

        // --stderr=all (or its abbreviation a, al) is --msgs2stderr; errors and client are what sersyncd reads.
        if (name == "--stderr" && word.Length > name.Length + 1 && "all".StartsWith(word[(name.Length + 1)..], StringComparison.Ordinal))
        {
            return $"'{ConfigText.Show(word)}' is not allowed in commonParams (it is --msgs2stderr: rsync would write the itemized and --stats " +
                "lines sersyncd reads from stdout to stderr, so the audit and the full push's protecting dry run would see nothing); " +
                "leave --stderr out or use --stderr=errors";
        }

        if (name == "--remote-option" && word.Length > name.Length)
        {
            return CheckRemoteOption(word, word[(name.Length + 1)..]);
        }

        return null;
    }
}
