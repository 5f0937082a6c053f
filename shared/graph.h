// SPDX-License-Identifier: MIT
// The await graph as a picture: Graphviz dot text for `tree --dot` and the HTML report.
//
// One cluster per loop (its thread, and the thread's name when known), one node per task
// with its name, state, cancellation, where it is suspended and what it awaits, coloured
// by state, with a legend; edges go from waiter to awaited, and the cycles of the model
// (tasks that wait on each other: deadlocks) are drawn in red with a caption. Identical
// sibling leaves (same waiter, loop, coroutine, state, cancellation, awaited object and
// suspension point) are drawn as one node "×N coro (awaiting)", so that a thousand tasks
// stay readable. This module only formats the model; it does not run Graphviz.
#ifndef AIODBG_GRAPH_H
#define AIODBG_GRAPH_H

#include <stddef.h>
#include <stdio.h>

#include "error.h"

struct adbg_asyncio_snapshot;
struct adbg_runtime_snapshot;

struct adbg_task;

/** A task's state as the pictures, the report and `tasks --group-by` tell it apart. */
enum {
	ADBG_SHOWN_RUNNING,
	ADBG_SHOWN_PENDING,
	/** pending, a cancel requested */
	ADBG_SHOWN_CANCELLING,
	ADBG_SHOWN_CANCELLED,
	ADBG_SHOWN_FINISHED,
	ADBG_NSHOWN,
};

/** t's ADBG_SHOWN_* state. */
int adbg_task_shown_state(const struct adbg_task *t);

/** Identical siblings are collapsed into one node from this many on (by default). */
#define ADBG_GRAPH_COLLAPSE_MIN 3

struct adbg_graph_opts {
	/** threads, for the names in cluster labels; may be NULL. */
	const struct adbg_runtime_snapshot *rt;
	/** collapse groups of at least this many identical siblings; 0: never collapse. */
	unsigned collapse_min;
};

/**
 * Write the dot text of snap's await graph to out. nodes_ret (may be NULL) gets the
 * number of task nodes drawn (a collapsed group counts once). &adbg_error_nomem, or
 * ADBG_ERR_OS when writing failed.
 */
ADBG_MUST_CHECK struct adbg_error *adbg_graph_dot(FILE *out,
						  const struct adbg_asyncio_snapshot *snap,
						  const struct adbg_graph_opts *opts,
						  size_t *nodes_ret);

/**
 * Length of the valid UTF-8 sequence at p (1-4), or 0 when it is not one (a NUL ends it):
 * the dot and HTML writers replace what is not UTF-8 in the target's strings.
 */
size_t adbg_utf8_seq_len(const unsigned char *p);

/* Text of a task that the table, tree, graph and report share (cmd_tasks.c). */
struct adbg_frame;
struct adbg_task;
/** "cancelling(2)", "cancelled", "requested" or "-"; buf of at least 96 bytes. */
const char *adbg_task_cancel_text(const struct adbg_task *t, char *buf, size_t len);
/**
 * What t waits on as the model describes it ("Lock.acquire held by X", "Task NAME"), or
 * "-".
 */
const char *adbg_task_awaiting_text(const struct adbg_asyncio_snapshot *snap,
				    const struct adbg_task *t, char *buf, size_t len);
/** The frame where t is suspended, as `tasks` shows it: the program's frame that called into
 * asyncio or Trio (not Lock.acquire or Trio's trap); NULL for an empty stack. */
const struct adbg_frame *adbg_task_where(const struct adbg_task *t);

#endif
