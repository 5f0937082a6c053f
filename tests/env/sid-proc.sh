#!/bin/sh
# SPDX-License-Identifier: MIT
# Mount or unmount /proc in the sid root (interpreters there want /proc/self; gdb wants it).
# /proc is mounted only while tests need it.
#
# Usage: sid-proc.sh mount [ROOT]    mount ROOT/proc unless it is mounted already; prints
#                                    "mounted" when this call mounted it, "already" otherwise
#        sid-proc.sh umount [ROOT]   unmount ROOT/proc if mounted (lazily if busy)
#        sid-proc.sh status [ROOT]   prints "mounted" or "unmounted"
set -eu

cmd=${1:-}
root=${2:-$(dirname "$0")/../../.cache/sid}
proc=$(realpath -m "$root/proc")

ismounted() {
	awk -v p="$proc" '$2 == p {found = 1} END {exit !found}' /proc/self/mounts
}

case $cmd in
mount)
	[ -d "$proc" ] || { echo "sid-proc: no such directory: $proc" >&2; exit 1; }
	if ismounted; then
		echo already
	else
		mount -t proc proc "$proc"
		echo mounted
	fi
	;;
umount)
	if ismounted; then
		umount "$proc" 2>/dev/null || umount -l "$proc"
	fi
	;;
status)
	if ismounted; then echo mounted; else echo unmounted; fi
	;;
*)
	echo "usage: sid-proc.sh mount|umount|status [ROOT]" >&2
	exit 2
	;;
esac
