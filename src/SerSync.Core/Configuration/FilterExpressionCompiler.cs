// Why this is careful: a filter expression is matched against every event's path, so it is anchored to the whole
// path and run by the NonBacktracking engine (linear time) wherever it can be; only patterns that engine cannot run
// (backreferences, lookarounds) fall back to the backtracking engine, under a timeout. The expression is compiled
// on its own first, so a stray ')' in it cannot close the anchoring group and leave the rest unanchored.
using System.Globalization;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace SerSync.Configuration;

/// <summary>Compiles the regular expressions of <c>filter/exclude@expression</c> (and of the plugins'
/// <c>filter/include@expression</c>), failing with a one-line message on the first invalid one.</summary>
internal sealed class FilterExpressionCompiler(ConfigErrors errors)
{
    // Only for patterns NonBacktracking cannot run (backreferences, lookarounds); generous, since the first match
    // in a cold process also pays for JIT.
    private static readonly TimeSpan BacktrackingTimeout = TimeSpan.FromSeconds(1);

    public Regex Compile(XAttribute attr)
    {
        var expr = attr.Value;
        if (expr.Length == 0)
        {
            throw errors.Fail(attr, "empty expression; expected a regular expression (an empty one would match the watched root)");
        }

        try
        {
            // Compiled alone first, so a stray ')' cannot close our anchoring group and unanchor the rest.
            _ = new Regex(expr, RegexOptions.CultureInvariant, BacktrackingTimeout);
            var anchored = "^(?:" + expr + ")\\z";
            const RegexOptions options = RegexOptions.CultureInvariant | RegexOptions.Singleline;
            try
            {
                // Linear time in the path length, so no timeout is needed (or wanted: its lazy DFA construction
                // on first use counts against one).
                return new Regex(anchored, options | RegexOptions.NonBacktracking);
            }
            catch (NotSupportedException)
            {
                return new Regex(anchored, options, BacktrackingTimeout);
            }
        }
        catch (ArgumentException ex)
        {
            throw errors.Fail(attr, $"invalid regular expression {ConfigText.Quote(expr)}: {RegexError(ex)}");
        }
    }

    // .NET's message repeats the whole pattern ("Invalid pattern '...' at offset N. Reason."); keep the rest.
    private static string RegexError(ArgumentException ex)
    {
        if (ex is RegexParseException parse)
        {
            var marker = $" at offset {parse.Offset.ToString(CultureInfo.InvariantCulture)}. ";
            var at = ex.Message.LastIndexOf(marker, StringComparison.Ordinal);
            if (at >= 0)
            {
                return $"{ConfigText.Escape(ex.Message[(at + marker.Length)..])} (at offset {parse.Offset.ToString(CultureInfo.InvariantCulture)})";
            }
        }

        return ConfigText.Show(ex.Message, ConfigText.MaxPathShown);
    }
}
