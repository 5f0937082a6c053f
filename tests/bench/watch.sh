#!/bin/sh
# SPDX-License-Identifier: MIT
# What `aiodbg watch` at its default interval costs a busy service (docs/design.md §6:
# target slowed ≤ 2 %): tests/integration/targets/busy_service.py runs 200 tasks that hash
# and yield, and prints how many steps it has done every 0.25 s. Its step rate is measured
# in alternating windows of WATCH_SECONDS (default 5): alone, watched (`aiodbg watch PID`
# at its default interval), alone, ... WATCH_CYCLES times (default 10). Each watched window
# is compared with the mean of the two alone windows around it (the machine's own drift
# moves the rate by a few percent over tens of seconds; neighbours share most of it); the
# mean of those slowdowns is reported with its standard error, the spread between alone
# windows (the noise) and the bound the stops set: stop time per sample over the interval. On rows
# WATCH_ROWS (default: debian-3.11 sid-3.14). Reports, never fails on a number.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
export AIODBG="${AIODBG:-$top/build/aiodbg}"
export AIODBG_TOP="$top"
exec /usr/bin/python3 - "$@" <<'EOF2'
import json, os, statistics, subprocess, sys, time

top = os.environ["AIODBG_TOP"]
sys.path.insert(0, os.path.join(top, "tests", "integration"))
import helpers  # noqa: E402

SECONDS = float(os.environ.get("WATCH_SECONDS", "5"))
CYCLES = int(os.environ.get("WATCH_CYCLES", "10"))
ROWS = os.environ.get("WATCH_ROWS", "debian-3.11 sid-3.14").split()


def counts(t):
    out = []
    with open(t.log, errors="replace") as f:  # all of it (t.stderr() keeps the end)
        text = f.read()
    for line in text.splitlines():
        w = line.split()
        if len(w) == 3 and w[0] == "STEPS":
            out.append((float(w[1]), int(w[2])))
    return out


def rate(pts, a, b):
    pts = [p for p in pts if a <= p[0] <= b]
    if len(pts) < 2:
        return float("nan")
    return (pts[-1][1] - pts[0][1]) / (pts[-1][0] - pts[0][0])


def pct(x):
    return f"{100 * x:.1f}%"


print(f"target slowdown under `aiodbg watch` (default interval), busy service, "
      f"{CYCLES} watched windows of {SECONDS:g} s between alone ones")
print(f"{'interpreter':<14} {'slowdown':>15} {'median':>7} {'noise':>7} {'bound':>7} "
      f"{'stop/sample':>12} {'max':>8} {'samples':>8}")
try:
    for row in helpers.ROWS:
        if row.name not in ROWS:
            continue
        t = helpers.launch(row, "busy_service.py", quiescent=False)
        try:
            time.sleep(0.5)
            edges, stops, maxes, samples, interval = [], [], [], 0, 0
            t0 = time.time()
            time.sleep(SECONDS)
            edges.append((t0, time.time()))
            for _ in range(CYCLES):
                a = time.time()
                r = subprocess.run([os.environ["AIODBG"], "watch", str(t.pid), "--json",
                                    "--duration", str(SECONDS)], capture_output=True,
                                   text=True, timeout=SECONDS + 60)
                edges.append((a, time.time()))
                summary = json.loads(r.stdout.splitlines()[-1])
                stops.append(summary["stopped_ms"]["mean"])
                maxes.append(summary["stopped_ms"]["max"])
                samples += summary["samples"]
                interval = summary["interval_ms"]
                a = time.time()
                time.sleep(SECONDS)
                edges.append((a, time.time()))
            time.sleep(0.3)  # the last window's final count
            pts = counts(t)
            rates = [rate(pts, a, b) for a, b in edges]
            alone = rates[0::2]
            slows = [1 - rates[2 * k + 1] / ((alone[k] + alone[k + 1]) / 2)
                     for k in range(CYCLES)]
            noise = (max(alone) - min(alone)) / (sum(alone) / len(alone))
            stop = sum(stops) / len(stops)
            mean = statistics.mean(slows)
            se = statistics.stdev(slows) / len(slows) ** 0.5 if len(slows) > 1 else 0
            print(f"{row.name:<14} {pct(mean) + ' ± ' + pct(se):>15} "
                  f"{pct(statistics.median(slows)):>7} "
                  f"{pct(noise):>7} {pct(stop / interval):>7} {stop:>10.2f}ms "
                  f"{max(maxes):>6.2f}ms {samples:>8}")
            if t.stopped_threads():
                print(f"{row.name:<14} ERROR: target left stopped")
        finally:
            t.kill()
finally:
    helpers.SESSION.close()
EOF2
