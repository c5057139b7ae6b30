// The socket plugin. Frames (the default): one connection per batch carrying "EVENT SP TYPE SP ABSPATH NUL" per
// change; a path never holds NUL, so the frame needs no length and no escaping, and the receiver learns the event
// and the type that sersync's bare path never told it. Sersync: one connection per path carrying only its bytes, as
// sersync 2.5 sent them. Nothing is read back: the peer acknowledging is only TCP's, as in sersync.
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using SerSync.Configuration;

namespace SerSync.Plugins;

public sealed partial class SocketHook : IHookPlugin
{
    private readonly SocketPluginConfig _config;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public SocketHook(SocketPluginConfig config, TimeProvider time, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(config);
        _config = config;
        _time = time ?? TimeProvider.System;
        _logger = logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        var host = config.Host.Contains(':', StringComparison.Ordinal) && !config.Host.StartsWith('[') ? $"[{config.Host}]" : config.Host;
        Label = $"socket {host}:{config.Port}";
    }

    public string Name => "socket";

    public string Label { get; }

    // A frame batch is one write; sersync's form opens a connection per path, so its calls stay short.
    public int MaxBatch => _config.Format == SocketFormat.Frames ? 1000 : 100;

    public Task<HookOutcome> DeliverAsync(HookBatch batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        return batch.Changes.Count == 0
            ? Task.FromResult(HookOutcome.Delivered)
            : _config.Format == SocketFormat.Frames ? DeliverFramesAsync(batch, cancellationToken) : DeliverPerPathAsync(batch, cancellationToken);
    }

    /// <summary>The frames of a batch: for each change its event name, a space, <c>f</c> or <c>d</c>, a space, the
    /// absolute path's bytes and a NUL.</summary>
    internal static byte[] Frames(IReadOnlyList<HookChange> changes)
    {
        var length = 0;
        foreach (var change in changes)
        {
            length += change.EventName.Length + 4 + change.AbsolutePath.Length;
        }

        var buffer = new byte[length];
        var at = 0;
        foreach (var change in changes)
        {
            foreach (var c in change.EventName)
            {
                buffer[at++] = (byte)c; // event names are ASCII
            }

            buffer[at++] = (byte)' ';
            buffer[at++] = change.IsDirectory ? (byte)'d' : (byte)'f';
            buffer[at++] = (byte)' ';
            change.AbsolutePath.CopyTo(buffer, at);
            at += change.AbsolutePath.Length;
            buffer[at++] = 0;
        }

        return buffer;
    }

    private async Task<HookOutcome> DeliverFramesAsync(HookBatch batch, CancellationToken cancellationToken)
    {
        var failure = await SendAsync(Frames(batch.Changes), cancellationToken).ConfigureAwait(false);
        if (failure is not null)
        {
            LogFailed(_logger, Label, batch.Changes.Count, failure);
            return new HookOutcome(batch.Changes, $"{Label}: {failure}");
        }

        LogDelivered(_logger, Label, batch.Changes.Count);
        return HookOutcome.Delivered;
    }

    private async Task<HookOutcome> DeliverPerPathAsync(HookBatch batch, CancellationToken cancellationToken)
    {
        for (var i = 0; i < batch.Changes.Count; i++)
        {
            var failure = await SendAsync(batch.Changes[i].AbsolutePath, cancellationToken).ConfigureAwait(false);
            if (failure is not null)
            {
                // The listener is down or stuck: the rest would wait out the same timeout, one by one.
                var failed = batch.Changes.Skip(i).ToArray();
                LogFailed(_logger, Label, failed.Length, failure);
                return new HookOutcome(failed, $"{Label}: {failure} ({i} of {batch.Changes.Count} delivered)");
            }
        }

        LogDelivered(_logger, Label, batch.Changes.Count);
        return HookOutcome.Delivered;
    }

    /// <summary>One connection carrying <paramref name="payload"/>: null when it got through, else why not. The
    /// connect and the write each have the configured timeout.</summary>
    private async Task<string?> SendAsync(byte[] payload, CancellationToken cancellationToken)
    {
        Socket? socket = null;
        var connect = new TimedToken(_config.Timeout, _time, cancellationToken);
        try
        {
            socket = await PluginNetwork.ConnectAsync(_config.Host, _config.Port, connect.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (PluginNetwork.IsDeliveryFailure(e, cancellationToken))
        {
            return "connect: " + PluginNetwork.Describe(e, connect, _config.Timeout);
        }
        finally
        {
            connect.Dispose();
        }

        using (socket)
        using (var write = new TimedToken(_config.Timeout, _time, cancellationToken))
        {
            try
            {
                await PluginNetwork.SendAllAsync(socket, payload, write.Token).ConfigureAwait(false);
                socket.Shutdown(SocketShutdown.Send);
                return null;
            }
            catch (Exception e) when (PluginNetwork.IsDeliveryFailure(e, cancellationToken))
            {
                return "write: " + PluginNetwork.Describe(e, write, _config.Timeout);
            }
        }
    }
}
