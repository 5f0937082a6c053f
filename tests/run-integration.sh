#!/bin/sh
# SPDX-License-Identifier: MIT
# The integration suite: the interpreter matrix (tests/env/matrix.sh), then Debian's pytest
# (/usr/bin/python3 -m pytest, never pyenv's python3 that may be first on PATH) over
# tests/integration, against $AIODBG (default build/aiodbg).
#
# Usage: tests/run-integration.sh [PYTEST ARGS...]     e.g. -k info, -x, or test files
#
# /proc of the sid root is mounted by the tests while they run; whatever they leave
# mounted that was not mounted before is unmounted here, on every exit path.
# Prints pytest's summary line, then a machine-readable line for tests/check.sh:
#   integration counts: PASSED FAILED SKIPPED        (FAILED includes errors)
# Exit status: pytest's, except that "no tests collected" (5) and a failed matrix on CI
# are failures too.
set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
sid=${AIODBG_SID_ROOT:-$top/.cache/sid}
export AIODBG="${AIODBG:-$top/build/aiodbg}"

proc_before=$(sh "$here/env/sid-proc.sh" status "$sid" 2>/dev/null || echo unmounted)
log=$(mktemp "${TMPDIR:-/tmp}/aiodbg-integration.XXXXXX")
cleanup() {
	if [ "$proc_before" = unmounted ] && [ -d "$sid/proc" ]; then
		sh "$here/env/sid-proc.sh" umount "$sid" || true
	fi
	rm -f "$log" "$log.rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

matrix_rc=0
bash "$here/env/matrix.sh" || matrix_rc=$?

if [ ! -x "$AIODBG" ]; then
	echo "run-integration: $AIODBG is not built (the tests will fail)" >&2
fi
# The whole suite, unless test paths were given.
suite=$here/integration
for a in "$@"; do
	case $a in -*) ;; *) [ -e "${a%%::*}" ] && suite= ;; esac
done
echo "== integration: pytest against $AIODBG"
{
	/usr/bin/python3 -m pytest -q -p no:cacheprovider -rfE --durations=15 $suite "$@" 2>&1
	echo $? >"$log.rc"
} | tee "$log"
rc=$(cat "$log.rc" 2>/dev/null || echo 1)

# pytest -q's last line: "3 failed, 40 passed, 2 skipped, 1 error in 12.34s" (or "no tests ran").
summary=$(grep -E '^(=+ )?[0-9]+ [a-z]+.* in [0-9.]+s' "$log" | tail -n 1 | sed -E 's/^=+ //; s/ =+$//')
count() {
	printf '%s\n' "$summary" | grep -oE "[0-9]+ $1" | head -n 1 | cut -d' ' -f1
}
passed=$(count passed)
failed=$(count failed)
errors=$(count 'errors?')
skipped=$(count skipped)
xfailed=$(count xfailed)
xpassed=$(count xpassed)
passed=${passed:-0}
failed=$((${failed:-0} + ${errors:-0} + ${xpassed:-0}))
skipped=$((${skipped:-0} + ${xfailed:-0}))

if [ "$rc" -eq 5 ]; then
	echo "run-integration: FAIL: pytest collected no tests" >&2
	failed=$((failed + 1))
	rc=1
fi
if [ "$matrix_rc" -ne 0 ]; then
	echo "run-integration: FAIL: the interpreter matrix is incomplete (CI=${CI:-})" >&2
	failed=$((failed + 1))
	[ "$rc" -eq 0 ] && rc=1
fi
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
	# pytest failed without a summary (crashed, interrupted, usage error): count it.
	failed=1
fi
echo "integration: ${summary:-no summary from pytest (exit status $rc)}"
echo "integration counts: $passed $failed $skipped"
exit "$rc"
