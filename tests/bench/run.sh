#!/bin/sh
# SPDX-License-Identifier: MIT
# `make bench`: timings against real processes (tests/bench/bench.py) and any other bench
# scripts in this directory (tests/bench/*.sh other than this one). Reports, never fails
# on a number.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
sh "$here/../env/build-sid-root.sh"
AIODBG=${AIODBG:-$here/../../build/aiodbg} /usr/bin/python3 "$here/bench.py"
for s in "$here"/*.sh; do
	[ "$(basename "$s")" = run.sh ] && continue
	echo "== $(basename "$s")"
	sh "$s"
done
