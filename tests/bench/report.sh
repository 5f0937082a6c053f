#!/bin/sh
# SPDX-License-Identifier: MIT
# `report --html` on a core of a process with N pending tasks (tests/bench/many_tasks.py,
# default 100 000, REPORT_TASKS=N to change; python3.11 or $PYTHON): how long aiodbg takes,
# the size of the page, and how long headless Chromium takes to load it (the page's own
# measure: performance.now() when its script has run, and the whole Chromium run). The
# issue's goal (19): a 100 000-task report loads in under 5 s. Reports, never fails on a
# number.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
aiodbg=${AIODBG:-$top/build/aiodbg}
python=${PYTHON:-/usr/bin/python3.11}
n=${REPORT_TASKS:-100000}
tmp=$(mktemp -d)
pid=
cleanup() {
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

"$python" "$here/many_tasks.py" "$n" "$tmp/ready" &
pid=$!
for _ in $(seq 600); do
	[ -s "$tmp/ready" ] && break
	sleep 0.1
done
[ -s "$tmp/ready" ] || { echo "report bench: the target did not start" >&2; exit 1; }
gcore -o "$tmp/core" "$pid" >/dev/null 2>&1
kill -9 "$pid"
pid=
now() { date +%s.%N; }
t0=$(now)
"$aiodbg" core "$tmp/core.$(cat "$tmp/ready")" -c "report --html $tmp/report.html" >"$tmp/said"
t1=$(now)
sandbox=
[ "$(id -u)" = 0 ] && sandbox=--no-sandbox
chromium --headless --disable-gpu --no-first-run $sandbox --user-data-dir="$tmp/profile" \
	--dump-dom "file://$tmp/report.html" 2>/dev/null | grep -o '<body[^>]*>' >"$tmp/body" || true
t2=$(now)
# Chromium's own start and stop, on a page with nothing in it.
echo '<!DOCTYPE html><title>empty</title><body>' >"$tmp/empty.html"
chromium --headless --disable-gpu --no-first-run $sandbox --user-data-dir="$tmp/profile" \
	--dump-dom "file://$tmp/empty.html" >/dev/null 2>&1 || true
t3=$(now)
size=$(stat -c %s "$tmp/report.html")
load=$(sed -n 's/.*data-load-ms="\([0-9]*\)".*/\1/p' "$tmp/body")
echo "report --html, core of $n tasks ($("$python" -c 'import sys; print(sys.version.split()[0])')):"
echo "  aiodbg:   $(echo "$t1 - $t0" | bc) s; $(cat "$tmp/said")"
echo "  page:     $size bytes ($(echo "scale=1; $size / 1048576" | bc) MiB)"
echo "  chromium: page ready (its script done) ${load:-?} ms after navigation began (goal: < 5 s);"
echo "            the whole --dump-dom run $(echo "$t2 - $t1" | bc) s, of an empty page $(echo "$t3 - $t2" | bc) s"
