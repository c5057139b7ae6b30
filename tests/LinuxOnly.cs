// The tests exercise the Linux build (inotify, network namespaces, sshd, glibc calls): every test assembly targets
// Linux only. The product's assemblies do not; only their Linux backends carry [SupportedOSPlatform("linux")].
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
