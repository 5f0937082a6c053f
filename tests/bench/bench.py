# SPDX-License-Identifier: MIT
"""`make bench`: time aiodbg against real processes and cores, and against CPython's own
`python3.14 -m asyncio ps` on the same process. Prints a table; asserts nothing.

Environment: AIODBG (binary), BENCH_SIZES (default "1000 10000 100000 1000000"),
BENCH_ROOT (the sid root with python3.14, default .cache/sid), BENCH_PYTHONS (the
interpreters the targets run, default "sid:python3.14 host:/usr/bin/python3.11": 3.14's
per-thread task lists and 3.11's asyncio.tasks registries; "sid:" runs in the sid root,
"host:" on this machine)."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
AIODBG = os.environ.get("AIODBG", os.path.join(TOP, "build", "aiodbg"))
ROOT = os.environ.get("BENCH_ROOT", os.path.join(TOP, ".cache", "sid"))
SIZES = [int(x) for x in os.environ.get("BENCH_SIZES", "1000 10000 100000 1000000").split()]
PYTHONS = os.environ.get("BENCH_PYTHONS", "sid:python3.14 host:/usr/bin/python3.11").split()


def run_measured(cmd, timeout=600):
    """Wall time and peak RSS (MiB) of one child command, its own (GNU time's %M). Its
    standard output goes to a file in memory (/dev/shm) and is returned as bytes: read
    through a pipe, half a gigabyte of JSON would time Python's reading, not aiodbg."""
    shm = "/dev/shm" if os.path.isdir("/dev/shm") else None
    with tempfile.NamedTemporaryFile("r") as rss_file, \
            tempfile.TemporaryFile(dir=shm) as out:
        t0 = time.perf_counter()
        p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss_file.name] + cmd,
                           stdout=out, stderr=subprocess.PIPE, timeout=timeout)
        wall = time.perf_counter() - t0
        try:
            rss = int(rss_file.read().strip().splitlines()[-1]) / 1024
        except (ValueError, IndexError):
            rss = None
        out.seek(0)
        p.stdout = out.read()
    return p, wall, rss


def run_piped(cmd, timeout=600):
    """Wall time of one command whose output a reader takes through a pipe, as a user's
    shell or script does (`aiodbg ... | less`, `python3.14 -m asyncio ps PID | grep`)."""
    t0 = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    return p, time.perf_counter() - t0


def start_target(python, n, tmp):
    where, interp = python.split(":", 1)
    if where == "sid":
        ready = os.path.join(ROOT, "tmp", f"aiodbg-bench-{os.getpid()}-{n}")
        shutil.copy(os.path.join(HERE, "many_tasks.py"), os.path.join(ROOT, "tmp", "many_tasks.py"))
        proc = subprocess.Popen(["chroot", ROOT, interp, "/tmp/many_tasks.py", str(n),
                                 ready[len(ROOT):]])
    else:
        ready = os.path.join(tmp, "ready")
        proc = subprocess.Popen([interp, os.path.join(HERE, "many_tasks.py"), str(n), ready])
    deadline = time.time() + 120 + n / 5000
    while time.time() < deadline:
        if os.path.exists(ready) and open(ready).read():
            os.unlink(ready)
            return proc
        if proc.poll() is not None:
            raise RuntimeError(f"target with {n} tasks exited with {proc.returncode}")
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"target with {n} tasks did not get ready")


