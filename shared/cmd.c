// SPDX-License-Identifier: MIT
// The command table, the line splitter and dispatcher, and help (see cmd.h). The helpers that
// render commands' output are in render.c, completion in complete.c.
#include "cmd.h"

#include "error.h"
#include "render.h"
#include "session.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

const struct adbg_cmd adbg_cmds[] = {
	{
		.name = "info",
		.usage = "info [--json]",
		.summary = "the target: pid, executable, Python version and build, threads",
		.help = "Show what the target is: process id (or the core's), executable, the "
			"Python version and build kind, the number of threads, and how long the "
			"target was stopped to take the snapshot (live processes).",
		.options = {"--json"},
		.flags = ADBG_CMD_JSON,
		.fn = adbg_cmd_info,
	},
	{
		.name = "threads",
		.usage = "threads [--json]",
		.summary = "Python threads: id, name, GIL, where each one is",
		.help = "One row per Python thread of every interpreter: native thread id, "
			"threading name, whether it is the main thread, whether it holds the GIL "
			"(where the version publishes it; \"none\" for a free-threaded build "
			"running without it), and its innermost Python frame.",
		.options = {"--json"},
		.flags = ADBG_CMD_JSON,
		.fn = adbg_cmd_threads,
	},
	{
		.name = "bt",
		.aliases = {"backtrace", "where"},
		.usage = "bt [TID] [--native] [--max-frames N] [--json]",
		.summary = "Python stack of every thread, or of one",
		.help = "The Python stack of each thread (or of thread TID), outermost call first "
			"like a traceback; --json lists frames innermost first. --native shows "
			"the whole native stack of each thread (unwound with libunwind; in GDB, "
			"GDB's own frames), with the Python frames of each entry into the eval "
			"loop in place of the native frame that runs them. Native frames read "
			"'function+0xOFFSET (object file)' ('name@plt' in a PLT stub, '[vdso]' "
			"for the kernel's vDSO), or '?? 0xPC' where the file has no symbol; in "
			"--json they have kind \"native\", \"pc\" and \"offset\". On a core, "
			"native frames need the files it names (--sysroot, --lib-path); a walk "
			"that stops early says why in a warning. --max-frames N cuts each stack "
			"after its N innermost frames (default and most 1024), with a warning.",
		.options = {"--json", "--native", "--max-frames"},
		.flags = ADBG_CMD_JSON,
		.fn = adbg_cmd_bt,
		.complete = ADBG_COMPLETE_THREAD,
	},
	{
		.name = "tasks",
		.aliases = {"ps"},
		.usage = "tasks [--group-by coro|state|thread] [--json]",
		.summary =
			"every asyncio and Trio task: state, cancellation, what it awaits, where",
		.help = "One row per asyncio task of every loop and thread: id, name, state "
			"(pending, running, cancelled, finished), cancellation (cancelling(N) "
			"when cancel() was requested; 'undelivered' while the CancelledError has "
			"not reached the coroutine yet), what it awaits, its thread, and where it "
			"is suspended: the program's frame that called into asyncio (the full "
			"stack is in 'task ID' and --json). What it awaits says more for asyncio's "
			"primitives: who "
			"holds the Lock, Semaphore or Condition it waits for ('Lock.acquire held "
			"by transfer-b-a', or 'an unknown owner'), a Queue's size and waiters, "
			"whether an Event is set, and the time left before an asyncio.timeout, "
			"wait_for or sleep wakes it. Trio tasks (every thread's trio.run) are "
			"listed too: "
			"CANCEL is then the task's cancel-scope state (cancel(deadline), "
			"shielded, the nearest deadline), WHERE the program's frame that called "
			"into Trio. --json prints the aiodbg/1 document with full stacks and "
			"awaited_by edges (Trio tasks: \"runtime\": \"trio\" and a \"trio\" "
			"object). --group-by coro|state|thread prints one summary row per "
			"coroutine (qualname), state or thread instead, largest first: the "
			"number of tasks and how many are running, pending, cancelling, "
			"cancelled and finished (--json: \"group_by\", \"groups\", \"total\").",
		.options = {"--json", "--group-by"},
		.flags = ADBG_CMD_JSON,
		.fn = adbg_cmd_tasks,
	},
	{
		.name = "tree",
		.aliases = {"pstree"},
		.usage = "tree [--dot] [--json]",
		.summary = "the awaited-by forest of tasks; cycles reported",
		.help = "The tasks as a forest, like 'python -m asyncio pstree': a root is a task "
			"nobody awaits, under each task come the tasks it awaits, with each "
			"task's frames outermost first. A task awaits what it awaits directly, "
			"what it gathers, the tasks whose done-callbacks lead to the future it "
			"waits on (asyncio.wait, as_completed), the children of its TaskGroup or "
			"AnyIO task group from their creation, and an eager task in its first "
			"step that it created; the same on every Python version. Tasks that "
			"await each other, or hold the "
			"asyncio locks each other wait for (a deadlock: each cycle line is "
			"followed by the lock each task waits for and who holds it: 'deadlock: "
			"transfer-b-a waits for Lock 0x7f4e2e1f3e50: Lock.acquire held by "
			"transfer-a-b'), are reported as cycles. For Trio the tree is the nursery "
			"tree: under a task come the "
			"tasks of the nurseries it opened; a deadlock through trio.Lock is a "
			"cycle. --dot writes a Graphviz graph: one cluster per loop (its "
			"thread), each task with its name, state, cancellation, where it is "
			"suspended and what it awaits, coloured by state (with a legend), edges "
			"waiter -> awaited, cycles (deadlocks) in red with a caption; three or "
			"more identical sibling leaves are one node '×N coro (awaiting)'. Render "
			"it with 'dot -Tpng' or 'dot -Tsvg'.",
		.options = {"--json", "--dot"},
		.flags = ADBG_CMD_JSON,
		.fn = adbg_cmd_tree,
	},
	{
		.name = "report",
		.usage = "report --html FILE",
		.summary = "write a self-contained HTML report of the target to FILE",
		.help = "Write one HTML file (FILE, or - for the output) that needs nothing "
			"else, no network: a summary (process or core, Python, threads, task "
			"counts by state), a banner when tasks wait on each other in a cycle "
			"(deadlock), a sortable, filterable, paginated task table (click a row "
			"for the task in full), the awaited-by tree (collapsible), each thread's "
			"stack, the graph of 'tree --dot' as SVG (drawn by Graphviz's dot when "
			"it is installed; else the page says why and keeps the dot text), and "
			"the command that made it. The page's URL fragment holds its filter: "
			"FILE#filter=TEXT&state=pending&sort=name&task=ID.",
		.options = {"--html"},
		.fn = adbg_cmd_report,
	},
	{
		.name = "task",
		.usage = "task ID|NAME [--json]",
		.summary = "everything about one task",
		.help = "One task in full: state, cancellation with its message, coroutine, loop "
			"and thread, what it awaits and who awaits it, and its whole coroutine "
			"stack; for a task in an asyncio primitive, the primitive ('on:'), who "
			"holds the lock it waits for and how that was found ('held by:'), the "
			"queue or event, and its deadline. A Trio task also shows its run, its "
			"nursery and the task that "
			"opened it, the nurseries it opened, the holder of a trio.Lock it waits "
			"for, and its cancel scopes innermost first: deadline and time left, "
			"shield, cancel_called, cancelled_caught, and which scope its "
			"cancellation comes from. ID is the hex id the other commands print; a "
			"NAME must be unique.",
		.options = {"--json"},
		.flags = ADBG_CMD_JSON,
		.fn = adbg_cmd_task,
		.complete = ADBG_COMPLETE_TASK,
	},
	{
		.name = "pause",
		.usage = "pause [--thread TID] [--timeout S] [--lease S] [--json]",
		.summary = "stop a loop (or a Trio run) between two callbacks (other threads keep "
			   "running)",
		.help = "Load aiodbg's agent into the target if needed (3.14+: PEP 768; "
			"3.11-3.13: a pending call on the main thread), then stop the asyncio "
			"loop of thread TID (default: the selected task's loop, else the main "
			"thread's, else the only one) between two callbacks: any loop "
			"implementation (asyncio's, uvloop's), named to the agent by the address "
			"aiodbg reads from memory. The read-only commands keep working; eval, "
			"await and cancel run on the paused loop; "
			"'continue' lets it run. A loop whose thread is busy in one callback "
			"cannot be paused: aiodbg says where it is busy and keeps trying for "
			"--timeout seconds (default 10). The agent resumes the loop by itself if "
			"aiodbg goes away, or after --lease seconds (default 600) without a word "
			"from it.",
		.options = {"--json", "--thread", "--timeout", "--lease"},
		.flags = ADBG_CMD_LIVE_ONLY | ADBG_CMD_JSON,
		.fn = adbg_cmd_pause,
	},
	{
		.name = "continue",
		.aliases = {"c", "cont"},
		.usage = "continue [--json]",
		.summary = "let the paused loop run again",
		.help = "Resume the loop that 'pause' stopped. The agent stays loaded for the "
			"next pause; quitting aiodbg unloads it.",
		.options = {"--json"},
		.flags = ADBG_CMD_LIVE_ONLY | ADBG_CMD_JSON,
		.fn = adbg_cmd_continue,
	},
	{
		.name = "eval",
		.aliases = {"p", "print"},
		.usage = "eval [--timeout S] EXPR",
		.summary = "evaluate a Python expression in the selected frame",
		.help = "Evaluate EXPR (or run a statement) on the loop's thread, in the globals "
			"and locals of the selected frame of the selected task (see 'select', "
			"'up', 'down'; __main__ when no task is selected) and in that task's "
			"context (context variables read what the task would read). Prints the "
			"repr, or the exception with its traceback (a SyntaxError as Python shows "
			"it). Pauses the loop for the duration if it is not paused. An expression "
			"still running after S seconds (default 10, or $AIODBG_EVAL_TIMEOUT; 0: "
			"no limit) or at Ctrl-C is interrupted: an exception raised in the loop's "
			"thread stops it, the loop stays paused or runs on, and the traceback "
			"shows where it was. One blocked in a call into C (time.sleep) stops only "
			"when the call returns: aiodbg says so, and the loop runs on (or is "
			"paused again) then. An expression that raised or was interrupted fails "
			"the command (exit status 1; Ctrl-C: 130). With --json (global): {\"ok\", "
			"\"repr\", \"type\"} or {\"ok\": false, \"error\", \"traceback\", "
			"\"interrupted\"}.",
		.flags = ADBG_CMD_LIVE_ONLY | ADBG_CMD_JSON | ADBG_CMD_RAW,
		.fn = adbg_cmd_eval,
	},
	{
		.name = "await",
		.usage = "await [--timeout S] EXPR",
		.summary = "run an awaitable on the live loop, in the selected task's context",
		.help = "Evaluate EXPR like 'eval' (top-level await allowed) and await the result "
			"as a new task on the program's own loop (a Trio run: a system task of "
			"the run, in a cancel scope of its own), in the selected task's Context, "
			"so locks, queues, streams and futures of the program work and "
			"context-variable writes stay visible in that task afterwards. The loop "
			"runs (other tasks make progress) until the expression finishes, then it "
			"is paused again (or runs on, if it was paused for this await only) and "
			"the result or the exception is printed. A value that cannot be awaited "
			"is Python's TypeError. Statements give None: read as Python reads "
			"'await STATEMENTS' ('await trio.sleep(1); x = 2' awaits the sleep), or "
			"else run as they are ('await x = f()'). After S seconds "
			"(default 60, or $AIODBG_AWAIT_TIMEOUT; 0: no limit) or at Ctrl-C the "
			"expression is cancelled, and code of it running on the loop's thread is "
			"interrupted as in 'eval'. Only what the expression created is cancelled: "
			"its coroutines get CancelledError where they wait, but a future or task "
			"of the program that they wait on is waited on through a shield and goes "
			"on (so does an asyncio.gather of program tasks); what the program's own "
			"code does when cancelled, it still does.",
		.flags = ADBG_CMD_LIVE_ONLY | ADBG_CMD_JSON | ADBG_CMD_RAW,
		.fn = adbg_cmd_await,
	},
	{
		.name = "cancel",
		.usage = "cancel ID|NAME [MSG] [--json]",
		.summary = "Task.cancel(MSG) on the live loop; show the new cancellation state",
		.help = "Call cancel(MSG) on the task, on its loop's thread (the loop is paused "
			"for the call if it is not paused), and show what cancel() returned and "
			"the task's new state and cancelling() count. The task sees "
			"CancelledError(MSG) at its next resumption. A task that has already "
			"finished cannot be cancelled: that fails (exit status 1). A Trio task: "
			"its innermost cancel scope is cancelled (with MSG as the reason on Trio "
			"0.28+); when that scope is its nursery's, the nursery's other tasks are "
			"cancelled too, and a note says so.",
		.options = {"--json"},
		.flags = ADBG_CMD_LIVE_ONLY | ADBG_CMD_JSON,
		.fn = adbg_cmd_cancel,
		.complete = ADBG_COMPLETE_TASK,
	},
	{
		.name = "select",
		.usage = "select ID|NAME [--json]",
		.summary = "choose the task (and frame) that eval, await and locals use",
		.help = "Select a task by id or unique name. The selected frame starts at the "
			"innermost frame of the program's own code (asyncio's frames skipped); "
			"'up' and 'down' move it.",
		.options = {"--json"},
		.flags = ADBG_CMD_JSON,
		.fn = adbg_cmd_select,
		.complete = ADBG_COMPLETE_TASK,
	},
	{
		.name = "up",
		.usage = "up [N] [--json]",
		.summary = "select the frame N levels out (toward the task's coroutine)",
		.help = "Move the selected frame N (default 1) levels toward the outermost frame "
			"of the selected task's stack.",
		.options = {"--json"},
		.flags = ADBG_CMD_JSON,
		.fn = adbg_cmd_up,
	},
	{
		.name = "down",
		.usage = "down [N] [--json]",
		.summary = "select the frame N levels in",
		.help = "Move the selected frame N (default 1) levels toward the innermost frame.",
		.options = {"--json"},
		.flags = ADBG_CMD_JSON,
		.fn = adbg_cmd_down,
	},
	{
		.name = "locals",
		.usage = "locals [--json]",
		.summary = "local variables of the selected frame (read from memory)",
		.help = "The local variables of the selected frame of the selected task, read "
			"from memory (no code runs in the target; works on cores too), with "
			"repr-like values.",
		.options = {"--json"},
		.flags = ADBG_CMD_JSON,
		.fn = adbg_cmd_locals,
	},
	{
		.name = "help",
		.usage = "help [COMMAND]",
		.summary = "list the commands, or explain one",
		.help = "Without an argument, list every command. With one, show its usage and "
			"what it does.",
		.flags = ADBG_CMD_NO_TARGET,
		.fn = adbg_cmd_help_cmd,
		.complete = ADBG_COMPLETE_COMMAND,
	},
	{
		.name = "quit",
		.aliases = {"detach", "exit", "q"},
		.usage = "quit",
		.summary = "detach from the target (left running, unchanged) and leave",
		.help = "Detach from the target and leave. A live target is left running and "
			"unchanged. Ctrl-D does the same.",
		.flags = ADBG_CMD_FRONTEND | ADBG_CMD_NO_TARGET,
	},
	{.name = NULL},
};

