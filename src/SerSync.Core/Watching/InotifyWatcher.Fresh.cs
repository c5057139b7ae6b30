using SerSync.Paths;

namespace SerSync.Watching;

public sealed partial class InotifyWatcher
{
    /// <summary>At most this many created, not yet reported names are remembered (past it: not marked fresh).</summary>
    private const int MaxFresh = 1 << 16;

    // With createFile off a new file's IN_CREATE is not reported; its IN_CLOSE_WRITE then says nothing of it being
    // new. Remembered here (the reader's alone, no lock), the first report of such a name is marked Fresh, and so is
    // a delete of one never reported at all: the delete guard then knows it removes nothing the targets held.
    private readonly HashSet<RelativePath> _fresh = [];

    private void NoteFresh(RelativePath path)
    {
        if (_fresh.Count < MaxFresh)
        {
            _fresh.Add(path);
        }
    }

    /// <summary>True once for a name created since it was last reported (the mark is taken).</summary>
    private bool TakeFresh(RelativePath path) => _fresh.Count > 0 && _fresh.Remove(path);
}
