// SPDX-License-Identifier: MIT
// The command table, the line splitter and dispatcher, help, and the JSON/text helpers that
// every command uses (see cmd.h).
#include "cmd.h"

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
		.options = { "--json" },
		.flags = ADBG_CMD_JSON,
		.fn = adbg_cmd_info,
	},
	{
		.name = "threads",
		.usage = "threads [--json]",
		.summary = "Python threads: id, name, GIL, where each one is",
		.help = "One row per Python thread of every interpreter: native thread id, "
			"threading name, whether it is the main thread, whether it holds the GIL "
			"(where the version publishes it), and its innermost Python frame.",
		.options = { "--json" },
		.flags = ADBG_CMD_JSON,
		.fn = adbg_cmd_threads,
	},
	{
		.name = "bt",
		.aliases = { "backtrace", "where" },
		.usage = "bt [TID] [--native] [--json]",
		.summary = "Python stack of every thread, or of one",
		.help = "The Python stack of each thread (or of thread TID), outermost call "
			"first like a traceback; --json lists frames innermost first. --native "
			"will merge native frames (not available yet).",
		.options = { "--json", "--native" },
		.flags = ADBG_CMD_JSON,
		.fn = adbg_cmd_bt,
	},
	{
		.name = "tasks",
		.aliases = { "ps" },
		.usage = "tasks [--json]",
		.summary = "every asyncio task: state, cancellation, what it awaits, where",
		.help = "One row per asyncio task of every loop and thread: id, name, state "
			"(pending, running, cancelled, finished), cancellation (cancelling(N) when "
			"cancel() was requested; 'undelivered' while the CancelledError has not "
			"reached the coroutine yet), what it awaits, its thread, and where it is "
			"suspended. --json prints the aiodbg/1 document with full stacks and "
			"awaited_by edges.",
		.options = { "--json" },
		.flags = ADBG_CMD_JSON,
		.fn = adbg_cmd_tasks,
	},
	{
		.name = "tree",
		.aliases = { "pstree" },
		.usage = "tree [--dot] [--json]",
		.summary = "the awaited-by forest of tasks; cycles reported",
		.help = "The tasks as a forest, like 'python -m asyncio pstree': a root is a task "
			"nobody awaits, under each task come the tasks it awaits, with each task's "
			"frames outermost first. Tasks that await each other are reported as "
			"cycles. --dot writes a Graphviz graph (edges waiter -> awaited).",
		.options = { "--json", "--dot" },
		.flags = ADBG_CMD_JSON,
		.fn = adbg_cmd_tree,
	},
	{
		.name = "task",
		.usage = "task ID|NAME [--json]",
		.summary = "everything about one task",
		.help = "One task in full: state, cancellation with its message, coroutine, loop "
			"and thread, what it awaits and who awaits it, and its whole coroutine "
			"stack. ID is the hex id the other commands print; a NAME must be unique.",
		.options = { "--json" },
		.flags = ADBG_CMD_JSON,
		.fn = adbg_cmd_task,
	},
	{
		.name = "help",
		.usage = "help [COMMAND]",
		.summary = "list the commands, or explain one",
		.help = "Without an argument, list every command. With one, show its usage and "
			"what it does.",
		.flags = ADBG_CMD_NO_TARGET,
		.fn = adbg_cmd_help_cmd,
	},
	{
		.name = "quit",
		.aliases = { "detach", "exit", "q" },
		.usage = "quit",
		.summary = "detach from the target (left running, unchanged) and leave",
		.help = "Detach from the target and leave. A live target is left running and "
			"unchanged. Ctrl-D does the same.",
		.flags = ADBG_CMD_FRONTEND | ADBG_CMD_NO_TARGET,
	},
	{ .name = NULL },
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
			memmove(&c->argv[i], &c->argv[i + 1], (size_t)(c->argc - i) * sizeof(char *));
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

