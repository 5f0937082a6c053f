// SPDX-License-Identifier: MIT
// Running one command line (its output, its error on one line, its exit status), for batch
// mode and the REPL alike, and the interactive REPL: libedit line editing, persistent
// history, and tab completion of commands, options, task ids and names and thread ids
// (adbg_cmd_complete).
//
// libedit's own signal handling is off (rl_catch_signals): on SIGINT it would put the
// terminal in cooked mode and re-send the signal to the whole process group. Instead
// characters come through repl_getc, which reads the terminal itself and turns Ctrl-C at
// the prompt into end-of-line (a fresh prompt), handles Ctrl-Z and resizes, and decodes
// UTF-8 (libedit takes what a getc hook returns as one wide character).
#include <editline/readline.h>
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "complete.h"
#include "repl.h"
#include "term.h"

// History beyond this many lines is trimmed when saving.
#define HISTORY_MAX 1000

struct repl {
	struct adbg_session *s;
	struct adbg_complete_cache *cache;
	/** candidates of the completion under way. */
	char **cands;
	size_t ncands, cap, next;
};

// libedit's callbacks take no user pointer.
static struct repl *the_repl;

/* mkdir -p, each missing level private to the user. */
static int make_dirs(char *path)
{
	for (char *p = path + 1;; p++) {
		if (*p != '/' && *p)
			continue;
		char c = *p;

		*p = '\0';
		if (mkdir(path, 0700) < 0 && errno != EEXIST) {
			*p = c;
			return -1;
		}
		*p = c;
		if (!c)
			return 0;
	}
}

/*
 * $XDG_STATE_HOME/aiodbg/history, or ~/.local/state/aiodbg/history (the XDG base
 * directory spec: a relative XDG_STATE_HOME is ignored). NULL when there is no home or
 * the directory cannot be made (said once on stderr: the REPL works without history).
 */
static char *history_path(void)
{
	const char *state = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");
	char *dir = NULL, *path = NULL;
	int fd;

	if (state && state[0] == '/') {
		if (asprintf(&dir, "%s/aiodbg", state) < 0)
			return NULL;
	} else if (home && home[0] == '/') {
		if (asprintf(&dir, "%s/.local/state/aiodbg", home) < 0)
			return NULL;
	} else {
		return NULL;
	}
	if (make_dirs(dir) < 0) {
		fprintf(stderr, "aiodbg: history will not be saved: cannot create %s: %s\n", dir,
			strerror(errno));
		free(dir);
		return NULL;
	}
	if (asprintf(&path, "%s/history", dir) < 0)
		path = NULL;
	free(dir);
	// The history may hold expressions with secrets: create it private.
	if (path && (fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)) >= 0)
		close(fd);
	return path;
}

/*
 * Append one line to the history file in the format libedit's read_history() reads: the
 * "_HiStOrY_V2_" cookie first, then one line per entry encoded with strvis(3), which
 * strunvis() decodes (libedit's history.c, history_load/history_save_fp). Every byte that
 * is not printable ASCII, and the backslash, is written as a \ooo octal escape, which
 * strunvis decodes whatever flags encoded it.
 *
 * Not libedit's append_history(1, file): Debian bookworm's libedit (3.1-20221030) writes
 * the last n + 1 entries there, so every command was stored twice.
 */
static void history_append(const char *path, const char *line)
{
	FILE *f = fopen(path, "ae");

	if (!f)
		return;
	if (fseek(f, 0, SEEK_END) == 0 && ftell(f) == 0)
		fputs("_HiStOrY_V2_\n", f);
	for (const unsigned char *p = (const unsigned char *)line; *p; p++) {
		if (*p > ' ' && *p < 0x7f && *p != '\\')
			fputc(*p, f);
		else
			fprintf(f, "\\%03o", *p);
	}
	fputc('\n', f);
	fclose(f);
}

static void collect(void *arg, const char *cand)
{
	struct repl *r = arg;
	char *dup;

	if (r->ncands == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 64;
		char **a = realloc(r->cands, cap * sizeof(*a));

		if (!a)
			return;
		r->cands = a;
		r->cap = cap;
	}
	dup = strdup(cand);
	if (dup)
		r->cands[r->ncands++] = dup;
}

static void drop_candidates(struct repl *r)
{
	for (size_t i = r->next; i < r->ncands; i++)
		free(r->cands[i]);
	r->ncands = r->next = 0;
}

