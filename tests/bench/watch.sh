#!/bin/sh
# SPDX-License-Identifier: MIT
# What `aiodbg watch` at its default interval costs a busy service (docs/design.md §6:
# target slowed ≤ 2 %): tests/integration/targets/busy_service.py runs 200 tasks that hash
# and yield, and prints how many steps it has done every 0.25 s. Its rate is measured for
# WATCH_SECONDS (default 5) alone, then as long under `aiodbg watch PID` (default interval),
# then alone again; the slowdown is 1 - rate(watched) / mean(rate alone). On rows
# WATCH_ROWS (default: debian-3.11 sid-3.14). A loaded machine makes the number noisy
# (the two runs alone say how much). Reports, never fails on a number.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
export AIODBG="${AIODBG:-$top/build/aiodbg}"
export AIODBG_TOP="$top"
exec /usr/bin/python3 - "$@" <<'EOF2'
import json, os, subprocess, sys, time

top = os.environ["AIODBG_TOP"]
sys.path.insert(0, os.path.join(top, "tests", "integration"))
import helpers  # noqa: E402

SECONDS = float(os.environ.get("WATCH_SECONDS", "5"))
ROWS = os.environ.get("WATCH_ROWS", "debian-3.11 sid-3.14").split()


def counts(t):
    out = []
    for line in t.stderr().splitlines():
        w = line.split()
        if len(w) == 3 and w[0] == "STEPS":
            out.append((float(w[1]), int(w[2])))
    return out


def rate(t, a, b):
    pts = [p for p in counts(t) if a <= p[0] <= b]
    if len(pts) < 2:
        return float("nan")
    return (pts[-1][1] - pts[0][1]) / (pts[-1][0] - pts[0][0])


print(f"target slowdown under `aiodbg watch` (default interval), busy service, {SECONDS:g} s each")
print(f"{'interpreter':<16} {'alone':>10} {'watched':>10} {'alone':>10} {'slowdown':>9} "
      f"{'stop/sample':>12} {'samples':>8}")
try:
    for row in helpers.ROWS:
        if row.name not in ROWS:
            continue
        t = helpers.launch(row, "busy_service.py", quiescent=False)
        try:
            time.sleep(0.5)
            t0 = time.time()
            time.sleep(SECONDS)
            t1 = time.time()
            r = subprocess.run([os.environ["AIODBG"], "watch", str(t.pid), "--json",
                                "--duration", str(SECONDS)], capture_output=True, text=True,
                               timeout=SECONDS + 60)
            t2 = time.time()
            time.sleep(SECONDS)
            t3 = time.time()
            summary = json.loads(r.stdout.splitlines()[-1])
            a, w, b = rate(t, t0, t1), rate(t, t1, t2), rate(t, t2, t3)
            slow = 1 - w / ((a + b) / 2)
            print(f"{row.name:<16} {a:>10.0f} {w:>10.0f} {b:>10.0f} {100 * slow:>8.1f}% "
                  f"{summary['stopped_ms']['mean']:>10.2f}ms {summary['samples']:>8}")
            if t.stopped_threads():
                print(f"{row.name:<16} ERROR: target left stopped")
        finally:
            t.kill()
finally:
    helpers.SESSION.close()
EOF2
