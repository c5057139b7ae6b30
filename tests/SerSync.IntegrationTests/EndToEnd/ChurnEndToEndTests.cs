using SerSync.Testing;

namespace SerSync.IntegrationTests.EndToEnd;

/// <summary>A seeded random workload (<see cref="WorkloadProfile.Churn"/>) against the running daemon; afterwards the target must equal the source,
/// permissions included.</summary>
public sealed class ChurnEndToEndTests
{
    /// <summary>How long the churn runs. The rest of the test is the convergence wait.</summary>
    public static readonly TimeSpan ChurnDuration = TimeSpan.FromSeconds(30);

    private const int Seed = 20_250_611;

    [Fact]
    public async Task Seeded_random_churn_converges_with_permissions()
    {
        await using var m = await Mirror.StartAsync(m =>
        {
            m.Config.Attrib = true; // chmod alone must travel too
            Directory.CreateDirectory(m.Src("seed/inner"));
            File.WriteAllText(m.Src("seed/inner/a.txt"), "seed");
        });
        var churn = new Workload(m.Source, Seed, WorkloadProfile.Churn, m.Outside);
        await churn.RunForAsync(ChurnDuration, TestContext.Current.CancellationToken);

        TestContext.Current.TestOutputHelper?.WriteLine($"churn: {churn.Summary}");
        var converge = System.Diagnostics.Stopwatch.StartNew();
        await m.WaitForTargetAsync(new TreeCompareOptions { ComparePermissions = true }, TimeSpan.FromSeconds(60));
        TestContext.Current.TestOutputHelper?.WriteLine($"converged {converge.Elapsed.TotalSeconds:0.0} s after the churn");
        Assert.True(churn.Operations > 500, $"only {churn.Operations} operations ran: {churn.Summary}");
        await m.Daemon.StopAsync();
    }
}
