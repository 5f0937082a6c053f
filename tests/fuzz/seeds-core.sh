#!/bin/sh
# SPDX-License-Identifier: MIT
# Seeds for fuzz_core (see run.sh): synthetic cores, and cuts of a real core that gcore
# makes of a short-lived python3.11. usage: sh tests/fuzz/seeds-core.sh OUTDIR BUILDDIR
# The real core is made in a temporary directory and deleted; only the cuts stay.
set -eu

out=$1
build=$2
mkdir -p "$out" "$build"
cc -std=gnu11 -O1 -Wall -Wextra -Werror -D_GNU_SOURCE -Itests/fuzz \
	-o "$build/gen_core_seeds" tests/fuzz/gen_core_seeds.c

python=/usr/bin/python3.11
if ! command -v gcore >/dev/null 2>&1 || [ ! -x "$python" ]; then
	echo "seeds-core: WARNING: no gcore or $python; synthetic seeds only" >&2
	exec "$build/gen_core_seeds" "$out"
fi

tmp=$(mktemp -d /tmp/aiodbg-seeds-core.XXXXXX)
"$python" -c 'import time; time.sleep(60)' &
pid=$!
# The sleeping python is always killed (even if it was left stopped), the core removed.
trap 'kill -KILL $pid 2>/dev/null || true; rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

# Wait until it sleeps (x86-64 clock_nanosleep is 230), so the core shows a quiet process.
i=0
while [ $i -lt 100 ]; do
	case "$(cat /proc/$pid/syscall 2>/dev/null || true)" in
	"230 "* | "35 "*) break ;;
	esac
	sleep 0.1
	i=$((i + 1))
done

real=""
if timeout -k 5 120 gcore -o "$tmp/core" "$pid" >"$tmp/gcore.log" 2>&1 &&
	[ -r "$tmp/core.$pid" ]; then
	real="$tmp/core.$pid"
else
	echo "seeds-core: WARNING: gcore failed; synthetic seeds only" >&2
	cat "$tmp/gcore.log" >&2 || true
fi
kill -KILL $pid 2>/dev/null || true
wait $pid 2>/dev/null || true
"$build/gen_core_seeds" "$out" $real
