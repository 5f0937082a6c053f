// SPDX-License-Identifier: MIT
// Await edges that no field of a task names: derived from what finishing a task does (its
// done-callbacks), from the structured group a task belongs to, and from an eager task's
// first step, on every version 3.11-3.15.
//
// One general rule covers asyncio.wait, as_completed, gather, shield, wait_for and code
// written the same way: a task T is awaited by a task H when one of T's done-callbacks
// leads, through a bound method's __self__, a closure cell, a functools.partial or the
// attributes of a plain Python object, to a (non-task) future that H is waiting on. A
// callback that belongs to a structured group (asyncio.TaskGroup, AnyIO's TaskGroup)
// makes the group's host task await T from creation on, as CPython 3.14 records for
// TaskGroup. An eager task running its first step is awaited by the task whose frames
// lie under it on the thread's stack (the one that created it). asyncio_edges.c cites
// the CPython and AnyIO sources each rule mirrors.
//
// The module reads the target (frozen by the caller) and reports edges through a
// callback; it neither resolves them nor renders. Every walk is capped and
// cycle-checked; a cap reached is one warning, never a failure.
#ifndef AIODBG_ASYNCIO_EDGES_H
#define AIODBG_ASYNCIO_EDGES_H

#include <stdbool.h>
#include <stdint.h>

#include "asyncio.h"
#include "error.h"
#include "runtime.h"
#include "session.h"

/** Receives one edge: the task `awaited` is awaited by the task `waiter`. */
typedef ADBG_MUST_CHECK struct adbg_error *(*adbg_aio_edge_fn)(void *ctx, uint64_t awaited,
							       uint64_t waiter);

struct adbg_aio_edges_in {
	struct adbg_session *s;
	/**
	 * the tasks found, with what each waits on (waiting_on.id, waiting_on.task when it
	 * is known to be a task). Only the stacks of eager tasks' creators are written.
	 */
	struct adbg_asyncio_snapshot *snap;
	/** the threads, their stacks and running tasks (eager first steps). */
	const struct adbg_runtime_snapshot *rt;
	/** the interpreter whose modules hold the Future types; 0 when unknown. */
	uint64_t interp;
	/** fill the stack of an eager task's creator from the thread's frames. */
	bool stacks;
	adbg_aio_edge_fn edge;
	/**
	 * is obj a task (by its type)? NULL: only the tasks of snap are. The callbacks of a
	 * task are read as it is found, before every task is known: walks end at tasks.
	 */
	bool (*is_task)(void *ctx, uint64_t obj);
	void *ctx;
};

/**
 * Report the edges described above, each through in->edge (duplicates of edges found by
 * other rules are reported too: the caller drops them). Fails only when out of memory,
 * when in->edge fails, or on ADBG_ERR_INTERRUPTED; an unreadable object costs the edges
 * through it.
 */
ADBG_MUST_CHECK struct adbg_error *adbg_asyncio_more_edges(const struct adbg_aio_edges_in *in);

/**
 * The same in steps, so that each task's done-callbacks are read while the task is still
 * in the read cache: begin (in must outlive the state), adbg_asyncio_edges_task for each
 * task as it is visited (in the order of in->snap->tasks; the snapshot may grow
 * meanwhile), then end, once every task is known: it reads the tasks added since, reports
 * the edges as adbg_asyncio_more_edges does, and frees the state whatever it returns.
 * adbg_asyncio_edges_free drops a state not ended.
 */
struct adbg_aio_edges;
ADBG_MUST_CHECK struct adbg_error *adbg_asyncio_edges_begin(const struct adbg_aio_edges_in *in,
							    struct adbg_aio_edges **ret);
ADBG_MUST_CHECK struct adbg_error *adbg_asyncio_edges_task(struct adbg_aio_edges *e,
							   const struct adbg_task *t);
ADBG_MUST_CHECK struct adbg_error *adbg_asyncio_edges_end(struct adbg_aio_edges *e);
void adbg_asyncio_edges_free(struct adbg_aio_edges *e);

#endif
