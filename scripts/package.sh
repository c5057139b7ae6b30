#!/usr/bin/env bash
# Builds the product: dist/sersyncd (NativeAOT, linux-x64, runs without .NET installed) and
# dist/sersyncd_VERSION_amd64.deb. Run as root on a Debian machine with the .NET SDK: what the build needs (clang,
# zlib1g-dev for the native link; lintian to check the package) is installed with apt-get when missing.
#
#   scripts/package.sh            binary and .deb, checked with lintian
#   scripts/package.sh --arm64    also dist/arm64/sersyncd and dist/sersyncd_VERSION_arm64.deb (Debian's cross
#                                 toolchain; see scripts/cross-arm64.sh)
#   scripts/package.sh --no-lint  skip lintian
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

arm64=0
lint=1
for arg in "$@"; do
  case "$arg" in
    --arm64) arm64=1 ;;
    --no-lint) lint=0 ;;
    *) echo "package.sh: unknown option $arg" >&2; exit 64 ;;
  esac
done

need=()
command -v clang >/dev/null 2>&1 || need+=(clang)
[ -e /usr/include/zlib.h ] || need+=(zlib1g-dev)
command -v dpkg-deb >/dev/null 2>&1 || need+=(dpkg)
if [ "$lint" -eq 1 ]; then command -v lintian >/dev/null 2>&1 || need+=(lintian); fi
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "package.sh: missing ${need[*]}; run as root (sudo) so they can be installed with apt-get" >&2
    exit 1
  fi
  echo "package.sh: installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

version=$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' Directory.Build.props)
[ -n "$version" ] || { echo "package.sh: no <Version> in Directory.Build.props" >&2; exit 1; }
mkdir -p dist

# publish RID OUTDIR [extra msbuild arguments]: the NativeAOT binary, symbols kept beside it as sersyncd.dbg.
publish() {
  local rid=$1 out=$2
  shift 2
  rm -rf "$out"
  dotnet publish src/sersyncd/sersyncd.csproj -c Release -r "$rid" -o "$out" -nologo -v quiet "$@"
  [ -x "$out/sersyncd" ] || { echo "package.sh: publish for $rid produced no $out/sersyncd" >&2; exit 1; }
}

# deb ARCH BINARY: stages the package tree under obj/deb-ARCH and builds dist/sersyncd_VERSION_ARCH.deb.
deb() {
  local arch=$1 binary=$2
  local root=$repo/obj/deb-$arch
  local doc=$root/usr/share/doc/sersyncd
  rm -rf "$root"
  install -d -m 0755 "$root/DEBIAN" "$root/usr/sbin" "$root/lib/systemd/system" "$root/usr/share/man/man8" \
    "$doc" "$root/etc/sersync.d" "$root/etc/logrotate.d"
  install -m 0755 "$binary" "$root/usr/sbin/sersyncd"
  install -m 0644 packaging/sersyncd@.service "$root/lib/systemd/system/sersyncd@.service"
  install -m 0644 packaging/example.xml "$root/etc/sersync.d/example.xml.sample"
  install -m 0644 packaging/logrotate "$root/etc/logrotate.d/sersyncd"
  gzip -9n -c packaging/sersyncd.8 >"$root/usr/share/man/man8/sersyncd.8.gz"
  install -m 0644 packaging/copyright "$doc/copyright"
  gzip -9n -c packaging/changelog >"$doc/changelog.gz"
  install -m 0644 README.md "$doc/README.md"
  install -m 0644 config/README.md "$doc/config.md"
  install -d -m 0755 "$doc/examples"
  install -m 0644 config/confxml.xml "$doc/examples/confxml.xml"
  install -d -m 0755 "$root/usr/share/lintian/overrides"
  install -m 0644 packaging/lintian-overrides "$root/usr/share/lintian/overrides/sersyncd"
  if [ "$arch" != amd64 ]; then
    # The cross build links the runtime pack's own zlib (no arm64 zlib1g-dev here); amd64 links Debian's libz.so.1.
    printf '%s\n' '# Cross-built: the .NET runtime pack'"'"'s static zlib (used by HttpClient) is linked in; amd64 uses zlib1g.' \
      'sersyncd: embedded-library zlib [usr/sbin/sersyncd]' >>"$root/usr/share/lintian/overrides/sersyncd"
  fi
  for script in postinst prerm postrm; do
    install -m 0755 "packaging/$script" "$root/DEBIAN/$script"
  done
  printf '%s\n' /etc/logrotate.d/sersyncd /etc/sersync.d/example.xml.sample >"$root/DEBIAN/conffiles"
  local size
  size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
  sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" packaging/control >"$root/DEBIAN/control"
  (cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum >DEBIAN/md5sums)
  local out=dist/sersyncd_${version}_${arch}.deb
  dpkg-deb --root-owner-group -Zxz --build "$root" "$out" >/dev/null
  echo "package.sh: $out ($(du -h "$out" | cut -f1))"
  if [ "$lint" -eq 1 ]; then
    # --fail-on warning: a warning or error not covered by packaging/lintian-overrides fails the build.
    local status=0
    lintian --fail-on error,warning "$out" >"$repo/obj/lintian-$arch.log" 2>&1 || status=$?
    grep -v "running with root privileges is not recommended" "$repo/obj/lintian-$arch.log" || true
    if [ "$status" -ne 0 ]; then
      echo "package.sh: lintian found problems in $out (status $status)" >&2
      exit 1
    fi
    echo "package.sh: lintian clean: $out"
  fi
}

# Debian's zlib (libz.so.1, zlib1g: security updates come with the system) instead of the runtime pack's static
# copy, which HttpClient's compression support would otherwise embed (lintian: embedded-library).
publish linux-x64 obj/publish/linux-x64 -p:UseSystemZlib=true
install -m 0755 obj/publish/linux-x64/sersyncd dist/sersyncd
echo "package.sh: dist/sersyncd ($(du -h dist/sersyncd | cut -f1), NativeAOT linux-x64)"
deb amd64 dist/sersyncd

if [ "$arm64" -eq 1 ]; then
  scripts/cross-arm64.sh obj/publish/linux-arm64
  install -d dist/arm64
  install -m 0755 obj/publish/linux-arm64/sersyncd dist/arm64/sersyncd
  deb arm64 dist/arm64/sersyncd
fi
