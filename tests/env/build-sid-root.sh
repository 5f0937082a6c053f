#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Build (or reuse) the Debian sid root that provides python3.13/3.14/3.15 and a gdb
# embedding Python 3.14. Processes started in it are debugged from the host, which is
# exactly the container case. Idempotent: an existing complete root is reused.
set -euo pipefail

root=${1:-$(dirname "$0")/../../.cache/sid}
mirror=${AIODBG_SID_MIRROR:-http://deb.debian.org/debian}
pkgs=python3.13,python3.14,python3.15,python3.14-dev,gdb,libpython3.14

if [ -f "$root/.aiodbg-complete" ]; then
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
rm -rf "$root"
mkdir -p "$(dirname "$root")"
echo "build-sid-root: debootstrap sid into $root (about two minutes)" >&2
debootstrap --variant=minbase --include="$pkgs" sid "$root" "$mirror" >"$root.log" 2>&1 || {
	echo "build-sid-root: debootstrap failed, see $root.log" >&2
	tail -n 20 "$root.log" >&2
	exit 1
}
touch "$root/.aiodbg-complete"
