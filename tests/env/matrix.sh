#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The interpreter matrix: find every CPython the integration tests run against and write
# .cache/matrix.txt, one row per interpreter, tab-separated:
#
#   name            root                     python                                     version
#   debian-3.11     /                        /usr/bin/python3.11                        3.11.2
#   pyenv-3.12.1    /                        /root/.pyenv/versions/3.12.1/bin/python3.12 3.12.1
#   sid-3.14        /work/main/.cache/sid    /usr/bin/python3.14                        3.14.10
#
# root "/" is the host; any other root means "run as: chroot ROOT PYTHON ...", with PYTHON
# a path inside the root. The version is asked from the interpreter itself.
#
# Rows: Debian's /usr/bin/python3.11; every pyenv interpreter >= 3.11 under
# $(pyenv root)/versions and /root/.pyenv/versions; python3.13/3.14/3.15 of the Debian sid
# root (built by build-sid-root.sh when missing); the free-threaded python3.13t of
# build-ft.sh (row ft-3.13t; built when missing, about four minutes; AIODBG_FT=0 leaves the
# row out). The sid root's gdb (embedding Python 3.14) goes to .cache/matrix-gdb.txt in the
# same format, for the GDB tests.
#
# With CI=true a missing required row (debian-3.11, sid-3.13, sid-3.14, sid-3.15, and
# ft-3.13t unless AIODBG_FT=0) fails the run; elsewhere it is a loud "SKIP (matrix): ..."
# line.
# The Makefile runs this with sh; it is a bash script.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cache=$top/.cache
sid=${AIODBG_SID_ROOT:-$cache/sid}
out=$cache/matrix.txt
gdbout=$cache/matrix-gdb.txt
ci=false
case ${CI:-} in true | 1 | yes) ci=true ;; esac

mkdir -p "$cache"
rows=()
missing=()

# version ROOT PYTHON -> prints "3.12.1 ok" (ok when >= 3.11) or nothing when it cannot run.
version() {
	local cmd=("$2")
	[ "$1" != / ] && cmd=(chroot "$1" "$2")
	timeout 30 "${cmd[@]}" -I -S -c \
		'import sys; print(sys.version.split()[0], "ok" if sys.version_info >= (3, 11) else "old")' \
		2>/dev/null || true
}

add() { # name root python
	local v
	v=$(version "$2" "$3")
	if [ -z "$v" ]; then
		missing+=("$1: $3 (root $2) does not run")
		return 1
	fi
	if [ "${v#* }" != ok ]; then
		return 0 # older than 3.11: not a row
	fi
	rows+=("$1	$2	$3	${v% *}")
}

# Debian's interpreter.
if [ -x /usr/bin/python3.11 ]; then
	add debian-3.11 / /usr/bin/python3.11 || true
else
	missing+=("debian-3.11: /usr/bin/python3.11 not installed (apt-get install python3.11)")
fi

# pyenv interpreters.
pyenv_roots=()
if command -v pyenv >/dev/null 2>&1; then
	pyenv_roots+=("$(pyenv root 2>/dev/null || true)")
fi
pyenv_roots+=(/root/.pyenv)
declare -A seen=()
for pr in "${pyenv_roots[@]}"; do
	[ -n "$pr" ] && [ -d "$pr/versions" ] || continue
	pr=$(realpath "$pr")
	[ -z "${seen[$pr]:-}" ] || continue
	seen[$pr]=1
	for d in "$pr"/versions/*/; do
		d=${d%/}
		[ -L "$d" ] && continue # pyenv aliases (e.g. "3.12" -> 3.12.1) would duplicate rows
		for py in "$d"/bin/python3.*; do
			base=$(basename "$py")
			[[ $base =~ ^python3\.[0-9]+t?$ ]] || continue
			[ -x "$py" ] || continue
			name=pyenv-$(basename "$d")
			[[ $base == *t ]] && [[ $name != *t ]] && name=${name}t
			add "$name" / "$py" || true
		done
	done
done

# The sid root.
sid_ok=true
if ! sh "$here/build-sid-root.sh" "$sid"; then
	sid_ok=false
fi
if $sid_ok; then
	sid=$(realpath "$sid")
	for m in 3.13 3.14 3.15; do
		if [ -x "$sid/usr/bin/python$m" ]; then
			add "sid-$m" "$sid" "/usr/bin/python$m" || true
		else
			missing+=("sid-$m: $sid/usr/bin/python$m missing")
		fi
	done
else
	for m in 3.13 3.14 3.15; do
		missing+=("sid-$m: the sid root $sid could not be built (see above)")
	done
fi

# The free-threaded CPython 3.13 (python3.13t) built by build-ft.sh when missing; a row of
# the default matrix, and required (a failed build fails CI). AIODBG_FT=0 leaves it out.
ft=true
[ "${AIODBG_FT:-1}" = 0 ] && ft=false
if $ft; then
	ftdir=${AIODBG_FT_DIR:-$cache/py3.13t}
	if sh "$here/build-ft.sh" "$ftdir"; then
		# Trio and AnyIO (pure Python) from the sid root, for the Trio/AnyIO tests.
		if $sid_ok && ! sh "$here/ft-packages.sh" "$ftdir" "$sid"; then
			echo "matrix: ft-3.13t gets no Trio/AnyIO (see above)" >&2
		fi
		add ft-3.13t / "$(realpath "$ftdir")/bin/python3.13t" || true
	else
		missing+=("ft-3.13t: the free-threaded build $ftdir failed (see above)")
	fi
fi

tmp=$(mktemp "$out.XXXXXX")
printf '%s\n' "${rows[@]}" >"$tmp"
mv "$tmp" "$out"

# The sid root's gdb, for the GDB tests: name, root, gdb, version of its embedded Python.
: >"$gdbout"
if $sid_ok && [ -x "$sid/usr/bin/gdb" ]; then
	gv=$(timeout 60 chroot "$sid" /usr/bin/gdb -nx -batch \
		-ex 'python import sys; print(sys.version.split()[0])' 2>/dev/null | tail -n 1 || true)
	if [[ $gv =~ ^3\.[0-9]+ ]]; then
		printf 'sid-gdb\t%s\t/usr/bin/gdb\t%s\n' "$sid" "$gv" >"$gdbout"
	else
		echo "SKIP (matrix): sid gdb does not run or has no Python: $sid/usr/bin/gdb" >&2
	fi
fi

echo "matrix: $out"
column -t -s $'\t' "$out" | sed 's/^/  /'
[ -s "$gdbout" ] && column -t -s $'\t' "$gdbout" | sed 's/^/  gdb: /'

required=(debian-3.11 sid-3.13 sid-3.14 sid-3.15)
$ft && required+=(ft-3.13t)
fail=0
for r in "${required[@]}"; do
	if ! cut -f1 "$out" | grep -qx "$r"; then
		reason=$r
		for m in "${missing[@]}"; do
			[[ $m == "$r:"* ]] && reason=$m
		done
		if $ci; then
			echo "FAIL (matrix): required row missing on CI: $reason" >&2
			fail=1
		else
			echo "SKIP (matrix): ********** row missing, tests for it will not run: $reason" >&2
		fi
	fi
done
# Optional rows that were found but do not run (a broken pyenv build) are loud too.
for m in "${missing[@]}"; do
	case $m in pyenv-*) echo "SKIP (matrix): $m" >&2 ;; esac
done
exit $fail
