#!/bin/sh
# SPDX-License-Identifier: MIT
# `make deps`: make sure the Debian packages that building and testing aiodbg need are
# installed. A fast no-op when they all are (one dpkg-query). When some are missing: as root,
# `apt-get update` once and install them; otherwise print the exact apt-get line and fail.
#
# What each package is for:
#   build-essential pkg-config           compiler, make, pkg-config
#   libunwind-dev libedit-dev            native unwinding (remote API, own accessors), REPL line editing
#   libjansson-dev check                 JSON, unit tests
#   python3 python3.11 python3-pytest    the integration suite (Debian's pytest, no PyPI) and
#                                        the matrix row "debian-3.11"
#   gdb                                  gcore (cores for the tests), the GDB extension tests
#   debootstrap                          the Debian sid root with python3.13/3.14/3.15
#   tmux                                 driving the interactive REPL through a real terminal
#   util-linux procps                    setpriv/runuser (permission tests), mount, ps
#   clang libclang-rt-14-dev             libFuzzer (libclang_rt.fuzzer-x86_64.a is shipped by
#                                        libclang-rt-14-dev on bookworm; no `llvm` needed)
#   clang-format                         `make format-check`
#   time                                 GNU time: `make bench` reads aiodbg's peak RSS with it
#   python3-fastapi python3-uvicorn      the stacks people deploy, as test targets on the host's
#   python3-uvloop python3-httptools     Python 3.11 (FastAPI under uvicorn+uvloop+httptools,
#   python3-aiohttp python3-anyio        an aiohttp server, AnyIO task groups, Trio)
#   python3-trio
#   python3-jsonschema                   every --json output is validated against docs/'s schema
#   graphviz chromium                    rendering `tree --dot` and the HTML report in tests
set -eu

pkgs="build-essential pkg-config libunwind-dev libedit-dev libjansson-dev check \
python3 python3.11 python3-pytest gdb debootstrap tmux util-linux procps \
clang libclang-rt-14-dev clang-format time \
python3-fastapi python3-uvicorn python3-uvloop python3-httptools python3-aiohttp python3-anyio \
python3-trio python3-jsonschema graphviz chromium"

missing=""
# One dpkg-query for all packages; a package that is unknown to dpkg prints nothing on stdout.
installed=$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' $pkgs 2>/dev/null || true)
for p in $pkgs; do
	if ! printf '%s\n' "$installed" | grep -q "^$p ii"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

line="apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing Debian packages:$missing" >&2
	echo "deps: run as root:  $line" >&2
	exit 1
fi
echo "deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >&2
# shellcheck disable=SC2086
apt-get install -y --no-install-recommends $missing >&2
