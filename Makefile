# SPDX-License-Identifier: MIT
# aiodbg build. `make` builds libaiodbg.a and the aiodbg executable; `make check` installs
# what it needs, builds and runs every test; see README.md for the other targets.

BUILD ?= build
CC ?= cc
PREFIX ?= /usr/local
SAN ?=

WARN := -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes -Wstrict-prototypes \
	-Wpointer-arith -Wvla -Wformat=2 -Wimplicit-fallthrough -Wno-format-nonliteral
CFLAGS ?= -O2 -g
ALL_CFLAGS := -std=gnu11 $(WARN) $(CFLAGS) -fPIC -fvisibility=hidden -D_GNU_SOURCE -Ishared
ifeq ($(SAN),asan)
ALL_CFLAGS += -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
LDSAN := -fsanitize=address,undefined
endif
ifeq ($(SAN),ubsan)
ALL_CFLAGS += -fsanitize=undefined -fno-sanitize-recover=undefined
LDSAN := -fsanitize=undefined
endif

PKGS := jansson libunwind-generic libedit check
LIBS_CORE := $(shell pkg-config --libs jansson 2>/dev/null) -lunwind-generic -lunwind
LIBS_REPL := $(shell pkg-config --libs libedit 2>/dev/null)
LIBS_CHECK := $(shell pkg-config --libs check 2>/dev/null)

