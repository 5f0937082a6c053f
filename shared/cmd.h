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

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"

struct adbg_live;
struct adbg_session;
struct adbg_unwinder;

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

/* What a command's positional arguments are, for completion (struct adbg_cmd.complete,
 * complete.h). */
/** a task: hex id or unique name. */
#define ADBG_COMPLETE_TASK 0x1
/** a thread: native thread id. */
#define ADBG_COMPLETE_THREAD 0x2
/** a command name (help CMD). */
#define ADBG_COMPLETE_COMMAND 0x4

/** The user's selection (select, up, down), which locals, eval and await use. */
struct adbg_selection {
	/** a task address, 0: none. */
	uint64_t task;
	/** a frame index in its stack (0: the innermost). */
	unsigned frame;
	/**
	 * the task's name when it was selected, to name it once it has ended ("": none); room
	 * for a name as the snapshot keeps it (asyncio.c: 256 bytes, and "…" when cut).
	 */
	char name[272];
};

/**
 * What a front end keeps between the commands of one session and lends to each: the
 * selection, its hooks, and live control's state. The front end owns it: zero it (then
 * set the hooks it has) before the first command, and call adbg_cmd_state_deinit before
 * it destroys the session.
 */
struct adbg_cmd_state {
	struct adbg_selection sel;
	/**
	 * where `bt --native` gets native frames (native.h): the REPL uses libunwind
	 * (adbg_libunwind_unwinder), the GDB extension GDB's frames. NULL: this front end has
	 * none, and `bt --native` says so.
	 */
	const struct adbg_unwinder *unwinder;
	/**
	 * shows a sentence while a command keeps waiting (live control: "loop ... is busy",
	 * "waiting for a safe point"), as it happens; NULL: not shown. shared/ never prints;
	 * this is how it speaks meanwhile.
	 */
	void (*notice)(void *arg, const char *msg);
	void *notice_arg;
	/**
	 * set by a front end that shares the program with another controller (GDB) when that
	 * one holds it stopped until the command ends (a breakpoint): the agent cannot answer,
	 * so live control stops waiting for it at once. NULL: never.
	 */
	volatile int *halted;
	/**
	 * how long the agent keeps a loop paused without a word from us, in seconds (0: the
	 * default, 600). The GDB extension asks for longer: GDB keeps the process stopped
	 * while the user reads, and the agent's clock runs on.
	 */
	double live_lease_s;
	/**
	 * live control (cmd_live.c): the agent's channel and the pause state; NULL until a
	 * command needs it. adbg_cmd_state_deinit closes the channel (the agent then resumes a
	 * paused loop and unloads).
	 */
	struct adbg_live *live;
};

/**
 * Close live control's channel, if open (the agent resumes a paused loop and unloads),
 * and forget live control's state; the selection and hooks stay. NULL is a no-op.
 */
void adbg_cmd_state_live_close(struct adbg_cmd_state *st);

/** Free what st holds (adbg_cmd_state_live_close) and zero it. NULL is a no-op. */
void adbg_cmd_state_deinit(struct adbg_cmd_state *st);

/** What a front end tells a command: where its output goes, and the state it keeps. */
struct adbg_cmd_opts {
	/** --json was given globally. */
	bool json;
	/** columns of the terminal, 0 for unlimited (not a terminal). */
	int width;
	/** colour escapes allowed (a TTY and no NO_COLOR). */
	bool color;
	/**
	 * the front end's state between commands; NULL: none is kept (each command then gets
	 * a fresh one, dropped after it: no selection, no live control that lasts).
	 */
	struct adbg_cmd_state *state;
};

struct adbg_cmd_ctx {
	struct adbg_session *s;
	/** the front end's state (opts.state, or the command's own); never NULL. */
	struct adbg_cmd_state *st;
	FILE *out;
	struct adbg_cmd_opts opts;
	/** argv[0] is the command name; --json is already removed and folded into opts. */
	int argc;
	char **argv;
	/** the text after the command name, verbatim (ADBG_CMD_RAW commands). */
	const char *rest;
};

typedef ADBG_MUST_CHECK struct adbg_error *(*adbg_cmd_fn)(struct adbg_cmd_ctx *c);

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
ADBG_MUST_CHECK struct adbg_error *adbg_cmd_split(const char *line, int *argc_ret,
						  char ***argv_ret);
void adbg_cmd_free_words(char **argv);

