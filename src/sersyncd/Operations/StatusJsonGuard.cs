using System.Globalization;
using System.Text.Json;
using SerSync.Pipeline;

namespace SerSync.Daemon.Operations;

/// <summary>The delete guard's part of the status document (<c>delete_guard</c> per root) and of the status table.</summary>
internal static class StatusJsonGuard
{
    /// <summary><c>"delete_guard": {"enabled", "held", "held_files", "held_since", "holds_total", "census_files",
    /// "settling", "percent", "store_error"}</c> (<c>store_error</c>: null, or why the held deletes cannot be written);
    /// null when the root has no guard (<c>start="false"</c>).</summary>
    public static void WriteDeleteGuard(Utf8JsonWriter json, RootSnapshot root)
    {
        if (root.Guard is not { } g)
        {
            json.WriteNull("delete_guard");
            return;
        }

        json.WriteStartObject("delete_guard");
        json.WriteBoolean("enabled", g.Enabled);
        json.WriteNumber("held", g.Held);
        json.WriteNumber("held_files", g.HeldFiles);
        StatusJson.Time(json, "held_since", g.HeldSince);
        json.WriteNumber("holds_total", g.Holds);
        json.WriteNumber("census_files", g.TargetFiles);
        json.WriteNumber("settling", g.Settling);
        json.WriteNumber("percent", g.Percent);
        if (g.StoreError is { } error)
        {
            json.WriteString("store_error", error);
        }
        else
        {
            json.WriteNull("store_error");
        }

        json.WriteEndObject();
    }

    /// <summary>", HOLDING 4000 delete(s) (4000 files) since ...: run sersyncd release [--keep]" for the table.</summary>
    public static string Note(JsonElement root)
    {
        if (!root.TryGetProperty("delete_guard", out var g) || g.ValueKind != JsonValueKind.Object)
        {
            return "";
        }

        // The guard cannot write its store (a full state disk): it holds in memory and retries; the operator must know.
        var failing = g.TryGetProperty("store_error", out var e) && e.ValueKind == JsonValueKind.String ? ", delete guard FAILING: " + e.GetString() : "";
        if (g.GetProperty("held").GetInt32() == 0)
        {
            return failing;
        }

        var since = g.GetProperty("held_since").GetString();
        return string.Create(CultureInfo.InvariantCulture, $", HOLDING {g.GetProperty("held").GetInt32()} delete(s) ({g.GetProperty("held_files").GetInt64()} file(s)) since {since}: run sersyncd release [--keep]{failing}");
    }
}
