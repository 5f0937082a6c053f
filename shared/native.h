// SPDX-License-Identifier: MIT
// Native stacks, and their merge with the Python stack of the same thread (`bt --native`).
//
// A front end supplies each thread's native frames through a struct adbg_unwinder: the
// REPL libunwind's (unwind.c, live processes and cores), the GDB extension GDB's own
// frames. This module does the rest, the same way for both: it cuts the thread's
// interpreter-frame chain into one segment per entry into the eval loop and puts each
// segment's Python frames in place of the native frame that runs it.
//
// The rule. Each native frame of _PyEval_EvalFrameDefault is one entry into the eval loop
// and runs the interpreter frames pushed since that entry. The chain marks entries: 3.12+
// with a shim frame below each entry's frames (owned by the C stack; 3.14+ also by the
// interpreter), 3.11 with `is_entry` on the first frame an entry pushed
// (layout.interpreter_frame.is_entry). The 3.12+ shim is a local variable of that very
// _PyEval_EvalFrameDefault call (Python/ceval.c: entry_frame), so the native frame whose
// stack area holds the shim's address runs the segment above it: this needs no symbols,
// which matters because PGO builds split the eval loop and stripped binaries name its cold
// part wrongly or not at all. When an anchor is missing (3.11, or an anchor outside every
// native frame), segments go to the native frames named _PyEval_EvalFrameDefault, in order.
// Python frames left over (the unwinder stopped before their eval loop) are appended
// outermost, with a warning. This module does not unwind and does not render.
#ifndef AIODBG_NATIVE_H
#define AIODBG_NATIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "runtime.h"
#include "session.h"

/** Native frames per thread beyond this many are cut (deep recursion in C, or garbage). */
#define ADBG_MAX_NATIVE_FRAMES 2048

/** One thread's native frames, innermost first. */
struct adbg_native_stack {
	/**
	 * kind ADBG_FRAME_NATIVE: function is the symbol or "??", file the object file (or
	 * a source file, with line, when the unwinder knows it), addr the pc, offset the pc's
	 * offset in the symbol (0 when unknown). Strings live in the snapshot arena
	 * (adbg_snapshot_strdup) or are static.
	 */
	struct adbg_stack st;
	/** sp[i]: the stack pointer in frame i, 0 when unknown; frame i's area is [sp[i], sp[i+1]). */
	uint64_t *sp;
	/**
	 * why the walk stopped after its last frame, before the outermost one, or NULL;
	 * snapshot arena or static.
	 */
	const char *stopped;
};

/** Append frame f (copied) with stack pointer sp. */
ADBG_MUST_CHECK struct adbg_error *adbg_native_push(struct adbg_native_stack *ns,
						    const struct adbg_frame *f, uint64_t sp);

/** Free the frames (not the strings). */
void adbg_native_stack_deinit(struct adbg_native_stack *ns);

/**
 * Where native frames come from. The command calls begin and then thread for each thread
 * it shows while a live target is frozen (in the snapshot of the runtime model), thaws it,
 * calls name for each stack, then end. Strings may go to the snapshot arena.
 */
struct adbg_unwinder {
	/** Optional. Prepare; *state_ret is handed to the other members. */
	ADBG_MUST_CHECK struct adbg_error *(*begin)(struct adbg_session *s, void **state_ret);
	/**
	 * Required. The native frames of thread tid (target frozen). A walk that stops early
	 * is not an error: it returns the frames it found and says why in ret->stopped. An
	 * error means no frame at all could be found (thread not stopped, registers unknown,
	 * ...): its message says which thread and why. Frames may be left unnamed (function
	 * NULL) for name to fill.
	 */
	ADBG_MUST_CHECK struct adbg_error *(*thread)(struct adbg_session *s, void *state, int tid,
						     struct adbg_native_stack *ret);
	/**
	 * Optional (NULL: thread names every frame). Name the frames thread left unnamed,
	 * after the target was thawed: symbol lookups need no target memory, so a live
	 * process is not kept stopped for them. Never fails ("??" when unknown).
	 */
	void (*name)(struct adbg_session *s, void *state, struct adbg_native_stack *ns);
	/** Optional. Free what begin made. */
	void (*end)(struct adbg_session *s, void *state);
};

/** A thread's interpreter-frame chain cut at its eval-loop entries. */
struct adbg_native_segments;

/**
 * Read thread th's interpreter-frame chain from th->current_frame and cut it into one
 * segment per eval-loop entry (the rule above), with the frame cap and cycle check of
 * adbg_stack_walk. Reads the target: call it while a live target is frozen (in the same
 * snapshot as th). max_frames: the cap of the adbg_stack_walk th's stack was read with
 * (0: ADBG_MAX_FRAMES). A chain that breaks off is a session warning, not an error. *ret:
 * adbg_native_segments_destroy.
 */
ADBG_MUST_CHECK struct adbg_error *adbg_native_segments_read(struct adbg_session *s,
							     const struct adbg_pythread *th,
							     unsigned max_frames,
							     struct adbg_native_segments **ret);
void adbg_native_segments_destroy(struct adbg_native_segments *segs);

/**
 * The merged stack of thread th, innermost first: the native frames of ns (named), each
 * one that runs an eval-loop entry of segs replaced by that entry's Python frames. Reads
 * nothing from the target. Python frames no native frame runs are a session warning. With
 * no native frame at all, th's Python stack as it is. *ret is a new stack
 * (adbg_stack_deinit).
 */
ADBG_MUST_CHECK struct adbg_error *adbg_native_merge(struct adbg_session *s,
						     const struct adbg_pythread *th,
						     const struct adbg_native_segments *segs,
						     const struct adbg_native_stack *ns,
						     struct adbg_stack *ret);

/** Whether a native function name is the eval loop (_PyEval_EvalFrameDefault, its parts). */
bool adbg_native_is_eval_loop(const char *function);

#endif
