#!/bin/sh
# SPDX-License-Identifier: MIT
# Give the free-threaded python3.13t of build-ft.sh the pure-Python packages the Trio and
# AnyIO tests need, from the Debian sid root's python3-trio, python3-anyio and their
# dependencies (Debian packages; nothing is downloaded): each package and its metadata is
# linked into the interpreter's own site-packages (the tests run it with -E -s, so
# PYTHONPATH and user sites are not read). Packages with C extensions (uvloop, httptools,
# pydantic-core, aiohttp's) are not linked: they are built for the default ABI, not 3.13t's.
#
# Usage: ft-packages.sh FTDIR SIDROOT. Idempotent; replaces links that point elsewhere.
set -eu
ftdir=$1
sid=$(realpath "$2")
site=$ftdir/lib/python3.13t/site-packages
dist=$sid/usr/lib/python3/dist-packages
[ -d "$site" ] || { echo "ft-packages: no $site" >&2; exit 1; }
for p in trio outcome sniffio sortedcontainers attr attrs idna anyio typing_extensions.py; do
	if [ ! -e "$dist/$p" ]; then
		echo "ft-packages: $dist/$p missing (the sid root's python3-trio/-anyio)" >&2
		exit 1
	fi
	ln -sfn "$dist/$p" "$site/$p"
done
for m in "$dist"/trio-*-info "$dist"/outcome-*-info "$dist"/sniffio-*-info \
	"$dist"/sortedcontainers-*-info "$dist"/attrs-*-info "$dist"/idna-*-info \
	"$dist"/anyio-*-info "$dist"/typing_extensions-*-info; do
	[ -e "$m" ] && ln -sfn "$m" "$site/$(basename "$m")"
done
# Links to the metadata of an older sid root's versions are stale: drop them.
for l in "$site"/*-info; do
	[ -L "$l" ] && [ ! -e "$l" ] && rm -f "$l"
done
exit 0
