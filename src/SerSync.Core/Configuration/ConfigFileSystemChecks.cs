// Why these run at load time: each one refuses a setup that would otherwise fail later, on every transfer, once the
// daemon is running. The password-file checks repeat rsync's own refusals (a mode other users can access, an owner
// other than root when running as root) on the file a symlink finally leads to. Stat is an lstat of the path's UTF-8
// bytes, so a symlinked watch directory is accepted only if it really leads to a directory.
using System.Text;
using System.Xml.Linq;
using SerSync.Paths;

namespace SerSync.Configuration;

/// <summary>The config checks that look at the disk: the auth password file, the watch directories and the failLog
/// file's directory. Paths reach here already checked to be absolute.</summary>
internal sealed class ConfigFileSystemChecks(ConfigErrors errors)
{
    /// <summary>The password file at <paramref name="path"/> (named at <paramref name="fileAttr"/>) exists, is a regular
    /// file (after symlinks), is not other-accessible, is owned by root if this process is privileged, and can be
    /// read.</summary>
    public void CheckPasswordFile(XObject fileAttr, string path)
    {
        FileStatus? st;
        try
        {
            st = FileSystemBytes.Stat(Encoding.UTF8.GetBytes(path));
            if (st is { Type: EntryType.Symlink })
            {
                var target = File.ResolveLinkTarget(path, returnFinalTarget: true);
                st = target == null ? null : FileSystemBytes.Stat(Encoding.UTF8.GetBytes(target.FullName));
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw errors.Fail(fileAttr, $"passwordfile {ConfigText.ShowPath(path)} cannot be examined: {ConfigText.Escape(ex.Message)}");
        }

        if (st == null)
        {
            throw errors.Fail(fileAttr, $"passwordfile {ConfigText.ShowPath(path)} does not exist; expected a file holding the rsync daemon password (mode 600)");
        }

        if (st.Value.Type != EntryType.File)
        {
            throw errors.Fail(fileAttr, $"passwordfile {ConfigText.ShowPath(path)} is not a regular file; expected a file holding the rsync daemon password");
        }

        if ((st.Value.Mode & 0x7) != 0)
        {
            throw errors.Fail(fileAttr, $"passwordfile {ConfigText.ShowPath(path)} has mode {Convert.ToString(st.Value.Mode & 0xFFF, 8)}, which other users can access; " +
                $"rsync refuses it (\"password file must not be other-accessible\"): run chmod 600 {ConfigText.ShowPath(path)}");
        }

        if (Environment.IsPrivilegedProcess && st.Value.Uid != 0)
        {
            throw errors.Fail(fileAttr, $"passwordfile {ConfigText.ShowPath(path)} is owned by uid {st.Value.Uid}, but sersyncd runs as root; rsync refuses it " +
                $"(\"password file must be owned by root when running as root\"): run chown root {ConfigText.ShowPath(path)}");
        }

        try
        {
            using var probe = File.OpenRead(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw errors.Fail(fileAttr, $"passwordfile {ConfigText.ShowPath(path)} cannot be read: {ConfigText.Escape(ex.Message)}");
        }
    }

    /// <summary>The watch directory <paramref name="path"/> (named at <paramref name="attr"/>) exists and is a
    /// directory, or a symlink to one.</summary>
    public void CheckWatchDirectory(XAttribute attr, string path)
    {
        FileStatus? st;
        try
        {
            st = FileSystemBytes.Stat(Encoding.UTF8.GetBytes(path));
        }
        catch (IOException ex)
        {
            throw errors.Fail(attr, $"watch {ConfigText.ShowPath(path)} cannot be examined: {ConfigText.Escape(ex.Message)}");
        }

        if (st == null)
        {
            throw errors.Fail(attr, $"watch directory {ConfigText.ShowPath(path)} does not exist; expected an existing directory");
        }

        var isDirectory = st.Value.Type == EntryType.Directory
            || (st.Value.Type == EntryType.Symlink && Directory.Exists(path));
        if (!isDirectory)
        {
            var kind = st.Value.Type switch
            {
                EntryType.File => "a regular file",
                EntryType.Symlink => "a symlink that does not lead to a directory",
                _ => "not a regular file or directory",
            };
            throw errors.Fail(attr, $"watch {ConfigText.ShowPath(path)} is not a directory (it is {kind}); expected an existing directory");
        }
    }

    /// <summary>The failLog file <paramref name="path"/> (named at <paramref name="attr"/>) is not a directory, and its
    /// directory exists (the file itself is created if missing).</summary>
    public void CheckFailLogFile(XAttribute attr, string path)
    {
        var dir = Path.GetDirectoryName(path) ?? "/";
        if (Directory.Exists(path))
        {
            throw errors.Fail(attr, $"failLog path {ConfigText.ShowPath(path)} is a directory; expected a file path (it is created if missing)");
        }

        if (!Directory.Exists(dir))
        {
            throw errors.Fail(attr, $"failLog path {ConfigText.ShowPath(path)}: its directory {ConfigText.ShowPath(dir)} does not exist; expected an existing directory");
        }
    }
}
