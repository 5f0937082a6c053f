#!/bin/sh
# SPDX-License-Identifier: MIT
# Build (or reuse) the Debian sid root that provides python3.13/3.14/3.15 and a gdb
# embedding Python 3.14. Processes started in it are debugged from the host, which is
# exactly the container case. POSIX sh (callers run it with sh or bash).
#
# Usage: build-sid-root.sh [ROOT]          (default: .cache/sid of the repository)
#
# Besides the interpreters the root holds the packages the service and runtime tests run
# against ($extras: Trio, AnyIO, FastAPI/uvicorn/uvloop/httptools, aiohttp). sid builds the
# compiled ones (uvloop, httptools, pydantic-core, aiohttp) for its supported Pythons only;
# the pure-Python ones serve every interpreter. They are installed with the root's own apt
# from the package lists debootstrap left, in a second step that an existing root of an
# older recipe also gets (the marker .aiodbg-extras records the list installed).
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
extras="python3-trio python3-anyio python3-fastapi python3-uvicorn python3-uvloop \
python3-httptools python3-aiohttp"

complete() {
	[ -f "$1/.aiodbg-complete" ] || return 1
	for f in $need; do
		[ -x "$1/$f" ] || return 1
	done
}

# The extras step: a no-op when the marker lists exactly $extras.
install_extras() {
	if [ "$(cat "$1/.aiodbg-extras" 2>/dev/null)" = "$extras" ]; then
		return 0
	fi
	if [ "$(id -u)" != 0 ]; then
		echo "build-sid-root: installing packages into the root needs root" >&2
		return 1
	fi
	echo "build-sid-root: installing $extras into $1" >&2
	mounted=$(sh "$(dirname "$0")/sid-proc.sh" mount "$1")
	rc=0
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive timeout 900 chroot "$1" apt-get install -y -q \
		--no-install-recommends -o Acquire::Check-Valid-Until=false $extras \
		>>"$1.extras.log" 2>&1 || rc=$?
	[ "$mounted" = mounted ] && sh "$(dirname "$0")/sid-proc.sh" umount "$1"
	if [ "$rc" != 0 ]; then
		echo "build-sid-root: apt-get install in the root failed; see $1.extras.log" >&2
		tail -n 20 "$1.extras.log" >&2
		return 1
	fi
	printf '%s\n' "$extras" >"$1/.aiodbg-extras"
}

if complete "$root" && [ "$(cat "$root/.aiodbg-extras" 2>/dev/null)" = "$extras" ]; then
	exit 0
fi
if complete "$root"; then
	exec 9>"$root.lock"
	flock 9
	install_extras "$root"
	exit
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
	install_extras "$root"
	exit
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
if ! install_extras "$new"; then
	unmount_all "$new"
	exit 1
fi
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
