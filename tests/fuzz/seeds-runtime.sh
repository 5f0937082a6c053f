#!/bin/sh
# SPDX-License-Identifier: MIT
# Seeds for fuzz_runtime (see run.sh): for every interpreter of the matrix
# (.cache/matrix.txt), a small program with a thread blocked on a lock and asyncio tasks
# awaiting each other (a gather among them) runs until it is blocked, and
# gen_runtime_seeds.c cuts out of it the bytes the runtime and asyncio walks read, plus
# the main thread's native frames. usage: sh tests/fuzz/seeds-runtime.sh OUTDIR BUILDDIR
# Processes in a chroot root (the sid rows) are run there; /proc in the root is left as it
# is (the interpreter does not need it). Every program started here is killed on exit.
set -eu

out=$1
build=$2
mkdir -p "$out" "$build"
make -s build/libaiodbg.a
# shellcheck disable=SC2046 # the library flags are words
cc -std=gnu11 -O1 -g -Wall -Wextra -Werror -D_GNU_SOURCE -Ishared \
	-o "$build/gen_runtime_seeds" tests/fuzz/gen_runtime_seeds.c build/libaiodbg.a \
	$(pkg-config --libs jansson) -lunwind-ptrace -lunwind-coredump -lunwind-generic \
	-lunwind -lm

matrix=.cache/matrix.txt
[ -f "$matrix" ] || sh tests/env/matrix.sh >/dev/null 2>&1 || true
if [ ! -f "$matrix" ]; then
	echo "seeds-runtime: WARNING: no interpreter matrix; no seeds" >&2
	exit 1
fi

pids=""
dirs=""
cleanup() {
	for p in $pids; do
		kill -KILL "$p" 2>/dev/null || true
	done
	for d in $dirs; do
		rm -rf "$d"
	done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

made=0
while IFS="$(printf '\t')" read -r name root python _version; do
	case $name in '#'* | '') continue ;; esac
	dir=$(mktemp -d "$root/tmp/aiodbg-seed-rt.XXXXXX")
	dirs="$dirs $dir"
	chmod 755 "$dir"
	inside=${dir#"$root"}
	[ "$root" = / ] && inside=$dir
	cat >"$dir/seed_target.py" <<'EOF'
import asyncio, sys, threading, time

def blocker(lock):
    lock.acquire()

async def leaf(ev):
    await ev.wait()

async def mid(ev):
    await leaf(ev)

async def group(ev):
    await asyncio.gather(mid(ev), leaf(ev))

async def main(path):
    lock = threading.Lock()
    lock.acquire()
    threading.Thread(target=blocker, args=(lock,), name="side", daemon=True).start()
    ev = asyncio.Event()
    tasks = [asyncio.create_task(group(ev), name="group"), asyncio.create_task(mid(ev), name="w0")]
    for _ in range(5):
        await asyncio.sleep(0)
    with open(path, "w") as f:
        f.write("ready")
    while True:
        time.sleep(1000)  # the loop's thread blocks in time.sleep, tasks pending

asyncio.run(main(sys.argv[1]))
EOF
	if [ "$root" = / ]; then
		"$python" -B -E -s "$dir/seed_target.py" "$dir/ready" </dev/null >"$dir/log" 2>&1 &
	else
		chroot "$root" "$python" -B -E -s "$inside/seed_target.py" "$inside/ready" \
			</dev/null >"$dir/log" 2>&1 &
	fi
	pid=$!
	pids="$pids $pid"
	i=0
	while [ ! -s "$dir/ready" ] && [ $i -lt 200 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	sleep 0.2
	if [ -s "$dir/ready" ] && "$build/gen_runtime_seeds" "$pid" "$out/seed-$name"; then
		made=$((made + 1))
	else
		echo "seeds-runtime: WARNING: no seed from $name" >&2
		cat "$dir/log" >&2 || true
	fi
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
done <"$matrix"
echo "seeds-runtime: $made seeds" >&2
[ "$made" -gt 0 ]
