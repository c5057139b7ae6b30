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


# --fuzzy alone meets the deletion of the old name in the same run (--delete-missing-args): the generator picks the
# old file as the basis, the receiver finds it gone ("got a block match with no basis file", exit 2, protocol
# incompatibility). So it is measured with the deletions delayed to the end, which lets the basis survive.
# The variant that works sends the new name first with --fuzzy (the old one still there as the basis) and deletes
# the old one in a second run: two connections instead of one.
VARIANTS = [
    ("one run, without --fuzzy (today)", []),
    ("one run, --fuzzy", ["--fuzzy"]),
    ("two runs: new name with --fuzzy, then the delete", "two-runs"),
]


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
        results = {label: [] for label, _ in VARIANTS}
        for run in range(args.runs):
            for label, extra in VARIANTS:
                # The target as it was before the rename: the old name only.
                if os.path.exists(os.path.join(module, "big-renamed.bin")):
                    os.rename(os.path.join(module, "big-renamed.bin"), os.path.join(module, "big.bin"))
                if os.path.exists(os.path.join(src, "big.bin")):
                    os.rename(os.path.join(src, "big.bin"), os.path.join(src, "big-renamed.bin"))
                base = ["rsync", "-az", "-R", "--delete", "--timeout=100", "--no-r", "-d", "--modify-window=-1",
                        "--delete-missing-args"]
                tail = ["--from0", "--files-from=-", "--stats", "./", dest]
                steps = [(base + ["--fuzzy"] + tail, b"./big-renamed.bin\0"), (base + tail, b"./big.bin\0")] \
                    if extra == "two-runs" else [(base + extra + tail, b"./big.bin\0./big-renamed.bin\0")]
                t0 = time.monotonic()
                st = {"sent": 0, "literal": 0, "matched": 0}
                failed = None
                for argv, listing in steps:
                    p = subprocess.run(argv, cwd=src, input=listing, capture_output=True)
                    if p.returncode != 0:
                        failed = f"exit {p.returncode}: " + p.stderr.decode().strip().splitlines()[0]
                        break
                    for k, v in stats(p.stdout.decode()).items():
                        st[k] += v
                wall = time.monotonic() - t0
                if failed:
                    results[label].append((wall, None, failed))
                    subprocess.run(["rsync", "-a", "--delete", src + "/", dest], capture_output=True)  # repair
                    for name in ("big.bin", "big-renamed.bin"):
                        if os.path.exists(os.path.join(module, name)) and name == "big.bin":
                            os.remove(os.path.join(module, name))
                    os.rename(os.path.join(src, "big-renamed.bin"), os.path.join(src, "big.bin"))
                    continue
                results[label].append((wall, st, None))
                os.rename(os.path.join(src, "big-renamed.bin"), os.path.join(src, "big.bin"))
                assert os.path.exists(os.path.join(module, "big-renamed.bin")) and not os.path.exists(os.path.join(module, "big.bin"))
        print(f"same-directory rename of a {args.size_mb} MB file to an rsync daemon on loopback, {args.runs} runs each (medians)")
        print("| | wall time | bytes sent | literal data | matched data |")
        print("|---|---|---|---|---|")
        for label, rows in results.items():
            ok = [r for r in rows if r[1] is not None]
            if not ok:
                print(f"| {label} | fails every run: {rows[0][2]} | | | |")
                continue
            print(f"| {label} | {statistics.median(r[0] for r in ok):.2f} s | {statistics.median(r[1]['sent'] for r in ok):,.0f} "
                  f"| {statistics.median(r[1]['literal'] for r in ok):,.0f} | {statistics.median(r[1]['matched'] for r in ok):,.0f} |")
        print("runs (s):", {k: [round(r[0], 2) for r in v] for k, v in results.items()})
    finally:
        daemon.terminate()
        daemon.wait()
        shutil.rmtree(work)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
