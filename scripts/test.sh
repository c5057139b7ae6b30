#!/usr/bin/env bash
# Runs the whole test suite on a Debian machine with the .NET 10 SDK: installs what the tests start for real
# (rsync, sshd, lsyncd is not needed here), builds, runs the unit tests and then the integration tests, and prints
# one closing line "N passed, N failed" for all of them.
#
#   scripts/test.sh            the integration tests run the JIT build
#   scripts/test.sh --package  builds the product first (scripts/package.sh: the NativeAOT dist/sersyncd and the
#                              .deb), runs the integration tests against dist/sersyncd, then installs the .deb on
#                              this machine, checks it and removes it (scripts/test-package.sh). What CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."

package=0
for arg in "$@"; do
  case "$arg" in
    --package) package=1 ;;
    *) echo "test.sh: unknown option $arg" >&2; exit 64 ;;
  esac
done

need=()
for cmd in rsync:rsync sshd:openssh-server ssh:openssh-client ssh-keygen:openssh-client ip:iproute2 python3:python3; do
  command -v "${cmd%%:*}" >/dev/null 2>&1 || [ -x "/usr/sbin/${cmd%%:*}" ] || need+=("${cmd#*:}")
done
# The /metrics test reads the exposition with prometheus_client's parser, from Debian's python3 (not a pyenv one).
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import prometheus_client' 2>/dev/null || need+=(python3-prometheus-client)
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
if [ "$built" -eq 0 ] && [ "$package" -eq 1 ]; then
  scripts/package.sh 2>&1 | tee "$logs/package"
  built=${PIPESTATUS[0]}
  export SERSYNCD_BINARY=$PWD/dist/sersyncd
fi
if [ "$built" -ne 0 ]; then
  failed=1 # a build error is a broken run: never reported as green
else
  # run LABEL WATCHER PROJECT [FILTER...]: one test run, counted. WATCHER forces the daemon's watcher backend
  # (SERSYNCD_WATCHER, read by the config loader, so the spawned daemon and in-process pipelines alike), or "" for
  # the configured one (auto: inotify here).
  run() {
    local label=$1 watcher=$2 project=$3
    shift 3
    echo "test.sh: $label: $project${watcher:+ (watcher: $watcher)}${SERSYNCD_BINARY:+ (daemon: $SERSYNCD_BINARY)}"
    SERSYNCD_WATCHER=$watcher dotnet test --project "tests/$project/$project.csproj" -c Release --no-build ${1:+--} "$@" 2>&1 | tee "$logs/$label"
    status=${PIPESTATUS[0]}
    p=$(awk '/^  succeeded:/ {s+=$2} END {print s+0}' "$logs/$label")
    f=$(awk '/^  failed:/ {s+=$2} END {print s+0}' "$logs/$label")
    if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
      f=1 # the run broke before counting (crash, no tests found): never report that as green
    fi
    echo "test.sh: $label: $p passed, $f failed"
    passed=$((passed + p))
    failed=$((failed + f))
  }
  # Unit tests first (seconds, in-process); then the integration tests (rsync, sshd, netns, the spawned daemon).
  run unit "" SerSync.UnitTests
  run integration "" SerSync.IntegrationTests
  # The end-to-end suite again with the portable backend forced (FileSystemWatcher hints and its scans), and the
  # churn and storm tests with polling (scans alone). Tests of what only inotify does skip there, saying why.
  run e2e-portable portable SerSync.IntegrationTests --filter-namespace SerSync.IntegrationTests.EndToEnd
  # Polling every 2 s rather than 5: the relay tier's isolated changes wait for two tiers' scans one after another.
  SERSYNCD_SCAN_INTERVAL=2 run churn-storm-poll poll SerSync.IntegrationTests --filter-method '*churn*' --filter-method '*storm*'
  if [ "$package" -eq 1 ]; then
    scripts/test-package.sh 2>&1 | tee "$logs/install"
    status=${PIPESTATUS[0]}
    p=$(awk '/^[0-9]+ passed, [0-9]+ failed$/ {print $1}' "$logs/install" | tail -n 1)
    f=$(awk '/^[0-9]+ passed, [0-9]+ failed$/ {print $3}' "$logs/install" | tail -n 1)
    p=${p:-0}
    f=${f:-0}
    if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
      f=1
    fi
    passed=$((passed + p))
    failed=$((failed + f))
  fi
fi
set -e
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
