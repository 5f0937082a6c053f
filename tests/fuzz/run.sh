#!/bin/sh
# SPDX-License-Identifier: MIT
# Builds and runs every libFuzzer target of tests/fuzz (`make fuzz`); exits non-zero when
# one finds a crash, a leak or a timeout, or does not build.
#
# Conventions, for adding a target NAME:
#   tests/fuzz/fuzz_NAME.c     defines LLVMFuzzerTestOneInput (and may define
#                              LLVMFuzzerInitialize). A line "// fuzz-sources: a.c b.c"
#                              lists the shared/ files it links; without one it links every
#                              shared/*.c (and the generated agent source) with the
#                              libraries of the Makefile.
#   tests/fuzz/seeds-NAME/     optional committed seed files (small; never core files).
#   tests/fuzz/seeds-NAME.sh   optional seed script, run from the repository root as
#                              `sh tests/fuzz/seeds-NAME.sh OUTDIR BUILDDIR`; it writes
#                              seeds into OUTDIR and may fail (the target then runs with
#                              what it has). Generated seeds are never committed.
# Everything goes to build-fuzz/: the binary fuzz_NAME, seeds in seeds-NAME/, the corpus
# libFuzzer grows in corpus-NAME/ (kept between runs), findings as NAME-crash-*,
# NAME-leak-*, NAME-timeout-*, NAME-oom-*, and the log in NAME.log.
#
# Environment: FUZZ_SECONDS (default 180) is the total budget, split evenly between the
# targets; FUZZ_TARGETS="core layout" runs only those; FUZZ_MAX_LEN (default 65536);
# FUZZ_FLAGS extra libFuzzer flags (e.g. -use_value_profile=1); CLANG (default clang).
set -eu

cd "$(dirname "$0")/../.."
OUT=build-fuzz
CLANG=${CLANG:-clang}
SECONDS_TOTAL=${FUZZ_SECONDS:-180}
MAX_LEN=${FUZZ_MAX_LEN:-65536}
# The warnings are the Makefile's (one list for every build).
WARN=$(make -s --no-print-directory print-warn)
CFLAGS="-std=gnu11 -g -O1 -fno-omit-frame-pointer -D_GNU_SOURCE -Ishared -Itests/fuzz
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined $WARN"

if ! command -v "$CLANG" >/dev/null 2>&1; then
	echo "fuzz: $CLANG not found (apt-get install clang)" >&2
	exit 1
fi
mkdir -p "$OUT"

targets=""
for src in tests/fuzz/fuzz_*.c; do
	[ -e "$src" ] || continue
	name=${src#tests/fuzz/fuzz_}
	name=${name%.c}
	if [ -n "${FUZZ_TARGETS:-}" ]; then
		case " $FUZZ_TARGETS " in
		*" $name "*) ;;
		*) continue ;;
		esac
	fi
	targets="$targets $name"
done
set -- $targets
if [ $# -eq 0 ]; then
	echo "fuzz: no targets" >&2
	exit 1
fi
per=$((SECONDS_TOTAL / $#))
[ "$per" -ge 1 ] || per=1

build() {
	name=$1
	src=tests/fuzz/fuzz_$name.c
	list=$(sed -n 's|^// fuzz-sources:||p' "$src" | head -n 1)
	libs=""
	if [ -n "$list" ]; then
		srcs=""
		for f in $list; do
			srcs="$srcs shared/$f"
		done
	else
		make -s build/shared/agent_src.c >/dev/null
		srcs="$(ls shared/*.c) build/shared/agent_src.c"
		libs="$(pkg-config --libs jansson 2>/dev/null || true) -lunwind-ptrace
			-lunwind-coredump -lunwind-generic -lunwind -lm"
	fi
	# shellcheck disable=SC2086 # word splitting of the flag and file lists is wanted
	$CLANG $CFLAGS -o "$OUT/fuzz_$name" "$src" $srcs $libs
}

status=0
for name in "$@"; do
	echo "fuzz: $name: building"
	if ! build "$name"; then
		echo "fuzz: $name: build FAILED" >&2
		status=1
		continue
	fi
	seeds=$OUT/seeds-$name
	corpus=$OUT/corpus-$name
	mkdir -p "$seeds" "$corpus"
	if [ -d "tests/fuzz/seeds-$name" ]; then
		cp -f "tests/fuzz/seeds-$name"/* "$seeds"/ 2>/dev/null || true
	fi
	if [ -f "tests/fuzz/seeds-$name.sh" ]; then
		echo "fuzz: $name: making seeds"
		sh "tests/fuzz/seeds-$name.sh" "$seeds" "$OUT" ||
			echo "fuzz: $name: WARNING: seed script failed; using the seeds there are" >&2
	fi
	nseeds=$(ls "$seeds" | wc -l)
	ncorpus=$(ls "$corpus" | wc -l)
	echo "fuzz: $name: fuzzing for ${per}s ($nseeds seeds, corpus of $ncorpus)"
	rc=0
	"$OUT/fuzz_$name" -max_len="$MAX_LEN" -max_total_time="$per" -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 ${FUZZ_FLAGS:-} \
		-artifact_prefix="$OUT/$name-" "$corpus" "$seeds" >"$OUT/$name.log" 2>&1 ||
		rc=$?
	grep -E '^stat::number_of_executed_units|^stat::average_exec_per_sec|^#[0-9]+.*DONE' \
		"$OUT/$name.log" | sed "s/^/fuzz: $name: /" || true
	if [ "$rc" -ne 0 ]; then
		echo "fuzz: $name: FINDING (exit $rc); see $OUT/$name.log and $OUT/$name-*" >&2
		tail -n 40 "$OUT/$name.log" >&2
		status=1
	else
		echo "fuzz: $name: ok"
	fi
done
exit $status
