#!/usr/bin/env bash
# The README's demo: installs rsync if missing, builds sersyncd and runs it in the foreground on config/demo.xml,
# which mirrors /tmp/sersyncd-demo/src to /tmp/sersyncd-demo/dst. Change files under src/ in another terminal;
# stop with Ctrl+C.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v rsync >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "rsync is missing; run as root (sudo) so it can be installed with apt-get" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rsync >/dev/null
fi
mkdir -p /tmp/sersyncd-demo/src /tmp/sersyncd-demo/dst
[ -e /tmp/sersyncd-demo/src/hello.txt ] || echo "hello from sersyncd" > /tmp/sersyncd-demo/src/hello.txt
dotnet build src/sersyncd -c Release -nologo -v quiet
echo "mirroring /tmp/sersyncd-demo/src -> /tmp/sersyncd-demo/dst (Ctrl+C to stop)"
exec src/sersyncd/bin/Release/net10.0/sersyncd -r -o config/demo.xml
