using System.Text.Json;
using SerSync.Configuration;
using SerSync.Daemon.Operations;
using SerSync.Journal;
using SerSync.Pipeline;
using SerSync.Targets;

namespace SerSync.UnitTests.Operations;

/// <summary>A delete guard that cannot write its store, as status shows it: <c>store_error</c> in the document and a
/// FAILING note on the root's line of the table.</summary>
public sealed class StatusGuardStoreErrorTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    private static DaemonStatus Status(DeleteGuardSnapshot guard) => new(
        "1.2.3", 4242, TimeSpan.FromSeconds(60), DaemonPhase.Running, 1,
        new PipelineSnapshot(Now, [new RootSnapshot("/www", 1, 0, 0, 0, [new TargetSnapshot("id-a", "/srv/a", RemoteKind.LocalDirectory, ReportedState.InSync, 0, null, Now, true, null, 0, null, [1, 0, 0, 0])], []) { Guard = guard }]),
        "/etc/sersync.d/www.xml");

    [Fact]
    public void A_store_error_is_in_the_document_and_on_the_table_and_null_when_all_is_well()
    {
        var failing = new DeleteGuardSnapshot(true, 600, 600, Now, 1, 1000, 0, 50, "IOException: Is a directory");
        using (var doc = JsonDocument.Parse(StatusJson.Write(Status(failing))))
        {
            var root = doc.RootElement.GetProperty("roots")[0];
            Assert.Equal("IOException: Is a directory", root.GetProperty("delete_guard").GetProperty("store_error").GetString());
            var note = StatusJsonGuard.Note(root);
            Assert.Contains("HOLDING 600 delete(s)", note, StringComparison.Ordinal);
            Assert.EndsWith(", delete guard FAILING: IOException: Is a directory", note, StringComparison.Ordinal);
            Assert.Contains("delete guard FAILING: IOException", StatusTable.Render(doc.RootElement, Now), StringComparison.Ordinal);
        }

        // Failing with nothing held yet (a release's write failed): still said.
        using (var doc = JsonDocument.Parse(StatusJson.Write(Status(failing with { Held = 0, HeldFiles = 0, HeldSince = null }))))
        {
            Assert.Equal(", delete guard FAILING: IOException: Is a directory", StatusJsonGuard.Note(doc.RootElement.GetProperty("roots")[0]));
        }

        using (var doc = JsonDocument.Parse(StatusJson.Write(Status(failing with { StoreError = null }))))
        {
            var root = doc.RootElement.GetProperty("roots")[0];
            Assert.Equal(JsonValueKind.Null, root.GetProperty("delete_guard").GetProperty("store_error").ValueKind);
            Assert.DoesNotContain("FAILING", StatusJsonGuard.Note(root), StringComparison.Ordinal);
        }
    }
}
