using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace SerSync.Daemon.Operations;

/// <summary>
/// <c>sersyncd status [-o FILE] [--json]</c>: asks the running instance on its socket and prints its answer as a
/// table (or as the JSON it sent). Exit 0 when every target is in sync or syncing, 1 when one is retrying or failed,
/// 3 when no daemon answers. Reads nothing but the config (for the socket's path) and the answer.
/// </summary>
internal static class StatusCommand
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    public static async Task<int> RunAsync(string socketPath, bool json, TextWriter stdout, TextWriter stderr)
    {
        byte[] answer;
        try
        {
            answer = await AskAsync(socketPath, "status");
        }
        catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException or TimeoutException)
        {
            var why = ex switch
            {
                SocketException { SocketErrorCode: SocketError.AddressNotAvailable or SocketError.AddressFamilyNotSupported } => "no such socket",
                SocketException { SocketErrorCode: SocketError.ConnectionRefused } => "nothing listens there",
                OperationCanceledException or TimeoutException => $"no answer within {Deadline.TotalSeconds:F0} s",
                _ => ex.Message,
            };
            await stderr.WriteLineAsync($"sersyncd: status: no daemon answers on {socketPath} ({why})");
            return ExitCodes.NotRunning;
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(answer);
        }
        catch (JsonException)
        {
            await stderr.WriteLineAsync($"sersyncd: status: {socketPath} answered something that is not sersyncd's status: {Sersyncd.OneLine(Encoding.UTF8.GetString(answer, 0, Math.Min(answer.Length, 200)))}");
            return ExitCodes.NotRunning;
        }

        using (document)
        {
            var behind = Targets(document.RootElement).Any(t => t.Target.GetProperty("state").GetString() is "retrying" or "failed");
            if (json)
            {
                await stdout.WriteLineAsync(Encoding.UTF8.GetString(answer).TrimEnd());
            }
            else
            {
                await stdout.WriteAsync(StatusTable.Render(document.RootElement, DateTimeOffset.UtcNow));
            }

            return behind ? ExitCodes.TargetsBehind : ExitCodes.Ok;
        }
    }

    internal static IEnumerable<(JsonElement Root, JsonElement Target)> Targets(JsonElement status) =>
        status.GetProperty("roots").EnumerateArray().SelectMany(r => r.GetProperty("targets").EnumerateArray().Select(t => (r, t)));

    /// <summary>One request, the whole answer (the daemon closes after it), within <see cref="Deadline"/>.</summary>
    internal static async Task<byte[]> AskAsync(string socketPath, string request)
    {
        using var deadline = new CancellationTokenSource(Deadline);
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), deadline.Token);
        await socket.SendAsync(Encoding.UTF8.GetBytes(request + "\n"), SocketFlags.None, deadline.Token);
        using var answer = new MemoryStream();
        var buffer = new byte[16384];
        while (true)
        {
            var n = await socket.ReceiveAsync(buffer, SocketFlags.None, deadline.Token);
            if (n == 0)
            {
                return answer.ToArray();
            }

            answer.Write(buffer, 0, n);
        }
    }
}

/// <summary>The status answer as a table: one row per target (root, target, state, pending, lag, last success, last
/// error), a line per root above.</summary>
internal static class StatusTable
{
    private static readonly string[] Header = ["ROOT", "TARGET", "KIND", "STATE", "PENDING", "LAG", "LAST SUCCESS", "LAST ERROR"];