const struct adbg_cmd *adbg_cmd_find(const char *name)
{
	for (const struct adbg_cmd *cmd = adbg_cmds; cmd->name; cmd++) {
		if (strcmp(cmd->name, name) == 0)
			return cmd;
		for (int i = 0; cmd->aliases[i]; i++)
			if (strcmp(cmd->aliases[i], name) == 0)
				return cmd;
	}
	return NULL;
}

void adbg_cmd_free_words(char **argv)
{
	if (!argv)
		return;
	for (char **a = argv; *a; a++)
		free(*a);
	free(argv);
}

struct adbg_error *adbg_cmd_split(const char *line, int *argc_ret, char ***argv_ret)
{
	size_t len = strlen(line);
	char **argv = calloc(len / 2 + 2, sizeof(*argv));
	char *word = malloc(len + 1);
	int argc = 0;
	const char *p = line;

	if (!argv || !word) {
		free(argv);
		free(word);
		return &adbg_error_nomem;
	}
	for (;;) {
		size_t n = 0;
		char quote = 0;

		while (isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		while (*p && (quote || !isspace((unsigned char)*p))) {
			if (quote) {
				if (*p == quote) {
					quote = 0;
				} else if (*p == '\\' && quote == '"' && p[1]) {
					word[n++] = *++p;
				} else {
					word[n++] = *p;
				}
			} else if (*p == '"' || *p == '\'') {
				quote = *p;
			} else if (*p == '\\' && p[1]) {
				word[n++] = *++p;
			} else {
				word[n++] = *p;
			}
			p++;
		}
		if (quote) {
			free(word);
			adbg_cmd_free_words(argv);
			return adbg_error_create(ADBG_ERR_INVALID_ARG, "unterminated %c quote",
						 quote);
		}
		word[n] = '\0';
		argv[argc] = strdup(word);
		if (!argv[argc]) {
			free(word);
			adbg_cmd_free_words(argv);
			return &adbg_error_nomem;
		}
		argc++;
	}
	free(word);
	*argc_ret = argc;
	*argv_ret = argv;
	return NULL;
}

bool adbg_cmd_take_flag(struct adbg_cmd_ctx *c, const char *flag)
{
	for (int i = 1; i < c->argc; i++) {
		if (strcmp(c->argv[i], flag) == 0) {
			free(c->argv[i]);
			memmove(&c->argv[i], &c->argv[i + 1],
				(size_t)(c->argc - i) * sizeof(char *));
			c->argc--;
			return true;
		}
	}
	return false;
}

struct adbg_error *adbg_cmd_usage_error(const struct adbg_cmd_ctx *c, const char *why)
{
	const struct adbg_cmd *cmd = adbg_cmd_find(c->argv[0]);

