#!/usr/bin/env bash
# Cross-publishes the NativeAOT daemon for linux-arm64 on a Debian (bookworm) x86_64 machine: OUTDIR/sersyncd.
# Usage: scripts/cross-arm64.sh OUTDIR   (root, or every package below already installed)
# Progress goes to stderr; stdout is only the binary's path, for callers: bin="$(scripts/cross-arm64.sh DIR)".
#
# What it takes, and why no more:
# - The SDK's host ILCompiler already emits arm64 code; the arm64 runtime pack it restores carries every static
#   library the link needs, zlib included (libz.a), so no arm64 zlib1g-dev and no `dpkg --add-architecture`.
# - clang (already needed for linux-x64) links with --target=aarch64-linux-gnu and -fuse-ld=bfd; it finds Debian's
#   cross GCC installation in /usr/lib/gcc-cross/aarch64-linux-gnu, so no SysRoot property is needed. That needs
#   binutils-aarch64-linux-gnu (aarch64-linux-gnu-ld.bfd, -objcopy), libc6-dev-arm64-cross (crt*.o, libc, libm)
#   and libgcc-12-dev-arm64-cross (crtbegin.o, libgcc); the gcc cross compiler itself is never run.
# - Symbols are stripped with aarch64-linux-gnu-objcopy, so the build does not depend on llvm being installed.
# The binary needs glibc >= 2.34 on the target (as the linux-x64 one does) and libssl3 at run time (SHA-256 of the
# state directory names goes through OpenSSL).
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 OUTDIR" >&2
  exit 2
fi
mkdir -p "$1"
outdir="$(cd "$1" && pwd)"
cd "$(dirname "$0")/.."

fail() {
  echo "cross-arm64: $*" >&2
  exit 1
}

[ "$(uname -m)" = x86_64 ] || fail "this recipe is for an x86_64 build machine, not $(uname -m)"
command -v dpkg-query >/dev/null 2>&1 || fail "not a Debian-like system (no dpkg-query); install an aarch64 cross linker, libc and libgcc by hand"
command -v dotnet >/dev/null 2>&1 || fail "the .NET SDK (dotnet) is not on PATH"

packages=(clang binutils-aarch64-linux-gnu libc6-dev-arm64-cross libgcc-12-dev-arm64-cross)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" -eq 0 ] || fail "missing Debian packages: ${missing[*]}; run as root so apt-get can install them"
  export DEBIAN_FRONTEND=noninteractive
  # Other jobs on a build machine may hold the dpkg lock for a while: wait for it rather than fail.
  apt=(apt-get -o DPkg::Lock::Timeout=600)
  # Refresh the package lists only when one of the packages is unknown to them (a fresh image has none).
  for p in "${missing[@]}"; do
    if ! apt-cache policy "$p" 2>/dev/null | grep -q 'Candidate: [0-9]'; then
      "${apt[@]}" update -qq || fail "apt-get update failed"
      break
    fi
  done
  echo "cross-arm64: installing ${missing[*]}" >&2
  log="$(mktemp)"
  if ! "${apt[@]}" install -y -qq --no-install-recommends "${missing[@]}" >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    fail "apt-get install ${missing[*]} failed"
  fi
  rm -f "$log"
fi
command -v aarch64-linux-gnu-ld.bfd >/dev/null 2>&1 || fail "aarch64-linux-gnu-ld.bfd not found after installing binutils-aarch64-linux-gnu"

# Published into a scratch directory: only the binary goes to OUTDIR (not sersyncd.dbg or the .pdb files).
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
start=$SECONDS
dotnet publish src/sersyncd/sersyncd.csproj -c Release -r linux-arm64 -nologo -v quiet -o "$stage" \
  -p:ObjCopyName=aarch64-linux-gnu-objcopy >&2 \
  || fail "dotnet publish -r linux-arm64 failed (see the errors above)"
[ -x "$stage/sersyncd" ] || fail "dotnet publish produced no $stage/sersyncd"
file_type="$(od -An -tx1 -j18 -N2 "$stage/sersyncd" | tr -d ' ')"
[ "$file_type" = b700 ] || fail "$stage/sersyncd is not an aarch64 ELF (e_machine bytes: $file_type)"
install -m 0755 "$stage/sersyncd" "$outdir/sersyncd"
echo "cross-arm64: published in $((SECONDS - start)) s, $(stat -c %s "$outdir/sersyncd") bytes" >&2

# A smoke run when an emulator happens to be installed (qemu-user); its absence is not an error.
if command -v qemu-aarch64 >/dev/null 2>&1 && [ -d /usr/aarch64-linux-gnu ]; then
  qemu-aarch64 -L /usr/aarch64-linux-gnu "$outdir/sersyncd" --version >/dev/null \
    || fail "$outdir/sersyncd --version failed under qemu-aarch64"
fi
echo "$outdir/sersyncd"