static char *generator(const char *text, int state)
{
	struct repl *r = the_repl;

	(void)text;
	(void)state;
	// libedit frees what we return.
	return r->next < r->ncands ? r->cands[r->next++] : NULL;
}

static char **complete(const char *text, int start, int end)
{
	struct repl *r = the_repl;
	char *line;
	char **matches;

	(void)start;
	rl_attempted_completion_over = 1;
	line = strndup(rl_line_buffer, (size_t)end);
	if (!line)
		return NULL;
	drop_candidates(r);
	adbg_cmd_complete(r->s, &r->cache, line, text, collect, r);
	free(line);
	// A Ctrl-C during the snapshot cut it short; it must not end the next read.
	term_interrupted = 0;
	matches = r->ncands ? rl_completion_matches(text, generator) : NULL;
	drop_candidates(r);
	return matches;
}

/* What happened while the terminal was not being read (Ctrl-Z, a resize). */
static void pending_signals(void)
{
	if (term_take_tstp()) {
		rl_deprep_terminal();
		term_suspend();
		rl_prep_terminal(1);
		rl_forced_update_display();
	}
	if (term_take_winch())
		rl_resize_terminal();
}

/*
 * One byte from the terminal: 1, or 0 at end of input, Ctrl-C or a termination signal.
 * The wait polls the terminal and the signal handlers' self-pipe: a signal that came
 * before the wait began (while the last command's output was written, say) ends it at
 * once instead of leaving a blocked read() that only a key would end.
 */
