namespace SerSync.Hooks;

/// <summary>
/// What each target of one root has acknowledged (the journal's sequences it has synced), in memory, so a hook can
/// ask "does every target have change N yet?" without reading files. Targets report through
/// <see cref="Acknowledge"/> (from their workers' threads); hooks read and are woken through <see cref="Changed"/>.
/// A root with no targets (a plugin run alone, <c>-m</c>) has every change at once.
/// </summary>
public sealed class TargetAcknowledgements
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, (string Label, long Acked, Func<bool> Failing)> _targets = new(StringComparer.Ordinal);

    /// <summary>Raised after an acknowledgement moved forward (on the acknowledging thread; keep handlers short).</summary>
    public event Action? Changed;

    /// <param name="failing">Whether the target is failing now (retrying, or failed): only a failing target's lack
    /// lets a hook fire after its maxDelay; a healthy one that is slow (a large upload) is waited for.</param>
    public void Add(string id, string label, long acknowledged, Func<bool>? failing = null)
    {
        lock (_gate)
        {
            _targets[id] = (label, acknowledged, failing ?? (() => true));
        }
    }

    public void Acknowledge(string id, long sequence)
    {
        lock (_gate)
        {
            if (!_targets.TryGetValue(id, out var t) || sequence <= t.Acked)
            {
                return;
            }

            _targets[id] = (t.Label, sequence, t.Failing);
        }

        Changed?.Invoke();
    }

    /// <summary>True when every target has synced change <paramref name="sequence"/>.</summary>
    public bool AllHave(long sequence)
    {
        lock (_gate)
        {
            foreach (var t in _targets.Values)
            {
                if (t.Acked < sequence)
                {
                    return false;
                }
            }

            return true;
        }
    }

    /// <summary>True when every target that lacks change <paramref name="sequence"/> is failing.</summary>
    public bool AllLackingFail(long sequence)
    {
        List<Func<bool>> lacking;
        lock (_gate)
        {
            lacking = [.. _targets.Values.Where(t => t.Acked < sequence).Select(t => t.Failing)];
        }

        return lacking.All(f => f()); // outside the lock: the worker's state has its own
    }

    /// <summary>The labels of the targets that do not have change <paramref name="sequence"/> yet.</summary>
    public List<string> Lacking(long sequence)
    {
        lock (_gate)
        {
            return [.. _targets.Values.Where(t => t.Acked < sequence).Select(t => t.Label).Order(StringComparer.Ordinal)];
        }
    }
}
