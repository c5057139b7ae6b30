namespace SerSync.Pipeline;

public sealed partial class MirrorPipeline
{
    /// <summary>The full-push side of <see cref="ReleaseHeldDeletesAsync"/>: sends (or with <paramref name="keep"/>
    /// drops) the deletes each target's full push held. This file is the full-push guard's to fill; until then no
    /// full push holds anything.</summary>
    private partial Task<IReadOnlyList<TargetRelease>> ReleaseHeldFullPushDeletesAsync(bool keep, CancellationToken cancellationToken);

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Performance", "CA1822", Justification = "a placeholder: the full-push guard's version reads the workers")]
    private partial Task<IReadOnlyList<TargetRelease>> ReleaseHeldFullPushDeletesAsync(bool keep, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<TargetRelease>>([]);
}
