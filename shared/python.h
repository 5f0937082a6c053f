// SPDX-License-Identifier: MIT
// Recognising the CPython inside a target: where _PyRuntime is, which version and build it
// is, and the layout to read it with.
//
// Search order (docs/design.md §3): every mapped file whose name holds
// "python" first (executable or libpython), then every other mapped ELF file (static
// embedders); in each, the .PyRuntime section (or the _PyRuntime symbol), load bias from
// the mapping. 3.13+: the "xdebugpy" cookie and _Py_DebugOffsets are read from target
// memory and validated; 3.11/3.12: the Py_Version symbol. The AsyncioDebug section (3.14+)
// is searched in every mapping, since _asyncio may be built in. Files are read through
// adbg_target_open_file, so containers and moved core files work. This module does not
// walk threads or tasks.
#ifndef AIODBG_PYTHON_H
#define AIODBG_PYTHON_H

#include "error.h"
#include "layout.h"
#include "target.h"

struct adbg_python {
	/** address of _PyRuntime in the target. */
	uint64_t runtime_addr;
	/** path (as the target names it) of the file that holds _PyRuntime. */
	char *binary;
	/** "3.14.10" */
	char version_str[32];
	/** address of the AsyncioDebug section contents, 0 when not (yet) mapped. */
	uint64_t asyncio_debug_addr;
	/** address of the _PySet_Dummy pointer variable, 0 when unknown. */
	uint64_t set_dummy_addr;
	struct adbg_layout layout;
};

/**
 * Find and recognise the Python in target t. *ret is heap-allocated (adbg_python_destroy).
 * Errors: ADBG_ERR_NOT_FOUND "not a Python process" (no mapping holds a runtime),
 * ADBG_ERR_UNSUPPORTED (version outside 3.11-3.15), ADBG_ERR_BAD_DATA (cookie or table
 * corrupt), or a file error naming the file and suggesting --sysroot/--lib-path for cores.
 */
ADBG_MUST_CHECK struct adbg_error *adbg_python_find(struct adbg_target *t,
						    struct adbg_python **ret);

/**
 * Recognise the Python whose _PyRuntime is at runtime_addr from the target's memory alone,
 * without its files (in-memory targets: tests, fuzzing). 3.13+: the cookie and
 * _Py_DebugOffsets there; 3.11/3.12: version is the PY_VERSION_HEX to assume (the
 * Py_Version adbg_python_find reads from the file). asyncio_debug_addr is where the
 * AsyncioDebug section's bytes are (3.14+), 0 for none. The same checks as
 * adbg_python_find follow. *ret: adbg_python_destroy; its binary is NULL.
 */
ADBG_MUST_CHECK struct adbg_error *adbg_python_at(struct adbg_target *t, uint64_t runtime_addr,
						  uint64_t version, uint64_t asyncio_debug_addr,
						  struct adbg_python **ret);

/**
 * 3.14+: look again for the AsyncioDebug section (asyncio may have been imported since
 * adbg_python_find; call after adbg_target_refresh) and, when found, rebuild py->layout
 * with it. A no-op when the layout already has it or the version has none; not finding
 * it is not an error (py->layout.from_asyncio_debug stays false).
 */
ADBG_MUST_CHECK struct adbg_error *adbg_python_find_asyncio(struct adbg_target *t,
							    struct adbg_python *py);

/** Free. NULL is a no-op. */
void adbg_python_destroy(struct adbg_python *py);

/**
 * Look up a symbol (e.g. "PyRun_SimpleString") in the files the target maps; *ret is its
 * address in the target. ADBG_ERR_NOT_FOUND when no mapped file defines it.
 */
ADBG_MUST_CHECK struct adbg_error *adbg_python_symbol(struct adbg_target *t, const char *name,
						      uint64_t *ret);

#endif
