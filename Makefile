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

PKGS := jansson libunwind-ptrace libunwind-coredump libedit check
LIBS_CORE := $(shell pkg-config --libs jansson 2>/dev/null) -lunwind-ptrace -lunwind-coredump \
	-lunwind-generic -lunwind
LIBS_REPL := $(shell pkg-config --libs libedit 2>/dev/null)
LIBS_CHECK := $(shell pkg-config --libs check 2>/dev/null)

SHARED_SRC := $(sort $(wildcard shared/*.c))
SHARED_OBJ := $(SHARED_SRC:%.c=$(BUILD)/%.o) $(BUILD)/shared/agent_src.o
REPL_SRC := $(sort $(wildcard repl/*.c))
REPL_OBJ := $(REPL_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%)
UNIT_HELPERS := $(filter-out $(UNIT_SRC),$(wildcard tests/unit/*.c))
AGENT_PY := $(sort $(wildcard shared/agent/*.py))

LIB := $(BUILD)/libaiodbg.a
EXE := $(BUILD)/aiodbg

.PHONY: all check unit integration asan ubsan fuzz bench demo install format format-check \
	clean deps matrix

all: $(EXE) $(LIB)

$(BUILD)/%.o: %.c $(wildcard shared/*.h) $(wildcard repl/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# The agent's Python source is embedded in the library as a C string table.
$(BUILD)/shared/agent_src.c: $(AGENT_PY) tests/env/embed.sh
	@mkdir -p $(dir $@)
	sh tests/env/embed.sh $@ $(AGENT_PY)

$(BUILD)/shared/agent_src.o: $(BUILD)/shared/agent_src.c
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIB): $(SHARED_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(EXE): $(REPL_OBJ) $(LIB)
	$(CC) $(LDSAN) -o $@ $(REPL_OBJ) $(LIB) $(LIBS_REPL) $(LIBS_CORE) -lm

$(BUILD)/tests/unit/%: tests/unit/%.c $(UNIT_HELPERS) $(LIB) $(wildcard tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit -o $@ $< $(UNIT_HELPERS) $(LIB) $(LIBS_CHECK) $(LIBS_CORE) $(LDSAN) -lm

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

install: all
	install -D -m 755 $(EXE) $(DESTDIR)$(PREFIX)/bin/aiodbg
	install -D -m 644 repl/aiodbg.1 $(DESTDIR)$(PREFIX)/share/man/man1/aiodbg.1

format:
	clang-format -i shared/*.c shared/*.h repl/*.c tests/unit/*.c

format-check:
	@clang-format --dry-run --Werror shared/*.c shared/*.h repl/*.c && echo "format ok"

clean:
	rm -rf build build-asan build-ubsan build-fuzz
