#!/bin/sh
# SPDX-License-Identifier: MIT
# Seeds for fuzz_layout (see run.sh): the real _Py_DebugOffsets/AsyncioDebug tables of
# tests/unit/fixtures/debug_offsets.h in the fuzzer's input format, written by
# gen_layout_seeds.c. usage: sh tests/fuzz/seeds-layout.sh OUTDIR BUILDDIR
set -eu

out=$1
build=$2
mkdir -p "$out" "$build"
cc -std=gnu11 -O1 -Wall -Wextra -Werror -Itests/unit \
	-o "$build/gen_layout_seeds" tests/fuzz/gen_layout_seeds.c
exec "$build/gen_layout_seeds" "$out"
