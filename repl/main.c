// SPDX-License-Identifier: MIT
// The aiodbg executable: argument parsing, batch mode (-c, -x, stdin) and the interactive
// REPL (libedit), all running commands through the shared command layer.
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cmd.h"
#include "repl.h"

#define AIODBG_VERSION "0.1.0"

enum exit_status {
	EXIT_OK = 0,
	EXIT_FAILED = 1,
	EXIT_USAGE = 2,
	EXIT_TARGET = 3,
};

static const char usage_text[] =
	"usage: aiodbg attach PID [OPTIONS]\n"
	"       aiodbg core CORE [EXECUTABLE] [OPTIONS]\n"
	"       aiodbg --help | --version\n"
	"\n"
	"An asyncio-aware debugger for CPython 3.11-3.15: lists every task of a live process\n"
	"or a core dump, what each awaits and who awaits it.\n"
	"\n"
	"Options:\n"
	"  -c, --command CMD   run CMD (repeatable) and exit instead of starting the REPL\n"
	"  -x, --file FILE     run the commands in FILE (one per line, # comments) and exit\n"
	"      --json          JSON output (schema aiodbg/1) for every command that has it\n"
	"      --sysroot DIR   cores: look for the files the core names under DIR\n"
	"      --lib-path DIRS cores: colon-separated directories to find libraries by name\n"
	"      --no-color      never colour the output (also: NO_COLOR set)\n"
	"  -h, --help          this help\n"
	"  -V, --version       the version\n"
	"\n"
	"Without -c or -x, commands are read from the terminal (an interactive REPL with\n"
	"history and completion) or, when standard input is not a terminal, from it.\n"
	"Exit status: 0 success, 1 a command failed, 2 bad usage, 3 cannot attach to or\n"
	"read the target. Type 'help' in the REPL for the commands.\n";

static volatile int interrupted;

static void on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

static int terminal_width(void)
{
	struct winsize ws;

	if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col)
		return ws.ws_col;
	return 0;
}

static void print_error(const struct adbg_error *err)
{
	fprintf(stderr, "aiodbg: %s\n", err->message);
}

int adbg_repl_run_line(struct adbg_session *s, const char *line,
		       const struct adbg_cmd_opts *opts)
{
	struct adbg_error *err;
	int status;

	interrupted = 0;
	err = adbg_cmd_run(s, line, opts, stdout);
	fflush(stdout);
	status = adbg_cmd_exit_status(err);
	if (err) {
		print_error(err);
		adbg_error_destroy(err);
	}
	return status;
}

/* Is the line a front-end command that ends the session? */
bool adbg_repl_is_quit(const char *line)
{
	const struct adbg_cmd *cmd;
	char word[32];

	if (sscanf(line, " %31s", word) != 1)
		return false;
	cmd = adbg_cmd_find(word);
	return cmd && cmd->fn == NULL && (cmd->flags & ADBG_CMD_FRONTEND);
}

static int run_batch_line(struct adbg_session *s, const char *line,
			  const struct adbg_cmd_opts *opts, bool *quit)
{
	const char *p = line + strspn(line, " \t");

	if (!*p || *p == '#' || *p == '\n')
		return EXIT_OK;
	if (adbg_repl_is_quit(p)) {
		*quit = true;
		return EXIT_OK;
	}
	return adbg_repl_run_line(s, p, opts);
}

static int run_stream(struct adbg_session *s, FILE *f, const struct adbg_cmd_opts *opts)
{
	char *line = NULL;
	size_t cap = 0;
	int worst = EXIT_OK;
	bool quit = false;
	ssize_t n;

	while (!quit && (n = getline(&line, &cap, f)) > 0) {
		int st;

		line[strcspn(line, "\n")] = '\0';
		st = run_batch_line(s, line, opts, &quit);
		if (st && !worst)
			worst = st;
	}
	free(line);
	return worst;
}

