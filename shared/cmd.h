// SPDX-License-Identifier: MIT
// The command layer: one table of commands shared by the REPL and the GDB extension.
//
// A front end hands a command line to adbg_cmd_run; the command parses its arguments, takes
// a snapshot of the target, and renders text or JSON (schema aiodbg/1, DESIGN.md §6) to the
// FILE the front end gives. The layer never decides where output goes, never exits, and
// returns errors; the front end prints them and picks the exit status
// (adbg_cmd_exit_status).
#ifndef AIODBG_CMD_H
#define AIODBG_CMD_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "error.h"
#include "session.h"

/** The command needs a live process (pause, eval, await, cancel, continue). */
#define ADBG_CMD_LIVE_ONLY 0x1
/** The command takes --json. */
#define ADBG_CMD_JSON 0x2
/** The command takes the rest of the line verbatim (eval EXPR, await EXPR). */
#define ADBG_CMD_RAW 0x4
/** The command is handled by the front end (quit, detach); the layer only documents it. */
#define ADBG_CMD_FRONTEND 0x8
/** The command needs no target (help). */
#define ADBG_CMD_NO_TARGET 0x10

/* What a command's positional arguments are, for completion (struct adbg_cmd.complete). */
/** a task: hex id or unique name. */
#define ADBG_COMPLETE_TASK 0x1
/** a thread: native thread id. */
#define ADBG_COMPLETE_THREAD 0x2
/** a command name (help CMD). */
#define ADBG_COMPLETE_COMMAND 0x4

/** What a front end tells a command about where its output goes. */
struct adbg_cmd_opts {
	/** --json was given globally. */
	bool json;
	/** columns of the terminal, 0 for unlimited (not a terminal). */
	int width;
	/** colour escapes allowed (a TTY and no NO_COLOR). */
	bool color;
};

struct adbg_cmd_ctx {
	struct adbg_session *s;
	FILE *out;
	struct adbg_cmd_opts opts;
	/** argv[0] is the command name; --json is already removed and folded into opts. */
	int argc;
	char **argv;
	/** the text after the command name, verbatim (ADBG_CMD_RAW commands). */
	const char *rest;
};

typedef struct adbg_error *(*adbg_cmd_fn)(struct adbg_cmd_ctx *c);

struct adbg_cmd {
	const char *name;
	/** up to 3 aliases, NULL-terminated. */
	const char *aliases[4];
	/** "bt [TID|TASK] [--native] [--json]" */
	const char *usage;
	/** one line for the command list. */
	const char *summary;
	/** a paragraph for `help CMD`. */
	const char *help;
	/** options, for completion and validation, NULL-terminated. */
	const char *options[8];
	unsigned flags;
	adbg_cmd_fn fn;
	/** ADBG_COMPLETE_* flags: what to offer for positional arguments. */
	unsigned complete;
};

/** The command table, terminated by an entry with name NULL. */
extern const struct adbg_cmd adbg_cmds[];

/** Find a command by name or alias, or NULL. */
const struct adbg_cmd *adbg_cmd_find(const char *name);

/**
 * Split a command line into words (shell-like: quotes and backslashes). *argv_ret is a
 * NULL-terminated array that adbg_cmd_free_words frees. ADBG_ERR_INVALID_ARG on an
 * unterminated quote.
 */
struct adbg_error *adbg_cmd_split(const char *line, int *argc_ret, char ***argv_ret);
void adbg_cmd_free_words(char **argv);

/**
 * Run one command line against session s (which may be NULL for commands that need no
 * target), writing to out. An empty line does nothing. Front-end commands (quit) return
 * ADBG_ERR_INVALID_ARG here: front ends handle them before calling.
 */
struct adbg_error *adbg_cmd_run(struct adbg_session *s, const char *line,
				const struct adbg_cmd_opts *opts, FILE *out);

/** Exit status for a command's error: 0 none, 2 bad usage, 3 target unreadable, else 1. */
int adbg_cmd_exit_status(const struct adbg_error *err);

/** Write the command list, or the help of one command. */
struct adbg_error *adbg_cmd_help(FILE *out, const char *name);

/*
 * Completion, for front ends (the REPL's Tab, GDB's complete()). Task ids and names and
 * thread ids come from a quick snapshot (no stacks) kept in a cache the front end owns, so
 * that pressing Tab again within ADBG_COMPLETE_TTL_MS does not stop the target again; for
 * a core the snapshot is taken once.
 */

/** How long completion candidates from a live target are reused. */
#define ADBG_COMPLETE_TTL_MS 3000

