#!/bin/sh
# SPDX-License-Identifier: MIT
# Copy next to SO every shared library it loads that ROOT does not have, so that the .so
# (linked with RPATH $ORIGIN) loads inside ROOT: the sid root has no libjansson, and the
# host's, built against an older glibc, works there. Usage: bundle-libs.sh SO ROOT
set -eu
so=$1
root=$2
dir=$(dirname "$so")
rm -f "$dir"/lib*.so.*
ldd "$so" | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}' | while read -r name path; do
	case $name in
	libc.so.* | libm.so.* | ld-linux* | libpthread.so.* | libdl.so.* | librt.so.*) continue ;;
	esac
	have=
	for d in lib lib64 usr/lib lib/x86_64-linux-gnu usr/lib/x86_64-linux-gnu; do
		if [ -e "$root/$d/$name" ]; then
			have=1
			break
		fi
	done
	if [ -z "$have" ]; then
		cp -L "$path" "$dir/$name"
		echo "bundled $name (from $path) with $so"
	fi
done
