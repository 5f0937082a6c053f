// SPDX-License-Identifier: MIT
// Rendering what Trio tasks have beyond an asyncio task (trio.h): the "trio" object of a
// task's JSON, the CANCEL column's words and the cancel-scope and nursery lines of `task`.
// Only formats the model; never reads the target.
#ifndef AIODBG_RENDER_TRIO_H
#define AIODBG_RENDER_TRIO_H

#include <jansson.h>
#include <stddef.h>

struct adbg_asyncio_snapshot;
struct adbg_cmd_ctx;
struct adbg_task;
struct adbg_trio_task;

/** The "trio" object of a Trio task (docs/json.md). New reference. */
json_t *adbg_json_trio(const struct adbg_trio_task *tt);

/**
 * A Trio task's cancel state in a few words, for the CANCEL column and the tree:
 * "cancel(deadline)" (a scope cancels it; why), "shielded", "deadline 12.5s", "deadline passed", or "-".
 */
const char *adbg_trio_cancel_text(const struct adbg_trio_task *tt, char *buf, size_t len);

/** The lines `task` adds for a Trio task: run, nurseries, cancel scopes, lock holder. */
void adbg_trio_text_detail(struct adbg_cmd_ctx *c, const struct adbg_asyncio_snapshot *snap,
			   const struct adbg_task *t);

#endif