/**
 * Run one command line against session s (which may be NULL for commands that need no
 * target), writing to out. An empty line does nothing. Front-end commands (quit) return
 * ADBG_ERR_INVALID_ARG here: front ends handle them before calling.
 */
ADBG_MUST_CHECK struct adbg_error *adbg_cmd_run(struct adbg_session *s, const char *line,
						const struct adbg_cmd_opts *opts, FILE *out);

/** Exit status for a command's error: 0 none, 2 bad usage, 3 target unreadable, else 1. */
int adbg_cmd_exit_status(const struct adbg_error *err);

/** Write the command list, or the help of one command. */
ADBG_MUST_CHECK struct adbg_error *adbg_cmd_help(FILE *out, const char *name);

/* Helpers for command implementations (cmd_*.c). */

/** ADBG_ERR_INVALID_ARG "usage: ..." for c's command. */
ADBG_MUST_CHECK struct adbg_error *adbg_cmd_usage_error(const struct adbg_cmd_ctx *c,
							const char *why);
/** True if the option (e.g. "--native") is among c's arguments; removes it. */
bool adbg_cmd_take_flag(struct adbg_cmd_ctx *c, const char *flag);

/* Commands. */
ADBG_MUST_CHECK struct adbg_error *adbg_cmd_threads(struct adbg_cmd_ctx *c);
ADBG_MUST_CHECK struct adbg_error *adbg_cmd_bt(struct adbg_cmd_ctx *c);
ADBG_MUST_CHECK struct adbg_error *adbg_cmd_tasks(struct adbg_cmd_ctx *c);
ADBG_MUST_CHECK struct adbg_error *adbg_cmd_tree(struct adbg_cmd_ctx *c);
ADBG_MUST_CHECK struct adbg_error *adbg_cmd_task(struct adbg_cmd_ctx *c);
ADBG_MUST_CHECK struct adbg_error *adbg_cmd_info(struct adbg_cmd_ctx *c);
ADBG_MUST_CHECK struct adbg_error *adbg_cmd_help_cmd(struct adbg_cmd_ctx *c);
/* Pictures and reports (cmd_report.c): tree --dot, report --html. */
ADBG_MUST_CHECK struct adbg_error *adbg_cmd_tree_dot(struct adbg_cmd_ctx *c);
ADBG_MUST_CHECK struct adbg_error *adbg_cmd_report(struct adbg_cmd_ctx *c);
/* Live control (cmd_live.c). */
ADBG_MUST_CHECK struct adbg_error *adbg_cmd_pause(struct adbg_cmd_ctx *c);
ADBG_MUST_CHECK struct adbg_error *adbg_cmd_continue(struct adbg_cmd_ctx *c);
ADBG_MUST_CHECK struct adbg_error *adbg_cmd_eval(struct adbg_cmd_ctx *c);
ADBG_MUST_CHECK struct adbg_error *adbg_cmd_await(struct adbg_cmd_ctx *c);
ADBG_MUST_CHECK struct adbg_error *adbg_cmd_cancel(struct adbg_cmd_ctx *c);
ADBG_MUST_CHECK struct adbg_error *adbg_cmd_select(struct adbg_cmd_ctx *c);
ADBG_MUST_CHECK struct adbg_error *adbg_cmd_up(struct adbg_cmd_ctx *c);
ADBG_MUST_CHECK struct adbg_error *adbg_cmd_down(struct adbg_cmd_ctx *c);
ADBG_MUST_CHECK struct adbg_error *adbg_cmd_locals(struct adbg_cmd_ctx *c);

/* tasks --group-by (cmd_tasks_group.c). */
struct adbg_asyncio_snapshot;
/** What `tasks --group-by` groups by. */
enum { ADBG_GROUP_CORO, ADBG_GROUP_STATE, ADBG_GROUP_THREAD };
/**
 * Take `--group-by coro|state|thread` from c's arguments: *ret is the ADBG_GROUP_* key, or
 * -1 when the option is not there. Bad usage for a missing or unknown key.
 */
ADBG_MUST_CHECK struct adbg_error *adbg_tasks_group_option(struct adbg_cmd_ctx *c, int *ret);
/** One row per group of snap's tasks (key: ADBG_GROUP_*), text or JSON, to c->out. */
ADBG_MUST_CHECK struct adbg_error *
adbg_tasks_render_groups(struct adbg_cmd_ctx *c, const struct adbg_asyncio_snapshot *snap, int key);

#endif
