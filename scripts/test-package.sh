#!/usr/bin/env bash
# Installs dist/sersyncd_VERSION_ARCH.deb on this machine and checks what an operator gets: the binary runs without
# .NET, the installed example checks, the unit verifies, nothing starts by itself, removing keeps configs and state,
# purging removes state. Then the package is gone again. Root only: it runs dpkg. Prints "N passed, N failed".
#
#   scripts/test-package.sh [DEB]      default: the newest dist/sersyncd_*_amd64.deb
set -uo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "test-package.sh: run as root: it installs and removes the package with dpkg" >&2
  exit 1
fi

deb=${1:-$(ls -t dist/sersyncd_*_amd64.deb 2>/dev/null | head -n 1)}
if [ -z "$deb" ] || [ ! -f "$deb" ]; then
  echo "test-package.sh: no package; build it with scripts/package.sh" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
if dpkg-query -W -f '${Status}' sersyncd 2>/dev/null | grep -q 'install ok installed'; then
  echo "test-package.sh: sersyncd is installed on this machine already; not touching it" >&2
  echo "0 passed, 1 failed"
  exit 1
fi

need=()
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
command -v man >/dev/null 2>&1 || need+=(man-db)
command -v logrotate >/dev/null 2>&1 || need+=(logrotate)
command -v objdump >/dev/null 2>&1 || need+=(binutils)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

passed=0
failed=0
work=$(mktemp -d)
cleanup() {
  dpkg -P sersyncd >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

check() { # check DESCRIPTION COMMAND...: runs the command, its output kept for a failure's report
  local what=$1
  shift
  if "$@" >"$work/out" 2>&1; then
    echo "ok - $what"
    passed=$((passed + 1))
  else
    echo "not ok - $what"
    sed 's/^/    /' "$work/out"
    failed=$((failed + 1))
  fi
}

# A process started from the installed binary, found by its executable's path (never by name).
instances() {
  local pid
  for pid in /proc/[0-9]*; do
    [ "$(readlink "$pid/exe" 2>/dev/null)" = /usr/sbin/sersyncd ] && echo "${pid#/proc/}"
  done
  return 0
}

check "dpkg -i $deb" dpkg -i "$deb"
check "the binary is /usr/sbin/sersyncd" test -x /usr/sbin/sersyncd
check "installing starts no instance" test -z "$(instances)"

start=$(date +%s%N)
check "sersyncd --version runs with no .NET (empty environment, PATH without dotnet)" \
  sh -c 'env -i PATH=/usr/sbin:/usr/bin:/bin /usr/sbin/sersyncd --version | grep -q "^sersyncd [0-9]"'
echo "    sersyncd --version: $(( ($(date +%s%N) - start) / 1000000 )) ms (run under check, with sh and grep)"
check "the binary names no .NET runtime library" sh -c '! objdump -p /usr/sbin/sersyncd | grep -E "NEEDED.*(coreclr|hostfxr|System\.)"'

check "the example config is installed as a conffile" sh -c 'dpkg-query -W -f "\${Conffiles}" sersyncd | grep -q /etc/sersync.d/example.xml.sample'
mkdir -p "$work/www" "$work/state"
sed -e "s#watch=\"[^\"]*\"#watch=\"$work/www\"#" /etc/sersync.d/example.xml.sample >"$work/example.xml"
check "sersyncd -t on the installed example (watch pointed at an existing directory)" \
  /usr/sbin/sersyncd -t -o "$work/example.xml"

check "systemd-analyze verify sersyncd@example.service" \
  sh -c 'out=$(systemd-analyze verify /lib/systemd/system/sersyncd@example.service 2>&1); rc=$?; echo "$out"; [ $rc -eq 0 ] && [ -z "$out" ]'
check "the unit is Type=notify and passes no -r" \
  sh -c 'grep -q "^Type=notify" /lib/systemd/system/sersyncd@.service && ! grep -E "^ExecStart=.* -r( |$)" /lib/systemd/system/sersyncd@.service'
check "man sersyncd finds sersyncd(8)" sh -c 'man -w 8 sersyncd | grep -q /usr/share/man/man8/sersyncd.8.gz'
check "the man page renders without warnings" \
  sh -c 'out=$(MANWIDTH=80 man --warnings -l /usr/share/man/man8/sersyncd.8.gz 2>&1 >/dev/null); echo "$out"; [ -z "$out" ]'
check "logrotate accepts /etc/logrotate.d/sersyncd" logrotate -d /etc/logrotate.d/sersyncd
check "copyright and changelog are in /usr/share/doc/sersyncd" \
  test -f /usr/share/doc/sersyncd/copyright -a -f /usr/share/doc/sersyncd/changelog.gz
check "/var/lib/sersyncd exists for state" test -d /var/lib/sersyncd

# State and an operator's own config, as a running instance would leave them.
mkdir -p /var/lib/sersyncd/example
echo state >/var/lib/sersyncd/example/marker
cp "$work/example.xml" /etc/sersync.d/mine.xml

check "dpkg -r sersyncd" dpkg -r sersyncd
check "remove takes the binary away" test ! -e /usr/sbin/sersyncd
check "remove keeps the configs (the example and the operator's)" \
  test -f /etc/sersync.d/example.xml.sample -a -f /etc/sersync.d/mine.xml
check "remove keeps the state" test -f /var/lib/sersyncd/example/marker

check "dpkg -P sersyncd" dpkg -P sersyncd
check "purge removes the state" test ! -e /var/lib/sersyncd
check "purge removes the package's conffiles" test ! -e /etc/sersync.d/example.xml.sample -a ! -e /etc/logrotate.d/sersyncd
check "purge leaves the operator's own config" test -f /etc/sersync.d/mine.xml
rm -f /etc/sersync.d/mine.xml
rmdir /etc/sersync.d 2>/dev/null || true

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