static int parse_pid(const char *arg, int *ret)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || *end || end == arg || v <= 0 || v > INT_MAX)
		return -1;
	*ret = (int)v;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "command", required_argument, NULL, 'c' },
		{ "file", required_argument, NULL, 'x' },
		{ "json", no_argument, NULL, 'j' },
		{ "sysroot", required_argument, NULL, 's' },
		{ "lib-path", required_argument, NULL, 'l' },
		{ "no-color", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct adbg_open_options open_opts = { 0 };
	struct adbg_cmd_opts opts = { 0 };
	const char **commands = calloc((size_t)argc + 1, sizeof(char *));
	const char *script = NULL, *mode = NULL;
	char *positional[3] = { NULL };
	struct adbg_session *session = NULL;
	struct adbg_target *target = NULL;
	struct adbg_error *err;
	int ncommands = 0, npos = 0, status = EXIT_OK, opt;
	bool no_color = getenv("NO_COLOR") && *getenv("NO_COLOR");
	struct sigaction sa = { .sa_handler = on_sigint };

	if (!commands)
		return EXIT_FAILED;
	// "+" would stop at the first non-option; we allow options anywhere instead, and
	// collect positionals (mode, pid/core, executable) in order.
	while (optind < argc) {
		opt = getopt_long(argc, argv, "-c:x:hV", longopts, NULL);
		if (opt == -1)
			break;
		switch (opt) {
		case 1:
			if (npos == 3) {
				fprintf(stderr, "aiodbg: unexpected argument '%s'\n%s", optarg,
					"Try 'aiodbg --help'.\n");
				return EXIT_USAGE;
			}
			positional[npos++] = optarg;
			break;
		case 'c':
			commands[ncommands++] = optarg;
			break;
		case 'x':
			script = optarg;
			break;
		case 'j':
			opts.json = true;
			break;
		case 's':
			open_opts.sysroot = optarg;
			break;
		case 'l':
			open_opts.lib_path = optarg;
			break;
		case 'n':
			no_color = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return EXIT_OK;
		case 'V':
			printf("aiodbg %s\n", AIODBG_VERSION);
			return EXIT_OK;
		default:
			fprintf(stderr, "Try 'aiodbg --help'.\n");
			return EXIT_USAGE;
		}
	}
	mode = positional[0];
	if (!mode) {
		fprintf(stderr, "aiodbg: missing mode: attach PID or core CORE\n"
				"Try 'aiodbg --help'.\n");
		return EXIT_USAGE;
	}

	if (strcmp(mode, "attach") == 0) {
		int pid;

		if (!positional[1] || positional[2]) {
			fprintf(stderr, "aiodbg: usage: aiodbg attach PID [OPTIONS]\n");
			return EXIT_USAGE;
		}
		if (parse_pid(positional[1], &pid) < 0) {
			fprintf(stderr, "aiodbg: '%s' is not a process id\n", positional[1]);
			return EXIT_USAGE;
		}
		err = adbg_target_attach(pid, &open_opts, &target);
	} else if (strcmp(mode, "core") == 0) {
		if (!positional[1]) {
			fprintf(stderr, "aiodbg: usage: aiodbg core CORE [EXECUTABLE] [OPTIONS]\n");
			return EXIT_USAGE;
		}
		open_opts.executable = positional[2];
		err = adbg_target_open_core(positional[1], &open_opts, &target);
	} else if (strcmp(mode, "help") == 0) {
		fputs(usage_text, stdout);
		return EXIT_OK;
	} else {
		fprintf(stderr, "aiodbg: unknown mode '%s': use attach PID or core CORE\n", mode);
		return EXIT_USAGE;
	}
	if (!err)
		err = adbg_session_create(target, &session);
	if (err) {
		print_error(err);
		adbg_error_destroy(err);
		return EXIT_TARGET;
	}

	// Ctrl-C interrupts the running command; it never kills or stops the target.
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	session->interrupted = &interrupted;
	opts.width = terminal_width();
	opts.color = isatty(STDOUT_FILENO) && !no_color;

	if (ncommands || script) {
		bool quit = false;

		for (int i = 0; i < ncommands && !quit; i++) {
			int st = run_batch_line(session, commands[i], &opts, &quit);

			if (st && !status)
				status = st;
		}
		if (script && !quit) {
			FILE *f = strcmp(script, "-") == 0 ? stdin : fopen(script, "re");
			int st;

			if (!f) {
				fprintf(stderr, "aiodbg: %s: %s\n", script, strerror(errno));
				status = status ? status : EXIT_USAGE;
			} else {
				st = run_stream(session, f, &opts);
				if (st && !status)
					status = st;
				if (f != stdin)
					fclose(f);
			}
		}
	} else if (!isatty(STDIN_FILENO)) {
		status = run_stream(session, stdin, &opts);
	} else {
		status = adbg_repl_interactive(session, &opts, &interrupted);
	}
	adbg_session_destroy(session);
	free(commands);
	return status;
}
