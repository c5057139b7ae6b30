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
        foreach (var w in words)
        {
            if (w.Length < 2 || w[0] != '-')
            {
                return $"'{ConfigText.Show(w)}' is not an option: every commonParams word must start with '-' (rsync would read a bare " +
                    "word as a source path); give option values as --option=value or -Xvalue";
            }

            if (w.StartsWith("--", StringComparison.Ordinal))
            {
                var problem = CheckLong(w);
                if (problem != null)
                {
                    return problem;
                }

                continue;
            }

            // A short cluster such as -avze: scan flags until one that takes an argument (the rest is its value).
            for (var k = 1; k < w.Length; k++)
            {
                var f = w[k];
                if (f == 'e')
                {
                    return $"'{ConfigText.Show(w)}' contains -e (remote shell): set <ssh start=\"true\" command=\"...\"/> instead";
                }

                if (f == '0')
                {
                    return $"'{ConfigText.Show(w)}' contains -0 (--from0): sersyncd feeds rsync its own file list, so it must not be changed";
                }

                if (f is 'n' or 'V')
                {
                    var what = f == 'n' ? "-n (--dry-run)" : "-V (--version)";
                    return $"'{ConfigText.Show(w)}' contains {what}: rsync would transfer nothing while sersyncd counts the changes as synced";
                }

                if (f is 'B' or 'f' or 'T' or 'M' or '@')
                {
                    break;
                }
            }
        }

        return null;
    }

    private static readonly (string Prefix, bool IsPrefix, string Advice)[] Forbidden =
    [
        ("--files-from", true, "sersyncd feeds rsync its own file list"),
        ("--from0", false, "sersyncd feeds rsync its own file list"),
        ("--include-from", true, "sersyncd feeds rsync its own file list; use <filter> or <crontabfilter> excludes"),
        ("--exclude-from", true, "sersyncd feeds rsync its own file list; use <filter> or <crontabfilter> excludes"),
        ("--server", false, "it is internal to rsync"),
        ("--sender", false, "it is internal to rsync"),
        ("--daemon", false, "sersyncd runs rsync as a client"),
        ("--remove-source-files", false, "it would delete the watched files after each transfer"),
        ("--read-batch", true, "batch mode does not mix with real-time transfers"),
        ("--write-batch", true, "batch mode does not mix with real-time transfers"),
        ("--only-write-batch", true, "batch mode does not mix with real-time transfers"),
        ("--list-only", false, "it transfers nothing"),
        ("--dry-run", false, "it transfers nothing while sersyncd counts the changes as synced"),
        ("--version", false, "rsync would print its version and transfer nothing"),
        ("--help", false, "rsync would print its help and transfer nothing"),
        ("--no-relative", false, "sersyncd sends paths relative to the watched directory (-R)"),
        ("--no-R", false, "sersyncd sends paths relative to the watched directory (-R)"),
        ("--rsh", true, "set <ssh start=\"true\" command=\"...\"/> instead"),
        ("--password-file", true, "set <auth start=\"true\" passwordfile=\"...\"/> instead"),
        ("--port", true, "set <userDefinedPort start=\"true\" port=\"...\"/> instead"),
    ];

    private static string? CheckLong(string word)
    {
        var eq = word.IndexOf('=', StringComparison.Ordinal);
        var name = eq < 0 ? word : word[..eq];
        foreach (var (option, isPrefix, advice) in Forbidden)
        {
            var hit = isPrefix ? word.StartsWith(option, StringComparison.Ordinal) : name == option;
            if (hit)
            {
                return $"'{ConfigText.Show(word)}' is not allowed in commonParams ({option} breaks how sersyncd drives rsync: {advice})";
            }
        }

        return null;
    }
}