static int read_byte(unsigned char *ret)
{
	for (;;) {
		struct pollfd fds[2] = {
			{.fd = STDIN_FILENO, .events = POLLIN},
			{.fd = term_wake_fd(), .events = POLLIN},
		};
		ssize_t n;

		if (term_interrupted)
			return 0;
		if (poll(fds, fds[1].fd >= 0 ? 2 : 1, -1) < 0) {
			if (errno != EINTR)
				return 0;
			pending_signals();
			continue;
		}
		if (!(fds[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue; // the self-pipe: term_interrupted is looked at above
		n = read(STDIN_FILENO, ret, 1);
		if (n == 1)
			return 1;
		if (n == 0 || errno != EINTR || term_interrupted)
			return 0;
		pending_signals();
	}
}

/* One character from the terminal, as a code point. -1 ends the line (EOF or Ctrl-C). */
static int repl_getc(FILE *f)
{
	// A byte read ahead that turned out not to continue a UTF-8 sequence.
	static int pushback = -1;
	unsigned char b[4];
	int len, cp;

	(void)f;
	pending_signals();
	if (pushback >= 0) {
		b[0] = (unsigned char)pushback;
		pushback = -1;
	} else if (!read_byte(&b[0])) {
		if (term_interrupted) {
			// Ctrl-C at the prompt: show it, drop the line, prompt again.
			(void)!write(STDOUT_FILENO, "^C", 2);
		}
		return -1;
	}
	if (b[0] < 0xc0 || b[0] >= 0xf8)
		return b[0];
	len = b[0] >= 0xf0 ? 4 : b[0] >= 0xe0 ? 3 : 2;
	cp = b[0] & (0x7f >> len);
	for (int i = 1; i < len; i++) {
		if (!read_byte(&b[i]))
			return b[0];
		if ((b[i] & 0xc0) != 0x80) {
			pushback = b[i]; // not UTF-8: pass the bytes on one by one
			return b[0];
		}
		cp = (cp << 6) | (b[i] & 0x3f);
	}
	return cp;
}

void adbg_repl_print_error(const char *message)
{
	// One line, whatever the message holds.
	term_progress_clear();
	fputs("aiodbg: ", stderr);
	for (const char *p = message; *p; p++)
		fputc(*p == '\n' || *p == '\r' ? ' ' : *p, stderr);
	fputc('\n', stderr);
}

int adbg_repl_run_line(struct adbg_session *s, const char *line, struct adbg_cmd_opts *opts)
{
	struct adbg_error *err;
	enum term_end end;
	int status;

	opts->width = term_width();
	term_command_begin(s, opts->state);
	err = adbg_cmd_run(s, line, opts, term_output());
	end = term_command_end();
	if (end == TERM_END_OUTPUT_ERROR && !err) {
		// The command did its work but the user did not get it: that is a failure.
		err = adbg_error_os(errno, "writing the output failed");
	}
	if (end == TERM_END_INTERRUPTED) {
		// Whatever went wrong after Ctrl-C (a cut walk, refused output) is the interrupt.
		// The terminal echoed ^C wherever the output was: start a line of our own.
		adbg_error_destroy(err);
		if (isatty(STDERR_FILENO))
			fputc('\n', stderr);
		adbg_repl_print_error("interrupted");
		return ADBG_EXIT_INTERRUPTED;
	}
	status = adbg_cmd_exit_status(err);
	if (err) {
		// ADBG_ERR_REPORTED: the output already shows the failure (a traceback, JSON).
		if (err->code != ADBG_ERR_REPORTED)
			adbg_repl_print_error(err->message);
		adbg_error_destroy(err);
	}
	return status;
}

bool adbg_repl_is_quit(const char *line)
{
	const struct adbg_cmd *cmd;
	char word[32];

	if (sscanf(line, " %31s", word) != 1)
		return false;
	cmd = adbg_cmd_find(word);
	return cmd && cmd->fn == NULL && (cmd->flags & ADBG_CMD_FRONTEND);
}

static void make_prompt(const struct adbg_session *s, char *buf, size_t len)
{
	const struct adbg_target *t = s->target;

	if (t->kind == ADBG_TARGET_CORE && t->core_path) {
		const char *base = strrchr(t->core_path, '/');

		snprintf(buf, len, "(aiodbg %.40s) ", base ? base + 1 : t->core_path);
	} else if (t->kind == ADBG_TARGET_CORE) {
		snprintf(buf, len, "(aiodbg core.%d) ", t->pid);
	} else {
		snprintf(buf, len, "(aiodbg %d) ", t->pid);
	}
}

int adbg_repl_interactive(struct adbg_session *s, struct adbg_cmd_opts *opts)
{
	struct repl r = {.s = s};
	char prompt[64], *last = NULL;
	char *hist = history_path();

	the_repl = &r;
	make_prompt(s, prompt, sizeof(prompt));
	// libedit edits wide characters: it needs the terminal's character set for them to
	// turn back into the UTF-8 the user typed. Only LC_CTYPE: numbers stay C-formatted.
	setlocale(LC_CTYPE, "");
	// Before anything initialises libedit (using_history does).
	rl_catch_signals = 0;
	rl_getc_function = repl_getc;
	rl_readline_name = "aiodbg";
	rl_attempted_completion_function = complete;
	using_history();
	stifle_history(HISTORY_MAX);
	if (hist && read_history(hist) == 0 && history_length > 0) {
		HIST_ENTRY *he = history_get(history_base + history_length - 1);

		if (he && he->line)
			last = strdup(he->line);
	}
	if (s->target->kind == ADBG_TARGET_PROCESS)
		printf("aiodbg: attached to process %d, Python %s.\n", s->target->pid,
		       s->python->version_str);
	else
		printf("aiodbg: core of process %d, Python %s.\n", s->target->pid,
		       s->python->version_str);
	printf("Type 'help' for the commands, Tab to complete, Ctrl-D to detach.\n");

	for (;;) {
		char *line;
		const char *p;

		if (term_terminating)
			break;
		term_interrupted = 0;
		if (term_take_tstp())
			term_suspend();
		// The terminal in libedit's mode before the prompt appears, not after (libedit
		// writes the prompt first): a Ctrl-D typed at once would otherwise arrive in
		// canonical mode, where it is no character, and be lost.
		rl_prep_terminal(1);
		line = readline(prompt);
		if (!line) {
			putchar('\n');
			// Ctrl-C at the prompt: a fresh prompt, not an exit.
			if (term_interrupted && !term_terminating)
				continue;
			break; // Ctrl-D, or a termination signal
		}
		p = line + strspn(line, " \t");
		if (*p && (!last || strcmp(last, line) != 0)) {
			add_history(line);
			if (hist)
				history_append(hist, line);
			free(last);
			last = strdup(line);
		}
		if (adbg_repl_is_quit(p)) {
			free(line);
			break;
		}
		if (*p)
			adbg_repl_run_line(s, p, opts);
		free(line);
		if (term_terminating)
			break;
	}
	if (hist)
		history_truncate_file(hist, HISTORY_MAX);
	free(hist);
	free(last);
	drop_candidates(&r);
	free(r.cands);
	adbg_complete_cache_destroy(r.cache);
	the_repl = NULL;
	return ADBG_EXIT_OK;
}
