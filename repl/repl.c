// SPDX-License-Identifier: MIT
// The interactive REPL: libedit line editing, persistent history and tab completion of
// commands and options from the shared command table.
#include <editline/readline.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "repl.h"

// History beyond this many lines is trimmed when saving.
#define HISTORY_MAX 1000

static char *history_path(void)
{
	const char *state = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");
	char *dir = NULL, *path = NULL;

	if (state && *state) {
		if (asprintf(&dir, "%s/aiodbg", state) < 0)
			return NULL;
	} else if (home && *home) {
		if (asprintf(&dir, "%s/.local/state/aiodbg", home) < 0)
			return NULL;
	} else {
		return NULL;
	}
	// mkdir -p of the last two levels is enough for the usual layouts.
	{
		char *slash = strrchr(dir, '/');

		if (slash) {
			*slash = '\0';
			mkdir(dir, 0700);
			*slash = '/';
		}
		mkdir(dir, 0700);
	}
	if (asprintf(&path, "%s/history", dir) < 0)
		path = NULL;
	free(dir);
	return path;
}

/* Candidates for the word being completed: commands first, then their options. */
static const struct adbg_cmd *completing_cmd;
static int completing_index, completing_alias;

static char *command_generator(const char *text, int state)
{
	size_t len = strlen(text);

	if (!state) {
		completing_index = 0;
		completing_alias = -1;
	}
	while (adbg_cmds[completing_index].name) {
		const struct adbg_cmd *cmd = &adbg_cmds[completing_index];
		const char *name = completing_alias < 0 ? cmd->name : cmd->aliases[completing_alias];

		if (!name) {
			completing_index++;
			completing_alias = -1;
			continue;
		}
		completing_alias++;
		if (strncmp(name, text, len) == 0)
			return strdup(name);
	}
	return NULL;
}

static char *option_generator(const char *text, int state)
{
	size_t len = strlen(text);

	if (!state)
		completing_index = 0;
	while (completing_cmd && completing_cmd->options[completing_index]) {
		const char *opt = completing_cmd->options[completing_index++];

		if (strncmp(opt, text, len) == 0)
			return strdup(opt);
	}
	return NULL;
}

static char **complete(const char *text, int start, int end)
{
	char word[64];

	(void)end;
	rl_attempted_completion_over = 1;
	if (sscanf(rl_line_buffer, " %63s", word) != 1 || start == 0 ||
	    (size_t)start <= strspn(rl_line_buffer, " \t"))
		return rl_completion_matches(text, command_generator);
	completing_cmd = adbg_cmd_find(word);
	return rl_completion_matches(text, option_generator);
}

int adbg_repl_interactive(struct adbg_session *s, const struct adbg_cmd_opts *opts,
			  volatile int *interrupted)
{
	char prompt[64];
	char *hist = history_path();
	int status = 0;

	if (s->target->kind == ADBG_TARGET_PROCESS)
		snprintf(prompt, sizeof(prompt), "(aiodbg %d) ", s->target->pid);
	else
		snprintf(prompt, sizeof(prompt), "(aiodbg core) ");
	rl_readline_name = "aiodbg";
	rl_attempted_completion_function = complete;
	using_history();
	stifle_history(HISTORY_MAX);
	if (hist)
		read_history(hist);
	printf("aiodbg: %s %d, Python %s. Type 'help' for the commands, Ctrl-D to leave.\n",
	       s->target->kind == ADBG_TARGET_PROCESS ? "attached to process" : "core of process",
	       s->target->pid, s->python->version_str);

	for (;;) {
		char *line;

		*interrupted = 0;
		line = readline(prompt);
		if (!line) {
			// Ctrl-C at the prompt interrupts the read: a fresh prompt, not an exit.
			if (*interrupted) {
				putchar('\n');
				continue;
			}
			putchar('\n');
			break;
		}
		if (line[strspn(line, " \t")]) {
			add_history(line);
			if (hist)
				append_history(1, hist);
		}
		if (adbg_repl_is_quit(line)) {
			free(line);
			break;
		}
		status = adbg_repl_run_line(s, line, opts);
		free(line);
	}
	if (hist)
		history_truncate_file(hist, HISTORY_MAX);
	free(hist);
	return status;
}
