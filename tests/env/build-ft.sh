#!/bin/sh
# SPDX-License-Identifier: MIT
# Build (or reuse) a free-threaded CPython 3.13 ("python3.13t") for the ft-3.13t row of the
# test matrix. Debian ships no free-threaded interpreter, but it ships python3.13's source:
# the upstream tarball (python3.13_*.orig.tar.xz) is fetched with `apt-get source` through a
# private APT configuration (deb-src lines for trixie, then sid; the system's sources and
# lists are never touched) and built with plain `./configure --disable-gil` (no PGO, no LTO,
# no tests): about four minutes on two cores.
#
# Usage: build-ft.sh [DIR]          (default: .cache/py3.13t of the repository)
#   DIR/bin/python3.13t is the interpreter.
#
# Idempotent: an existing complete DIR (marker file plus the interpreter) is reused and
# this exits at once. A new build is installed in DIR.new and renamed into place only when
# complete (CPython finds its library relative to its executable, so the move is safe);
# concurrent callers are serialised with flock. Build dependencies (bookworm packages) are
# installed with apt-get when missing. POSIX sh (callers run it with sh or bash).
set -eu

dir=${1:-$(dirname "$0")/../../.cache/py3.13t}
mirror=${AIODBG_SID_MIRROR:-http://deb.debian.org/debian}
py=bin/python3.13t
builddeps="build-essential pkg-config libffi-dev zlib1g-dev libssl-dev libbz2-dev liblzma-dev \
libsqlite3-dev libreadline-dev libncurses-dev uuid-dev libexpat1-dev"

complete() {
	[ -f "$1/.aiodbg-complete" ] && [ -x "$1/$py" ]
}

complete "$dir" && exit 0
mkdir -p "$(dirname "$dir")"
dir=$(realpath -m "$dir")
exec 9>"$dir.lock"
flock 9
# Someone else may have finished it while we waited for the lock.
complete "$dir" && exit 0

log=$dir.log
: >"$log"
echo "build-ft: building a free-threaded CPython 3.13 into $dir (about four minutes; log $log)" >&2

# Build dependencies.
missing=""
for p in $builddeps; do
	if ! dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii'; then
		missing="$missing $p"
	fi
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "build-ft: missing build dependencies:$missing (apt-get install them as root)" >&2
		exit 1
	fi
	echo "build-ft: installing$missing" >&2
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing \
		>>"$log" 2>&1 || {
		apt-get update -q >>"$log" 2>&1
		# shellcheck disable=SC2086
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
			$missing >>"$log" 2>&1
	}
fi

work=$dir.work
new=$dir.new
rm -rf "$work" "$new"
mkdir -p "$work/apt/lists/partial" "$work/apt/cache/archives/partial" "$work/apt/parts" \
	"$work/src"

# The source: a private APT configuration, trixie first (its 3.13 is the stable one), then
# sid. Only the orig tarball is used.
fetch_source() { # suite
	printf 'deb-src %s %s main\n' "$mirror" "$1" >"$work/apt/sources.list"
	cat >"$work/apt/apt.conf" <<EOF
Dir::Etc::SourceList "$work/apt/sources.list";
Dir::Etc::SourceParts "$work/apt/parts";
Dir::State::Lists "$work/apt/lists";
Dir::Cache "$work/apt/cache";
Acquire::Check-Valid-Until "false";
Acquire::Retries "3";
Acquire::http::Timeout "60";
APT::Get::Download-Only "true";
EOF
	rm -f "$work/src"/*
	APT_CONFIG=$work/apt/apt.conf timeout 600 apt-get update -q >>"$log" 2>&1 || return 1
	(cd "$work/src" && APT_CONFIG=$work/apt/apt.conf timeout 900 \
		apt-get source -q --download-only python3.13 >>"$log" 2>&1) || return 1
	ls "$work/src"/python3.13_*.orig.tar.* >/dev/null 2>&1
}
got=false
for suite in trixie sid; do
	if fetch_source "$suite"; then
		got=true
		break
	fi
	echo "build-ft: no python3.13 source from $suite; see $log" >&2
done
if ! $got; then
	echo "build-ft: could not download python3.13's source" >&2
	tail -n 20 "$log" >&2
	exit 1
fi
tarball=$(ls "$work/src"/python3.13_*.orig.tar.* | head -n 1)
echo "build-ft: source $(basename "$tarball")" >&2
tar -xf "$tarball" -C "$work/src"
srcdir=$(find "$work/src" -mindepth 1 -maxdepth 1 -type d -name 'Python-3.13*' | head -n 1)
[ -n "$srcdir" ] || {
	echo "build-ft: no Python-3.13* directory in $tarball" >&2
	exit 1
}

jobs=$(nproc 2>/dev/null || echo 2)
[ "$jobs" -gt 2 ] && jobs=2
(
	cd "$srcdir"
	./configure --disable-gil --prefix="$new" --without-ensurepip
	make -j"$jobs"
	make install
) >>"$log" 2>&1 || {
	echo "build-ft: the build failed; see $log" >&2
	tail -n 30 "$log" >&2
	rm -rf "$new"
	exit 1
}
rm -rf "$work"
if ! "$new/$py" -c 'import sys, asyncio, _asyncio; assert not sys._is_gil_enabled()' >>"$log" 2>&1; then
	echo "build-ft: the built interpreter is not a working free-threaded one; see $log" >&2
	exit 1
fi
touch "$new/.aiodbg-complete"
rm -rf "$dir"
mv "$new" "$dir"
if ! "$dir/$py" -c 'import asyncio' >>"$log" 2>&1; then
	echo "build-ft: $dir/$py does not run after the move; see $log" >&2
	exit 1
fi
echo "build-ft: done: $dir/$py" >&2
