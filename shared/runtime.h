// SPDX-License-Identifier: MIT
// The runtime model: interpreters, Python threads and their frames, as plain C structs.
//
// Walks _PyRuntime -> interpreters -> thread states (all of them, from threads_head) ->
// interpreter frames (skipping C-stack shims and incomplete frames) -> code objects,
// names and line numbers. Every walk is capped and cycle-checked; hitting a cap is a
// session warning, not a failure. The caller freezes the target around a snapshot. The
// model holds no target pointers that renderers need to follow. This module does not walk
// asyncio tasks (asyncio.c does, using adbg_stack_walk for coroutine frames).
#ifndef AIODBG_RUNTIME_H
#define AIODBG_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "session.h"

/** Frames beyond this many in one stack are cut (with a warning). */
#define ADBG_MAX_FRAMES 1024
/** Thread states beyond this many per interpreter are cut. */
#define ADBG_MAX_THREADS 4096
/** Interpreters beyond this many are cut. */
#define ADBG_MAX_INTERPRETERS 256
/** Beyond a cut, frames are still counted (not kept) up to this many, for the marker. */
#define ADBG_MAX_UNSHOWN_FRAMES 65536

enum adbg_frame_kind {
	ADBG_FRAME_PYTHON,
	ADBG_FRAME_NATIVE,
};

/*
 * Frame strings are borrowed from the session's code cache (interned once per code object
 * or symbol), so a million frames cost no string copies. They stay valid until the next
 * adbg_session_snapshot_begin.
 */
struct adbg_frame {
	/** qualname (Python) or symbol (native); never NULL ("???" when unknown). */
	const char *function;
	/** source file (Python) or object file (native); may be NULL. */
	const char *file;
	/** _PyInterpreterFrame address (Python) or pc (native); its code object:
	 * adbg_frame_code. */
	uint64_t addr;
	/** line number, 0 when unknown. */
	int line;
	enum adbg_frame_kind kind : 8;
	/**
	 * native: the pc's offset in the symbol `function`, 0 when unknown or at its start
	 * (offsets of 16 MiB and more are not kept). Bit fields keep a frame at 32 bytes
	 * (a million tasks have several million frames).
	 */
	uint32_t offset : 24;
};

/** A stack, innermost frame first. */
struct adbg_stack {
	struct adbg_frame *frames;
	size_t n;
	/**
	 * frames beyond the cap that are not in frames: always the outermost ones (a cut
	 * keeps the innermost frames, where the thread or task actually is). Renderers mark
	 * them ("… N frames not shown …", "frames_omitted": N).
	 */
	uint32_t omitted;
	/** the walk hit ADBG_MAX_FRAMES or a cycle. */
	bool truncated;
	/** frames belong to a pool owned elsewhere (adbg_stack_deinit does not free them). */
	bool pooled;
};

enum adbg_gil_state {
	ADBG_GIL_UNKNOWN,
	ADBG_GIL_HELD,
	ADBG_GIL_RELEASED,
	/** a free-threaded build running without its GIL (_gil.enabled == 0). */
	ADBG_GIL_NONE,
};

/** "held", "released", "none" or "unknown" (the JSON values of a thread's gil). */
const char *adbg_gil_name(enum adbg_gil_state g);

struct adbg_pythread {
	uint64_t tstate;
	uint64_t interp;
	/** kernel thread id (native_thread_id). */
	int tid;
	/** threading.get_ident() (pthread_t). */
	uint64_t ident;
	/** threading name, or NULL when not known ("aiodbg-agent" for the agent's thread). */
	char *name;
	/** the threading name is longer than what was kept (MAX_THREAD_NAME bytes). */
	bool name_truncated;
	bool main;
	/**
	 * this is the thread of aiodbg's own agent (live control), not the program's: set
	 * with ADBG_RT_STACKS (adbg_stack_is_agent). Nothing should pick it as the thread
	 * of anything.
	 */
	bool agent;
	enum adbg_gil_state gil;
	/** running event loop and task (asyncio), 0 when none or unknown. */
	uint64_t loop;
	uint64_t running_task;
	/**
	 * the innermost interpreter frame (shims included), 0 when none; set with
	 * ADBG_RT_STACKS. Where adbg_native_merge starts cutting the chain into entries.
	 */
	uint64_t current_frame;
	struct adbg_stack stack;
};

struct adbg_runtime_snapshot {
	struct adbg_pythread *threads;
	size_t nthreads;
};

/** Flags for adbg_runtime_snapshot. */
#define ADBG_RT_STACKS 0x1 /* walk each thread's Python stack */
#define ADBG_RT_NAMES 0x2 /* look up threading names */

/**
 * Read every Python thread of every interpreter (the caller has frozen the target).
 * *ret is filled on success; free with adbg_runtime_snapshot_deinit.
 */
ADBG_MUST_CHECK struct adbg_error *adbg_runtime_snapshot(struct adbg_session *s, unsigned flags,
							 struct adbg_runtime_snapshot *ret);

