#!/bin/sh
# SPDX-License-Identifier: MIT
# Build (or reuse) the Debian sid root that provides python3.13/3.14/3.15 and a gdb
# embedding Python 3.14. Processes started in it are debugged from the host, which is
# exactly the container case. POSIX sh (callers run it with sh or bash).
#
# Usage: build-sid-root.sh [ROOT]          (default: .cache/sid of the repository)
#
# Idempotent: an existing complete root (marker file plus the binaries the tests use) is
# reused and this exits at once. A new root is made with debootstrap in ROOT.new and renamed
# into place only when complete, so an interrupted build never leaves a half root behind.
# Concurrent callers are serialised with flock. /proc is NOT mounted here: tests mount it
# only while they run (tests/env/sid-proc.sh).
set -eu

root=${1:-$(dirname "$0")/../../.cache/sid}
mirror=${AIODBG_SID_MIRROR:-http://deb.debian.org/debian}
pkgs=python3.13,python3.14,python3.15,python3.14-dev,gdb,libpython3.14
need="usr/bin/python3.13 usr/bin/python3.14 usr/bin/python3.15 usr/bin/gdb"

complete() {
	[ -f "$1/.aiodbg-complete" ] || return 1
	for f in $need; do
		[ -x "$1/$f" ] || return 1
	done
}

if complete "$root"; then
	exit 0
fi
if ! command -v debootstrap >/dev/null; then
	echo "build-sid-root: debootstrap is missing: apt-get install debootstrap" >&2
	exit 1
fi
if [ "$(id -u)" != 0 ]; then
	echo "build-sid-root: debootstrap needs root" >&2
	exit 1
fi
mkdir -p "$(dirname "$root")"
exec 9>"$root.lock"
flock 9
# Someone else may have finished it while we waited for the lock.
if complete "$root"; then
	exit 0
fi

# Never delete a tree that still has something mounted in it (e.g. a /proc left by a
# killed test run): rm -rf would walk into it.
unmount_all() {
	for m in $(awk -v r="$(realpath -m "$1")" '$2 == r || index($2, r "/") == 1 {print $2}' \
		/proc/self/mounts | sort -r); do
		umount "$m" 2>/dev/null || umount -l "$m"
	done
}

new=$root.new
echo "build-sid-root: debootstrap sid into $root (about two minutes)" >&2
# A download that stalls must not stall the build: debootstrap's wget reads its settings
# from WGETRC; short timeouts, and the whole debootstrap retried from scratch a few times
# (a mirror can hang mid-file; the defaults would wait 15 minutes per read, 20 times).
wgetrc=$(mktemp)
trap 'rm -f "$wgetrc"' EXIT
printf 'connect_timeout = 20\nread_timeout = 60\ntries = 3\nwaitretry = 5\n' >"$wgetrc"
attempt=1
while :; do
	unmount_all "$new"
	rm -rf "$new"
	if WGETRC=$wgetrc timeout 900 debootstrap --variant=minbase --include="$pkgs" sid "$new" \
		"$mirror" >"$root.log" 2>&1; then
		break
	fi
	if [ "$attempt" -ge 3 ]; then
		echo "build-sid-root: debootstrap failed $attempt times, see $root.log" >&2
		tail -n 20 "$root.log" >&2
		unmount_all "$new"
		rm -rf "$new"
		exit 1
	fi
	echo "build-sid-root: debootstrap failed or stalled (attempt $attempt); trying again" >&2
	attempt=$((attempt + 1))
	sleep 10
done
unmount_all "$new"
touch "$new/.aiodbg-complete"
if ! complete "$new"; then
	echo "build-sid-root: debootstrap finished but $need are not all there; see $root.log" >&2
	exit 1
fi
if [ -e "$root" ]; then
	unmount_all "$root"
	rm -rf "$root"
fi
mv "$new" "$root"
echo "build-sid-root: done: $root" >&2
