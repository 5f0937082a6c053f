#!/bin/sh
# SPDX-License-Identifier: MIT
# The GDB extension's benchmark (gdbext/bench.py): `aio tasks --json` on a 10k-task core.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
make -s -C "$top" gdbext gdbext-sid
/usr/bin/python3 "$top/gdbext/bench.py"
