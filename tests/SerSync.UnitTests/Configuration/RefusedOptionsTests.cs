using System.Runtime.Versioning;
using SerSync.Configuration;
using SerSync.Testing;
using static SerSync.Testing.ConfigTestSupport;

namespace SerSync.UnitTests.Configuration;

/// <summary>commonParams that contradict the config or how sersyncd drives rsync are refused at load, at the
/// <c>params</c> attribute that holds them (the shared <c>&lt;rsync&gt;</c> or a target's own), with what to change;
/// the options stock and common operator files use still load.</summary>
[UnsupportedOSPlatform("windows")]
public sealed class RefusedOptionsTests : IDisposable
{
    private const string DeleteOff = "<inotify>\n<delete start=\"false\"/>\n</inotify>";
    private readonly TempDirectory _temp = new();
    private readonly string _watch;

    public RefusedOptionsTests() => _watch = _temp.Sub("www");

    public void Dispose() => _temp.Dispose();

    /// <summary>The shared <c>&lt;rsync&gt;</c> holds <paramref name="params"/>.</summary>
    private string Shared(string @params, string head = "") =>
        Config(_watch, rsync: $"      <commonParams params=\"{@params}\"/>", head: head);

    /// <summary>The second target's own <c>&lt;rsync&gt;</c> holds <paramref name="params"/> (the first params= of the file); the shared one is stock.</summary>
    private string Own(string @params, string head = "") =>
        Config(_watch, $"    <localpath watch=\"{_watch}\">\n      <remote ip=\"10.0.0.1\" name=\"www\"/>\n" +
            $"      <remote path=\"/srv/copy\">\n        <rsync>\n          <commonParams params=\"{@params}\"/>\n        </rsync>\n      </remote>\n    </localpath>",
            "      <commonParams params=\"-artuz\"/>", head: head);

    public static TheoryData<string, string> Refused => new()
    {
        // The file list and what -R means.
        { "--files-from=/x", "--files-from" },
        { "--files-from -", "--files-from" },
        { "--include-from=/etc/inc", "--include-from" },
        { "--exclude-from=/etc/exc", "--exclude-from" },
        { "--exclude-from /etc/exc", "--exclude-from" },
        { "--from0", "--from0" },
        { "-0", "-0 (--from0)" },
        { "-artz0", "-0 (--from0)" },
        { "--no-relative", "-R" },
        { "--no-R", "-R" },
        { "--no-implied-dirs", "implied parent" },
        { "--dry-run", "transfers nothing" },
        { "-n", "-n (--dry-run)" },
        { "-artnz", "-n (--dry-run)" },
        { "-avzn", "-n (--dry-run)" },
        { "--delete-excluded", "the filter promises to leave alone" },

        // Output sersyncd reads.
        { "--quiet", "itemized lines" },
        { "-q", "-q (--quiet)" },
        { "-aqz", "-q (--quiet)" },
        { "--msgs2stderr", "to stderr" },
        { "--stderr=all", "--msgs2stderr" },
        { "--stderr=a", "--msgs2stderr" },
        { "--8-bit-output", "not UTF-8" },
        { "-8", "-8 (--8-bit-output)" },
        { "-av8", "-8 (--8-bit-output)" },

        // Not a real-time client run.
        { "--remove-source-files", "delete the watched files" },
        { "--list-only", "transfers nothing" },
        { "--only-write-batch=/tmp/b", "batch mode" },
        { "--read-batch=/tmp/b", "batch mode" },
        { "--server", "internal to rsync" },
        { "--daemon", "as a client" },
        { "--config=/etc/rsyncd.conf", "daemon mode" },
        { "--dparam=motd=x", "daemon mode" },
        { "--no-detach", "daemon mode" },
        { "--remote-option=--dry-run", "other side" },
        { "-M--remove-source-files", "other side" },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public void Refused_in_the_shared_rsync_at_its_params_line(string @params, string phrase)
    {
        var ex = AssertFails(Shared("-a " + @params), "params=", "commonParams: ", phrase);
        Assert.Contains($"'{@params.Split(' ')[0]}'", ex.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Refused))]
    public void Refused_in_a_targets_own_rsync_at_its_params_line(string @params, string phrase) =>
        AssertFails(Own("-a " + @params), "params=", "commonParams: ", phrase);