/**
 * adbg_runtime_snapshot with each thread's stack (ADBG_RT_STACKS) cut at max_frames frames
 * (adbg_frame_cap: 0 is ADBG_MAX_FRAMES), as `bt --max-frames N` asks.
 */
ADBG_MUST_CHECK struct adbg_error *adbg_runtime_snapshot_capped(struct adbg_session *s,
								unsigned flags, unsigned max_frames,
								struct adbg_runtime_snapshot *ret);

/** The frames a walk keeps at most for max_frames (0, or over ADBG_MAX_FRAMES: the maximum). */
static inline size_t adbg_frame_cap(unsigned max_frames)
{
	return max_frames && max_frames < ADBG_MAX_FRAMES ? max_frames : ADBG_MAX_FRAMES;
}
void adbg_runtime_snapshot_deinit(struct adbg_runtime_snapshot *snap);

/**
 * Walk interpreter frames from iframe through `previous`, innermost first, until NULL or
 * until the frame at stop_at has been added (0: no stop). Shim and incomplete frames are
 * skipped. At most adbg_frame_cap(max_frames) frames (the cut is a warning), and a cycle
 * check; a frame that cannot be read ends the walk with a warning.
 */
ADBG_MUST_CHECK struct adbg_error *adbg_stack_walk(struct adbg_session *s, uint64_t iframe,
						   uint64_t stop_at, unsigned max_frames,
						   struct adbg_stack *ret);

/**
 * Read one interpreter frame into *ret. *skip_ret is set for frames that are not shown
 * (C-stack shims, frames not started yet).
 */
ADBG_MUST_CHECK struct adbg_error *adbg_frame_read(struct adbg_session *s, uint64_t iframe,
						   struct adbg_frame *ret, bool *skip_ret);

/**
 * Fill the threading names of snap's threads from threading._active (best effort: a
 * thread whose name cannot be read keeps name NULL).
 */
void adbg_runtime_thread_names(struct adbg_session *s, struct adbg_runtime_snapshot *snap);

/**
 * Look up module.name in interpreter interp (sys.modules[module].__dict__[name]).
 * ADBG_ERR_NOT_FOUND when the module is not imported or has no such global.
 */
ADBG_MUST_CHECK struct adbg_error *adbg_runtime_module_global(struct adbg_session *s,
							      uint64_t interp, const char *module,
							      const char *name, uint64_t *ret);

/** The code object of Python frame f (read from the frame: the target must not have moved). */
ADBG_MUST_CHECK struct adbg_error *adbg_frame_code(struct adbg_session *s,
						   const struct adbg_frame *f, uint64_t *ret);

/**
 * The local variables of a Python frame, slot by slot (co_localsplusnames: arguments,
 * locals, cell and free variables), as the frame holds them.
 */
struct adbg_frame_locals {
	/** the slots' names: str objects of the target (malloc'd; NULL when n == 0). */
	uint64_t *names;
	/**
	 * their values: for a cell or free variable the cell's content; 0 when the slot is
	 * unbound (or could not be read).
	 */
	uint64_t *values;
	size_t n;
	/** the code has more slots than were read. */
	bool truncated;
};

/**
 * Read the local variables of Python frame f, at most max slots, into *ret (free with
 * adbg_frame_locals_deinit). The only reader of frame locals: which slots hold cells comes
 * from the layout (localsplus_kind). ADBG_ERR_NOT_FOUND when f is not a Python frame.
 */
ADBG_MUST_CHECK struct adbg_error *adbg_frame_locals(struct adbg_session *s,
						     const struct adbg_frame *f, size_t max,
						     struct adbg_frame_locals *ret);

/** Free what adbg_frame_locals filled in; the struct is zeroed. */
void adbg_frame_locals_deinit(struct adbg_frame_locals *fl);

/**
 * The value of local variable `name` in Python frame f (adbg_frame_locals: a cell or free
 * variable gives the cell's content). ADBG_ERR_NOT_FOUND when the code has no such local
 * or it is unbound.
 */
ADBG_MUST_CHECK struct adbg_error *adbg_frame_local(struct adbg_session *s,
						    const struct adbg_frame *f, const char *name,
						    uint64_t *ret);

/**
 * Whether a stack is that of aiodbg's agent thread: its outermost Python frame runs the
 * agent's code, a file named /tmp/aiodbg-XXXXXX/a.py (or under /var/tmp, /dev/shm: where
 * live control puts it, channel.c), or on 3.14+ (which compiles it as "<string>") its
 * entry point _Agent.run. The one place that knows how to tell.
 */
bool adbg_stack_is_agent(const struct adbg_stack *st);

/** The name shown for the agent's thread. */
#define ADBG_AGENT_THREAD_NAME "aiodbg-agent"

/** Append a copy of f to st. */
ADBG_MUST_CHECK struct adbg_error *adbg_stack_push(struct adbg_stack *st,
						   const struct adbg_frame *f);
void adbg_stack_deinit(struct adbg_stack *st);

#endif