struct adbg_error *adbg_cmd_run(struct adbg_session *s, const char *line,
				const struct adbg_cmd_opts *opts, FILE *out)
{
	struct adbg_cmd_ctx c = { .s = s, .out = out, .opts = *opts };
	const struct adbg_cmd *cmd;
	struct adbg_error *err;
	const char *rest;

	err = adbg_cmd_split(line, &c.argc, &c.argv);
	if (err)
		return err;
	if (c.argc == 0) {
		adbg_cmd_free_words(c.argv);
		return NULL;
	}
	cmd = adbg_cmd_find(c.argv[0]);
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
	if ((cmd->flags & ADBG_CMD_LIVE_ONLY) && s && s->target->kind == ADBG_TARGET_CORE) {
		err = adbg_error_create(ADBG_ERR_UNSUPPORTED,
					"'%s' needs a live process; this is a core file",
					cmd->name);
		goto out;
	}
	if (s)
		adbg_session_clear_warnings(s);
	err = cmd->fn(&c);
out:
	adbg_cmd_free_words(c.argv);
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

struct adbg_error *adbg_cmd_help(FILE *out, const char *name)
{
	const struct adbg_cmd *cmd;

	if (!name) {
		fprintf(out, "Commands (each takes --json where it shows data):\n");
		for (cmd = adbg_cmds; cmd->name; cmd++) {
			char names[64];
			size_t n = (size_t)snprintf(names, sizeof(names), "%s", cmd->name);

			for (int i = 0; cmd->aliases[i] && n < sizeof(names); i++)
				n += (size_t)snprintf(names + n, sizeof(names) - n, ", %s",
						      cmd->aliases[i]);
			fprintf(out, "  %-18s %s%s\n", names, cmd->summary,
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
	fprintf(out, "\n%s\n", cmd->help);
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

json_t *adbg_json_addr(uint64_t addr)
{
	char buf[24];

	if (!addr)
		return json_null();
	snprintf(buf, sizeof(buf), "%#" PRIx64, addr);
	return json_string(buf);
}

json_t *adbg_json_target(struct adbg_session *s)
{
	struct adbg_target *t = s->target;
	json_t *py = json_object(), *obj = json_object();

	json_object_set_new(py, "version", json_string(s->python->version_str));
	json_object_set_new(py, "free_threaded",
			    json_boolean(s->python->layout.free_threaded));
	json_object_set_new(obj, "kind", json_string(adbg_session_kind_name(s)));
	json_object_set_new(obj, "pid", t->pid ? json_integer(t->pid) : json_null());
	json_object_set_new(obj, "executable",
			    t->executable ? json_string(t->executable) : json_null());
	if (t->core_path)
		json_object_set_new(obj, "core", json_string(t->core_path));
	json_object_set_new(obj, "python", py);
	json_object_set_new(obj, "stopped_ms", json_real(t->stopped_ms));
	return obj;
}

json_t *adbg_json_document(struct adbg_session *s)
{
	json_t *doc = json_object();

	json_object_set_new(doc, "schema", json_string("aiodbg/1"));
	json_object_set_new(doc, "target", adbg_json_target(s));
	return doc;
}

struct adbg_error *adbg_json_emit(struct adbg_cmd_ctx *c, json_t *doc)
{
	if (c->s && c->s->nwarnings) {
		json_t *w = json_array();

		for (size_t i = 0; i < c->s->nwarnings; i++)
			json_array_append_new(w, json_string(c->s->warnings[i]));
		json_object_set_new(doc, "warnings", w);
	}
	if (json_dumpf(doc, c->out, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0) {
		json_decref(doc);
		return adbg_error_create(ADBG_ERR_OS, "writing JSON output failed");
	}
	fputc('\n', c->out);
	json_decref(doc);
	return NULL;
}

void adbg_text_warnings(struct adbg_cmd_ctx *c)
{
	for (size_t i = 0; c->s && i < c->s->nwarnings; i++)
		fprintf(c->out, "warning: %s\n", c->s->warnings[i]);
}
