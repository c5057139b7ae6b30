#!/usr/bin/env python3
"""Side-by-side benchmark: sersyncd vs lsyncd (delay=1) vs the inotifywait+rsync loop.

Every contestant mirrors a source directory to a LOCAL target directory; all files live in a temp workspace under
/tmp that is removed at the end. Python 3 standard library only. See bench/README.md for what each figure means.

    python3 bench/run.py            # full run (about 15-20 minutes on 2 cores)
    python3 bench/run.py --quick    # smoke run with small sizes (about 2 minutes)
    python3 bench/run.py --phases scale,scale1m --contestants sersyncd,lsyncd   # memory and start at 50k and 1M dirs

sersyncd is the NativeAOT binary (what ships): published to bench/.aot/ unless --binary is given.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
AOT_DIR = os.path.join(REPO, "bench", ".aot")
SERSYNCD_BIN = os.path.join(AOT_DIR, "sersyncd")  # replaced by --binary
MAX_USER_WATCHES = "/proc/sys/fs/inotify/max_user_watches"
WANT_WATCHES = 200_000
# scale1m: 1,001,001 watches for one contestant at a time; twice that, since the kernel frees a closed instance's
# watches asynchronously and the next contestant starts right after.
WANT_WATCHES_1M = 2_100_000
PHASES = ("latency", "storm", "scale", "scale1m", "outage", "fanout", "sshlat")

# The classic loop, fixed text. $1/$2 are the benchmark's own temp dirs (never user file names); the event's file
# name is read into $f and not used, exactly like the recipes of sersync's era.
INOTIFY_LOOP = (
    "inotifywait -mrq -e close_write,create,delete,moved_to,moved_from --format '%w%f' \"$1\" "
    "| while read f; do rsync -az --delete \"$1\"/ \"$2\"/; done"
)

# Put first on PATH (and given to lsyncd as rsync.binary): counts every rsync started, then runs the real one with
# argv unchanged. Fixed text; the two paths are substituted from the benchmark's own temp dir.
WRAPPER = """#!/bin/sh
echo x >> '{counter}'
exec '{rsync}' "$@"
"""

CONTESTANTS = ("sersyncd", "sersyncd-portable", "sersyncd-poll", "lsyncd", "inotifywait")
# The same sersyncd binary with another watcher backend forced (SERSYNCD_WATCHER): "sersyncd" is auto (inotify).
WATCHER_OF = {"sersyncd-portable": "portable", "sersyncd-poll": "poll"}
COLUMN_TITLES = {
    "sersyncd": "sersyncd (default)",
    "sersyncd-portable": "sersyncd portable watcher",
    "sersyncd-poll": "sersyncd poll watcher (5 s)",
    "lsyncd": "lsyncd delay=1",
    "inotifywait": "inotifywait+rsync loop",
}


class BenchError(Exception):
    pass


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------------------------------------------
# /proc helpers


def proc_pids_in_group(pgid: int) -> list[int]:
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                data = f.read()
        except OSError:
            continue
        fields = data[data.rfind(b")") + 2:].split()
        # fields[0] is state (field 3); pgrp is field 5 -> index 2
        if int(fields[2]) == pgid:
            pids.append(int(name))
    return pids


def proc_cpu_seconds(pid: int) -> float:
    """utime+stime+cutime+cstime of one process, in seconds (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return 0.0
    fields = data[data.rfind(b")") + 2:].split()
    # after the comm: state=3, ... utime=14, stime=15, cutime=16, cstime=17 (1-based field numbers)
    ticks = sum(int(fields[i - 3]) for i in (14, 15, 16, 17))
    return ticks / os.sysconf("SC_CLK_TCK")


def group_cpu_seconds(pgid: int) -> float:
    """CPU of a contestant: every live process of its process group (daemon, shells, running rsyncs) with the
    CPU of the children each has already reaped (cutime/cstime)."""
    return sum(proc_cpu_seconds(p) for p in proc_pids_in_group(pgid))


def proc_rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def proc_comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def inotify_watch_count(pid: int) -> int | None:
    """Number of inotify watches (fdinfo 'inotify wd:' lines) over all inotify fds of a process."""
    total = None
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return None
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") != "anon_inode:inotify":
                continue
            with open(f"/proc/{pid}/fdinfo/{fd}", "rb") as f:
                n = f.read().count(b"inotify wd:")
        except OSError:
            continue
        total = (total or 0) + n
    return total


# ----------------------------------------------------------------------------------------------------------------
# Contestants


class Running:
    """One started contestant: its own session/process group so that it can be stopped by PGID (= its PID)."""

    def __init__(self, name: str, proc: subprocess.Popen, start: float, run_dir: str, counter: str):
        self.name = name
        self.proc = proc
        self.pid = proc.pid
        self.start = start
        self.run_dir = run_dir
        self.counter = counter
        self.exit_code: int | None = None
        self.notify_sock: socket.socket | None = None
        self.log_path = os.path.join(run_dir, "out.log")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def check_alive(self, what: str) -> None:
        if not self.alive():
            raise BenchError(f"{self.name} exited with status {self.proc.returncode} while {what}; "
                             f"log {self.log_path}:\n{tail(self.log_path)}")

    def rsync_count(self) -> int:
        try:
            with open(self.counter, "rb") as f:
                return f.read().count(b"\n")
        except FileNotFoundError:
            return 0

    def cpu(self) -> float:
        return group_cpu_seconds(self.pid)

    def rss_kb(self) -> int:
        return sum(proc_rss_kb(p) for p in proc_pids_in_group(self.pid))

    def watcher_pid(self) -> int:
        if self.name != "inotifywait":
            return self.pid
        for p in proc_pids_in_group(self.pid):
            if proc_comm(p) == "inotifywait":
                return p
        return -1

    def stop(self) -> None:
        """SIGTERM the process group, wait for the leader, SIGKILL whatever is left. Never by name."""
        if self.notify_sock is not None:
            self.notify_sock.close()
            self.notify_sock = None
        pgid = self.pid
        try:
            os.killpg(pgid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.exit_code = self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            log(f"{self.name}: no exit 15 s after SIGTERM; SIGKILL")
        deadline = time.monotonic() + 10
        while True:
            try:
                os.killpg(pgid, signal.SIGKILL if time.monotonic() > deadline - 9 else 0)
            except ProcessLookupError:
                break
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        if self.exit_code is None:
            try:
                self.exit_code = self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass


def tail(path: str, n: int = 15) -> str:
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return "(no log)"


class Bench:
    def __init__(self, args: argparse.Namespace, work: str):
        self.args = args
        self.work = work
        self.real_rsync = shutil.which("rsync") or "/usr/bin/rsync"
        self.run_seq = 0
        self.problems: list[str] = []

    # -- starting ------------------------------------------------------------------------------------------------

    def new_run_dir(self, tag: str) -> str:
        self.run_seq += 1
        d = os.path.join(self.work, "runs", f"{self.run_seq:03d}-{tag}")
        os.makedirs(d)
        return d

    def make_wrapper(self, run_dir: str) -> tuple[str, str]:
        bindir = os.path.join(run_dir, "bin")
        os.makedirs(bindir)
        counter = os.path.join(run_dir, "rsync-count")
        wrapper = os.path.join(bindir, "rsync")
        with open(wrapper, "w") as f:
            f.write(WRAPPER.format(counter=counter, rsync=self.real_rsync))
        os.chmod(wrapper, 0o755)
        return bindir, counter

    def start(self, name: str, src: str, dst: str, run_dir: str) -> Running:
        bindir, counter = self.make_wrapper(run_dir)
        env = dict(os.environ)
        env["PATH"] = bindir + os.pathsep + env.get("PATH", "/usr/bin:/bin")
        env.pop("NOTIFY_SOCKET", None)
        sock = None
        if name.startswith("sersyncd"):
            if name in WATCHER_OF:
                env["SERSYNCD_WATCHER"] = WATCHER_OF[name]
            conf = os.path.join(run_dir, "confxml.xml")
            with open(conf, "w") as f:
                f.write(f"""<?xml version="1.0" encoding="UTF-8"?>
<head version="2.5">
  <sersync>
    <localpath watch="{src}">
      <remote path="{dst}"/>
    </localpath>
    <rsync>
      <commonParams params="-a"/>
    </rsync>
    <state dir="{run_dir}/state"/>
  </sersync>
</head>
""")
            sock_path = os.path.join(run_dir, "notify.sock")
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            sock.bind(sock_path)
            env["NOTIFY_SOCKET"] = sock_path
            argv = [SERSYNCD_BIN, "-o", conf]
        elif name == "lsyncd":
            conf = os.path.join(run_dir, "lsyncd.conf.lua")
            with open(conf, "w") as f:
                f.write("settings{ nodaemon=true }\n"
                        f'sync{{ default.rsync, source="{src}", target="{dst}", delay=1,\n'
                        f'       rsync={{ archive=true, binary="{bindir}/rsync" }} }}\n')
            argv = ["lsyncd", "-nodaemon", conf]
        elif name == "inotifywait":
            argv = ["bash", "-c", INOTIFY_LOOP, "inotify-loop", src, dst]
        else:
            raise ValueError(name)
        out = open(os.path.join(run_dir, "out.log"), "wb")
        try:
            t0 = time.monotonic()
            proc = subprocess.Popen(argv, env=env, cwd=run_dir, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        except BaseException:
            if sock:
                sock.close()
            raise
        finally:
            out.close()
        r = Running(name, proc, t0, run_dir, counter)
        r.notify_sock = sock
        return r

    # -- readiness -----------------------------------------------------------------------------------------------

    def wait_ready(self, r: Running, ndirs: int, timeout: float = 300) -> dict:
        """Blocks until the contestant is ready; returns {'ready': s since start, ...}.

        sersyncd:    READY=1 on its NOTIFY_SOCKET (every watch placed).
        lsyncd:      'watching' = its first rsync started (lsyncd places all watches before it spawns the startup
                     rsync); 'ready' = the log line 'Startup of SRC -> DST finished.' (startup rsync done; only
                     then does it process events).
        inotifywait: its inotify fd holds ndirs watches (/proc/PID/fdinfo), polled every 100 ms.
        """
        deadline = time.monotonic() + timeout
        res: dict = {}
        if r.name.startswith("sersyncd"):
            assert r.notify_sock is not None
            # the longest silence on the socket before READY=1 (STATUS= lines while placing watches)
            last_msg, gap = r.start, 0.0
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise BenchError("sersyncd: no READY=1 before the deadline")
                r.notify_sock.settimeout(min(left, 0.2))
                try:
                    msg = r.notify_sock.recv(4096).decode(errors="replace")
                except socket.timeout:
                    r.check_alive("starting")
                    continue
                now = time.monotonic()
                if any(line.startswith("STATUS=") for line in msg.split("\n")):
                    gap = max(gap, now - last_msg)
                    last_msg = now
                if "READY=1" in msg.split("\n"):
                    res["ready"] = now - r.start
                    res["status_gap"] = max(gap, now - last_msg)
                    return res
        if r.name == "lsyncd":
            needle = b"Startup of "
            while True:
                if "watching" not in res and r.rsync_count() > 0:
                    res["watching"] = time.monotonic() - r.start
                try:
                    with open(r.log_path, "rb") as f:
                        text = f.read()
                except OSError:
                    text = b""
                if needle in text and b"finished." in text[text.find(needle):]:
                    res["ready"] = time.monotonic() - r.start
                    res.setdefault("watching", res["ready"])
                    return res
                r.check_alive("starting")
                if time.monotonic() > deadline:
                    raise BenchError("lsyncd: startup not finished before the deadline")
                time.sleep(0.01)
        # inotifywait loop
        while True:
            wp = r.watcher_pid()
            if wp > 0:
                n = inotify_watch_count(wp)
                if n is not None and n >= ndirs:
                    res["ready"] = time.monotonic() - r.start
                    return res
            r.check_alive("starting")
            if time.monotonic() > deadline:
                raise BenchError("inotifywait: watches not placed before the deadline")
            time.sleep(0.1)

    # -- phases --------------------------------------------------------------------------------------------------

    def phase_latency(self, name: str) -> dict:
        writes = self.args.writes
        samples: list[float] = []
        missed = 0
        for rep in range(self.args.latency_runs):
            run_dir = self.new_run_dir(f"lat-{name}")
            src, dst = os.path.join(run_dir, "src"), os.path.join(run_dir, "dst")
            os.makedirs(src)
            os.makedirs(dst)
            r = self.start(name, src, dst, run_dir)
            try:
                self.wait_ready(r, 1)
                time.sleep(1.5)  # let startup work (lsyncd's trailing events, JIT) settle before the first write
                payload = b"latency probe\n" * 300  # 4.2 KB
                pending: dict[int, float] = {}
                next_write = time.monotonic()
                i = 0
                deadline_per_file = 10.0
                while i < writes or pending:
                    now = time.monotonic()
                    if i < writes and now >= next_write:
                        with open(os.path.join(src, f"f{i:03d}.txt"), "wb") as f:
                            f.write(payload)
                        pending[i] = time.monotonic()  # just after close()
                        i += 1
                        next_write += self.args.write_interval
                    for k, t0 in list(pending.items()):
                        try:
                            st = os.stat(os.path.join(dst, f"f{k:03d}.txt"))
                            ok = st.st_size == len(payload)
                        except FileNotFoundError:
                            ok = False
                        now = time.monotonic()
                        if ok:
                            samples.append(now - t0)
                            del pending[k]
                        elif now - t0 > deadline_per_file:
                            missed += 1
                            del pending[k]
                    time.sleep(0.002)
                r.check_alive("in the latency phase")
            finally:
                r.stop()
                self.note_exit(r)
                shutil.rmtree(run_dir, ignore_errors=True)
        return {"samples": samples, "missed": missed}

    def phase_storm(self, name: str, tree: str, expected: dict) -> list[dict]:
        results = []
        for rep in range(self.args.storm_runs):
            run_dir = self.new_run_dir(f"storm-{name}")
            src, dst = os.path.join(run_dir, "src"), os.path.join(run_dir, "dst")
            os.makedirs(src)
            os.makedirs(dst)
            r = self.start(name, src, dst, run_dir)
            try:
                self.wait_ready(r, 1)
                time.sleep(1.5)
                count0, cpu0 = r.rsync_count(), r.cpu()
                t_cp0 = time.monotonic()
                subprocess.run(["cp", "-r", tree, os.path.join(src, "storm")], check=True)
                t_cp1 = time.monotonic()
                lag = None
                while time.monotonic() - t_cp1 < self.args.storm_deadline:
                    if snapshot(os.path.join(dst, "storm")) == expected:
                        lag = time.monotonic() - t_cp1
                        break
                    r.check_alive("in the storm")
                    time.sleep(0.1)
                # let the rsyncs of this storm finish: until no new rsync started for 1 s (at most 5 s), so that
                # the count and CPU cover the storm's work, not just its first part
                settle_end = time.monotonic() + 5
                last, last_change = r.rsync_count(), time.monotonic()
                while time.monotonic() < settle_end and time.monotonic() - last_change < 1.0:
                    time.sleep(0.1)
                    c = r.rsync_count()
                    if c != last:
                        last, last_change = c, time.monotonic()
                still_busy = time.monotonic() - last_change < 1.0
                res = {
                    "cp": t_cp1 - t_cp0,
                    "lag": lag,
                    "rsyncs": r.rsync_count() - count0,
                    "cpu": r.cpu() - cpu0,
                    "busy": still_busy,
                }
                log(f"  storm {name} #{rep + 1}: cp {res['cp']:.2f} s, lag "
                    f"{'timeout' if lag is None else f'{lag:.2f} s'}, {res['rsyncs']} rsyncs, "
                    f"cpu {res['cpu']:.2f} s{' (still starting rsyncs)' if still_busy else ''}")
                results.append(res)
            finally:
                r.stop()
                self.note_exit(r)
                shutil.rmtree(run_dir, ignore_errors=True)
        return results

    def phase_scale(self, name: str, src: str, ndirs: int, runs: int, timeout: float = 600) -> list[dict]:
        results = []
        for rep in range(runs):
            run_dir = self.new_run_dir(f"scale-{name}")
            dst = os.path.join(run_dir, "dst")
            os.makedirs(dst)
            r = self.start(name, src, dst, run_dir)
            try:
                res = self.wait_ready(r, ndirs, timeout=timeout)
                res["rss_kb"] = r.rss_kb()
                res["watches"] = inotify_watch_count(r.watcher_pid())
                log(f"  scale {name} #{rep + 1} ({ndirs} dirs): " + ", ".join(
                    f"{k} {v:.2f} s" if isinstance(v, float) else f"{k} {v}" for k, v in res.items()))
                if res["watches"] is not None and res["watches"] < ndirs:
                    self.problems.append(f"{name}: only {res['watches']} inotify watches at ready, "
                                         f"{ndirs} directories")
                results.append(res)
            finally:
                r.stop()
                self.note_exit(r)
                shutil.rmtree(run_dir, ignore_errors=True)
        return results

    def note_exit(self, r: Running) -> None:
        # lsyncd exits 143 on TERM by design; bash dies from the signal (-15)
        ok = {"lsyncd": (143, 0), "inotifywait": (-15, 143, 0)}.get(r.name, (0,))
        if r.exit_code not in ok:
            msg = f"{r.name}: exit status {r.exit_code} after SIGTERM (log {r.log_path}): {tail(r.log_path, 5)}"
            self.problems.append(msg)
            log(msg)


def snapshot(root: str) -> dict:
    """{relative path: size} for files, {relative path: -1} for directories, below root."""
    out: dict = {}
    stack = [("", root)]
    while stack:
        rel, path = stack.pop()
        try:
            it = os.scandir(path)
        except (FileNotFoundError, NotADirectoryError):
            continue
        with it:
            for e in it:
                r = rel + "/" + e.name if rel else e.name
                try:
                    if e.is_dir(follow_symlinks=False):
                        out[r] = -1
                        stack.append((r, e.path))
                    else:
                        out[r] = e.stat(follow_symlinks=False).st_size
                except FileNotFoundError:
                    continue
    return out


def rsync_floor(work: str, rsync: str, n: int = 10) -> float:
    """Median wall time of one bare local rsync of one 4 KB file (what any contestant pays per batch at least)."""
    d = os.path.join(work, "floor")
    os.makedirs(os.path.join(d, "src"))
    os.makedirs(os.path.join(d, "dst"))
    times = []
    try:
        for i in range(n):
            with open(os.path.join(d, "src", f"f{i}"), "wb") as f:
                f.write(b"x" * 4096)
            t0 = time.monotonic()
            subprocess.run([rsync, "-a", os.path.join(d, "src", f"f{i}"), os.path.join(d, "dst") + "/"], check=True)
            times.append(time.monotonic() - t0)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    return statistics.median(times)


def build_storm_tree(root: str, tops: int, subs: int, files: int) -> int:
    rnd = random.Random(42)
    total = 0
    for t in range(tops):
        for s in range(subs):
            d = os.path.join(root, f"t{t:03d}", f"s{s:02d}")
            os.makedirs(d)
            for k in range(files):
                size = rnd.randint(1024, 7168)
                with open(os.path.join(d, f"file{k:02d}.dat"), "wb") as f:
                    f.write(rnd.randbytes(size))
                total += size
    return total


def build_scale_tree(root: str, tops: int, subs: int, file_each: bool = False) -> int:
    """tops x subs leaf directories (with one small file each if file_each); relative calls (chdir, then plain
    names) keep the path lookups short, so a million directories take well under a minute."""
    os.makedirs(root)
    cwd = os.getcwd()
    try:
        for t in range(tops):
            base = os.path.join(root, f"d{t:03d}")
            os.mkdir(base)
            os.chdir(base)
            for s in range(subs):
                leaf = f"{s:04d}"
                os.mkdir(leaf)
                if file_each:
                    os.close(os.open(f"{leaf}/f", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
    finally:
        os.chdir(cwd)
    return 1 + tops + tops * subs  # the root, the top dirs, the leaves


# ----------------------------------------------------------------------------------------------------------------
# fanout: one source, N rsync daemon targets (the modules of one rsync daemon on 127.0.0.1, each connection its own
# forked process). sersync's <userDefinedPort> is shared by every target, so the N targets are N modules on one port.


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_fanout_rsyncd(run_dir: str, rsync: str, n: int) -> tuple[subprocess.Popen, int, list[str]]:
    """An rsync daemon on 127.0.0.1:PORT with modules m00..m(n-1), each an empty directory; returns once it listens."""
    dirs = []
    conf = ["use chroot = no", "uid = root", "gid = root", "max connections = 0", "reverse lookup = no",
            "munge symlinks = no", f"pid file = {run_dir}/rsyncd.pid"]
    for i in range(n):
        d = os.path.join(run_dir, "targets", f"m{i:02d}")
        os.makedirs(d)
        dirs.append(d)
        conf += [f"[m{i:02d}]", f"    path = {d}", "    read only = no"]
    with open(os.path.join(run_dir, "rsyncd.conf"), "w") as f:
        f.write("\n".join(conf) + "\n")
    for _ in range(5):
        port = free_port()
        proc = subprocess.Popen([rsync, "--daemon", "--no-detach", "--address=127.0.0.1", f"--port={port}",
                                 f"--config={run_dir}/rsyncd.conf", f"--log-file={run_dir}/rsyncd.log"],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                return proc, port, dirs
            except OSError:
                time.sleep(0.05)
        stop_pid_group(proc)
    raise BenchError("the fan-out rsync daemon did not listen")


def stop_pid_group(proc: subprocess.Popen) -> None:
    """SIGKILL a process group we started (its leader's PID), then reap the leader."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


def start_fanout_contestant(bench: "Bench", name: str, src: str, port: int, n: int, run_dir: str) -> Running:
    """sersyncd with n <remote ip="127.0.0.1" name="mNN"/> and -n WORKERS, or lsyncd with n sync{} blocks."""
    bindir, counter = bench.make_wrapper(run_dir)
    env = dict(os.environ)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "/usr/bin:/bin")
    env.pop("NOTIFY_SOCKET", None)
    sock = None
    if name == "sersyncd":
        remotes = "\n".join(f'      <remote ip="127.0.0.1" name="m{i:02d}"/>' for i in range(n))
        conf = os.path.join(run_dir, "confxml.xml")
        with open(conf, "w") as f:
            f.write(f"""<?xml version="1.0" encoding="UTF-8"?>
<head version="2.5">
  <sersync>
    <localpath watch="{src}">
{remotes}
    </localpath>
    <rsync>
      <commonParams params="-a"/>
      <userDefinedPort start="true" port="{port}"/>
    </rsync>
    <state dir="{run_dir}/state"/>
  </sersync>
  <status socket="{run_dir}/status.sock"/>
</head>
""")
        sock_path = os.path.join(run_dir, "notify.sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(sock_path)
        env["NOTIFY_SOCKET"] = sock_path
        argv = [SERSYNCD_BIN, "-n", str(bench.args.fanout_workers), "-o", conf]
    elif name == "lsyncd":
        conf = os.path.join(run_dir, "lsyncd.conf.lua")
        with open(conf, "w") as f:
            f.write("settings{ nodaemon=true }\n")
            for i in range(n):
                f.write(f'sync{{ default.rsync, source="{src}", target="rsync://127.0.0.1:{port}/m{i:02d}/", delay=1,\n'
                        f'       rsync={{ archive=true, binary="{bindir}/rsync" }} }}\n')
        argv = ["lsyncd", "-nodaemon", conf]
    else:
        raise BenchError(f"the fanout phase has no setup for {name}")
    out = open(os.path.join(run_dir, "out.log"), "wb")
    try:
        t0 = time.monotonic()
        proc = subprocess.Popen(argv, env=env, cwd=run_dir, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    except BaseException:
        if sock:
            sock.close()
        raise
    finally:
        out.close()
    r = Running(name, proc, t0, run_dir, counter)
    r.notify_sock = sock
    return r


def fanout_wait_ready(r: Running, n: int, timeout: float = 300) -> None:
    """sersyncd: READY=1. lsyncd: n 'Startup of ... finished.' lines (one per sync{})."""
    if r.name.startswith("sersyncd"):
        deadline = time.monotonic() + timeout
        assert r.notify_sock is not None
        while time.monotonic() < deadline:
            r.notify_sock.settimeout(0.2)
            try:
                if "READY=1" in r.notify_sock.recv(4096).decode(errors="replace").split("\n"):
                    return
            except socket.timeout:
                r.check_alive("starting")
        raise BenchError("sersyncd: no READY=1 before the deadline")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(r.log_path, "rb") as f:
                if f.read().count(b"finished.") >= n:
                    return
        except OSError:
            pass
        r.check_alive("starting")
        time.sleep(0.05)
    raise BenchError(f"{r.name}: not all {n} startups finished before the deadline")


def tree_complete(dst: str, expected: list[tuple[str, int]]) -> bool:
    """Every expected (relative path, size) is in dst; stops at the first one missing (cheap while incomplete)."""
    for rel, size in expected:
        try:
            if os.stat(os.path.join(dst, rel)).st_size != size:
                return False
        except FileNotFoundError:
            return False
    return True


def wait_all(dirs: list[str], done, deadline: float) -> tuple[float | None, float]:
    """Polls until done(dir) for every dir; returns (time until the last, time until the first), from the call."""
    t0 = time.monotonic()
    left = list(dirs)
    first = None
    while left:
        left = [d for d in left if not done(d)]
        if len(left) < len(dirs) and first is None:
            first = time.monotonic() - t0
        if not left:
            break
        if time.monotonic() > deadline:
            return None, first or float("nan")
        time.sleep(0.002)
    return time.monotonic() - t0, first if first is not None else time.monotonic() - t0


def phase_fanout(bench: "Bench", name: str, storm_tree: str) -> dict:
    """Per run: start the contestant on an empty source with N empty targets; then isolated 4 KB files (the next one
    once the last target has the previous one and 0.5 s passed), time until the last of N has each; then
    2,000-file storms (`cp -r` of the fixture into a new directory), time from the end of cp until all N hold it."""
    n = bench.args.fanout_targets
    expected = sorted((os.path.relpath(os.path.join(d, f), storm_tree), os.path.getsize(os.path.join(d, f)))
                      for d, _, fs in os.walk(storm_tree) for f in fs)
    res: dict = {"last": [], "first": [], "storm": [], "missed": 0, "rsyncs_per_change": [], "storm_rsyncs": []}
    for rep in range(bench.args.fanout_runs):
        run_dir = bench.new_run_dir(f"fanout-{name}")
        src = os.path.join(run_dir, "src")
        os.makedirs(src)
        rsyncd, port, dirs = start_fanout_rsyncd(run_dir, bench.real_rsync, n)
        r = None
        try:
            r = start_fanout_contestant(bench, name, src, port, n, run_dir)
            fanout_wait_ready(r, n)
            time.sleep(2.0)  # startup rsyncs and trailing events settle
            payload = b"fanout probe\n" * 315  # 4.1 KB
            for i in range(bench.args.fanout_changes):
                rel = f"iso-{rep}-{i:03d}.txt"
                c0 = r.rsync_count()
                with open(os.path.join(src, rel), "wb") as f:
                    f.write(payload)
                last, first = wait_all(dirs, lambda d: os.path.exists(os.path.join(d, rel)) and
                                       os.path.getsize(os.path.join(d, rel)) == len(payload), time.monotonic() + 30)
                if last is None:
                    res["missed"] += 1
                else:
                    res["last"].append(last)
                    res["first"].append(first)
                    res["rsyncs_per_change"].append(r.rsync_count() - c0)
                r.check_alive("in the fanout phase")
                time.sleep(0.5)
            for k in range(bench.args.fanout_storms):
                sub = f"storm-{rep}-{k}"
                c0 = r.rsync_count()
                subprocess.run(["cp", "-r", storm_tree, os.path.join(src, sub)], check=True)
                t_cp = time.monotonic()
                want = [(os.path.join(sub, rel), size) for rel, size in expected]
                last, _ = wait_all(dirs, lambda d: tree_complete(d, want), t_cp + bench.args.storm_deadline)
                res["storm"].append(last)
                res["storm_rsyncs"].append(r.rsync_count() - c0)
                log(f"  fanout {name} #{rep + 1} storm {k + 1}: all {n} targets "
                    f"{'timeout' if last is None else f'{last:.2f} s'} after cp ended, "
                    f"{res['storm_rsyncs'][-1]} rsyncs started by then")
                r.check_alive("in the fanout storm")
                time.sleep(2.0)
            log(f"  fanout {name} #{rep + 1}: isolated change on the last of {n}: median "
                f"{pct(res['last'], .5) * 1000:.0f} ms, p95 {pct(res['last'], .95) * 1000:.0f} ms so far")
        finally:
            if r is not None:
                r.stop()
                bench.note_exit(r)
            stop_pid_group(rsyncd)
            note_fanout_log(bench, name, run_dir)
            # 50 targets x 6,000 storm files: rm is minutes faster than shutil.rmtree on a loaded machine
            subprocess.run(["rm", "-rf", "--one-file-system", "--", run_dir], check=False)
    return res


def note_fanout_log(bench: "Bench", name: str, run_dir: str) -> None:
    """sersyncd's warnings and errors of a fanout run (a failed rsync would explain a slow figure) go to the
    problems list, at most five per run."""
    if not name.startswith("sersyncd"):
        return
    try:
        with open(os.path.join(run_dir, "out.log"), errors="replace") as f:
            bad = [line.rstrip() for line in f if "[WRN]" in line or "[ERR]" in line]
    except OSError:
        return
    for line in bad[:5]:
        bench.problems.append(f"fanout {name}: {line}")
    if len(bad) > 5:
        bench.problems.append(f"fanout {name}: ... and {len(bad) - 5} more warning/error lines")


def fanout_rows(args, fanout: dict, contestants: list[str]) -> list[tuple[str, list[str]]]:
    n = args.fanout_targets
    shape = f"{n} rsync daemon targets, sersyncd -n {args.fanout_workers}"
    changes = args.fanout_changes * args.fanout_runs

    def cells(fmt) -> list[str]:
        return [fmt(fanout[c]) if c in fanout else "-" for c in contestants]

    return [
        (f"fanout: isolated change on the LAST of {n}, median ({changes} changes) [{shape}]",
         cells(lambda f: f"{pct(f['last'], .5) * 1000:.0f} ms")),
        ("fanout: isolated change on the last, p95 / not arrived in 30 s",
         cells(lambda f: f"{pct(f['last'], .95) * 1000:.0f} ms / {f['missed']}")),
        ("fanout: isolated change on the FIRST target, median",
         cells(lambda f: f"{pct(f['first'], .5) * 1000:.0f} ms")),
        ("fanout: rsync processes per isolated change, median",
         cells(lambda f: f"{med(f['rsyncs_per_change']) or 0:.0f}")),
        (f"fanout: 2,000-file storm on all {n}, after `cp -r` ends, median of "
         f"{args.fanout_storms * args.fanout_runs}",
         cells(lambda f: fmt_s(med_or_timeout(f['storm'])) + runs_str(f['storm']))),
        (f"fanout: rsync processes per storm (all {n} targets), median",
         cells(lambda f: f"{med(f['storm_rsyncs']) or 0:.0f}")),
    ]


# ----------------------------------------------------------------------------------------------------------------
# Reporting


def pct(values: list[float], p: float) -> float:
    v = sorted(values)
    if not v:
        return float("nan")
    k = (len(v) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def cmd_out(argv: list[str]) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "?"


def machine_info() -> list[str]:
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            mem = f"{int(f.readline().split()[1]) // 1024} MiB"
    except OSError:
        pass
    rev = cmd_out(["git", "-C", REPO, "rev-parse", "--short", "HEAD"])
    dirty = cmd_out(["git", "-C", REPO, "status", "--porcelain", "--", "src"])
    return [
        f"command:   {' '.join(shlex.quote(a) for a in [sys.executable] + sys.argv)}",
        f"date:      {time.strftime('%Y-%m-%d %H:%M:%S %Z')}",
        f"machine:   nproc {os.cpu_count()}, {cpu}, {mem} RAM, load avg {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
        f"kernel:    {platform.release()}",
        f"fs /tmp:   {cmd_out(['stat', '-f', '-c', '%T', '/tmp'])}",
        f"rsync:     {cmd_out(['rsync', '--version']).splitlines()[0] if cmd_out(['rsync', '--version']) else '?'}",
        f"lsyncd:    {cmd_out(['lsyncd', '--version'])}",
        f"inotify:   {cmd_out(['inotifywait', '--help']).splitlines()[0] if cmd_out(['inotifywait', '--help']) else '?'}",
        f"sersyncd:  {rev}{' (src/ modified)' if dirty else ''}, {cmd_out([SERSYNCD_BIN, '--version'])}",
        f"python:    {platform.python_version()}",
    ]


def fmt_s(v, digits=2):
    return "timeout" if v is None else f"{v:.{digits}f} s"


def print_table(rows: list[tuple[str, list[str]]], columns: list[str]) -> str:
    header = ["figure"] + [COLUMN_TITLES[c] for c in columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for label, cells in rows:
        lines.append("| " + " | ".join([label] + cells) + " |")
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------------------------


def ensure_tools(args) -> None:
    missing = [t for t in ("lsyncd", "inotifywait") if shutil.which(t) is None]
    if missing:
        if os.geteuid() != 0:
            raise BenchError(f"missing {', '.join(missing)}; install lsyncd and inotify-tools (needs root)")
        log("installing lsyncd inotify-tools with apt-get")
        subprocess.run(["apt-get", "install", "-y", "lsyncd", "inotify-tools"], check=True)
    if shutil.which("rsync") is None:
        raise BenchError("rsync not found")
    if args.binary is None and not args.no_build:
        argv = ["dotnet", "publish", "src/sersyncd/sersyncd.csproj", "-c", "Release", "-r", "linux-x64", "-o", AOT_DIR,
                "-nologo", "-v", "q"]
        log("publishing sersyncd with NativeAOT (" + " ".join(argv) + ")")
        r = subprocess.run(argv, cwd=REPO, capture_output=True, text=True)
        if r.returncode != 0:
            raise BenchError("dotnet publish failed:\n" + r.stdout[-3000:] + r.stderr[-3000:])
    if not os.access(SERSYNCD_BIN, os.X_OK):
        raise BenchError(f"{SERSYNCD_BIN} not found; publish it (drop --no-build) or give --binary")


# -- phase sshlat (issue 11): one file to an ssh target on loopback, kept connection or not, next to a local target --

SSHD = "/usr/sbin/sshd"
SSHLAT_MODES = ("local", "ssh-kept", "ssh-login")
SSHLAT_TITLES = {
    "local": "local target",
    "ssh-kept": "ssh, connection kept open",
    "ssh-login": "ssh, keepOpen=\"false\"",
}


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateSshd:
    """sshd -D -e on 127.0.0.1 and a free port, with generated host and client keys (as tests/SerSync.Testing/
    SshServer.cs does); logs in as the current user. Stopped by its PID."""

    def __init__(self, work: str, sshlat_bashrc: bool = False):
        self.dir = os.path.join(work, "sshd")
        os.makedirs(self.dir)
        self.host_key = os.path.join(self.dir, "host_ed25519")
        self.client_key = os.path.join(self.dir, "client_ed25519")
        for key in (self.host_key, self.client_key):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "sersyncd-bench", "-f", key],
                           check=True, stdin=subprocess.DEVNULL)
        auth = os.path.join(self.dir, "authorized_keys")
        shutil.copyfile(self.client_key + ".pub", auth)
        os.chmod(auth, 0o600)
        os.makedirs("/run/sshd", exist_ok=True)  # Debian's sshd wants it; containers lack it
        self.port = free_loopback_port()
        conf = os.path.join(self.dir, "sshd_config")
        with open(conf, "w") as f:
            f.write(f"ListenAddress 127.0.0.1\nPort {self.port}\nHostKey {self.host_key}\nAuthorizedKeysFile {auth}\n"
                    f"PidFile {self.dir}/sshd.pid\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
                    "PubkeyAuthentication yes\nPermitRootLogin prohibit-password\nStrictModes no\nUsePAM no\n"
                    "UseDNS no\nPrintMotd no\nLogLevel ERROR\nMaxStartups 200\nMaxSessions 100\n"
                    # Debian's bash runs ~/.bashrc for a command over ssh when it is the top-level shell; SHLVL=1
                    # makes it the second. Else the figure is the login user's rc files (here, pyenv init: 260 ms
                    # per command), not the transport. `--sshlat-bashrc` leaves it out to show that cost.
                    + ("" if sshlat_bashrc else "SetEnv SHLVL=1\n"))
        self.proc = subprocess.Popen([SSHD, "-D", "-e", "-f", conf], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.dir, "sshd.log"), "wb"),
                                     start_new_session=True)
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise BenchError(f"sshd on port {self.port} did not start: {tail(os.path.join(self.dir, 'sshd.log'))}")
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()  # by PID
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def sshlat_config(mode: str, src: str, dst: str, run_dir: str, sshd: PrivateSshd) -> str:
    if mode == "local":
        remote = f'<remote path="{dst}"/>'
    else:
        keep = "true" if mode == "ssh-kept" else "false"
        remote = (f'<remote ip="{getpass_user()}@127.0.0.1" name="{dst}"><rsync><ssh start="true" '
                  'command="ssh -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null '
                  f'-o LogLevel=ERROR" port="{sshd.port}" identity="{sshd.client_key}" keepOpen="{keep}"/></rsync></remote>')
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<head version="2.5">
  <status socket="{run_dir}/status.sock"/>
  <sersync>
    <localpath watch="{src}">
      {remote}
    </localpath>
    <rsync>
      <commonParams params="-a"/>
    </rsync>
    <state dir="{run_dir}/state"/>
  </sersync>
</head>
"""


def getpass_user() -> str:
    import pwd
    return pwd.getpwuid(os.geteuid()).pw_name


def ssh_masters_under(directory: str) -> list[int]:
    """PIDs of ssh masters (-M) whose control socket (-S) lies under directory."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if b"-M" in argv and b"-S" in argv:
            i = argv.index(b"-S")
            if i + 1 < len(argv) and argv[i + 1].startswith(directory.encode() + b"/"):
                found.append(int(entry))
    return found


def one_file_latencies(src: str, dst: str, writes: int, interval: float, check_alive) -> tuple[list[float], int]:
    """Writes f000.txt... (4.2 KB each) every interval s; each sample is close() → the file complete on dst."""
    payload = b"latency probe\n" * 300
    samples: list[float] = []
    missed = 0
    pending: dict[int, float] = {}
    next_write = time.monotonic()
    i = 0
    while i < writes or pending:
        now = time.monotonic()
        if i < writes and now >= next_write:
            with open(os.path.join(src, f"f{i:03d}.txt"), "wb") as f:
                f.write(payload)
            pending[i] = time.monotonic()
            i += 1
            next_write += interval
        for k, t0 in list(pending.items()):
            try:
                ok = os.stat(os.path.join(dst, f"f{k:03d}.txt")).st_size == len(payload)
            except FileNotFoundError:
                ok = False
            now = time.monotonic()
            if ok:
                samples.append(now - t0)
                del pending[k]
            elif now - t0 > 10.0:
                missed += 1
                del pending[k]
        time.sleep(0.002)
    check_alive()
    return samples, missed


def sshlat_phase(bench: "Bench") -> dict:
    """For each mode, latency_runs fresh sersyncd runs of `writes` writes; returns {mode: {samples, missed}}."""
    sshd = PrivateSshd(bench.work, bench.args.sshlat_bashrc)
    results: dict = {}
    try:
        for rep in range(bench.args.latency_runs):
            for mode in SSHLAT_MODES:  # interleaved, so drifting machine load hits every mode alike
                run_dir = bench.new_run_dir(f"sshlat-{mode}")
                src, dst = os.path.join(run_dir, "src"), os.path.join(run_dir, "dst")
                os.makedirs(src)
                os.makedirs(dst)
                conf = os.path.join(run_dir, "confxml.xml")
                with open(conf, "w") as f:
                    f.write(sshlat_config(mode, src, dst, run_dir, sshd))
                bindir, counter = bench.make_wrapper(run_dir)
                env = dict(os.environ)
                env["PATH"] = bindir + os.pathsep + env.get("PATH", "/usr/bin:/bin")
                sock_path = os.path.join(run_dir, "notify.sock")
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                sock.bind(sock_path)
                env["NOTIFY_SOCKET"] = sock_path
                with open(os.path.join(run_dir, "out.log"), "wb") as out:
                    t0 = time.monotonic()
                    proc = subprocess.Popen([SERSYNCD_BIN, "-o", conf], env=env, cwd=run_dir, stdin=subprocess.DEVNULL,
                                            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
                r = Running("sersyncd", proc, t0, run_dir, counter)
                r.notify_sock = sock
                try:
                    bench.wait_ready(r, 1)
                    time.sleep(1.5)  # the startup full push, and the master's handshake, settle first
                    if mode == "ssh-kept" and not ssh_masters_under(os.path.join(run_dir, "state", "ssh")):
                        bench.problems.append(f"sshlat run {rep}: no ssh master running 1.5 s after READY")
                    samples, missed = one_file_latencies(src, dst, bench.args.writes, bench.args.write_interval,
                                                         lambda: r.check_alive("in the sshlat phase"))
                    res = results.setdefault(mode, {"samples": [], "missed": 0, "rsyncs": 0})
                    res["samples"] += samples
                    res["missed"] += missed
                    res["rsyncs"] += r.rsync_count()
                finally:
                    r.stop()
                    bench.note_exit(r)
                    left = ssh_masters_under(os.path.join(run_dir, "state", "ssh"))
                    if left:
                        bench.problems.append(f"sshlat {mode}: ssh master(s) {left} outlived sersyncd")
                    if os.path.isdir(os.path.join(run_dir, "state", "ssh")) and os.listdir(os.path.join(run_dir, "state", "ssh")):
                        bench.problems.append(f"sshlat {mode}: control socket left after stop")
                    shutil.rmtree(run_dir, ignore_errors=True)
                s = results[mode]["samples"]
                log(f"  sshlat {mode}: {len(s)} samples so far, median {pct(s, .5) * 1000:.0f} ms")
    finally:
        sshd.stop()
    return results


def sshlat_report(results: dict, writes: int, runs: int) -> str:
    cols = [SSHLAT_TITLES[m] for m in SSHLAT_MODES]
    rows = [
        (f"sshlat: 1 file written → on target, median ({writes * runs} writes)",
         [f"{pct(results[m]['samples'], .5) * 1000:.0f} ms" for m in SSHLAT_MODES]),
        ("sshlat: p95", [f"{pct(results[m]['samples'], .95) * 1000:.0f} ms" for m in SSHLAT_MODES]),
        ("sshlat: max / not arrived in 10 s",
         [f"{max(results[m]['samples'], default=float('nan')) * 1000:.0f} ms / {results[m]['missed']}" for m in SSHLAT_MODES]),
        ("sshlat: median / local median",
         [f"{pct(results[m]['samples'], .5) / pct(results['local']['samples'], .5):.2f}x" for m in SSHLAT_MODES]),
    ]
    widths = [max(len(r[0]) for r in rows)] + [max(len(c), *(len(r[1][i]) for r in rows)) for i, c in enumerate(cols)]
    line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"
    out = [line(["sersyncd, one target", *cols]), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line([r[0], *r[1]]) for r in rows]
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    ap.add_argument("--no-build", action="store_true",
                    help="use the NativeAOT binary already published to bench/.aot/ (no dotnet publish)")
    ap.add_argument("--binary", metavar="PATH", help="run this sersyncd binary (nothing is built)")
    ap.add_argument("--scale1m-runs", type=int, default=1, help="runs per contestant of the scale1m phase")
    ap.add_argument("--fanout-targets", type=int, default=50, help="targets of the fanout phase")
    ap.add_argument("--fanout-workers", type=int, default=10, help="sersyncd -n in the fanout phase")
    ap.add_argument("--fanout-runs", type=int, default=2, help="runs per contestant of the fanout phase")
    ap.add_argument("--contestants", default=",".join(CONTESTANTS),
                    help="comma-separated subset of " + ",".join(CONTESTANTS))
    ap.add_argument("--phases", default="latency,storm,scale",
                    help="comma-separated subset of " + ",".join(PHASES) + " (scale1m, a million directories with "
                         "one file each; outage, an rsync daemon target killed for 20 s; fanout, fifty targets; and "
                         "sshlat, ssh vs local latency of sersyncd, only when named)")
    ap.add_argument("--outage-runs", type=int, default=3, help="runs per contestant of the outage phase")
    ap.add_argument("--sshlat-bashrc", action="store_true",
                    help="sshlat: let the login shell run ~/.bashrc for each remote command (the private sshd's "
                         "SetEnv SHLVL=1 is left out)")
    args = ap.parse_args()
    global SERSYNCD_BIN
    if args.binary:
        SERSYNCD_BIN = os.path.abspath(args.binary)

    args.write_interval = 0.5
    if args.quick:
        args.writes, args.latency_runs = 10, 1
        args.storm_shape, args.storm_runs = (20, 10, 10), 1  # 2,000 files in 200 leaf directories
        args.scale_shape, args.scale_runs = (5, 1000), 1  # 5,000 directories
        args.scale1m_shape = (20, 1000)  # 20,000 directories with a file each
        args.fanout_changes, args.fanout_storms = 5, 1
    else:
        args.writes, args.latency_runs = 30, 3
        args.storm_shape, args.storm_runs = (200, 10, 10), 3  # 20,000 files in 2,000 leaf directories
        args.scale_shape, args.scale_runs = (50, 1000), 3  # 50,000 directories
        args.scale1m_shape = (1000, 1000)  # 1,000,000 directories with a file each
        args.fanout_changes, args.fanout_storms = 20, 3
    args.storm_deadline = 120.0
    contestants = [c.strip() for c in args.contestants.split(",") if c.strip()]
    phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    for c in contestants:
        if c not in CONTESTANTS:
            ap.error(f"unknown contestant {c}")
    for p in phases:
        if p not in PHASES:
            ap.error(f"unknown phase {p}")

    t_begin = time.monotonic()
    old_watches = None
    work = None
    try:
        ensure_tools(args)
        want = WANT_WATCHES_1M if "scale1m" in phases else WANT_WATCHES
        with open(MAX_USER_WATCHES) as f:
            old_watches = f.read().strip()
        if int(old_watches) < want:
            try:
                with open(MAX_USER_WATCHES, "w") as f:
                    f.write(str(want))
                log(f"raised {MAX_USER_WATCHES} from {old_watches} to {want} (restored at the end)")
            except OSError as e:
                old_watches = None
                log(f"cannot raise {MAX_USER_WATCHES} ({e}); the scale phase may fail")
        else:
            old_watches = None

        work = tempfile.mkdtemp(prefix="sersyncd-bench-", dir="/tmp")
        bench = Bench(args, work)
        info = machine_info()

        storm_tree = scale_src = None
        storm_expected: dict = {}
        storm_bytes = ndirs = 0
        if "storm" in phases:
            tops, subs, files = args.storm_shape
            storm_tree = os.path.join(work, "fixtures", "storm")
            log(f"building the storm tree: {tops * subs * files} files in {tops * subs} leaf directories")
            storm_bytes = build_storm_tree(storm_tree, tops, subs, files)
            storm_expected = snapshot(storm_tree)
        if "scale" in phases:
            tops, subs = args.scale_shape
            scale_src = os.path.join(work, "fixtures", "scale")
            log(f"building the scale tree: {tops} x {subs} directories")
            ndirs = build_scale_tree(scale_src, tops, subs)
            snapshot(scale_src)  # warm the dentry cache alike for everyone
        scale1m_src = None
        ndirs1m = 0
        if "scale1m" in phases:
            tops, subs = args.scale1m_shape
            scale1m_src = os.path.join(work, "fixtures", "scale1m")
            log(f"building the scale1m tree: {tops} x {subs} directories, one file each")
            t0 = time.monotonic()
            ndirs1m = build_scale_tree(scale1m_src, tops, subs, file_each=True)
            snapshot(scale1m_src)
            log(f"  built and walked in {time.monotonic() - t0:.0f} s")

        fanout_tree = None
        if "fanout" in phases:
            fanout_tree = os.path.join(work, "fixtures", "fanout-storm")
            log("building the fanout storm tree: 2000 files in 200 leaf directories")
            build_storm_tree(fanout_tree, 20, 10, 10)

        floor_before = rsync_floor(work, bench.real_rsync)
        lat: dict = {}
        storm: dict = {}
        scale: dict = {}
        scale1m: dict = {}
        for c in contestants:
            if "latency" in phases:
                log(f"latency: {c} ({args.latency_runs} x {args.writes} writes)")
                lat[c] = bench.phase_latency(c)
                s = lat[c]["samples"]
                log(f"  latency {c}: median {pct(s, .5) * 1000:.0f} ms, p95 {pct(s, .95) * 1000:.0f} ms, "
                    f"missed {lat[c]['missed']}")
        for c in contestants:
            if "storm" in phases:
                log(f"storm: {c} ({args.storm_runs} runs)")
                storm[c] = bench.phase_storm(c, storm_tree, storm_expected)
        for c in contestants:
            if "scale" in phases:
                log(f"scale: {c} ({args.scale_runs} runs, {ndirs} directories)")
                scale[c] = bench.phase_scale(c, scale_src, ndirs, args.scale_runs)
        outage = {c: phase_outage(bench, c) for c in contestants} if "outage" in phases else {}
        sshlat = sshlat_phase(bench) if "sshlat" in phases else None  # sersyncd only, three targets kinds
        for c in contestants:
            if "scale1m" in phases:
                log(f"scale1m: {c} ({args.scale1m_runs} runs, {ndirs1m} directories)")
                scale1m[c] = bench.phase_scale(c, scale1m_src, ndirs1m, args.scale1m_runs, timeout=3600)

        fanout: dict = {}
        for c in contestants:
            if "fanout" in phases and c != "inotifywait":
                log(f"fanout: {c} ({args.fanout_runs} runs, {args.fanout_targets} targets)")
                fanout[c] = phase_fanout(bench, c, fanout_tree)

        # ------------------------------------------------------------------------------------------------------
        rows: list[tuple[str, list[str]]] = []
        if lat:
            n = args.writes * args.latency_runs
            rows.append((f"latency: 1 file written → on target, median ({n} writes)",
                         [f"{pct(lat[c]['samples'], .5) * 1000:.0f} ms" for c in contestants]))
            rows.append(("latency: p95",
                         [f"{pct(lat[c]['samples'], .95) * 1000:.0f} ms" for c in contestants]))
            rows.append(("latency: max / not arrived in 10 s",
                         [f"{max(lat[c]['samples'], default=float('nan')) * 1000:.0f} ms / {lat[c]['missed']}"
                          for c in contestants]))
        if storm:
            tops, subs, files = args.storm_shape
            label = f"{tops * subs * files:,} files ({storm_bytes / 1e6:.0f} MB), {tops * subs:,} dirs"
            rows.append((f"storm: lag after `cp -r` ends, median of {args.storm_runs} [{label}]",
                         [fmt_s(med_or_timeout([r['lag'] for r in storm[c]])) + runs_str(
                             [r['lag'] for r in storm[c]]) for c in contestants]))
            rows.append(("storm: rsync processes started, median",
                         [f"{med([r['rsyncs'] for r in storm[c]]):.0f}" + (
                             " (still running)" if any(r['busy'] for r in storm[c]) else "")
                          for c in contestants]))
            rows.append(("storm: CPU s of contestant + children, median",
                         [f"{med([r['cpu'] for r in storm[c]]):.2f} s" for c in contestants]))
            rows.append(("storm: `cp -r` duration, median",
                         [f"{med([r['cp'] for r in storm[c]]):.2f} s" for c in contestants]))
        if scale:
            rows.append((f"scale: start → ready, {ndirs:,} dirs, median of {args.scale_runs}",
                         [fmt_s(med([r['ready'] for r in scale[c]])) + runs_str([r['ready'] for r in scale[c]])
                          for c in contestants]))
            rows.append(("scale: start → all watches placed",
                         [fmt_s(med([r.get('watching', r['ready']) for r in scale[c]])) for c in contestants]))
            rows.append(("scale: RSS once ready, median",
                         [f"{med([r['rss_kb'] for r in scale[c]]) / 1024:.1f} MB" for c in contestants]))
            rows.append(("scale: inotify watches at ready",
                         [str(scale[c][-1]['watches']) for c in contestants]))
            rows.append(("scale: longest gap between STATUS= lines before READY",
                         [fmt_s(max(r['status_gap'] for r in scale[c])) if 'status_gap' in scale[c][0] else "-"
                          for c in contestants]))
        if scale1m:
            n = args.scale1m_runs
            rows.append((f"scale1m: start → ready, {ndirs1m:,} dirs + a file each, median of {n}",
                         [fmt_s(med([r['ready'] for r in scale1m[c]])) + runs_str([r['ready'] for r in scale1m[c]])
                          for c in contestants]))
            rows.append(("scale1m: start → all watches placed",
                         [fmt_s(med([r.get('watching', r['ready']) for r in scale1m[c]])) for c in contestants]))
            rows.append(("scale1m: RSS once ready, median",
                         [f"{med([r['rss_kb'] for r in scale1m[c]]) / 1024:.1f} MB" for c in contestants]))
            rows.append(("scale1m: inotify watches at ready",
                         [str(scale1m[c][-1]['watches']) for c in contestants]))
            rows.append(("scale1m: longest gap between STATUS= lines before READY",
                         [fmt_s(max(r['status_gap'] for r in scale1m[c])) if 'status_gap' in scale1m[c][0] else "-"
                          for c in contestants]))

        rows.extend(outage_rows(outage, contestants, args.outage_runs))
        if fanout:
            rows += fanout_rows(args, fanout, contestants)

        floor_after = rsync_floor(work, bench.real_rsync)
        info.append(f"rsync floor: one bare local rsync of one 4 KB file, median of 10: "
                    f"{floor_before * 1000:.0f} ms before the runs, {floor_after * 1000:.0f} ms after")
        info.append(f"load avg at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        total = time.monotonic() - t_begin
        print("\n".join(info))
        print()
        if rows:
            print(print_table(rows, contestants))
            print()
        if sshlat:
            print(sshlat_report(sshlat, args.writes, args.latency_runs))
            print()
        print(f"total run time: {total / 60:.1f} min")
        if bench.problems:
            print("\nproblems seen:")
            for p in bench.problems:
                print("  - " + p)
        return 0
    except BenchError as e:
        print(f"bench: {e}", file=sys.stderr)
        return 1
    finally:
        if work:
            shutil.rmtree(work, ignore_errors=True)
        if old_watches is not None:
            try:
                with open(MAX_USER_WATCHES, "w") as f:
                    f.write(old_watches)
                log(f"restored {MAX_USER_WATCHES} to {old_watches}")
            except OSError as e:
                log(f"could not restore {MAX_USER_WATCHES} to {old_watches}: {e}")


# ----------------------------------------------------------------------------------------------------------------
# The outage phase (issue 11): an rsync daemon target SIGKILLed for OUTAGE_SECONDS while a file is written every
# 200 ms, then started again on the same port; measured: from the moment its port accepts again until every file
# written before that moment is in its module. The writes go on after the return, so a contestant that only syncs
# on an event (the inotifywait loop) is not left waiting for one.

OUTAGE_SECONDS = 20.0
OUTAGE_WRITE_INTERVAL = 0.2
OUTAGE_DEADLINE = 90.0


def start_rsyncd(run_dir: str, module_dir: str, port: int) -> subprocess.Popen:
    """rsync --daemon on 127.0.0.1:port with one module "mod" (no auth); returns once the port accepts."""
    conf = os.path.join(run_dir, "rsyncd.conf")
    # As root the daemon would write as "nobody" into a module only root may write to: keep root's ids.
    ids = "uid = root\ngid = root\n" if os.geteuid() == 0 else ""
    with open(conf, "w") as f:
        f.write(f"use chroot = no\nreverse lookup = no\nmunge symlinks = no\n{ids}"
                f"pid file = {run_dir}/rsyncd.pid\n[mod]\n    path = {module_dir}\n    read only = no\n")
    log_file = open(os.path.join(run_dir, "rsyncd.out"), "ab")
    try:
        proc = subprocess.Popen(["rsync", "--daemon", "--no-detach", "--address=127.0.0.1", f"--port={port}",
                                 f"--config={conf}", f"--log-file={run_dir}/rsyncd.log"],
                                stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT)
    finally:
        log_file.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"rsync daemon on port {port} exited: {tail(os.path.join(run_dir, 'rsyncd.out'))}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc
        except OSError:
            time.sleep(0.005)
    proc.kill()
    proc.wait()
    raise BenchError(f"rsync daemon on port {port} did not listen")


def start_to_daemon(bench: "Bench", name: str, src: str, port: int, run_dir: str) -> Running:
    """The contestant mirroring src to rsync://127.0.0.1:port/mod/ (each with its defaults, as in start())."""
    bindir, counter = bench.make_wrapper(run_dir)
    env = dict(os.environ)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "/usr/bin:/bin")
    env.pop("NOTIFY_SOCKET", None)
    url = f"rsync://127.0.0.1:{port}/mod"
    sock = None
    if name.startswith("sersyncd"):
        if name in WATCHER_OF:
            env["SERSYNCD_WATCHER"] = WATCHER_OF[name]
        conf = os.path.join(run_dir, "confxml.xml")
        with open(conf, "w") as f:
            f.write(f"""<?xml version="1.0" encoding="UTF-8"?>
<head version="2.5">
  <sersync>
    <localpath watch="{src}">
      <remote ip="127.0.0.1" name="mod"/>
    </localpath>
    <rsync>
      <commonParams params="-a"/>
      <userDefinedPort start="true" port="{port}"/>
    </rsync>
    <state dir="{run_dir}/state"/>
  </sersync>
</head>
""")
        sock_path = os.path.join(run_dir, "notify.sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(sock_path)
        env["NOTIFY_SOCKET"] = sock_path
        argv = [SERSYNCD_BIN, "-o", conf]
    elif name == "lsyncd":
        conf = os.path.join(run_dir, "lsyncd.conf.lua")
        with open(conf, "w") as f:
            f.write("settings{ nodaemon=true }\n"
                    f'sync{{ default.rsync, source="{src}", target="{url}/", delay=1,\n'
                    f'       rsync={{ archive=true, binary="{bindir}/rsync" }} }}\n')
        argv = ["lsyncd", "-nodaemon", conf]
    elif name == "inotifywait":
        argv = ["bash", "-c", INOTIFY_LOOP, "inotify-loop", src, url]
    else:
        raise ValueError(name)
    out = open(os.path.join(run_dir, "out.log"), "wb")
    try:
        t0 = time.monotonic()
        proc = subprocess.Popen(argv, env=env, cwd=run_dir, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    except BaseException:
        if sock:
            sock.close()
        raise
    finally:
        out.close()
    r = Running(name, proc, t0, run_dir, counter)
    r.notify_sock = sock
    return r


def phase_outage(bench: "Bench", name: str) -> list[dict]:
    results = []
    for rep in range(bench.args.outage_runs):
        log(f"outage: {name} #{rep + 1} (rsync daemon down {OUTAGE_SECONDS:.0f} s)")
        run_dir = bench.new_run_dir(f"outage-{name}")
        src, module = os.path.join(run_dir, "src"), os.path.join(run_dir, "module")
        os.makedirs(os.path.join(src, "live"))
        os.makedirs(module)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        rsyncd = start_rsyncd(run_dir, module, port)
        r = None
        try:
            r = start_to_daemon(bench, name, src, port, run_dir)
            bench.wait_ready(r, 2)
            time.sleep(1.5)
            written: list[str] = []
            i = 0

            def write_one() -> None:
                nonlocal i
                n = f"f{i:04d}.txt"
                with open(os.path.join(src, "live", n), "w") as f:
                    f.write(f"file {i}\n")
                written.append(n)
                i += 1

            def paced(seconds: float) -> None:
                end = time.monotonic() + seconds
                while time.monotonic() < end:
                    write_one()
                    time.sleep(OUTAGE_WRITE_INTERVAL)

            paced(2.0)
            rsyncd.kill()
            rsyncd.wait()
            t_down = time.monotonic()
            paced(OUTAGE_SECONDS)
            rsyncd = start_rsyncd(run_dir, module, port)
            t_back = time.monotonic()
            due = set(written)
            back = None
            next_write = t_back + OUTAGE_WRITE_INTERVAL
            while time.monotonic() - t_back < OUTAGE_DEADLINE:
                try:
                    have = set(os.listdir(os.path.join(module, "live")))
                except FileNotFoundError:
                    have = set()
                if due <= have:
                    back = time.monotonic() - t_back
                    break
                if time.monotonic() >= next_write:
                    write_one()
                    next_write += OUTAGE_WRITE_INTERVAL
                r.check_alive("in the outage phase")
                time.sleep(0.01)
            res = {"down": t_back - t_down, "back": back, "files": len(due)}
            log(f"  outage {name} #{rep + 1}: down {res['down']:.1f} s, backlog of {len(due)} files "
                f"{'not delivered' if back is None else f'delivered {back:.2f} s'} after the restart")
            results.append(res)
        finally:
            if r is not None:
                r.stop()
                bench.note_exit(r)
            if rsyncd.poll() is None:
                rsyncd.kill()
                rsyncd.wait()
            shutil.rmtree(run_dir, ignore_errors=True)
    return results


def outage_rows(outage: dict, contestants: list[str], runs: int) -> list[tuple[str, list[str]]]:
    if not outage:
        return []
    return [(f"outage: rsync daemon target down {OUTAGE_SECONDS:.0f} s, backlog on it after its restart, median of {runs}",
             [fmt_s(med_or_timeout([r["back"] for r in outage[c]])) + runs_str([r["back"] for r in outage[c]])
              for c in contestants])]


def med_or_timeout(values):
    if any(v is None for v in values):
        # a timeout counts as slower than every finished run
        finite = sorted(v for v in values if v is not None)
        ranked = finite + [None] * (len(values) - len(finite))
        return ranked[(len(ranked) - 1) // 2] if len(ranked) % 2 else ranked[len(ranked) // 2]
    return med(values)


def runs_str(values) -> str:
    if len(values) <= 1:
        return ""
    return " (" + ", ".join("t/o" if v is None else f"{v:.2f}" for v in values) + ")"


if __name__ == "__main__":
    sys.exit(main())