    public static string Render(JsonElement status, DateTimeOffset now)
    {
        var text = new StringBuilder();
        var uptime = TimeSpan.FromSeconds(status.GetProperty("uptime_s").GetDouble());
        text.Append(CultureInfo.InvariantCulture, $"sersyncd {status.GetProperty("version").GetString()}, pid {status.GetProperty("pid").GetInt32()}, up {Span(uptime)}, {status.GetProperty("phase").GetString()}: {status.GetProperty("config").GetString()}\n");
        var rows = new List<string[]> { Header };
        var notes = new List<string>();
        var audits = new List<string>();
        foreach (var root in status.GetProperty("roots").EnumerateArray())
        {
            var path = root.GetProperty("path").GetString()!;
            notes.Add(string.Create(CultureInfo.InvariantCulture, $"{path}: {WatcherNote(root)}{root.GetProperty("watches").GetInt32()} watches, {root.GetProperty("overflows").GetInt64()} overflows, {root.GetProperty("changes_total").GetInt64()} changes, journal {root.GetProperty("journal_bytes").GetInt64()} bytes")
                + string.Concat(root.GetProperty("plugins").EnumerateArray().Select(p => string.Create(CultureInfo.InvariantCulture, $", plugin {p.GetProperty("name").GetString()} {p.GetProperty("pending").GetInt32()} pending")))
                + UnwatchedNote(root)
                + StatusJsonGuard.Note(root));
            foreach (var t in root.GetProperty("targets").EnumerateArray())
            {
                if (t.TryGetProperty("last_audit", out var audit) && audit.ValueKind == JsonValueKind.Object)
                {
                    var found = audit.GetProperty("error").GetString() is { } failed
                        ? "could not run: " + failed
                        : string.Create(CultureInfo.InvariantCulture, $"{audit.GetProperty("drift_paths").GetInt32()} drift paths ({audit.GetProperty("missing").GetInt32()} missing, {audit.GetProperty("differs").GetInt32()} differ, {audit.GetProperty("only_on_target").GetInt32()} only on target), {audit.GetProperty("queued").GetInt32()} queued for repair");
                    audits.Add($"{path} -> {t.GetProperty("name").GetString()}: last audit {Ago(audit.GetProperty("at"), now)}: {found}");
                }

                var lag = t.GetProperty("lag_s").GetDouble();
                rows.Add(
                [
                    path,
                    t.GetProperty("name").GetString()!,
                    t.GetProperty("kind").GetString()!,
                    t.GetProperty("state").GetString()!,
                    t.GetProperty("pending").GetInt32().ToString(CultureInfo.InvariantCulture),
                    lag == 0 ? "0" : lag < 10 ? lag.ToString("0.0", CultureInfo.InvariantCulture) + "s" : Span(TimeSpan.FromSeconds(lag)),
                    Ago(t.GetProperty("last_success"), now),
                    Error(t.GetProperty("last_error"), now),
                ]);
            }
        }

        var widths = Enumerable.Range(0, rows[0].Length - 1).Select(c => rows.Max(r => r[c].Length)).ToArray();
        foreach (var row in rows)
        {
            for (var c = 0; c < row.Length - 1; c++)
            {
                text.Append(row[c].PadRight(widths[c] + 2));
            }

            text.Append(row[^1].TrimEnd()).Append('\n');
        }

        notes.ForEach(n => text.Append(n).Append('\n'));
        audits.ForEach(n => text.Append(n).Append('\n'));
        return text.ToString();
    }

    /// <summary>", 3 unwatched (rescanned): a, b" when directories could not be watched; nothing otherwise (or from a
    /// daemon without the field).</summary>
    private static string UnwatchedNote(JsonElement root) =>
        root.TryGetProperty("unwatched", out var n) && n.GetInt32() is var count and > 0
            ? string.Create(CultureInfo.InvariantCulture, $", {count} unwatched (max_user_watches used up, rescanned): ")
                + string.Join(", ", root.GetProperty("unwatched_paths").EnumerateArray().Select(p => p.GetString()))
            : "";

    /// <summary>"portable watcher (CAVEAT), " when a root is not watched with inotify; "inotify, " otherwise; nothing
    /// from a daemon without the field.</summary>
    private static string WatcherNote(JsonElement root) =>
        root.TryGetProperty("watcher", out var w) && w.GetString() is { } name
            ? root.TryGetProperty("watcher_caveat", out var c) && c.GetString() is { Length: > 0 } caveat ? $"{name} watcher ({caveat}), " : $"{name}, "
            : "";

    private static string Ago(JsonElement time, DateTimeOffset now)
    {
        if (time.ValueKind != JsonValueKind.String || !DateTimeOffset.TryParse(time.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
        {
            return "never";
        }

        return at.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture) + " (" + Span(now - at) + " ago)";
    }

    private static string Error(JsonElement error, DateTimeOffset now)
    {
        if (error.ValueKind != JsonValueKind.Object)
        {
            return "-";
        }

        var message = error.GetProperty("message").GetString() ?? "";
        if (message.Length > 100)
        {
            message = message[..100] + "...";
        }

        return string.Create(CultureInfo.InvariantCulture, $"{Ago(error.GetProperty("at"), now)} exit {error.GetProperty("exit_code").GetInt32()}: {message}");
    }

    private static string Span(TimeSpan span)
    {
        if (span < TimeSpan.Zero)
        {
            span = TimeSpan.Zero;
        }

        return span.TotalSeconds < 60 ? $"{(int)span.TotalSeconds}s"
            : span.TotalMinutes < 60 ? $"{(int)span.TotalMinutes}m{span.Seconds:00}s"
            : span.TotalHours < 48 ? $"{(int)span.TotalHours}h{span.Minutes:00}m"
            : $"{(int)span.TotalDays}d{span.Hours:00}h";
    }
}
