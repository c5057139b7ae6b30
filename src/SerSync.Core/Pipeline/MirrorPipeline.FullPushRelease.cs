namespace SerSync.Pipeline;

public sealed partial class MirrorPipeline
{
    /// <summary>The full-push side of <see cref="ReleaseHeldDeletesAsync"/>: sends (or with <paramref name="keep"/>
    /// drops) the deletes each target's full push held. It takes only the guards' leaf locks and the dispatcher's,
    /// so the status socket's thread may call it.</summary>
    private partial Task<IReadOnlyList<TargetRelease>> ReleaseHeldFullPushDeletesAsync(bool keep, CancellationToken cancellationToken);

    private partial Task<IReadOnlyList<TargetRelease>> ReleaseHeldFullPushDeletesAsync(bool keep, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<TargetRelease>>([.. ReleaseFullPushHolds(keep).Select(r => new TargetRelease(r.Target.WatchRoot, r.Target.Label, (int)r.Hold.Deletes))]);
}
