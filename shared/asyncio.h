// SPDX-License-Identifier: MIT
// The asyncio model: every task of every loop, what it awaits, who awaits it, and its
// cancellation state, with the same meaning on CPython 3.11-3.15.
//
// Finding tasks: 3.14+ the per-thread and per-interpreter lists that AsyncioDebug
// describes; 3.11-3.13 the registries behind asyncio.tasks (_all_tasks, or
// _scheduled_tasks + _eager_tasks). Edges: 3.14+ awaited_by of each future; before that
// the same edges derived from _fut_waiter, gather children, TaskGroup children and shield;
// on every version, those that no field names (asyncio.wait, as_completed, AnyIO task
// groups, eager first steps: asyncio_edges.h).
// Tasks are plain C structs (frames borrow strings from the session's code cache), the
// graph's cycles are listed, not followed. The caller freezes the target. This module does
// not render.
#ifndef AIODBG_ASYNCIO_H
#define AIODBG_ASYNCIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "runtime.h"
#include "session.h"

struct adbg_trio_task;
struct adbg_trio_snapshot;

/** Tasks beyond this many are not read (a warning says so). */
#define ADBG_MAX_TASKS (1u << 22)
/** Waiters of one future beyond this many are not listed. */
#define ADBG_MAX_AWAITED_BY 65536

enum adbg_task_state {
	ADBG_TASK_PENDING,
	ADBG_TASK_CANCELLED,
	ADBG_TASK_FINISHED,
};

/** What a task is blocked on. */
struct adbg_waiting_on {
	/** the awaited future or task (0: none known). */
	uint64_t id;
	/** set when the awaited object is itself a task. */
	uint64_t task;
	/** its type name ("Future", "Task", "_GatheringFuture"); static or interned. */
	const char *type;
	/** what the future is for, when recognised: "Lock.acquire", "Queue.get", "sleep". */
	const char *what;
};

struct adbg_task {
	uint64_t id;
	uint64_t loop;
	/** the task's name; interned. */
	const char *name;
	/** the cancel message, or NULL; interned. */
	const char *cancel_message;
	/** qualname of the coroutine, or NULL; borrowed. */
	const char *coro;
	/** where it is suspended, innermost first (the running task: the thread's stack). */
	struct adbg_stack stack;
	struct adbg_waiting_on waiting_on;
	/** a Trio task: what Trio adds (trio.h); NULL for asyncio tasks. Owned by the snapshot. */
	const struct adbg_trio_task *trio;
	/** tasks awaiting this one. */
	uint64_t *awaited_by;
	uint32_t nawaited_by;
	/** what it waits on, in detail: snap->waits[wait - 1]; 0 when nothing more is known. */
	uint32_t wait;
	/** native thread id of the loop's thread, 0 when unknown. */
	int thread;
	/** Task.cancelling(): cancel requests minus uncancel() calls. */
	int cancel_count;
	/* enum adbg_task_state, in a byte: a million tasks are kept in memory */
	uint8_t state;
	/** pending and a cancel was requested (Task.cancelling() > 0 or must_cancel). */
	bool cancelling;
	/** cancel() was called and not yet delivered (task_must_cancel). */
	bool cancel_requested;
	/** this is the task its thread is running right now. */
	bool running;
	bool has_waiting_on;
	/** the name, or the cancel message, is longer than what was kept (MAX_NAME bytes). */
	bool name_truncated;
	bool cancel_message_truncated;
};

struct adbg_loop {
	uint64_t id;
	int thread;
	/** type name, e.g. "_UnixSelectorEventLoop"; borrowed/interned. */
	const char *type;
	bool running;
	/** the earliest timer of its heap (loop._scheduled: sleeps, timeouts, call_later),
	 * in the loop's clock; read with the tasks' deadlines (none on uvloop). */
	bool has_first_timer;
	double first_timer;
};

/**
 * What a task waits on, beyond the awaited future (asyncio_waits.c, asyncio_locks.c): the
 * asyncio primitive (the `self` of the Lock.acquire, Semaphore.acquire, Condition.wait,
 * Queue.get/put or Event.wait it is suspended in) and what it says, and the earliest
 * deadline of a timer that would wake it.
 */
