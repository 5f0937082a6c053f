// SPDX-License-Identifier: MIT
// Rendering helpers that the commands (cmd_*.c) share: the aiodbg/1 JSON document
// (DESIGN.md §6) and its Frame objects, text frames, colour, and table cells.
//
// Renderers only format the model (runtime.h, asyncio.h) and the session's warnings; they
// never read the target. Text goes to the command's FILE; colour escapes are emitted only
// when the front end allowed them and the output is not JSON.
#ifndef AIODBG_RENDER_H
#define AIODBG_RENDER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"

struct adbg_cmd_ctx;
struct adbg_frame;
struct adbg_session;
struct adbg_stack;
struct adbg_task;
struct adbg_asyncio_snapshot;

/* Colour. Only ever emitted when the front end allowed it (opts.color) and the output is
 * not JSON, so escapes never reach pipes, files or JSON. */
enum adbg_color {
	ADBG_COLOR_BOLD,
	ADBG_COLOR_DIM,
	ADBG_COLOR_RED,
	ADBG_COLOR_YELLOW,
	ADBG_COLOR_GREEN,
	ADBG_COLOR_CYAN,
};

/** The escape that starts colour col, or "" when c's output is plain. */
const char *adbg_color(const struct adbg_cmd_ctx *c, enum adbg_color col);
/** The escape that ends any colour, or "" when c's output is plain. */
const char *adbg_color_end(const struct adbg_cmd_ctx *c);

/**
 * Columns that s takes on a terminal: UTF-8 code points, not bytes (a continuation byte
 * takes none). Wide (East Asian) characters are counted as one column.
 */
int adbg_text_columns(const char *s);

/**
 * Write s in exactly width columns (padded with spaces), cutting it with an ellipsis "…"
 * when longer, never inside a UTF-8 sequence; width 0 writes s whole. color (-1: none) is
 * applied to the text, not to the padding. A separating space follows unless last.
 */
void adbg_text_cell(const struct adbg_cmd_ctx *c, const char *s, int width, int color, bool last);

/**
 * Shrink column widths w[0..n) (none below min[i]) until a row of them with single spaces
 * between fits in width columns; width <= 0 leaves them as they are.
 */
void adbg_text_fit(int *w, const int *min, int n, int width);

/* JSON documents. */

/** The "target" object of DESIGN.md §6 for s. New reference. */
json_t *adbg_json_target(struct adbg_session *s);
/** A new top-level object {"schema": "aiodbg/1", "target": {...}}. */
json_t *adbg_json_document(struct adbg_session *s);
/** Add "warnings" (when any) and write doc to out: one compact object on one line. */
ADBG_MUST_CHECK struct adbg_error *adbg_json_emit(struct adbg_cmd_ctx *c, json_t *doc);
/**
 * The document of a command that failed in JSON mode (docs/json.md, "Errors"): {"schema",
 * "ok": false, "command": line, "error": message, "exit_status"}, one line on out.
 */
void adbg_json_emit_error(FILE *out, const char *line, const struct adbg_error *err,
			  int exit_status);
/** "0x7f..." for an address; json null for 0. New reference. */
json_t *adbg_json_addr(uint64_t addr);
/**
 * Write a string of the target's: control characters become '?', so that it cannot drive
 * a terminal.
 */
void adbg_text_clean(FILE *out, const char *s);
/** Print the session's warnings as "warning: ..." lines after text output. */
void adbg_text_warnings(struct adbg_cmd_ctx *c);

/* Frames. */

/** A Frame object of DESIGN.md §6. */
json_t *adbg_json_frame(const struct adbg_frame *f);
/** An array of Frame objects, innermost first. */
json_t *adbg_json_stack(const struct adbg_stack *st);
/** "function (file:line)" with an indent and a newline. */
void adbg_text_frame(FILE *out, const struct adbg_frame *f, const char *indent);
/**
 * The line that marks the frames a cut stack left out ("… 1234 frames not shown …"),
 * printed where they would be: before the outermost frame shown, in a traceback that
 * lists the outermost first. Nothing when none were left out.
 */
void adbg_text_frames_omitted(FILE *out, const struct adbg_stack *st, const char *indent);

/* Tasks. */

/**
 * A Task object of DESIGN.md §6 (`task ID --json`, and the reference for the rows below).
 * snap (may be NULL) gives the task's wait detail.
 */
json_t *adbg_json_task(const struct adbg_asyncio_snapshot *snap, const struct adbg_task *t);
/**
 * What a task waits on, in words (the AWAITING column of `tasks`, `tree`, `task`): "Task
 * NAME", "Lock.acquire held by NAME", "Queue.get (size 0, 2 getters, 0 putters)",
 * "sleep, 29.8 s left (sleep)", ...; "-" for nothing. Written into buf; returns buf.
 */
const char *adbg_text_waiting_on(const struct adbg_asyncio_snapshot *snap,
				 const struct adbg_task *t, char *buf, size_t len);
/** The task's `waiting_on` (docs/json.md WaitingOn), or JSON null; snap may be NULL. */
json_t *adbg_json_waiting_on(const struct adbg_asyncio_snapshot *snap, const struct adbg_task *t);
/**
 * Write tasks[0..n) as the elements of a JSON array: each one the object adbg_json_task
 * builds, compact, separated by commas (one line: JSON Lines, docs/json.md). Built from cached
 * fragments in a buffer, without a jansson tree (the fast path of `tasks --json`). On a
 * write error it stops; the caller checks ferror(out). &adbg_error_nomem when memory runs
 * out (rows already written stay written).
 */
ADBG_MUST_CHECK struct adbg_error *adbg_json_write_tasks(FILE *out,
							 const struct adbg_asyncio_snapshot *snap,
							 const struct adbg_task *tasks, size_t n);

#endif