SHARED_SRC := $(sort $(wildcard shared/*.c))
SHARED_OBJ := $(SHARED_SRC:%.c=$(BUILD)/%.o) $(BUILD)/shared/agent_src.o \
	$(BUILD)/shared/report_src.o
REPL_SRC := $(sort $(wildcard repl/*.c))
REPL_OBJ := $(REPL_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%)
UNIT_HELPERS := $(filter-out $(UNIT_SRC),$(wildcard tests/unit/*.c))
AGENT_PY := $(sort $(wildcard shared/agent/*.py))
REPORT_TPL := shared/report/report.html

LIB := $(BUILD)/libaiodbg.a
EXE := $(BUILD)/aiodbg

.PHONY: all check unit integration asan ubsan fuzz bench demo pictures install format format-check \
	clean deps matrix gdbext gdbext-sid print-warn FORCE

all: $(EXE) $(LIB)

# Each object depends on the headers it includes (-MMD -MP write $(BUILD)/…/x.d beside it).
DEPFLAGS = -MMD -MP

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -c -o $@ $<

# The agent's Python source is embedded in the library as a C string table.
$(BUILD)/shared/agent_src.c: $(AGENT_PY) tests/env/embed.sh
	@mkdir -p $(dir $@)
	sh tests/env/embed.sh $@ $(AGENT_PY)

$(BUILD)/shared/agent_src.o: $(BUILD)/shared/agent_src.c
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# So is the template of `report --html` (shared/cmd_report.c).
$(BUILD)/shared/report_src.c: $(REPORT_TPL) tests/env/embed.sh
	@mkdir -p $(dir $@)
	sh tests/env/embed.sh $@ -n adbg_report_files $(REPORT_TPL)

$(BUILD)/shared/report_src.o: $(BUILD)/shared/report_src.c
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIB): $(SHARED_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(EXE): $(REPL_OBJ) $(LIB)
	$(CC) $(LDSAN) -o $@ $(REPL_OBJ) $(LIB) $(LIBS_REPL) $(LIBS_CORE) -lm

# A unit test is one compiler run over several sources, which -MMD cannot describe: it
# depends on every header it might include.
$(BUILD)/tests/unit/%: tests/unit/%.c $(UNIT_HELPERS) $(LIB) \
		$(wildcard tests/unit/*.h tests/unit/fixtures/*.h shared/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit -o $@ $< $(UNIT_HELPERS) $(LIB) $(LIBS_CHECK) $(LIBS_CORE) $(LDSAN) -lm

# The GDB extension (gdbext/): a CPython module for the Python that GDB embeds, so it is
# built against that Python's headers, asked from gdb itself (GDB=... picks another gdb).
# `make gdbext-sid` builds the same for the sid root's gdb (Python 3.14) with the host
# compiler: the host's glibc is older, so the result loads there. libaiodbg goes in
# statically and only PyInit_aiodbg_gdb is exported (gdbext/exports.map); the libraries
# the sid root lacks (jansson; their .a are not PIC) are copied next to the sid .so, which
# finds them through RPATH $ORIGIN.
GDB ?= gdb
SID_ROOT ?= .cache/sid
SID_PYTHON ?= python3.14
GDBEXT_SRC := $(sort $(wildcard gdbext/*.c))
GDBEXT_SO := $(BUILD)/gdbext/aiodbg_gdb.so
GDBEXT_SID_SO := $(BUILD)/gdbext-sid/aiodbg_gdb.so
GDBEXT_LIBS := -Wl,--as-needed $(LIBS_CORE) -lm
GDBEXT_LDFLAGS := -shared -Wl,--version-script=gdbext/exports.map -Wl,-z,now \
	-Wl,-rpath,'$$ORIGIN'

gdbext: $(GDBEXT_SO)

gdbext-sid: $(GDBEXT_SID_SO)

# `make` builds them too where their GDB is (make check runs the GDB tests); not in the
# sanitizer builds, whose .so GDB could not load without the runtime preloaded.
ifeq ($(SAN),)
all: $(if $(shell command -v $(GDB) 2>/dev/null),gdbext) \
	$(if $(wildcard $(SID_ROOT)/usr/include/$(SID_PYTHON)/Python.h),gdbext-sid)
endif

# The include directory of GDB's Python, rewritten only when it changes so that switching
# GDB= rebuilds the objects. The multiarch pyconfig.h (Debian) sits one level up.
$(BUILD)/gdbext/python-include: FORCE
	@mkdir -p $(dir $@)
	@inc=$$($(GDB) -nx -batch -ex 'python import sysconfig; print(sysconfig.get_paths()["include"])' 2>/dev/null | tail -n 1); \
	if [ ! -f "$$inc/Python.h" ]; then \
		echo "gdbext: $(GDB) has no Python, or the headers of its Python ($$inc) are missing (Debian: python3-dev)" >&2; exit 1; fi; \
	echo "$$inc" | cmp -s - $@ || echo "$$inc" > $@

$(BUILD)/gdbext-sid/python-include: FORCE
	@mkdir -p $(dir $@)
	@inc=$(abspath $(SID_ROOT))/usr/include/$(SID_PYTHON); \
	if [ ! -f "$$inc/Python.h" ]; then \
		echo "gdbext-sid: no $$inc/Python.h; build the sid root with tests/env/build-sid-root.sh" >&2; exit 1; fi; \
	echo "$$inc" | cmp -s - $@ || echo "$$inc" > $@

$(BUILD)/gdbext/%.o $(BUILD)/gdbext-sid/%.o: PYINC = $(shell cat $(dir $@)python-include)

$(BUILD)/gdbext/%.o: gdbext/%.c $(BUILD)/gdbext/python-include
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -isystem $(PYINC) -idirafter $(dir $(PYINC)) -c -o $@ $<

$(BUILD)/gdbext-sid/%.o: gdbext/%.c $(BUILD)/gdbext-sid/python-include
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -isystem $(PYINC) -idirafter $(dir $(PYINC)) -c -o $@ $<

$(GDBEXT_SO): $(GDBEXT_SRC:gdbext/%.c=$(BUILD)/gdbext/%.o) $(LIB) gdbext/exports.map
	$(CC) $(LDSAN) $(GDBEXT_LDFLAGS) -o $@ $(filter %.o,$^) $(LIB) $(GDBEXT_LIBS)
	sh gdbext/check-undefined.sh $@

$(GDBEXT_SID_SO): $(GDBEXT_SRC:gdbext/%.c=$(BUILD)/gdbext-sid/%.o) $(LIB) gdbext/exports.map \
		gdbext/bundle-libs.sh
	$(CC) $(LDSAN) $(GDBEXT_LDFLAGS) -o $@ $(filter %.o,$^) $(LIB) $(GDBEXT_LIBS)
	sh gdbext/check-undefined.sh $@
	sh gdbext/bundle-libs.sh $@ $(SID_ROOT)

FORCE:

# The warning flags, for builds outside this Makefile (tests/fuzz/run.sh).
print-warn:
	@echo $(WARN)

# The header dependencies of every object built so far (none on a fresh tree: all is built).
-include $(wildcard $(BUILD)/shared/*.d $(BUILD)/repl/*.d $(BUILD)/gdbext/*.d \
	$(BUILD)/gdbext-sid/*.d)

deps:
	@sh tests/env/deps.sh

matrix:
	@sh tests/env/matrix.sh

unit: $(UNIT_BIN)
	@sh tests/run-unit.sh $(UNIT_BIN)

integration: $(EXE)
	@AIODBG=$(abspath $(EXE)) sh tests/run-integration.sh

check: deps
	@sh tests/check.sh

asan:
	$(MAKE) BUILD=build-asan SAN=asan all $(patsubst $(BUILD)/%,build-asan/%,$(UNIT_BIN))

ubsan:
	$(MAKE) BUILD=build-ubsan SAN=ubsan all

fuzz:
	@sh tests/fuzz/run.sh

bench: all
	@sh tests/bench/run.sh

demo: all
	@sh examples/demo.sh

# The README's pictures of the demo service (docs/demo-graph.png, docs/demo-report.png).
pictures: all
	@sh examples/pictures.sh

install: all $(if $(shell command -v $(GDB) 2>/dev/null),gdbext)
	install -D -m 755 $(EXE) $(DESTDIR)$(PREFIX)/bin/aiodbg
	install -D -m 644 repl/aiodbg.1 $(DESTDIR)$(PREFIX)/share/man/man1/aiodbg.1
	if [ -f $(GDBEXT_SO) ]; then \
		install -D -m 644 gdbext/aiodbg-gdb.py $(DESTDIR)$(PREFIX)/share/aiodbg/aiodbg-gdb.py && \
		install -D -m 644 $(GDBEXT_SO) $(DESTDIR)$(PREFIX)/share/aiodbg/aiodbg_gdb.so; fi

# Every C file of the tree (clang-format 14, .clang-format); `make check` runs format-check.
FORMAT_FILES = $(wildcard shared/*.c shared/*.h repl/*.c repl/*.h gdbext/*.c gdbext/*.h \
	tests/unit/*.c tests/unit/*.h tests/fuzz/*.c tests/fuzz/*.h)

format:
	clang-format -i $(FORMAT_FILES)

format-check:
	@clang-format --dry-run --Werror $(FORMAT_FILES) && echo "format ok"

clean:
	rm -rf build build-asan build-ubsan build-fuzz
