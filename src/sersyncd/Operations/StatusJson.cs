using System.Globalization;
using System.Text.Json;
using SerSync.Configuration;
using SerSync.Targets;

namespace SerSync.Daemon.Operations;

/// <summary>
/// The status document (<c>sersyncd status --json</c>, the socket, <c>/status</c>): written with Utf8JsonWriter, so
/// NativeAOT needs no serializer metadata. The fields the issue names keep their names and meaning; the rest are
/// additions a client may ignore.
/// </summary>
public static partial class StatusJson
{
    public static byte[] Write(DaemonStatus status, bool indented = true)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = indented }))
        {
            Write(json, status);
        }

        return buffer.ToArray();
    }

    private static void Write(Utf8JsonWriter json, DaemonStatus status)
    {
        var now = status.Pipeline?.At ?? DateTimeOffset.UtcNow;
        json.WriteStartObject();
        json.WriteString("version", status.Version);
        json.WriteNumber("pid", status.Pid);
        json.WriteNumber("uptime_s", Math.Round(status.Uptime.TotalSeconds, 1));
        json.WriteString("phase", PhaseName(status.Phase));
        json.WriteString("config", status.ConfigFile);
        json.WriteStartArray("roots");
        foreach (var root in status.Pipeline?.Roots ?? [])
        {
            json.WriteStartObject();
            json.WriteString("path", root.Path);
            json.WriteNumber("watches", root.Watches);
            json.WriteString("watcher", root.Watcher is { } kind ? WatcherConfig.Name(kind) : null);
            json.WriteString("watcher_caveat", root.WatcherCaveat);
            json.WriteNumber("overflows", root.Overflows);
            json.WriteNumber("unwatched", root.Unwatched);
            json.WriteStartArray("unwatched_paths");
            foreach (var path in root.UnwatchedPaths)
            {
                json.WriteStringValue(path);
            }

            json.WriteEndArray();
            json.WriteNumber("changes_total", root.ChangesTotal);
            json.WriteNumber("journal_bytes", root.JournalBytes);
            json.WriteNumber("journal_max_bytes", root.JournalMaxBytes);
            json.WriteNumber("journal_collapses", root.JournalCollapses);
            json.WriteStartArray("targets");
            foreach (var t in root.Targets)
            {
                json.WriteStartObject();
                json.WriteString("name", t.Label);
                json.WriteString("kind", KindName(t.Kind));
                json.WriteString("state", StateName(t.State));
                json.WriteNumber("pending", t.Pending);
                json.WriteNumber("lag_s", Math.Round(t.LagAt(now).TotalSeconds, 3));
                WriteTime(json, "last_success", t.LastSuccess);
                if (t.LastError is { } e)
                {
                    json.WriteStartObject("last_error");
                    WriteTime(json, "at", e.At);
                    json.WriteNumber("exit_code", e.ExitCode);
                    json.WriteString("message", e.Message);
                    json.WriteEndObject();
                }
                else
                {
                    json.WriteNull("last_error");
                }

                json.WriteNumber("failures_total", t.FailuresTotal);
                WriteTime(json, "failing_since", t.FailingSince);
                json.WriteBoolean("full_sync_owed", t.FullSyncOwedByCollapse);
                if (root.AuditOf(t) is { } audit)
                {
                    json.WriteStartObject("last_audit");
                    WriteTime(json, "at", audit.At);
                    json.WriteNumber("drift_paths", audit.DriftPaths);
                    json.WriteNumber("missing", audit.Missing);
                    json.WriteNumber("differs", audit.Differs);
                    json.WriteNumber("only_on_target", audit.OnlyOnTarget);
                    json.WriteNumber("queued", audit.Queued);
                    json.WriteString("error", audit.Error);
                    json.WriteEndObject();
                }
                else
                {
                    json.WriteNull("last_audit");
                }

                WriteFullPushHold(json, t.HeldFullPush);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteStartArray("plugins");
            foreach (var hook in root.Hooks)
            {
                json.WriteStartObject();
                json.WriteString("name", hook.Plugin);
                json.WriteNumber("pending", hook.Pending);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            StatusJsonGuard.WriteDeleteGuard(json, root);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    internal static void Time(Utf8JsonWriter json, string name, DateTimeOffset? time) => WriteTime(json, name, time);

    private static void WriteTime(Utf8JsonWriter json, string name, DateTimeOffset? time)
    {
        if (time is { } t)
        {
            json.WriteString(name, t.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
        }
        else
        {
            json.WriteNull(name);
        }
    }

    public static string StateName(ReportedState state) => state switch
    {
        ReportedState.InSync => "in_sync",
        ReportedState.Syncing => "syncing",
        ReportedState.Retrying => "retrying",
        _ => "failed",
    };

    public static string KindName(RemoteKind kind) => kind switch
    {
        RemoteKind.LocalDirectory => "local",
        RemoteKind.RsyncDaemon => "rsyncd",
        _ => "ssh",
    };

    public static string PhaseName(DaemonPhase phase) => phase.ToString().ToLowerInvariant();
}
