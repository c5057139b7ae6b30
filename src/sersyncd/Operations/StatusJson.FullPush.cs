using System.Text.Json;
using SerSync.Rsync;

namespace SerSync.Daemon.Operations;

public static partial class StatusJson
{
    /// <summary><c>held_full_push</c>: the full-push deletes the delete guard holds for a target, or null.</summary>
    private static void WriteFullPushHold(Utf8JsonWriter json, FullPushHold? hold)
    {
        if (hold is null)
        {
            json.WriteNull("held_full_push");
            return;
        }

        json.WriteStartObject("held_full_push");
        json.WriteNumber("deletes", hold.Deletes);
        json.WriteNumber("held", hold.Held);
        WriteTime(json, "since", hold.Since);
        WriteTime(json, "at", hold.At);
        json.WriteBoolean("released", hold.ReleaseOnce);
        json.WriteEndObject();
    }
}
