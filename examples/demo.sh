#!/bin/sh
# SPDX-License-Identifier: MIT
# `make demo`: start the bundled hung service, show what aiodbg sees in it live and in a
# core dump of it, then stop it.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
aiodbg=${AIODBG:-$here/../build/aiodbg}
python=${PYTHON:-/usr/bin/python3.11}
tmp=$(mktemp -d)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

"$python" "$here/stuck_service.py" "$tmp/ready" &
pid=$!
for _ in $(seq 100); do
	[ -s "$tmp/ready" ] && break
	sleep 0.1
done
[ -s "$tmp/ready" ] || { echo "demo: the example did not start" >&2; exit 1; }

# Commands the build knows; later issues add tasks/tree/bt.
cmds=$("$aiodbg" attach "$pid" -c help | awk '/^  [a-z]/ {print $1}' | tr -d ,)
run() {
	for c in info threads tasks tree; do
		case " $(echo $cmds) " in *" $c "*) ;; *) continue ;; esac
		echo "\$ aiodbg $1 -c $c"
		"$aiodbg" $1 -c "$c"
		echo
	done
}
echo "== live process $pid ($("$python" -c 'import sys; print(sys.version.split()[0])'))"
run "attach $pid"
gcore -o "$tmp/core" "$pid" >/dev/null 2>&1
echo "== core dump of the same process"
run "core $tmp/core.$pid"
echo "== live control: await on the program's own loop, in the consumer task's context"
echo "\$ aiodbg attach $pid -c 'select consumer' -c 'eval queue.qsize()' -c 'await queue.put(\"hello\")' -c 'cancel stubborn \"stop now\"'"
"$aiodbg" attach "$pid" -c 'select consumer' -c 'eval queue.qsize()' -c 'await queue.put("hello")' \
	-c 'cancel stubborn "stop now"'
