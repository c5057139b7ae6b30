using SerSync.Paths;

namespace SerSync.Targets;

/// <summary>Where the journal's dispatcher hands a root's changes: one target's queue. The dispatcher knows this
/// interface only, so it is tested with a recording queue and never starts a worker.</summary>
public interface IChangeSink
{
    /// <summary>The id the journal acknowledges this target's sequences under.</summary>
    string Id { get; }

    /// <param name="sequence">The change's journal sequence; 0 when it is not journaled.</param>
    void Enqueue(FileChange change, long sequence);
}
