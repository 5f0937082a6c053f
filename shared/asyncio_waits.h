// SPDX-License-Identifier: MIT
// What each task of an asyncio snapshot waits on, in detail: the primitive it is suspended
// in (Lock, Semaphore, Condition, Queue, Event) and its state, who holds the lock it waits
// for, and the deadline of the timer that would wake it. asyncio.c calls these while it
// builds a snapshot (the primitives as it visits each task, the rest after the await edges,
// before the cycles); the results are the snapshot's waits, holders and lock_edges
// (asyncio.h). Internal to shared/.
#ifndef AIODBG_ASYNCIO_WAITS_H
#define AIODBG_ASYNCIO_WAITS_H

#include <stddef.h>
#include <stdint.h>

#include "asyncio.h"
#include "error.h"
#include "runtime.h"
#include "session.h"

/** Lock holders named per lock at most (a Semaphore's permits). */
#define ADBG_MAX_LOCK_HOLDERS 64

/**
 * Fill snap->waits (and each task's `wait`), the lock holders and the lock edges, and the
 * snapshot's `now`. rt is the runtime snapshot the tasks were read from (its thread stacks
 * give a core's clock). Unreadable objects cost their detail only; errors are NOMEM and
 * INTERRUPTED.
 */
ADBG_MUST_CHECK struct adbg_error *adbg_asyncio_waits(struct adbg_session *s,
						      struct adbg_asyncio_snapshot *snap,
						      const struct adbg_runtime_snapshot *rt);

/**
 * The same in steps, so that each task's primitive is read while its frames are still in
 * the read cache: begin (NULL when out of memory), then adbg_asyncio_wait_task for each
 * task as it is visited (in the order of snap->tasks; the snapshot may grow meanwhile),
 * then end, which does the tasks added since, the deadlines and the lock holders, and
 * frees the state whatever it returns. adbg_asyncio_waits_free drops a state not ended.
 */
struct adbg_aio_waits;
struct adbg_aio_waits *adbg_asyncio_waits_begin(struct adbg_session *s,
						struct adbg_asyncio_snapshot *snap);
ADBG_MUST_CHECK struct adbg_error *adbg_asyncio_wait_task(struct adbg_aio_waits *w,
							  struct adbg_task *t);
ADBG_MUST_CHECK struct adbg_error *adbg_asyncio_waits_end(struct adbg_aio_waits *w,
							  const struct adbg_runtime_snapshot *rt);
void adbg_asyncio_waits_free(struct adbg_aio_waits *w);

/**
 * Lock holders (asyncio_locks.c): for each detail that waits for a lock, the tasks that
 * hold it, found in memory; fills holders, held_unknown/held_evidence and snap->lock_edges.
 */
ADBG_MUST_CHECK struct adbg_error *adbg_asyncio_lock_holders(struct adbg_session *s,
							     struct adbg_asyncio_snapshot *snap);

/** The lock edges whose holder is `holder` (*ret, count returned); 0 and NULL if none. */
size_t adbg_asyncio_lock_waiters(const struct adbg_asyncio_snapshot *snap, uint64_t holder,
				 const struct adbg_lock_edge **ret);

/**
 * Find the snapshot's cycles (asyncio_cycles.c): strongly connected components of more than
 * one task, over the awaited_by edges and the lock edges, each with the locks it goes
 * through (cycle.locks). Appends to snap->cycles; fails only with NOMEM.
 */
ADBG_MUST_CHECK struct adbg_error *adbg_asyncio_find_cycles(struct adbg_asyncio_snapshot *snap);

/** Free what adbg_asyncio_waits and adbg_asyncio_find_cycles added to snap. */
void adbg_asyncio_waits_deinit(struct adbg_asyncio_snapshot *snap);

#endif
