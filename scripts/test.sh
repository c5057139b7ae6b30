#!/usr/bin/env bash
# Runs the whole test suite on a Debian machine with the .NET 10 SDK: installs what the tests start for real
# (rsync, sshd, lsyncd is not needed here), builds, runs every test and prints "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for cmd in rsync:rsync sshd:openssh-server ssh:openssh-client ssh-keygen:openssh-client ip:iproute2 python3:python3; do
  command -v "${cmd%%:*}" >/dev/null 2>&1 || [ -x "/usr/sbin/${cmd%%:*}" ] || need+=("${cmd#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing: ${need[*]}; run as root (sudo) so they can be installed with apt-get" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
dotnet test SerSync.sln -c Release 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
passed=$(awk '/^  succeeded:/ {s+=$2} END {print s+0}' "$log")
failed=$(awk '/^  failed:/ {s+=$2} END {print s+0}' "$log")
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=1 # the run broke before counting (build error, crash): never report that as green
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
