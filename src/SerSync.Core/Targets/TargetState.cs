namespace SerSync.Targets;

public enum TargetState
{
    /// <summary>Nothing pending, or pending changes waiting out the quiet period.</summary>
    InSync,

    /// <summary>A batch has been taken or is running.</summary>
    Syncing,

    /// <summary>The last batch failed transiently; it is kept and retried with backoff.</summary>
    Retrying,

    /// <summary>The last batch failed fatally (auth, module, options); retried at a slow fixed pace.</summary>
    Failed,
}
