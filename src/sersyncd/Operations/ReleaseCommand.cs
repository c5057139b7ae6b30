using System.Globalization;
using System.Net.Sockets;
using System.Text;
using SerSync.Pipeline;

namespace SerSync.Daemon.Operations;

/// <summary>
/// <c>sersyncd release [-o FILE] [--keep]</c>: asks the running instance (its status socket) to send the deletes its
/// delete guard holds, or with <c>--keep</c> to drop them; prints the daemon's answer (per root, how many). Exit 0,
/// 3 when no daemon answers, 1 when it answered with an error.
/// </summary>
internal static class ReleaseCommand
{
    public static async Task<int> RunAsync(string socketPath, bool keep, TextWriter stdout, TextWriter stderr)
    {
        byte[] answer;
        try
        {
            answer = await StatusCommand.AskAsync(socketPath, keep ? "release --keep" : "release");
        }
        catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException or TimeoutException)
        {
            await stderr.WriteLineAsync($"sersyncd: release: no daemon answers on {socketPath} ({ex.Message}); nothing was released");
            return ExitCodes.NotRunning;
        }

        var text = Encoding.UTF8.GetString(answer);
        if (text.Length == 0 || text.StartsWith("error:", StringComparison.Ordinal))
        {
            await stderr.WriteLineAsync($"sersyncd: release: {(text.Length == 0 ? "the daemon closed without an answer (an older version?)" : text.TrimEnd())}");
            return ExitCodes.TargetsBehind;
        }

        await stdout.WriteAsync(text);
        return ExitCodes.Ok;
    }
}

/// <summary>The daemon's side of <c>release</c>: runs it and words the answer, one line per root and target.</summary>
internal static class ReleaseReply
{
    public static async Task<byte[]> AnswerAsync(StatusSource source, bool keep, CancellationToken cancellationToken)
    {
        var result = await source.ReleaseAsync(keep, cancellationToken);
        return Encoding.UTF8.GetBytes(result is null ? "error: no pipeline runs (the daemon is starting or stopping); try again\n" : Render(result));
    }

    internal static string Render(ReleaseResult result)
    {
        var what = result.Keep ? "dropped (the targets keep the files)" : "released (queued to the targets)";
        var text = new StringBuilder();
        foreach (var r in result.Roots)
        {
            text.Append(CultureInfo.InvariantCulture, $"{r.Root}: {r.Released} held delete(s) {what}, {r.Files} file(s); {r.Cleared} cleared (the path exists again)\n");
        }

        foreach (var t in result.Targets)
        {
            text.Append(CultureInfo.InvariantCulture, $"{t.Root} -> {t.Target}: {t.Deletes} delete(s) held by a full push {what}\n");
        }

        text.Append(CultureInfo.InvariantCulture, $"total: {result.Total} delete(s) {what}\n");
        return text.ToString();
    }
}
