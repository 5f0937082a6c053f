#!/bin/sh
# SPDX-License-Identifier: MIT
# Fail (and remove SO) when aiodbg_gdb.so has undefined symbols other than the Python API
# (GDB's Python provides it) and versioned library symbols: a shared link cannot use -z defs
# here, and a missing symbol would only show when GDB imports the module. Usage: SO
set -eu
so=$1
bad=$(nm -D --undefined-only "$so" | awk '$1 == "U" && $2 !~ /@/ && $2 !~ /^_?Py/ {print $2}')
if [ -n "$bad" ]; then
	echo "$so: undefined symbols (is libaiodbg.a complete?):" $bad >&2
	rm -f "$so"
	exit 1
fi
