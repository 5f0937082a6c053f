#!/bin/sh
# SPDX-License-Identifier: MIT
# How long `bt` keeps a live target stopped (docs/design.md §6: < 10 ms per snapshot), per
# interpreter of the matrix: a 4-thread target (tests/integration/targets/three_threads.py:
# the main thread and three threads blocked on a lock), STOP_RUNS (default 50) runs of
# `aiodbg attach PID -c 'bt --json'`, each a fresh aiodbg; the time is the snapshot's
# target.stopped_ms (first PTRACE_INTERRUPT to last detach). `bt --native` (which also
# unwinds every thread while it is stopped) is shown beside it. Reports, never fails on a
# number.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
export AIODBG="${AIODBG:-$top/build/aiodbg}"
export AIODBG_TOP="$top"
exec /usr/bin/python3 - "$@" <<'EOF'
import json, os, statistics, subprocess, sys

top = os.environ["AIODBG_TOP"]
sys.path.insert(0, os.path.join(top, "tests", "integration"))
import helpers  # noqa: E402  (the integration suite's targets, FIFO truth and chroot rows)

RUNS = int(os.environ.get("STOP_RUNS", "50"))
BUDGET_MS = 10.0


def stopped(pid, cmd):
    r = subprocess.run([os.environ["AIODBG"], "attach", str(pid), "-c", cmd],
                       capture_output=True, text=True, timeout=120)
    if r.returncode:
        raise RuntimeError(r.stderr.strip())
    doc = json.loads(r.stdout)
    assert len(doc["threads"]) == 4, doc["threads"]
    return doc["target"]["stopped_ms"]


def p90(xs):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(0.9 * (len(xs) - 1))))]


print(f"target stopped by one snapshot, 4-thread process, {RUNS} runs each (ms)")
print(f"{'interpreter':<16} {'bt median':>10} {'p90':>7} {'max':>7} {'':>5} "
      f"{'bt --native median':>19} {'p90':>7}")
rows = helpers.ROWS
if not rows:
    print("stop.sh: no interpreter matrix (run tests/env/matrix.sh)")
try:
    for row in rows:
        try:
            t = helpers.launch(row, "three_threads.py")
        except Exception as e:
            print(f"{row.name:<16} cannot start target: {e}")
            continue
        try:
            bt = [stopped(t.pid, "bt --json") for _ in range(RUNS)]
            nat = [stopped(t.pid, "bt --native --json") for _ in range(max(RUNS // 5, 5))]
            med = statistics.median(bt)
            print(f"{row.name:<16} {med:>10.2f} {p90(bt):>7.2f} {max(bt):>7.2f} "
                  f"{'ok' if p90(bt) < BUDGET_MS else 'OVER':>5} "
                  f"{statistics.median(nat):>19.2f} {p90(nat):>7.2f}")
            if t.stopped_threads():
                print(f"{row.name:<16} ERROR: target left stopped: {t.stopped_threads()}")
        except Exception as e:
            print(f"{row.name:<16} failed: {e}")
        finally:
            t.kill()
finally:
    helpers.SESSION.close()
EOF