    [Theory]
    [InlineData("--delete")]
    [InlineData("--del")]
    [InlineData("--delete-after")]
    [InlineData("--delete-before")]
    [InlineData("--delete-during")]
    [InlineData("--delete-delay")]
    [InlineData("--delete-missing-args")]
    public void Deleting_options_contradict_delete_off(string option)
    {
        var xml = Shared($"-artuz {option}", DeleteOff);
        var deleteLine = Pos(xml, "<delete").Line;
        var ex = AssertFails(xml, "params=", $"'{option}' contradicts <delete start=\"false\"/> at line {deleteLine}", "full pushes only",
            "set <delete start=\"true\"/>", $"remove '{option}' from commonParams");
        Assert.DoesNotContain('\n', ex.Message);

        // A target's own params are held to the same rule; the shared -artuz passes.
        AssertFails(Own($"-a {option}", DeleteOff), "params=", $"'{option}' contradicts <delete start=\"false\"/>");
    }

    [Theory]
    [InlineData("--delete")]
    [InlineData("--delete-after")]
    [InlineData("--delete-delay --max-delete=100")]
    public void Deleting_options_load_when_deletes_are_mirrored(string option)
    {
        var c = ConfigLoader.Parse(Shared("-artuz " + option, "<inotify><delete start=\"true\"/></inotify>"), FileName);
        Assert.True(c.Inotify.Delete);
        Assert.Equal(["-artuz", .. option.Split(' ')], c.Rsync.CommonParams);
        Assert.Equal(["-a", .. option.Split(' ')], ConfigLoader.Parse(Own("-a " + option), FileName).Watches[0].Remotes[1].Rsync!.CommonParams);
    }

    [Fact]
    public void Delete_off_without_delete_options_loads_and_max_delete_is_no_delete_option()
    {
        var c = ConfigLoader.Parse(Shared("-artuz --max-delete=10 --ignore-missing-args", DeleteOff), FileName);
        Assert.False(c.Inotify.Delete);
        Assert.Null(CommonParamsSplitter.FirstDeleteOption(c.Rsync.CommonParams));
    }

    [Theory]
    [InlineData("-artuz")]
    [InlineData("-avz")]
    [InlineData("-az")]
    [InlineData("-aHAX --numeric-ids")]
    [InlineData("-artuz --exclude=*.tmp --exclude=cache/ --include=*.php --filter=-_*.bak")]
    [InlineData("-az --bwlimit=1000 --timeout=120 --contimeout=5")]
    [InlineData("-az --chmod=D755,F644 --chown=www:www")]
    [InlineData("-avvz --progress --stats -h")]
    [InlineData("-azP -i --out-format=%n --log-format=%i --log-file=/var/log/r.log")]
    [InlineData("-az --info=progress2 --debug=del2 --no-motd --stderr=errors")]
    [InlineData("-az -T/tmp/e0nq8 -B1024 -@-1")]
    [InlineData("-az --partial --partial-dir=.rsync-partial --delay-updates --inplace")]
    [InlineData("-az -M--fake-super --rsync-path=/usr/local/bin/rsync")]
    [InlineData("-az --existing --ignore-existing --backup --backup-dir=/b --suffix=.old")]
    [InlineData("-az -D --specials --devices -l --links")]
    public void Options_of_stock_and_common_operator_files_load(string @params)
    {
        var words = ConfigLoader.Parse(Shared(@params), FileName).Rsync.CommonParams;
        Assert.Equal(@params.Split(' '), words);
        Assert.Equal(@params.Split(' '), ConfigLoader.Parse(Own(@params), FileName).Watches[0].Remotes[1].Rsync!.CommonParams);
    }

    [Fact]
    public void A_value_after_a_value_taking_letter_is_not_read_as_options()
    {
        // -T's value holds n, q, 8 and 0: they end the bundle's options, so nothing is refused.
        Assert.Null(CommonParamsSplitter.Validate(["-avT/tmp/n0q8"]));
        Assert.Null(CommonParamsSplitter.Validate(["-af- *.n"]));

        // Before the value-taking letter they are options.
        Assert.NotNull(CommonParamsSplitter.Validate(["-anT/tmp/x"]));
    }
}