def main():
    if not os.path.exists(os.path.join(ROOT, "usr", "bin", "python3.14")):
        print(f"bench: no python3.14 under {ROOT}; run tests/env/build-sid-root.sh", file=sys.stderr)
        return 1
    mounted = False
    if not os.path.ismount(os.path.join(ROOT, "proc")):
        subprocess.run(["mount", "-t", "proc", "proc", os.path.join(ROOT, "proc")], check=True)
        mounted = True
    rows = []
    try:
        for python, n in [(py, n) for py in PYTHONS for n in SIZES]:
            with tempfile.TemporaryDirectory() as tmp:
                proc = start_target(python, n, tmp)
                try:
                    row = {"tasks": n, "python": os.path.basename(python.split(":", 1)[1])}
                    p, wall, rss = run_measured([AIODBG, "attach", str(proc.pid), "-c", "tasks --json"])
                    ok = p.returncode == 0
                    got = len(json.loads(p.stdout)["tasks"]) if ok else 0
                    row.update(live_s=wall, live_rss=rss, found=got, ok=ok,
                               err=p.stderr.decode(errors="replace").strip()[:200])
                    _, table_wall, _ = run_measured([AIODBG, "attach", str(proc.pid), "-c", "tasks"])
                    row["table_s"] = table_wall
                    if ok:
                        # how long the snapshot kept the target stopped, and how much of
                        # that went to copying memory (the rest: parsing while stopped)
                        target = json.loads(p.stdout)["target"]
                        row["stopped_ms"] = target["stopped_ms"]
                        row["copy_ms"] = target.get("copy_ms")
                    if n <= 100000 and "3.14" in python:
                        # whole processes, output through a pipe: what a user sees
                        _, row["pipe_s"] = run_piped([AIODBG, "attach", str(proc.pid), "-c", "tasks"])
                        p, wall = run_piped(["chroot", ROOT, "python3.14", "-m", "asyncio", "ps",
                                             str(proc.pid)])
                        row["cpython_s"] = wall if p.returncode == 0 else None
                        row["cpython_err"] = p.stderr.decode(errors="replace").strip().splitlines()[-1:] \
                            if p.returncode else []
                    core = os.path.join(tmp, "core")
                    subprocess.run(["gcore", "-o", core, str(proc.pid)], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, timeout=600)
                    corefile = f"{core}.{proc.pid}"
                    if os.path.exists(corefile):
                        p, wall, rss = run_measured([AIODBG, "core", corefile, "-c", "tasks --json"])
                        row.update(core_s=wall if p.returncode == 0 else None, core_rss=rss)
                        os.unlink(corefile)
                    rows.append(row)
                finally:
                    proc.kill()
                    proc.wait()
    finally:
        if mounted:
            subprocess.run(["umount", os.path.join(ROOT, "proc")])

    def f(v, fmt):
        return "-" if v is None else fmt % v

    print("live: `aiodbg attach PID -c 'tasks --json'` (table: the text table, `-c tasks`);")
    print("stopped: how long that snapshot kept the target stopped, copy: the share of it spent")
    print("copying memory; core: the same on a gcore core of the process; RSS: aiodbg's own peak;")
    print("pipe: `aiodbg attach PID -c tasks` and `python3.14 -m asyncio ps PID` as whole processes")
    print("read through a pipe, and their ratio (asyncio ps / aiodbg).")
    print(f"{'python':>10} {'tasks':>8} {'found':>8} {'live s':>8} {'table s':>8} {'RSS MiB':>8} "
          f"{'stopped ms':>10} {'copy':>5} {'core s':>8} {'RSS MiB':>8} {'pipe s':>7} "
          f"{'asyncio ps s':>13} {'ratio':>7}")
    for r in rows:
        ratio = r.get("cpython_s") / r["pipe_s"] if r.get("cpython_s") and r.get("pipe_s") else None
        share = r["copy_ms"] / r["stopped_ms"] * 100 if r.get("copy_ms") is not None and \
            r.get("stopped_ms") else None
        print(f"{r['python']:>10} {r['tasks']:>8} {r['found']:>8} {f(r['live_s'], '%.3f'):>8} "
              f"{f(r.get('table_s'), '%.3f'):>8} {f(r['live_rss'], '%.0f'):>8} "
              f"{f(r.get('stopped_ms'), '%.1f'):>10} {f(share, '%.0f%%'):>5} "
              f"{f(r.get('core_s'), '%.3f'):>8} {f(r.get('core_rss'), '%.0f'):>8} "
              f"{f(r.get('pipe_s'), '%.3f'):>7} {f(r.get('cpython_s'), '%.3f'):>13} "
              f"{f(ratio, '%.1fx'):>7}")
        if not r["ok"]:
            print(f"         aiodbg failed: {r['err']}")
        if r.get("cpython_err"):
            print(f"         asyncio ps failed: {r['cpython_err']}")
    return 0


sys.exit(main())
