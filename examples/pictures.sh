#!/bin/sh
# SPDX-License-Identifier: MIT
# The README's pictures, made from the bundled example: start examples/stuck_service.py,
# draw its await graph (`tree --dot | dot -Tpng`) and write its HTML report, take a
# screenshot of the report in headless Chromium, then stop the example.
#   examples/pictures.sh [OUTDIR]   (default docs/; needs graphviz and chromium)
# Writes OUTDIR/demo-graph.png and OUTDIR/demo-report.png.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/../docs}
aiodbg=${AIODBG:-$here/../build/aiodbg}
python=${PYTHON:-/usr/bin/python3.11}
chromium=${CHROMIUM:-chromium}
tmp=$(mktemp -d)
pid=
cleanup() {
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

mkdir -p "$out"
"$python" "$here/stuck_service.py" "$tmp/ready" &
pid=$!
for _ in $(seq 100); do
	[ -s "$tmp/ready" ] && break
	sleep 0.1
done
[ -s "$tmp/ready" ] || { echo "pictures: the example did not start" >&2; exit 1; }

"$aiodbg" attach "$pid" -c 'tree --dot' >"$tmp/graph.dot"
dot -Tpng -Gdpi=80 -o "$out/demo-graph.png" "$tmp/graph.dot"
"$aiodbg" attach "$pid" -c "report --html $tmp/demo-report.html" >/dev/null
sandbox=
[ "$(id -u)" = 0 ] && sandbox=--no-sandbox
"$chromium" --headless --disable-gpu --no-first-run $sandbox --user-data-dir="$tmp/profile" \
	--hide-scrollbars --window-size=1200,1500 --virtual-time-budget=10000 \
	--screenshot="$out/demo-report.png" "file://$tmp/demo-report.html" >/dev/null 2>&1
[ -s "$out/demo-report.png" ] || { echo "pictures: chromium made no screenshot" >&2; exit 1; }
echo "pictures: $out/demo-graph.png $out/demo-report.png"
