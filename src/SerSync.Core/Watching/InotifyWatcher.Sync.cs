using System.Globalization;
using System.Text;
using SerSync.Paths;

namespace SerSync.Watching;

public sealed partial class InotifyWatcher
{
    /// <summary>
    /// A barrier: completes with true once every change the kernel queued before this call has been written to the
    /// channel. It creates the cookie file <c>.#sersyncd-cookie-&lt;pid&gt;-&lt;n&gt;</c> in the root, waits for
    /// the reader to handle its IN_CREATE, then deletes it; the cookie's own events are never reported. Several calls
    /// may run at once, from any thread.
    /// </summary>
    /// <returns>False (nothing is thrown for these) when the watcher is not started, stopped, disposed or faulted,
    /// the root is not writable, or <paramref name="timeout"/> passed first.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<bool> SyncAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        // Placed watches are enough (the kernel queues from then on); the reader handles the cookie once it runs.
        if (!_watching || Volatile.Read(ref _disposed) != 0 || _completion.Task.IsCompleted)
        {
            SyncRefused(_logger, Root);
            return false;
        }

        var nameText = string.Create(CultureInfo.InvariantCulture, $"{CookiePrefix}{Environment.ProcessId}-{Interlocked.Increment(ref _cookieCounter)}");
        var name = Encoding.ASCII.GetBytes(nameText);
        var cookie = new Cookie();
        lock (_cookieLock)
        {
            if (_cookiesClosed)
            {
                SyncRefused(_logger, Root);
                return false;
            }

            _cookies.Add(name, cookie);
        }

        var path = FileSystemBytes.Combine(_rootBytes, new RelativePath(name));
        var created = false;
        try
        {
            if (!FileSystemBytes.TryCreateNew(path, CookieMode, out var error))
            {
                CookieNotCreated(_logger, nameText, Root, error);
                return false;
            }

            created = true;
            lock (_cookieLock)
            {
                cookie.Created = true;
            }

            var passed = await cookie.Passed.Task.WaitAsync(timeout, _time, cancellationToken).ConfigureAwait(false);
            if (passed)
            {
                SyncPassed(_logger, Root, nameText);
            }
            else
            {
                SyncEndedByStop(_logger, Root, nameText);
            }

            return passed;
        }
        catch (TimeoutException)
        {
            SyncTimedOut(_logger, Root, timeout, nameText);
            return false;
        }
        finally
        {
            lock (_cookieLock)
            {
                _cookies.Remove(name);
            }

            if (created)
            {
                // Its IN_DELETE is dropped by name like the rest of its events.
                _ = FileSystemBytes.TryDelete(path);
            }
        }
    }

    /// <summary>A name in the root that belongs to a cookie (ours or another sersyncd's): never reported.</summary>
    private bool IsCookie(int node, ReadOnlySpan<byte> name) =>
        node != WatchTree.None && node == _tree.Root && name.StartsWith(CookiePrefixBytes);

    /// <summary>Reader: the cookie's IN_CREATE was reached, so everything queued before it is in the channel.</summary>
    private void ReleaseCookie(ReadOnlySpan<byte> name)
    {
        Cookie? cookie;
        var key = name.ToArray(); // a cookie's event is rare: no need for a span lookup
        lock (_cookieLock)
        {
            _cookies.TryGetValue(key, out cookie);
        }

        cookie?.Passed.TrySetResult(true);
    }

    /// <summary>Reader, after a Rescan was written: it covers every change made before any cookie already created,
    /// whose IN_CREATE may have been among the lost events.</summary>
    private void ReleaseCreatedCookies()
    {
        List<Cookie> created;
        lock (_cookieLock)
        {
            created = [.. _cookies.Values.Where(c => c.Created)];
        }

        foreach (var c in created)
        {
            c.Passed.TrySetResult(true);
        }
    }

    /// <summary>The reader has stopped (or never will run): pending and later barriers fail.</summary>
    private void CloseCookies()
    {
        List<Cookie> pending;
        lock (_cookieLock)
        {
            _cookiesClosed = true;
            pending = [.. _cookies.Values];
        }

        foreach (var c in pending)
        {
            c.Passed.TrySetResult(false);
        }
    }

    private sealed class Cookie
    {
        public TaskCompletionSource<bool> Passed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>The file exists (guarded by _cookieLock).</summary>
        public bool Created { get; set; }
    }
}
