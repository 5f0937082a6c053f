# SPDX-License-Identifier: MIT
"""`make bench`, GDB part: `aio tasks --json` on a core with 10k pending tasks, under the sid
root's gdb (Python 3.14, target python3.14) and bookworm's gdb (targets python3.14 through
`set sysroot`, and Debian's python3.11), beside `aiodbg core` on the same core. Budget
(docs/design.md section 6): under 2 s. Prints a table; asserts nothing.

Environment: AIODBG (binary), GDB_BENCH_TASKS (default 10000), BENCH_ROOT (default .cache/sid).
Run from tests/bench/gdb.sh (which tests/bench/run.sh runs)."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
AIODBG = os.environ.get("AIODBG", os.path.join(TOP, "build", "aiodbg"))
ROOT = os.path.realpath(os.environ.get("BENCH_ROOT", os.path.join(TOP, ".cache", "sid")))
N = int(os.environ.get("GDB_BENCH_TASKS", "10000"))
MANY = os.path.join(TOP, "tests", "bench", "many_tasks.py")
SO_SID = os.path.join(TOP, "build", "gdbext-sid")
SCRIPT = os.path.join(HERE, "aiodbg-gdb.py")

# Run inside GDB: time the command itself (GDB's own start-up and core loading apart).
MEASURE = r'''
import gdb, json, time
t0 = time.perf_counter()
out = gdb.execute("aio tasks --json", to_string=True)
t1 = time.perf_counter()
gdb.execute("aio tasks --json", to_string=True)
t2 = time.perf_counter()
print("AIODBG_BENCH " + json.dumps({"first": t1 - t0, "again": t2 - t1,
                                     "tasks": len(json.loads(out)["tasks"])}))
'''


def start(cmd, ready, timeout):
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + timeout
    while time.time() < deadline:
        if os.path.exists(ready) and open(ready).read():
            return proc
        if proc.poll() is not None:
            raise RuntimeError(f"{cmd}: exited with {proc.returncode}: {proc.stderr.read()[-500:]!r}")
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{cmd}: not ready after {timeout}s")


def gcore(pid, root, host_dir):
    """A core of pid made by the gcore of the root it runs in; returns its host path."""
    inside = host_dir if root == "/" else "/" + os.path.relpath(host_dir, root)
    cmd = ["gcore", "-o", os.path.join(inside, "core"), str(pid)]
    if root != "/":
        cmd = ["chroot", root] + cmd
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=600)
    path = os.path.join(host_dir, f"core.{pid}")
    if not os.path.exists(path):
        raise RuntimeError(f"gcore of {pid} failed")
    return path


def run_gdb(argv, measure_file):
    t0 = time.perf_counter()
    p = subprocess.run(argv + ["-x", measure_file], capture_output=True, text=True, timeout=600)
    wall = time.perf_counter() - t0
    for line in p.stdout.splitlines():
        if line.startswith("AIODBG_BENCH "):
            r = json.loads(line.split(" ", 1)[1])
            r["wall"] = wall
            return r
    return {"error": (p.stderr.strip().splitlines() or ["no output"])[-1][:200], "wall": wall}


def aiodbg_core(core, sysroot):
    args = [AIODBG, "core", core, "-c", "tasks --json"] + (["--sysroot", sysroot] if sysroot else [])
    t0 = time.perf_counter()
    p = subprocess.run(args, capture_output=True, text=True, timeout=600)
    wall = time.perf_counter() - t0
    return {"wall": wall, "tasks": len(json.loads(p.stdout)["tasks"]) if p.returncode == 0 else None}


def main():
    rows = []
    mounted = False
    if os.path.exists(os.path.join(ROOT, "usr", "bin", "gdb")) and not os.path.ismount(os.path.join(ROOT, "proc")):
        subprocess.run(["mount", "-t", "proc", "proc", os.path.join(ROOT, "proc")], check=True)
        mounted = True
    work = tempfile.mkdtemp(prefix="aiodbg-gdb-bench-", dir=os.path.join(ROOT, "tmp"))
    os.chmod(work, 0o755)
    inside = "/" + os.path.relpath(work, ROOT)
    try:
        shutil.copy(MANY, work)
        shutil.copy(SCRIPT, work)
        for f in os.listdir(SO_SID):
            if f.endswith(".so") or ".so." in f:
                shutil.copy(os.path.join(SO_SID, f), work)
        with open(os.path.join(work, "measure.py"), "w") as f:
            f.write(MEASURE)
        gdb_opts = ["-nx", "-batch", "-iex", "set debuginfod enabled off",
                    "-iex", "set auto-load python-scripts off"]
        # 1. python3.14 in the sid root.
        ready = os.path.join(work, "ready-314")
        proc = start(["chroot", ROOT, "python3.14", f"{inside}/many_tasks.py", str(N), f"{inside}/ready-314"],
                     ready, 120 + N / 5000)
        try:
            core = gcore(proc.pid, ROOT, work)
        finally:
            proc.kill()
            proc.wait()
        core_in = "/" + os.path.relpath(core, ROOT)
        r = run_gdb(["chroot", ROOT, "gdb"] + gdb_opts + ["-x", f"{inside}/aiodbg-gdb.py", "/usr/bin/python3.14",
                                                          "-c", core_in], f"{inside}/measure.py")
        rows.append(("sid gdb 18 (Py 3.14)", "python3.14", r))
        r = run_gdb(["gdb"] + gdb_opts + ["-iex", f"set sysroot {ROOT}", "-x", SCRIPT,
                                          os.path.join(ROOT, "usr/bin/python3.14"), "-c", core],
                    os.path.join(work, "measure.py"))
        rows.append(("bookworm gdb 13 (Py 3.11)", "python3.14", r))
        ref = aiodbg_core(core, ROOT)
        rows.append(("aiodbg core (reference)", "python3.14", ref))
        os.unlink(core)
        # 2. Debian's python3.11 on the host.
        if os.path.exists("/usr/bin/python3.11"):
            ready = os.path.join(work, "ready-311")
            proc = start(["/usr/bin/python3.11", MANY, str(N), ready], ready, 120 + N / 5000)
            try:
                core = gcore(proc.pid, "/", work)
            finally:
                proc.kill()
                proc.wait()
            r = run_gdb(["gdb"] + gdb_opts + ["-x", SCRIPT, "/usr/bin/python3.11", "-c", core],
                        os.path.join(work, "measure.py"))
            rows.append(("bookworm gdb 13 (Py 3.11)", "python3.11", r))
            rows.append(("aiodbg core (reference)", "python3.11", aiodbg_core(core, None)))
            os.unlink(core)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if mounted:
            subprocess.run(["umount", os.path.join(ROOT, "proc")])

    def f(v):
        return "-" if v is None else "%.3f" % v

    print(f"GDB: `aio tasks --json` on a core with {N} pending tasks (budget: < 2 s)")
    print(f"{'debugger':<28} {'target':<11} {'tasks':>6} {'aio s':>7} {'again s':>8} {'gdb wall s':>11}")
    for name, target, r in rows:
        if "error" in r:
            print(f"{name:<28} {target:<11} failed: {r['error']}")
            continue
        print(f"{name:<28} {target:<11} {r.get('tasks') or '-':>6} {f(r.get('first')):>7} "
              f"{f(r.get('again')):>8} {f(r.get('wall')):>11}")
    return 0


sys.exit(main())
