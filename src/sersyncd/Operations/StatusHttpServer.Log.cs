using Microsoft.Extensions.Logging;

namespace SerSync.Daemon.Operations;

public sealed partial class StatusHttpServer
{
    [LoggerMessage(EventId = 11501, Level = LogLevel.Information, Message = "monitoring: http://{Endpoint}/metrics, /status and /healthz")]
    private partial void Listening(string endpoint);

    [LoggerMessage(EventId = 11502, Level = LogLevel.Warning, Message = "monitoring: http://{Endpoint}/metrics, /status and /healthz, on an address that is not loopback: anyone who can reach it reads the mirror's roots, targets and errors (restrict it with a firewall, or listen on 127.0.0.1)")]
    private partial void NotLoopback(string endpoint);

    [LoggerMessage(EventId = 11503, Level = LogLevel.Error, Message = "<status listen=\"{Endpoint}\">: cannot listen: {Reason}; mirroring goes on without /metrics, /status and /healthz, and the port is tried again every {Seconds:F0} s: free the port or change listen")]
    private partial void ListenFailed(string endpoint, string reason, double seconds);

    [LoggerMessage(EventId = 11504, Level = LogLevel.Warning, Message = "monitoring: accepting a connection failed: {Reason}")]
    private partial void AcceptFailed(string reason);

    [LoggerMessage(EventId = 11505, Level = LogLevel.Debug, Message = "monitoring: {Max} requests already being served; a connection was closed unanswered")]
    private partial void Busy(int max);

    [LoggerMessage(EventId = 11506, Level = LogLevel.Error, Message = "monitoring: {Path} failed")]
    private partial void RequestFailed(string path, Exception exception);
}
