#!/usr/bin/env python3
"""Does rsync --fuzzy help a same-directory rename on an rsync daemon target (which cannot rename)?

Replays what a sersyncd live batch runs after `mv big.bin big-renamed.bin` in the source: the batch's rsync
(-az -R --delete --no-r -d --delete-missing-args --from0 --files-from=-, the list "./big.bin\\0./big-renamed.bin\\0")
against a real rsync daemon on 127.0.0.1, with and without --fuzzy, and reports the median wall time and the bytes
sent (--stats) over several runs. Each run starts from a target that holds the old name only.

usage: bench/fuzzy_rename.py [--size-mb 200] [--runs 5]
"""
import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import tempfile
import time


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stats(out: str) -> dict:
    def num(label):
        m = re.search(label + r": ([\d,]+)", out)
        return int(m.group(1).replace(",", "")) if m else -1
    return {"sent": num("Total bytes sent"), "literal": num("Literal data"), "matched": num("Matched data")}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mb", type=int, default=200)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="sersync-fuzzy-")
    src, module = os.path.join(work, "src"), os.path.join(work, "module")
    os.makedirs(src)
    os.makedirs(module)
    with open(os.path.join(src, "big.bin"), "wb") as f:
        for _ in range(args.size_mb):
            f.write(os.urandom(1 << 20))
    port = free_port()
    conf = os.path.join(work, "rsyncd.conf")
    with open(conf, "w") as f:
        f.write(f"use chroot = no\npid file = {work}/rsyncd.pid\nport = {port}\naddress = 127.0.0.1\n"
                f"uid = {os.getuid()}\ngid = {os.getgid()}\n[m]\npath = {module}\nread only = no\n")
    daemon = subprocess.Popen(["rsync", "--daemon", "--no-detach", f"--config={conf}"])
    try:
        dest = f"rsync://127.0.0.1:{port}/m/"
        for _ in range(50):
            if subprocess.run(["rsync", dest], capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
        subprocess.run(["rsync", "-a", src + "/", dest], check=True)
        results = {"without --fuzzy": [], "with --fuzzy": []}
        for run in range(args.runs):
            for label, extra in (("without --fuzzy", []), ("with --fuzzy", ["--fuzzy"])):
                # The target as it was before the rename: the old name only.
                if os.path.exists(os.path.join(module, "big-renamed.bin")):
                    os.rename(os.path.join(module, "big-renamed.bin"), os.path.join(module, "big.bin"))
                if os.path.exists(os.path.join(src, "big.bin")):
                    os.rename(os.path.join(src, "big.bin"), os.path.join(src, "big-renamed.bin"))
                argv = ["rsync", "-az", "-R", "--delete", "--timeout=100", "--no-r", "-d", "--modify-window=-1",
                        "--delete-missing-args", *extra, "--from0", "--files-from=-", "--stats", "./", dest]
                t0 = time.monotonic()
                p = subprocess.run(argv, cwd=src, input=b"./big.bin\0./big-renamed.bin\0", capture_output=True, check=True)
                wall = time.monotonic() - t0
                st = stats(p.stdout.decode())
                results[label].append((wall, st))
                os.rename(os.path.join(src, "big-renamed.bin"), os.path.join(src, "big.bin"))
                assert os.path.exists(os.path.join(module, "big-renamed.bin")) and not os.path.exists(os.path.join(module, "big.bin"))
        print(f"same-directory rename of a {args.size_mb} MB file to an rsync daemon on loopback, {args.runs} runs each (medians)")
        print("| | wall time | bytes sent | literal data | matched data |")
        print("|---|---|---|---|---|")
        for label, rows in results.items():
            print(f"| {label} | {statistics.median(r[0] for r in rows):.2f} s | {statistics.median(r[1]['sent'] for r in rows):,.0f} "
                  f"| {statistics.median(r[1]['literal'] for r in rows):,.0f} | {statistics.median(r[1]['matched'] for r in rows):,.0f} |")
        print("runs (s):", {k: [round(r[0], 2) for r in v] for k, v in results.items()})
    finally:
        daemon.terminate()
        daemon.wait()
        shutil.rmtree(work)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
