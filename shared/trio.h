// SPDX-License-Identifier: MIT
// The Trio model: every task of every Trio run, its nursery parent and child nurseries, its
// cancel-scope chain (deadlines, shield, cancel_called, cancelled_caught, where a
// cancellation comes from) and what it waits on, read from memory like the pure-Python
// asyncio tasks are.
//
// A run is found from the frames of its thread: trio.run (or unrolled_run) in
// trio/_core/_run.py keeps the Runner in its local `runner` (Trio 0.22-0.34; one run per
// thread). From the Runner on, only attributes are read, by name: Runner.tasks,
// Task.name/coro/_parent_nursery/_child_nurseries/_cancel_status, Nursery._parent_task/
// cancel_scope, CancelStatus._scope/_parent/effectively_cancelled, CancelScope._deadline/
// _shield/_cancel_called/cancelled_caught (and 0.28+'s _cancel_reason), Lock._owner; each
// from the instance dict or a __slots__ member, whichever the class has. A guest run
// (start_guest_run) has no such frame and is not found.
//
// Trio tasks join the asyncio snapshot (asyncio.h) as tasks whose `trio` points here: the
// nursery tree is their awaited_by edges (a child is awaited by the task that opened its
// nursery), and a deadlock through trio.Lock is a cycle. asyncio.c calls adbg_trio_collect
// while it builds a snapshot; this module does not render (render.c, cmd_tasks.c do).
#ifndef AIODBG_TRIO_H
#define AIODBG_TRIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "runtime.h"
#include "session.h"

struct adbg_task;

/** Trio runs (threads with one) read at most. */
#define ADBG_TRIO_MAX_RUNNERS 256
/** Cancel statuses followed from a task outwards at most (nesting depth of its scopes). */
#define ADBG_TRIO_MAX_SCOPES 256
/** Child nurseries of one task read at most. */
#define ADBG_TRIO_MAX_NURSERIES 4096

/** One cancel scope of a task's chain. */
struct adbg_trio_scope {
	/** the CancelScope. */
	uint64_t id;
	/** the nursery whose cancel_scope this is; 0: a scope of its own (move_on_*, ...). */
	uint64_t nursery;
	/** absolute deadline on the run's clock (trio.current_time()); valid if has_deadline. */
	double deadline;
	/** deadline minus the run's `now` (negative: past); valid if has_deadline && now_known. */
	double left;
	/** 0.28+: what cancelled it ("deadline", "explicit", "nursery", ...); NULL. Interned. */
	const char *cancel_source;
	/** 0.28+: the reason given to cancel(), NULL if none. Interned. */
	const char *cancel_reason;
	bool has_deadline;
	bool shield;
	bool cancel_called;
	bool cancelled_caught;
	/** the CancelStatus of this scope is effectively cancelled. */
	bool effectively_cancelled;
};

/** What a Trio task has beyond the asyncio task record. */
struct adbg_trio_task {
	/** the Runner. */
	uint64_t runner;
	/** the nursery the task runs in (Task._parent_nursery); 0 for the init task. */
	uint64_t parent_nursery;
	/** the task that opened parent_nursery; 0 when none. */
	uint64_t parent_task;
	/** nurseries this task opened and has not closed (Task._child_nurseries). */
	uint64_t *child_nurseries;
	uint32_t nchild_nurseries;
	/** the cancel-scope chain, innermost first. */
	struct adbg_trio_scope *scopes;
	uint32_t nscopes;
	/** index in scopes of the scope a cancellation of this task comes from; -1: none. */
	int cancelled_by;
	/**
	 * index in scopes of the shield that holds off a cancelled outer scope (the task goes
	 * on until the shield's scope exits); -1: none.
	 */
	int shielded_by;
	/**
	 * the frame of the task's stack where it is, for a table: the innermost of the
	 * program's own frames (the one that called into Trio); 0 when all are Trio's.
	 */
	uint32_t where;
	/** the task waits for a trio.Lock: the task that holds it (Lock._owner), 0 if unknown. */
	uint64_t lock_owner;
	/** the run's clock when the snapshot was taken (see now_source); valid if now_known. */
	double now;
	/**
	 * "clock" (live: the run's SystemClock read at the snapshot) or "last wake" (the run
	 * loop's `now` when it last woke: all a core has). Static.
	 */
	const char *now_source;
	bool now_known;
	/** the scope chain was cut at ADBG_TRIO_MAX_SCOPES or a cycle. */
	bool scopes_truncated;
};

/** A Trio run, as the asyncio snapshot lists loops. */
struct adbg_trio_runner {
	uint64_t id;
	int thread;
};

/** What one snapshot found of Trio. */
struct adbg_trio_snapshot {
	struct adbg_trio_task *tasks;
	size_t ntasks;
	struct adbg_trio_runner *runners;
	size_t nrunners;
	/** deadlocks through trio.Lock: cycles of task ids, each waiting for the next's lock. */
	uint64_t **cycles;
	size_t *cycle_len;
	size_t ncycles;
};

/** Adds task id to the snapshot; *ret is NULL when it is already there or past the cap. */
typedef ADBG_MUST_CHECK struct adbg_error *(*adbg_trio_add_fn)(void *ctx, uint64_t id,
							       struct adbg_task **ret);
/** The coroutine stack of coro, innermost first (empty when stacks are not wanted). */
typedef ADBG_MUST_CHECK struct adbg_error *(*adbg_trio_stack_fn)(void *ctx, uint64_t coro,
								 struct adbg_stack *ret);
/** The task `awaited` is awaited by the task `waiter` (an edge of the tree). */
typedef ADBG_MUST_CHECK struct adbg_error *(*adbg_trio_edge_fn)(void *ctx, uint64_t awaited,
								uint64_t waiter);

struct adbg_trio_in {
	struct adbg_session *s;
	/** the threads with their Python stacks (ADBG_RT_STACKS). */
	const struct adbg_runtime_snapshot *rt;
	/** the value of _PySet_Dummy (0: unknown). */
	uint64_t set_dummy;
	adbg_trio_add_fn add;
	adbg_trio_stack_fn stack;
	adbg_trio_edge_fn edge;
	void *ctx;
};

/**
 * Find the Trio runs of the threads in in->rt and add their tasks through in->add, with
 * their stacks (in->stack), nursery edges (in->edge) and `trio` records, which *ret owns
 * (NULL when no thread runs Trio). Unreadable objects are warnings; errors are NOMEM and
 * INTERRUPTED.
 */
ADBG_MUST_CHECK struct adbg_error *adbg_trio_collect(const struct adbg_trio_in *in,
						     struct adbg_trio_snapshot **ret);

/**
 * The socket whose one byte wakes the Trio run whose Runner is at runner (the write end of
 * its run_sync_soon wakeup socketpair: Runner.entry_queue.wakeup.write_sock, Trio
 * 0.22-0.34), for live control to wake an idle run as it wakes an idle asyncio loop.
 * ADBG_ERR_NOT_FOUND when runner is not a Trio Runner.
 */
ADBG_MUST_CHECK struct adbg_error *adbg_trio_wakeup_sock(struct adbg_session *s, uint64_t runner,
							 uint64_t *ret);

/** Free what adbg_trio_collect made. NULL is a no-op. */
void adbg_trio_snapshot_destroy(struct adbg_trio_snapshot *snap);

#endif