	return adbg_error_create(ADBG_ERR_INVALID_ARG, "%s%susage: %s", why ? why : "",
				 why ? "; " : "", cmd ? cmd->usage : c->argv[0]);
}

void adbg_cmd_state_deinit(struct adbg_cmd_state *st)
{
	if (!st)
		return;
	adbg_cmd_state_live_close(st);
	memset(st, 0, sizeof(*st));
}

struct adbg_error *adbg_cmd_run(struct adbg_session *s, const char *line,
				const struct adbg_cmd_opts *opts, FILE *out)
{
	// Without a front end's state, the command gets one of its own for its run only.
	struct adbg_cmd_state own = {0};
	struct adbg_cmd_ctx c = {.s = s, .out = out, .opts = *opts};
	const struct adbg_cmd *cmd;
	struct adbg_error *err;
	const char *rest;
	bool json_asked;

	c.st = opts->state ? opts->state : &own;
	err = adbg_cmd_split(line, &c.argc, &c.argv);
	if (err) {
		if (opts->json)
			adbg_json_emit_error(out, line, err, adbg_cmd_exit_status(err));
		return err;
	}
	if (c.argc == 0) {
		adbg_cmd_free_words(c.argv);
		return NULL;
	}
	cmd = adbg_cmd_find(c.argv[0]);
	// In JSON mode a failure is a JSON object on out too (one per command: JSON Lines); an
	// eval/await takes --json only globally (its own words are the expression's).
	json_asked = opts->json;
	for (int i = 1; i < c.argc && !(cmd && (cmd->flags & ADBG_CMD_RAW)); i++)
		json_asked |= strcmp(c.argv[i], "--json") == 0;
	if (!cmd) {
		err = adbg_error_create(ADBG_ERR_INVALID_ARG,
					"unknown command '%s'; 'help' lists the commands",
					c.argv[0]);
		goto out;
	}
	if (cmd->flags & ADBG_CMD_FRONTEND) {
		err = adbg_error_create(ADBG_ERR_INVALID_ARG, "'%s' is not available here",
					cmd->name);
		goto out;
	}
	rest = line + strspn(line, " \t");
	rest += strcspn(rest, " \t");
	rest += strspn(rest, " \t");
	c.rest = rest;
	if (!(cmd->flags & ADBG_CMD_RAW)) {
		if (adbg_cmd_take_flag(&c, "--json")) {
			if (!(cmd->flags & ADBG_CMD_JSON)) {
				err = adbg_cmd_usage_error(&c, "this command has no JSON output");
				goto out;
			}
			c.opts.json = true;
		}
		for (int i = 1; i < c.argc; i++) {
			bool known = false;

			if (c.argv[i][0] != '-' || c.argv[i][1] != '-')
				continue;
			for (int j = 0; cmd->options[j]; j++)
				known |= strcmp(cmd->options[j], c.argv[i]) == 0;
			if (!known) {
				char why[160];

				snprintf(why, sizeof(why), "unknown option %.100s", c.argv[i]);
				err = adbg_cmd_usage_error(&c, why);
				goto out;
			}
		}
	}
	if (!(cmd->flags & ADBG_CMD_JSON))
		c.opts.json = false;
	if (!(cmd->flags & ADBG_CMD_NO_TARGET) && !s) {
		err = adbg_error_create(ADBG_ERR_INVALID_ARG, "'%s' needs a target", cmd->name);
		goto out;
	}
	// A GDB inferior loaded from a core is a core too (gdbext sets core_path).
	if ((cmd->flags & ADBG_CMD_LIVE_ONLY) && s &&
	    (s->target->kind == ADBG_TARGET_CORE ||
	     (s->target->kind == ADBG_TARGET_GDB && s->target->core_path))) {
		err = adbg_error_create(ADBG_ERR_UNSUPPORTED,
					"'%s' needs a live process; this is a core file",
					cmd->name);
		goto out;
	}
	if (s)
		adbg_session_clear_warnings(s);
	err = cmd->fn(&c);
out:
	// REPORTED: the output shows the failure already ({"ok": false} of an eval); an
	// interrupt ends the batch run, and what was written before it stays as it is.
	if (err && json_asked && err->code != ADBG_ERR_REPORTED &&
	    err->code != ADBG_ERR_INTERRUPTED)
		adbg_json_emit_error(out, line + strspn(line, " \t"), err,
				     adbg_cmd_exit_status(err));
	adbg_cmd_free_words(c.argv);
	adbg_cmd_state_deinit(&own);
	return err;
}

int adbg_cmd_exit_status(const struct adbg_error *err)
{
	if (!err)
		return 0;
	switch (err->code) {
	case ADBG_ERR_INVALID_ARG:
		return 2;
	case ADBG_ERR_GONE:
	case ADBG_ERR_PERMISSION:
		return 3;
	default:
		return 1;
	}
}

// help text is wrapped to this many columns, and command names take this many.
#define HELP_COLUMNS 78
#define HELP_NAMES 18

/* Write text wrapped at HELP_COLUMNS, each line starting with indent. */
static void put_wrapped(FILE *out, const char *text, const char *indent)
{
	int col = 0, ind = (int)strlen(indent);

	while (*text) {
		size_t n;

		text += strspn(text, " ");
		n = strcspn(text, " ");
		if (!n)
			break;
		if (col && col + 1 + (int)n > HELP_COLUMNS) {
			fputc('\n', out);
			col = 0;
		}
		if (!col) {
			fputs(indent, out);
			col = ind;
		} else {
			fputc(' ', out);
			col++;
		}
		fwrite(text, 1, n, out);
		col += (int)n;
		text += n;
	}
	if (col)
		fputc('\n', out);
}

struct adbg_error *adbg_cmd_help(FILE *out, const char *name)
{
	const struct adbg_cmd *cmd;

