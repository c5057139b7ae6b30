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
    private readonly Dictionary<string, (string Label, long Acked)> _targets = new(StringComparer.Ordinal);

    /// <summary>Raised after an acknowledgement moved forward (on the acknowledging thread; keep handlers short).</summary>
    public event Action? Changed;

    public void Add(string id, string label, long acknowledged)
    {
        lock (_gate)
        {
            _targets[id] = (label, acknowledged);
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

            _targets[id] = (t.Label, sequence);
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

    /// <summary>The labels of the targets that do not have change <paramref name="sequence"/> yet.</summary>
    public List<string> Lacking(long sequence)
    {
        lock (_gate)
        {
            return [.. _targets.Values.Where(t => t.Acked < sequence).Select(t => t.Label).Order(StringComparer.Ordinal)];
        }
    }
}
