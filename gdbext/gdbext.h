// SPDX-License-Identifier: MIT
// Internal interface of the GDB extension: the GDB-inferior target and the helpers that
// call into GDB's Python API.
//
// Everything here runs inside GDB's embedded Python with the GIL held (GDB calls our
// commands from Python, and GDB itself is single-threaded). The target reads memory with
// gdb.Inferior.read_memory, so it works on whatever GDB has: a live process, a core file,
// a remote gdbserver. It never stops or resumes the inferior: GDB already has it stopped.
// The exception is live control (live.c), which runs its command on a worker thread that
// never calls into GDB, and has GDB's main thread resume and stop the program for it.
// Nothing here is exported from aiodbg_gdb.so except PyInit_aiodbg_gdb.
#ifndef AIODBG_GDBEXT_H
#define AIODBG_GDBEXT_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdbool.h>

#include "cmd.h"
#include "native.h"
#include "runtime.h"
#include "session.h"
#include "target.h"

/** What identifies the program GDB is looking at; a change means a new session. */
struct gdbext_identity {
	long inferior_num;
	int pid;
	bool core;
	/** the core file, or NULL. */
	char *core_path;
	/** the program space's executable, or NULL. */
	char *exe;
};

/** Free the strings of id (not id itself). */
void gdbext_identity_deinit(struct gdbext_identity *id);

/** true if a and b name the same program. */
bool gdbext_identity_equal(const struct gdbext_identity *a, const struct gdbext_identity *b);

/**
 * Find out what GDB's selected inferior is. ADBG_ERR_NOT_FOUND (with advice) when it has
 * no process and no core.
 */
ADBG_MUST_CHECK struct adbg_error *gdbext_identity_get(struct gdbext_identity *ret);

/**
 * ADBG_ERR_INVALID_ARG when a thread of the selected inferior is running (non-stop mode,
 * `continue &`): the target reads memory that GDB has not stopped.
 */
ADBG_MUST_CHECK struct adbg_error *gdbext_check_stopped(void);

/**
 * Create the GDB-inferior target for the selected inferior described by id (copied).
 * The target reads through gdb.Inferior.read_memory with a page cache that
 * adbg_target_refresh (called before each command) drops.
 */
ADBG_MUST_CHECK struct adbg_error *gdbext_target_create(const struct gdbext_identity *id,
							struct adbg_target **ret);

/**
 * Ask the target's reads to fail with ADBG_ERR_INTERRUPTED from now on (set when Python
 * reports a pending KeyboardInterrupt); cleared before each command.
 */
extern volatile int gdbext_interrupted;

/**
 * Run a GDB command and capture its output (gdb.execute(cmd, to_string=True)). *ret is
 * malloc'd. A Python error becomes an adbg_error (and is cleared).
 */
ADBG_MUST_CHECK struct adbg_error *gdbext_execute(const char *cmd, char **ret);

/** The current Python exception as an adbg_error of the given code; clears it. */
ADBG_MUST_CHECK struct adbg_error *gdbext_py_error(enum adbg_error_code code, const char *what);

/** gdb.<name>, a borrowed reference to the cached module attribute lookup, or NULL. */
PyObject *gdbext_gdb_module(void);

/** true when t (a GDB target) is a process GDB runs on this machine (not core, not remote). */
bool gdbext_target_native(const struct adbg_target *t);

/**
 * Run a live-control command line (pause, continue, eval, await, cancel) on the process of
 * the GDB session gs (live.c): the command runs on a worker thread against the process
 * while GDB resumes and stops it; the program is stopped again when this returns, with
 * GDB's selection and settings as they were. native: gdbext_target_native(gs->target).
 * The selection (select/up/down) is opts->state's, the GDB session's: the live session
 * starts from it and gives it back. Output goes to out.
 */
ADBG_MUST_CHECK struct adbg_error *gdbext_live_run(struct adbg_session *gs, bool native,
						   const char *line,
						   const struct adbg_cmd_opts *opts, FILE *out);

/** Drop the live session: the agent's channel closes, and the agent resumes the loop. */
void gdbext_live_forget(void);

/** Before each GDB prompt: drop the live session if GDB no longer has its process. */
void gdbext_live_check(void);

/** GDB's native frames, for adbg_cmd_state.unwinder (`aio bt --native`). */
extern const struct adbg_unwinder gdbext_unwinder;

#endif
