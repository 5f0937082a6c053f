#!/bin/sh
# SPDX-License-Identifier: MIT
# Live-control timings per interpreter of the matrix (docs/design.md §6): attach + pause of an
# idle loop (a fresh aiodbg process each time: agent injection included; budget < 200 ms)
# and the `await asyncio.sleep(0)` round trip on a paused loop (budget < 20 ms). Reports,
# never fails on a number.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
export AIODBG="${AIODBG:-$top/build/aiodbg}"
export AIODBG_TOP="$top"
exec /usr/bin/python3 - "$@" <<'EOF'
import json, os, shutil, statistics, subprocess, sys, tempfile, time

top = os.environ["AIODBG_TOP"]
aiodbg = os.environ["AIODBG"]
matrix = os.environ.get("AIODBG_MATRIX") or os.path.join(top, ".cache", "matrix.txt")
target = os.path.join(top, "tests", "integration", "targets", "live_modes.py")
RUNS, AWAITS = 10, 100


def rows():
    try:
        with open(matrix) as f:
            for line in f:
                p = line.split()
                if len(p) == 4 and not line.startswith("#"):
                    yield p
    except OSError:
        print("live.sh: no matrix (run tests/env/matrix.sh)")


def start(root, python):
    d = tempfile.mkdtemp(prefix="aiodbg-bench-", dir=os.path.join(root, "tmp"))
    os.chmod(d, 0o755)
    shutil.copy(target, d)
    inside = "/" + os.path.relpath(d, root) if root != "/" else d
    fifo = os.path.join(d, "fifo")
    os.mkfifo(fifo)
    cmd = ([python] if root == "/" else ["chroot", root, python])
    cmd += ["-B", "-E", "-s", inside + "/live_modes.py", inside + "/fifo", "idle"]
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)
    with open(fifo) as f:
        json.loads(f.readline())
    time.sleep(0.2)
    return p, d


def timed(pid, *cmds):
    args = [aiodbg, "attach", str(pid)]
    for c in cmds:
        args += ["-c", c]
    t0 = time.monotonic()
    r = subprocess.run(args, capture_output=True, text=True, timeout=120)
    dt = time.monotonic() - t0
    if r.returncode:
        raise RuntimeError(r.stderr.strip())
    return dt


print(f"{'interpreter':<16} {'attach+pause ms (median of %d)' % RUNS:>32} "
      f"{'await sleep(0) round trip ms':>30}")
for name, root, python, version in rows():
    try:
        p, d = start(root, python)
    except Exception as e:
        print(f"{name:<16} cannot start target: {e}")
        continue
    try:
        pause = [timed(p.pid, "pause", "continue") * 1000 for _ in range(RUNS)]
        one = timed(p.pid, "pause", "await asyncio.sleep(0)", "continue")
        many = timed(p.pid, "pause", *["await asyncio.sleep(0)"] * (AWAITS + 1), "continue")
        rt = (many - one) / AWAITS * 1000
        med = statistics.median(pause)
        print(f"{name:<16} {med:>26.1f} {'ok' if med < 200 else 'OVER':>5} "
              f"{rt:>24.2f} {'ok' if rt < 20 else 'OVER':>5}")
    except Exception as e:
        print(f"{name:<16} failed: {e}")
    finally:
        p.kill()
        p.wait()
        shutil.rmtree(d, ignore_errors=True)
EOF