struct adbg_wait_detail {
	/** the primitive (Lock, Semaphore, BoundedSemaphore, Condition, Queue, Event); 0: none. */
	uint64_t primitive;
	/** its type's name; interned. */
	const char *primitive_type;
	/** is_lock: the lock the task waits to acquire (the primitive, or a Condition's _lock). */
	uint64_t lock;
	/** is_lock: its holders are holders[holders_at .. holders_at + nholders). */
	uint32_t holders_at, nholders;
	/** is_lock and no holder named: why, in words (static). */
	const char *held_unknown;
	/** is_lock with holders: "async with" or "acquire" (how they were found; static). */
	const char *held_evidence;
	/** is_queue: qsize(), maxsize (0: unbounded), tasks waiting in get() and put(). */
	int64_t qsize, maxsize;
	uint32_t getters, putters;
	/** the deadline in the loop's time (time.monotonic()); left: seconds to go at `now`. */
	double when, left;
	/** what set the deadline: "timeout", "wait_for", "sleep" or the timer's callback. */
	const char *deadline_via;
	bool is_lock, is_queue, is_event;
	/** is_event: the Event is set (its waiters are about to wake). */
	bool event_set;
	bool has_deadline;
	/** `left` is known (the snapshot has a `now`). */
	bool left_known;
};

/** A task holding a lock that another task waits for (an edge of the wait-for graph). */
struct adbg_lock_edge {
	uint64_t holder;
	uint64_t waiter;
	uint64_t lock;
};

/**
 * A cycle in the wait-for graph: ids of the tasks, in await order. A cycle through locks is
 * a deadlock: locks[k] (NULL when the cycle has no lock) is the lock ids[k] waits for
 * held by another task of the cycle, 0 where ids[k] awaits a task instead.
 */
struct adbg_cycle {
	uint64_t *ids;
	size_t n;
	uint64_t *locks;
};

struct adbg_asyncio_snapshot {
	struct adbg_task *tasks;
	size_t ntasks;
	/** bytes mapped for tasks (a mapping of its own) */
	size_t tasks_bytes;
	struct adbg_loop *loops;
	size_t nloops;
	struct adbg_cycle *cycles;
	size_t ncycles;
	/** chunks of the frame pool that task stacks point into. */
	struct adbg_frame *frame_chunks;
	/** open-addressing index: id -> task position + 1 (0: empty slot). */
	struct adbg_task_slot {
		uint32_t pos;
		/** bits of the id, so that most probes need not look at the task */
		uint32_t tag;
	} * index;
	size_t index_size;
	/** the awaited_by arrays of all tasks, one allocation. */
	uint64_t *edges;
	/** what the Trio tasks point to (trio.h); NULL when no thread runs Trio. */
	struct adbg_trio_snapshot *trio;
	/** the wait details tasks point to (task.wait), and the lock holders they list. */
	struct adbg_wait_detail *waits;
	size_t nwaits;
	uint64_t *holders;
	size_t nholders;
	/** holder -> waiter edges through locks, sorted by holder. */
	struct adbg_lock_edge *lock_edges;
	size_t nlock_edges;
	/** the loops' clock (time.monotonic()) at the snapshot, when known (has_now). */
	double now;
	bool has_now;
	/** where `now` comes from: "clock" (a live target) or "loop" (its last reading). */
	const char *now_source;
};

/** The wait detail of a task, or NULL. */
const struct adbg_wait_detail *adbg_asyncio_wait(const struct adbg_asyncio_snapshot *snap,
						 const struct adbg_task *t);

/** What to read. */
#define ADBG_AIO_STACKS 0x1 /* coroutine stacks */
/* only the loops the threads run (no task is read: what choosing a loop needs) */
#define ADBG_AIO_LOOPS_ONLY 0x2

/**
 * Read every task and loop (target frozen by the caller). Tasks come in discovery order
 * (per thread, per loop), then the graph edges are completed and cycles found.
 */
ADBG_MUST_CHECK struct adbg_error *adbg_asyncio_snapshot(struct adbg_session *s, unsigned flags,
							 struct adbg_asyncio_snapshot *ret);
void adbg_asyncio_snapshot_deinit(struct adbg_asyncio_snapshot *snap);
/**
 * Fill each thread's loop and running_task in rt (as a task snapshot does) without reading
 * any task: for threads and bt. Read while the target is frozen; what cannot be read stays
 * 0.
 */
void adbg_asyncio_thread_loops(struct adbg_session *s, struct adbg_runtime_snapshot *rt);

/** The task with this id, or NULL. */
struct adbg_task *adbg_asyncio_find(const struct adbg_asyncio_snapshot *snap, uint64_t id);

/**
 * Bring what adbg_asyncio_find(snap, id) will look at first into the CPU cache: loops over
 * a million tasks call it a few lookups ahead (prefetch.h).
 */
void adbg_asyncio_find_prefetch(const struct adbg_asyncio_snapshot *snap, uint64_t id);

/**
 * Find a task by "0x..." id or by unique name. ADBG_ERR_NOT_FOUND, or INVALID_ARG when
 * the name is ambiguous (the message lists the candidates' ids).
 */
ADBG_MUST_CHECK struct adbg_error *adbg_asyncio_lookup(const struct adbg_asyncio_snapshot *snap,
						       const char *spec, struct adbg_task **ret);

const char *adbg_task_state_name(enum adbg_task_state st);

#endif