/** Candidates of one completion; the front end owns it. */
struct adbg_complete_cache;

/** Receives one candidate (a whole word); the string is only valid during the call. */
typedef void (*adbg_complete_fn)(void *arg, const char *candidate);

/**
 * Offer every completion of word, the (possibly empty) word that ends line, where line is
 * the command line up to the cursor. The first word completes to command names and
 * aliases; a word starting with '-' to the command's options; other words to what the
 * command takes (struct adbg_cmd.complete): task names (names with spaces or quotes are
 * left out) and, once the word starts with "0", task ids ("0x..."); thread ids; command
 * names. Each candidate is passed to fn once, in table order for commands and options,
 * sorted for names.
 *
 * s may be NULL (no target: commands and options only). *cache may be NULL; it is
 * allocated on first use and refreshed when stale. Never fails: when the target cannot be
 * read (or the user interrupted the snapshot) there are simply no target candidates.
 */
void adbg_cmd_complete(struct adbg_session *s, struct adbg_complete_cache **cache,
		       const char *line, const char *word, adbg_complete_fn fn, void *arg);

/** Drop the cached candidates (e.g. before the next Tab must see a change). NULL is a no-op. */
void adbg_complete_cache_destroy(struct adbg_complete_cache *cache);

/* Colour, for renderers. Only ever emitted when the front end allowed it (opts.color) and
 * the output is not JSON, so escapes never reach pipes, files or JSON. */
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
void adbg_text_cell(const struct adbg_cmd_ctx *c, const char *s, int width, int color,
		    bool last);

/**
 * Shrink column widths w[0..n) (none below min[i]) until a row of them with single spaces
 * between fits in width columns; width <= 0 leaves them as they are.
 */
void adbg_text_fit(int *w, const int *min, int n, int width);

/* Helpers for command implementations (cmd_*.c). */

/** The "target" object of DESIGN.md §6 for s. New reference. */
json_t *adbg_json_target(struct adbg_session *s);
/** A new top-level object {"schema": "aiodbg/1", "target": {...}}. */
json_t *adbg_json_document(struct adbg_session *s);
/** Add "warnings" (when any) and write doc to out, one object, then a newline. */
struct adbg_error *adbg_json_emit(struct adbg_cmd_ctx *c, json_t *doc);
/** "0x7f..." for an address; json null for 0. New reference. */
json_t *adbg_json_addr(uint64_t addr);
/** Print the session's warnings as "warning: ..." lines after text output. */
void adbg_text_warnings(struct adbg_cmd_ctx *c);
/** ADBG_ERR_INVALID_ARG "usage: ..." for c's command. */
struct adbg_error *adbg_cmd_usage_error(const struct adbg_cmd_ctx *c, const char *why);
/** True if the option (e.g. "--native") is among c's arguments; removes it. */
bool adbg_cmd_take_flag(struct adbg_cmd_ctx *c, const char *flag);

struct adbg_frame;
struct adbg_stack;
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

/* Commands. */
struct adbg_error *adbg_cmd_threads(struct adbg_cmd_ctx *c);
struct adbg_error *adbg_cmd_bt(struct adbg_cmd_ctx *c);
struct adbg_error *adbg_cmd_tasks(struct adbg_cmd_ctx *c);
struct adbg_error *adbg_cmd_tree(struct adbg_cmd_ctx *c);
struct adbg_error *adbg_cmd_task(struct adbg_cmd_ctx *c);
struct adbg_error *adbg_cmd_info(struct adbg_cmd_ctx *c);
struct adbg_error *adbg_cmd_help_cmd(struct adbg_cmd_ctx *c);
/* Live control (cmd_live.c). */
struct adbg_error *adbg_cmd_pause(struct adbg_cmd_ctx *c);
struct adbg_error *adbg_cmd_continue(struct adbg_cmd_ctx *c);
struct adbg_error *adbg_cmd_eval(struct adbg_cmd_ctx *c);
struct adbg_error *adbg_cmd_await(struct adbg_cmd_ctx *c);
struct adbg_error *adbg_cmd_cancel(struct adbg_cmd_ctx *c);
struct adbg_error *adbg_cmd_select(struct adbg_cmd_ctx *c);
struct adbg_error *adbg_cmd_up(struct adbg_cmd_ctx *c);
struct adbg_error *adbg_cmd_down(struct adbg_cmd_ctx *c);
struct adbg_error *adbg_cmd_locals(struct adbg_cmd_ctx *c);

#endif
