using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using SerSync.FailLog;
using SerSync.Testing;

namespace SerSync.IntegrationTests.Plugins;

/// <summary>What a plugin delivered, as the receiving end saw it: the event (null where the protocol carries none)
/// and the absolute path's bytes.</summary>
public sealed record Delivered(string? Event, byte[] Path)
{
    public string Key => Convert.ToHexString(Path);
}

/// <summary>
/// The receiving end of one plugin, started by the test: a TCP listener (socket), an HTTP server (http, refreshCDN
/// purge) or a recording script (command). Each starts "down" (the port bound but refusing; the script failing) and
/// comes up on <see cref="Up"/>.
/// </summary>
public abstract class PluginSink : IAsyncDisposable
{
    public abstract string Plugin { get; }

    /// <summary>The top-level section's content for a plugin that watches <paramref name="root"/>.</summary>
    public abstract string Section(string root);

    public abstract void Up();

    public abstract IReadOnlyList<Delivered> Deliveries();

    /// <summary>Whether the protocol says which event happened (a CDN purge does not).</summary>
    public virtual bool CarriesEvent => true;

    public ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return ReleaseAsync();
    }

    protected virtual ValueTask ReleaseAsync() => ValueTask.CompletedTask;

    public static PluginSink Create(string kind, string workDirectory, string target) => kind switch
    {
        "socket" => new SocketSink(),
        "http" => new HttpSink(),
        "refreshCDN" => new PurgeSink(),
        "command" => new CommandSink(workDirectory, target),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "no such plugin"),
    };

    private sealed class SocketSink : PluginSink
    {
        private readonly RecordingTcpListener _listener = new(IPAddress.Loopback, listen: false);

        public override string Plugin => "socket";

        public override string Section(string root) =>
            $"<localpath watch=\"{root}\"><deshost ip=\"127.0.0.1\" port=\"{_listener.Port}\" timeout=\"2\"/></localpath>";

        public override void Up() => _listener.Start();

        // Frames: "EVENT TYPE PATH\0" per change, one connection per batch.
        public override IReadOnlyList<Delivered> Deliveries()
        {
            var result = new List<Delivered>();
            foreach (var frame in _listener.Received.SelectMany(c => FailLogWriter.SplitNul(c)))
            {
                var space1 = Array.IndexOf(frame, (byte)' ');
                var space2 = Array.IndexOf(frame, (byte)' ', space1 + 1);
                result.Add(new Delivered(Encoding.ASCII.GetString(frame, 0, space1), frame[(space2 + 1)..]));
            }

            return result;
        }

        protected override ValueTask ReleaseAsync() => _listener.DisposeAsync();
    }

    private sealed class HttpSink : PluginSink
    {
        private readonly TestHttpServer _server = new(IPAddress.Loopback, listen: false);

        public override string Plugin => "http";

        public override string Section(string root) =>
            $"<localpath watch=\"{root}\"><deshost url=\"http://127.0.0.1:{_server.Port}/hook\" timeout=\"2\"/></localpath>";

        public override void Up() => _server.Start();

        // {"root", "changes": [{"path" | "path_base64", "kind", "isDir"}]} per batch.
        public override IReadOnlyList<Delivered> Deliveries()
        {
            var result = new List<Delivered>();
            foreach (var request in _server.Requests)
            {
                using var json = JsonDocument.Parse(request.Body);
                foreach (var change in json.RootElement.GetProperty("changes").EnumerateArray())
                {
                    var path = change.TryGetProperty("path_base64", out var b64)
                        ? Convert.FromBase64String(b64.GetString()!)
                        : Encoding.UTF8.GetBytes(change.GetProperty("path").GetString()!);
                    result.Add(new Delivered(change.GetProperty("kind").GetString(), path));
                }
            }

            return result;
        }

        protected override ValueTask ReleaseAsync() => _server.DisposeAsync();
    }

    /// <summary>refreshCDN with a Varnish-style purge: <c>PURGE http://127.0.0.1:P/site/REL</c>; the public URL's
    /// path is percent-encoded from the raw bytes.</summary>
    private sealed class PurgeSink : PluginSink
    {
        private readonly TestHttpServer _server = new(IPAddress.Loopback, listen: false);
        private string _root = "/";

        public override string Plugin => "refreshCDN";

        public override bool CarriesEvent => false;

        public override string Section(string root)
        {
            _root = root;
            return $"<localpath watch=\"{root}\" timeout=\"2\"><sendurl base=\"http://www.example.test/site\"/>"
                + $"<purge method=\"PURGE\" url=\"http://127.0.0.1:{_server.Port}{{path}}\"/></localpath>";
        }

        public override void Up() => _server.Start();

        public override IReadOnlyList<Delivered> Deliveries()
        {
            var result = new List<Delivered>();
            foreach (var request in _server.Requests.Where(r => r.Method == "PURGE"))
            {
                var relative = PercentDecode(request.Target["/site/".Length..]);
                var path = Encoding.UTF8.GetBytes(_root + "/").Concat(relative).ToArray();
                if (path[^1] == (byte)'/')
                {
                    path = path[..^1]; // a directory's URL ends in '/'
                }

                result.Add(new Delivered(null, path));
            }

            return result;
        }

        protected override ValueTask ReleaseAsync() => _server.DisposeAsync();

        private static byte[] PercentDecode(string text)
        {
            var bytes = new List<byte>();
            for (var i = 0; i < text.Length; i++)
            {
                if (text[i] == '%')
                {
                    bytes.Add(byte.Parse(text.AsSpan(i + 1, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                    i += 2;
                }
                else
                {
                    bytes.Add((byte)text[i]);
                }
            }

            return [.. bytes];
        }
    }

    /// <summary>A recording script: fails (exit 1) while a flag file exists; otherwise appends its event and its one
    /// path argument, each NUL-terminated, to a record, and notes any path that is not yet on the target.</summary>
    private sealed class CommandSink : PluginSink
    {
        private readonly string _flag;
        private readonly string _record;
        private readonly string _script;

        public CommandSink(string workDirectory, string target)
        {
            _flag = Path.Combine(workDirectory, "command-down");
            _record = Path.Combine(workDirectory, "command-record");
            _script = Path.Combine(workDirectory, "record-hook.sh");
            Missing = Path.Combine(workDirectory, "command-missing");
            File.WriteAllText(_flag, "down");
            // "$1" is data to the script (the name is never re-parsed); the target check strips the root prefix.
            File.WriteAllText(_script, $"""
                #!/bin/sh
                [ -e '{_flag}' ] && exit 1
                printf '%s\0%s\0' "$SERSYNC_EVENT" "$1" >> '{_record}'
                if [ "$SERSYNC_EVENT" != delete ] && [ "$SERSYNC_EVENT" != move_from ]; then
                  rel=${"{"}1#"$SERSYNC_ROOT"{"}"}
                  [ -e '{target}'"$rel" ] || printf '%s\0' "$1" >> '{Missing}'
                fi
                exit 0

                """);
            File.SetUnixFileMode(_script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        /// <summary>Paths the script was given before the target had them (must stay absent).</summary>
        public string Missing { get; }

        public override string Plugin => "command";

        public override string Section(string root) => $"<param prefix=\"{_script}\" timeout=\"10\"/>";

        public override void Up() => File.Delete(_flag);

        public override IReadOnlyList<Delivered> Deliveries()
        {
            if (!File.Exists(_record))
            {
                return [];
            }

            var fields = FailLogWriter.SplitNul(File.ReadAllBytes(_record)).ToList();
            var result = new List<Delivered>();
            for (var i = 0; i + 1 < fields.Count; i += 2)
            {
                result.Add(new Delivered(Encoding.ASCII.GetString(fields[i]), fields[i + 1]));
            }

            return result;
        }
    }
}
