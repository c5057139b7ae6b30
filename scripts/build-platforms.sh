#!/usr/bin/env bash
# Builds the daemon for every platform it is built for, into OUTDIR/RID/, and prints what was built with its size.
# Any failure (a compile error, a warning: they are errors, an AOT or trim warning in a NativeAOT publish) fails the
# script. What CI runs after the tests (.ci/run).
#
#   scripts/build-platforms.sh OUTDIR
#
#   linux-x64    NativeAOT, as scripts/package.sh publishes it (Debian's zlib). With SERSYNCD_LINUX_X64=PATH set (the
#                dist/sersyncd that package.sh built in the same run), that binary is copied instead of published
#                again: package.sh's publish has the same warnings-as-errors (IlcTreatWarningsAsErrors).
#   linux-arm64  NativeAOT, cross-published by scripts/cross-arm64.sh (installs Debian's aarch64 cross linker).
#   osx-arm64    framework-dependent (.NET 10 runtime needed on the Mac): NativeAOT does not cross-compile to another
#                OS. The whole solution's analyzers, the platform analyzer (CA1416) among them, the trim and AOT ones
#                too, compile the code for it with warnings as errors. Built only: nothing here can run it.
#
# Needs root for the apt-get installs the Linux publishes make when their tools are missing (clang, zlib1g-dev,
# the arm64 cross toolchain).
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 OUTDIR" >&2
  exit 2
fi
mkdir -p "$1"
out="$(cd "$1" && pwd)"
cd "$(dirname "$0")/.."

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
built=()

fail() {
  echo "build-platforms: $*" >&2
  exit 1
}

# publish LOG ARGS...: dotnet publish with its output in LOG; non-zero on an error or on any warning it printed.
publish() {
  local log=$1
  shift
  nice -n 10 dotnet publish src/sersyncd/sersyncd.csproj -c Release -nologo -v minimal "$@" >"$log" 2>&1 || return 1
  ! grep -qE ' warning [A-Z]+[0-9]+' "$log"
}

# explain LOG: the errors and warnings of a failed publish.
explain() {
  grep -E ' (error|warning) [A-Z]+[0-9]+' "$1" | sed 's/ \[[^]]*\]$//' | sort -u >&2 || tail -n 40 "$1" >&2
}

# report RID FILE HOW: one line for the summary.
report() {
  built+=("$(printf '%-12s %-40s %10s bytes  %s' "$1" "${2#"$out"/}" "$(stat -c %s "$2")" "$3")")
}

start=$SECONDS

# linux-x64: NativeAOT.
mkdir -p "$out/linux-x64"
if [ -n "${SERSYNCD_LINUX_X64:-}" ]; then
  [ -x "$SERSYNCD_LINUX_X64" ] || fail "SERSYNCD_LINUX_X64=$SERSYNCD_LINUX_X64 is not an executable"
  install -m 0755 "$SERSYNCD_LINUX_X64" "$out/linux-x64/sersyncd"
  how="NativeAOT (reused: $SERSYNCD_LINUX_X64)"
else
  command -v clang >/dev/null 2>&1 && [ -e /usr/include/zlib.h ] || {
    [ "$(id -u)" -eq 0 ] || fail "linux-x64: clang and zlib1g-dev are needed for the NativeAOT link; run as root"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends clang zlib1g-dev >/dev/null
  }
  stage="$logs/linux-x64"
  publish "$logs/linux-x64.log" -r linux-x64 -o "$stage" -p:UseSystemZlib=true || {
    explain "$logs/linux-x64.log"
    fail "linux-x64: dotnet publish failed or warned"
  }
  [ -x "$stage/sersyncd" ] || fail "linux-x64: no sersyncd was published"
  install -m 0755 "$stage/sersyncd" "$out/linux-x64/sersyncd"
  how="NativeAOT, 0 warnings"
fi
[ "$(od -An -tx1 -j18 -N2 "$out/linux-x64/sersyncd" | tr -d ' ')" = 3e00 ] || fail "linux-x64: not an x86-64 ELF"
"$out/linux-x64/sersyncd" --version >/dev/null || fail "linux-x64: sersyncd --version failed"
report linux-x64 "$out/linux-x64/sersyncd" "$how; runs: $("$out/linux-x64/sersyncd" --version)"

# linux-arm64: NativeAOT, cross-published. cross-arm64.sh builds with warnings as errors too (the same project).
mkdir -p "$out/linux-arm64"
scripts/cross-arm64.sh "$out/linux-arm64" >/dev/null 2>"$logs/linux-arm64.log" || {
  tail -n 40 "$logs/linux-arm64.log" >&2
  fail "linux-arm64: scripts/cross-arm64.sh failed"
}
if grep -qE ' warning [A-Z]+[0-9]+' "$logs/linux-arm64.log"; then
  grep -E ' warning [A-Z]+[0-9]+' "$logs/linux-arm64.log" | sort -u >&2
  fail "linux-arm64: the publish printed warnings"
fi
report linux-arm64 "$out/linux-arm64/sersyncd" "NativeAOT, aarch64 ELF, built only (not run here)"

# osx-arm64: framework-dependent. The apphost (a Mach-O launcher) comes from the Microsoft.NETCore.App.Host.osx-arm64
# pack of the SDK's runtime version; where the package source does not serve that version, sersyncd.dll alone is
# published (run as `dotnet sersyncd.dll`).
mkdir -p "$out/osx-arm64"
osx=(-r osx-arm64 --self-contained false -o "$out/osx-arm64" -p:PublishAot=false -p:EnableTrimAnalyzer=true -p:EnableAotAnalyzer=true)
if publish "$logs/osx-arm64.log" "${osx[@]}"; then
  [ -x "$out/osx-arm64/sersyncd" ] || fail "osx-arm64: no apphost was published"
  how="framework-dependent (.NET 10 runtime), Mach-O arm64 apphost + sersyncd.dll, built only (not run here)"
  main="$out/osx-arm64/sersyncd"
elif grep -q 'NETSDK1\|Microsoft.NETCore.App.Host.osx-arm64' "$logs/osx-arm64.log"; then
  rm -rf "$out/osx-arm64"
  publish "$logs/osx-arm64.log" "${osx[@]}" -p:UseAppHost=false || {
    explain "$logs/osx-arm64.log"
    fail "osx-arm64: dotnet publish failed or warned"
  }
  how="framework-dependent (.NET 10 runtime): dotnet sersyncd.dll (no apphost pack served), built only (not run here)"
  main="$out/osx-arm64/sersyncd.dll"
else
  explain "$logs/osx-arm64.log"
  fail "osx-arm64: dotnet publish failed or warned"
fi
[ -f "$out/osx-arm64/sersyncd.dll" ] || fail "osx-arm64: no sersyncd.dll was published"
report osx-arm64 "$main" "$how; the whole folder: $(du -sb "$out/osx-arm64" | cut -f1) bytes"

echo "build-platforms: built in $((SECONDS - start)) s into $out:"
printf '  %s\n' "${built[@]}"
