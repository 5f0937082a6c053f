// SPDX-License-Identifier: MIT
// The asyncio model: every task of every loop, what it awaits, who awaits it, and its
// cancellation state, with the same meaning on CPython 3.11-3.15.
//
// Finding tasks: 3.14+ the per-thread and per-interpreter lists that AsyncioDebug
// describes; 3.11-3.13 the registries behind asyncio.tasks (_all_tasks, or
// _scheduled_tasks + _eager_tasks). Edges: 3.14+ awaited_by of each future; before that
// the same edges derived from _fut_waiter, gather children, TaskGroup children and shield.
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
};

/** A cycle in the await graph: ids of the tasks, in await order. */
struct adbg_cycle {
	uint64_t *ids;
	size_t n;
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
};

/** What to read. */
#define ADBG_AIO_STACKS 0x1 /* coroutine stacks */

/**
 * Read every task and loop (target frozen by the caller). Tasks come in discovery order
 * (per thread, per loop), then the graph edges are completed and cycles found.
 */
ADBG_MUST_CHECK struct adbg_error *adbg_asyncio_snapshot(struct adbg_session *s, unsigned flags,
							 struct adbg_asyncio_snapshot *ret);
void adbg_asyncio_snapshot_deinit(struct adbg_asyncio_snapshot *snap);

/** The task with this id, or NULL. */
struct adbg_task *adbg_asyncio_find(const struct adbg_asyncio_snapshot *snap, uint64_t id);

/**
 * Find a task by "0x..." id or by unique name. ADBG_ERR_NOT_FOUND, or INVALID_ARG when
 * the name is ambiguous (the message lists the candidates' ids).
 */
ADBG_MUST_CHECK struct adbg_error *adbg_asyncio_lookup(const struct adbg_asyncio_snapshot *snap,
						       const char *spec, struct adbg_task **ret);

const char *adbg_task_state_name(enum adbg_task_state st);

#endif
