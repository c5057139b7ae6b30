#!/usr/bin/env bash
# Runs the whole test suite on a Debian machine with the .NET 10 SDK: installs what the tests start for real
# (rsync, sshd, lsyncd is not needed here), builds, runs the unit tests and then the integration tests, and prints
# one closing line "N passed, N failed" for both.
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

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
passed=0
failed=0
set +e
dotnet build SerSync.sln -c Release 2>&1 | tee "$logs/build"
built=${PIPESTATUS[0]}
if [ "$built" -ne 0 ]; then
  failed=1 # a build error is a broken run: never reported as green
else
  # Unit tests first (seconds, in-process); then the integration tests (rsync, sshd, netns, the spawned daemon).
  for project in SerSync.UnitTests SerSync.IntegrationTests; do
    dotnet test --project "tests/$project/$project.csproj" -c Release --no-build 2>&1 | tee "$logs/$project"
    status=${PIPESTATUS[0]}
    p=$(awk '/^  succeeded:/ {s+=$2} END {print s+0}' "$logs/$project")
    f=$(awk '/^  failed:/ {s+=$2} END {print s+0}' "$logs/$project")
    if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
      f=1 # the run broke before counting (crash, no tests found): never report that as green
    fi
    passed=$((passed + p))
    failed=$((failed + f))
  done
fi
set -e
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
