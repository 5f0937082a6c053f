#!/bin/sh
# SPDX-License-Identifier: MIT
# `make check` (after `make deps`): format check, build, unit tests, integration tests, then the same
# unit and integration tests against an ASan+UBSan build (build-asan/; its integration pass
# on one row per CPython minor version). Every stage runs
# even when an earlier one failed (except those that need what failed to build), and each
# stage's counts are summed. The LAST line is exactly
#   N passed, N failed            or            N passed, N failed, N skipped
# A stage that cannot run or crashes counts as one failure. Exit status: 0 when nothing
# failed, 1 otherwise.
set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
cd "$top" || exit 1

log=$(mktemp "${TMPDIR:-/tmp}/aiodbg-check.XXXXXX")
report=$(mktemp "${TMPDIR:-/tmp}/aiodbg-check-report.XXXXXX")
trap 'rm -f "$log" "$log.rc" "$report"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

PASSED=0
FAILED=0
SKIPPED=0

# run NAME CMD...: run a stage, show its output, remember its exit status in $RC.
run() {
	name=$1
	shift
	echo
	echo "======== $name: $*"
	{
		"$@" 2>&1
		echo $? >"$log.rc"
	} | tee "$log"
	RC=$(cat "$log.rc" 2>/dev/null || echo 1)
}

# A stage that only succeeds or fails (a build): a failure counts as one failed test.
build_stage() {
	name=$1
	run "$@"
	if [ "$RC" -eq 0 ]; then
		printf '%-20s ok\n' "$name" >>"$report"
	else
		printf '%-20s FAILED (exit status %s)\n' "$name" "$RC" >>"$report"
		FAILED=$((FAILED + 1))
	fi
	return "$RC"
}

# A stage that prints "... counts: PASSED FAILED SKIPPED" (run-unit.sh, run-integration.sh).
counted_stage() {
	name=$1
	run "$@"
	counts=$(grep -E '^[a-z]+ counts: [0-9]+ [0-9]+ [0-9]+$' "$log" | tail -n 1 | sed 's/^[a-z]* counts: //')
	if [ -z "$counts" ]; then
		printf '%-20s FAILED: no counts (exit status %s)\n' "$name" "$RC" >>"$report"
		FAILED=$((FAILED + 1))
		return
	fi
	read -r p f s <<EOF
$counts
EOF
	if [ "$RC" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1 # failed without saying what: count it
	fi
	PASSED=$((PASSED + p))
	FAILED=$((FAILED + f))
	SKIPPED=$((SKIPPED + s))
	printf '%-20s %s passed, %s failed, %s skipped\n' "$name" "$p" "$f" "$s" >>"$report"
}

skip_stage() {
	printf '%-20s not run: %s\n' "$1" "$2" >>"$report"
}

unit_bins() { # DIR: the unit test binaries of tests/unit/test_*.c under DIR
	for src in tests/unit/test_*.c; do
		[ -e "$src" ] || continue
		echo "$1/tests/unit/$(basename "$src" .c)"
	done
}

UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export UBSAN_OPTIONS

# 0. The interpreter matrix (builds the sid root when missing): unit tests read real
# interpreters' memory and files too, so it must exist before them.
build_stage matrix sh tests/env/matrix.sh

# The C sources are formatted as .clang-format says (make format fixes them).
build_stage format make format-check

# 1. Build and unit tests.
if build_stage build make all; then
	# `make unit` builds the unit test binaries and runs them through tests/run-unit.sh.
	counted_stage unit make unit
	# 2. Integration tests against build/aiodbg.
	counted_stage integration env AIODBG="$top/build/aiodbg" sh tests/run-integration.sh
else
	skip_stage unit "build failed"
	skip_stage integration "build failed"
fi

# 3. ASan + UBSan: the same unit and integration tests.
if build_stage asan-build make asan; then
	# Leaks are errors in the unit tests (check forks a child per test; LSan runs in each).
	counted_stage asan-unit env ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
		sh tests/run-unit.sh $(unit_bins build-asan)
	# LeakSanitizer stays on for the debugger too: it is a tracer, not a tracee, so LSan's
	# own ptrace-based stop-the-world works. If it ever aborts because of ptrace, set
	# detect_leaks=0 here and say why.
	# One row per CPython minor version (each layout family once; debian-3.11 carries the
	# host's Trio/FastAPI/AnyIO stacks): the two rows that repeat a minor version of another
	# row (pyenv-3.11.7, pyenv-3.13.0) run in the plain pass only, to keep make check well
	# inside CI's 90 minutes. AIODBG_ASAN_ROWS="" runs every row here too.
	counted_stage asan-integration env AIODBG="$top/build-asan/aiodbg" \
		AIODBG_ROWS="${AIODBG_ASAN_ROWS-debian-3.11,pyenv-3.12,sid-3.13,sid-3.14,sid-3.15}" \
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 sh tests/run-integration.sh
else
	skip_stage asan-unit "asan build failed"
	skip_stage asan-integration "asan build failed"
fi

echo
echo "======== summary"
cat "$report"
if [ "$SKIPPED" -gt 0 ]; then
	echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
else
	echo "$PASSED passed, $FAILED failed"
fi
[ "$FAILED" -eq 0 ]