	if (!name) {
		fprintf(out, "Commands (those that show data take --json):\n");
		for (cmd = adbg_cmds; cmd->name; cmd++) {
			char names[64];
			size_t n = (size_t)snprintf(names, sizeof(names), "%s", cmd->name);

			for (int i = 0; cmd->aliases[i] && n < sizeof(names); i++)
				n += (size_t)snprintf(names + n, sizeof(names) - n, ", %s",
						      cmd->aliases[i]);
			// Names too long for their column get a line of their own.
			if (n >= HELP_NAMES)
				fprintf(out, "  %s\n  %-*s %s%s\n", names, HELP_NAMES, "",
					cmd->summary,
					cmd->flags & ADBG_CMD_LIVE_ONLY ? " (live only)" : "");
			else
				fprintf(out, "  %-*s %s%s\n", HELP_NAMES, names, cmd->summary,
					cmd->flags & ADBG_CMD_LIVE_ONLY ? " (live only)" : "");
		}
		fprintf(out, "Type 'help COMMAND' for more.\n");
		return NULL;
	}
	cmd = adbg_cmd_find(name);
	if (!cmd)
		return adbg_error_create(ADBG_ERR_INVALID_ARG,
					 "unknown command '%s'; 'help' lists the commands", name);
	fprintf(out, "usage: %s\n", cmd->usage);
	if (cmd->aliases[0]) {
		fprintf(out, "aliases:");
		for (int i = 0; cmd->aliases[i]; i++)
			fprintf(out, " %s", cmd->aliases[i]);
		fprintf(out, "\n");
	}
	fprintf(out, "\n");
	put_wrapped(out, cmd->help, "");
	if (cmd->flags & ADBG_CMD_LIVE_ONLY)
		fprintf(out, "Live processes only.\n");
	return NULL;
}

struct adbg_error *adbg_cmd_help_cmd(struct adbg_cmd_ctx *c)
{
	if (c->argc > 2)
		return adbg_cmd_usage_error(c, NULL);
	return adbg_cmd_help(c->out, c->argc == 2 ? c->argv[1] : NULL);
}
