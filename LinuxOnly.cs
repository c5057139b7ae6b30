
// sersyncd is built on Linux inotify and rsync: every assembly of the solution targets Linux only.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
