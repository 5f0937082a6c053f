#!/bin/sh
# SPDX-License-Identifier: MIT
# Run check-based unit test binaries and sum their results.
#
# Usage: tests/run-unit.sh BIN...
#
# Each binary's output is shown as it runs. Its summary lines
#   100%: Checks: 12, Failures: 0, Errors: 0
# are summed over all binaries. A binary that exits non-zero without reporting a failure,
# or prints no summary line at all (it crashed before check could report), counts as one
# failure. A test that cannot run here (a missing interpreter, no gcore, no objdump) prints
# a line "NAME: SKIPPED: why"; each such line counts as a skip (taken off that binary's
# passed checks). The last line is machine-readable, for tests/check.sh:
#   unit counts: PASSED FAILED SKIPPED
# Exit status: 0 when nothing failed, 1 otherwise.
set -u
# check kills a test after 4 s by default; the live-memory tests decode millions of line-table
# entries and run 2-4x slower under ASan or on a loaded 2-core machine. Timings are for
# `make bench`, not for pass/fail.
: "${CK_DEFAULT_TIMEOUT:=300}"
export CK_DEFAULT_TIMEOUT

if [ $# -eq 0 ]; then
	echo "run-unit: no unit test binaries given" >&2
	echo "unit counts: 0 1 0"
	exit 1
fi

log=$(mktemp "${TMPDIR:-/tmp}/aiodbg-unit.XXXXXX")
trap 'rm -f "$log" "$log.rc" "$log.all"' EXIT INT TERM
checks=0
skipped=0
failures=0
errors=0
broken=0
for bin in "$@"; do
	echo "== unit: $bin"
	if [ ! -x "$bin" ]; then
		echo "run-unit: $bin: not built" >&2
		broken=$((broken + 1))
		continue
	fi
	{
		"$bin" 2>&1
		echo $? >"$log.rc"
	} | tee "$log"
	cat "$log" >>"$log.all"
	rc=$(cat "$log.rc")
	# Sum every "NN%: Checks: C, Failures: F, Errors: E" line of this binary.
	sums=$(awk '
		/^[0-9]+%: Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+/ {
			gsub(/,/, ""); c += $3; f += $5; e += $7; n++
		}
		END { printf "%d %d %d %d\n", n, c, f, e }' "$log")
	read -r n c f e <<EOF
$sums
EOF
	sk=$(grep -c ': SKIPPED: ' "$log")
	[ "$sk" -gt $((c - f - e)) ] && sk=$((c - f - e))
	skipped=$((skipped + sk))
	checks=$((checks + c))
	failures=$((failures + f))
	errors=$((errors + e))
	if [ "$n" -eq 0 ]; then
		echo "run-unit: $bin printed no check summary (exit status $rc): counted as a failure" >&2
		broken=$((broken + 1))
	elif [ "$rc" -ne 0 ] && [ $((f + e)) -eq 0 ]; then
		echo "run-unit: $bin exited with $rc but reported no failure: counted as a failure" >&2
		broken=$((broken + 1))
	fi
done

failed=$((failures + errors + broken))
passed=$((checks - failures - errors - skipped))
echo "unit: $checks checks, $failures failures, $errors errors, $skipped skipped, $broken broken binaries"
if [ "$skipped" -gt 0 ]; then
	echo "unit: skipped:"
	grep -h ': SKIPPED: ' "$log.all" | sed 's/^/  /'
fi
echo "unit counts: $passed $failed $skipped"
[ "$failed" -eq 0 ]
