using SerSync.Rsync;
using SerSync.Targets;

namespace SerSync.UnitTests.Targets;

public sealed class RetryPolicyTests
{
    [Fact]
    public void Transient_failures_back_off_from_1_s_doubling_to_a_30_s_cap_with_at_most_20_percent_jitter()
    {
        var policy = new RetryPolicy(new Random(7));
        double[] expected = [1, 2, 4, 8, 16, 30, 30, 30];
        foreach (var seconds in expected)
        {
            var decision = policy.OnFailure(FailureClass.Transient);
            Assert.Equal(TargetState.Retrying, decision.State);
            Assert.InRange(decision.Wait.TotalSeconds, seconds * 0.8, seconds * 1.2);
        }

        Assert.Equal(expected.Length, policy.ConsecutiveFailures);
    }

    [Fact]
    public void Partial_transfers_are_retried_like_transient_ones_never_counted_as_done()
    {
        var policy = new RetryPolicy(new Random(1));
        var decision = policy.OnFailure(FailureClass.Partial);
        Assert.Equal(TargetState.Retrying, decision.State);
        Assert.InRange(decision.Wait.TotalSeconds, 0.8, 1.2);
    }

    [Fact]
    public void A_fatal_failure_marks_the_target_failed_and_retries_at_the_fixed_pace()
    {
        var policy = new RetryPolicy(new Random(1));
        policy.OnFailure(FailureClass.Transient);
        var decision = policy.OnFailure(FailureClass.Fatal);
        Assert.Equal(TargetState.Failed, decision.State);
        Assert.Equal(RetryPolicy.FatalRetryInterval, decision.Wait);
        Assert.Equal(2, decision.Attempt);
    }

    [Fact]
    public void The_third_failure_in_a_row_and_only_it_goes_to_the_fail_log()
    {
        var policy = new RetryPolicy(new Random(1));
        var goes = new List<bool>();
        for (var i = 0; i < 6; i++)
        {
            goes.Add(policy.NextFailureGoesToFailLog);
            policy.OnFailure(FailureClass.Transient);
        }

        Assert.Equal([false, false, true, false, false, false], goes);
    }

    [Fact]
    public void A_success_resets_the_count_and_the_backoff()
    {
        var policy = new RetryPolicy(new Random(3));
        for (var i = 0; i < 5; i++)
        {
            policy.OnFailure(FailureClass.Transient);
        }

        Assert.Equal(5, policy.OnSuccess());
        Assert.Equal(0, policy.ConsecutiveFailures);
        Assert.Equal(0, policy.OnSuccess());
        Assert.InRange(policy.OnFailure(FailureClass.Transient).Wait.TotalSeconds, 0.8, 1.2);
        Assert.False(policy.NextFailureGoesToFailLog);
    }

    [Fact]
    public void Full_syncs_in_quick_succession_are_spaced_2_s_doubling_to_60_s_and_a_quiet_minute_resets()
    {
        var policy = new RetryPolicy();
        var t = new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);
        Assert.Null(policy.FullSyncNotBefore);

        policy.OnFullSyncEnded(t);
        Assert.Null(policy.FullSyncNotBefore); // a first full sync holds nothing back

        var spacings = new List<double>();
        for (var i = 0; i < 7; i++)
        {
            t += TimeSpan.FromSeconds(5);
            policy.OnFullSyncEnded(t);
            spacings.Add((policy.FullSyncNotBefore!.Value - t).TotalSeconds);
        }

        Assert.Equal([2, 4, 8, 16, 32, 60, 60], spacings);

        t += TimeSpan.FromSeconds(61);
        policy.OnFullSyncEnded(t);
        Assert.Null(policy.FullSyncNotBefore);
    }
}
