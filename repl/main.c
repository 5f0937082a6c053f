// SPDX-License-Identifier: MIT
// The aiodbg executable: argument parsing, opening the target, and batch mode (-c, -x,
// stdin); the interactive REPL and the running of one command line are in repl.c.
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "render.h"
#include "repl.h"
#include "term.h"
#include "unwind.h"

#define AIODBG_VERSION "0.1.0"

static const char usage_text[] =
	"usage: aiodbg attach PID [OPTIONS]\n"
	"       aiodbg core CORE [EXECUTABLE] [OPTIONS]\n"
	"       aiodbg watch PID [--blocked MS] [--interval MS] [--duration S] [--json]\n"
	"       aiodbg top PID [--interval MS] [--refresh MS] [--duration S]\n"
	"       aiodbg --help | --version\n"
	"\n"
	"An asyncio-aware debugger for CPython 3.11-3.15: lists every task of a live process\n"
	"or a core dump, what each awaits and who awaits it.\n"
	"\n"
	"Options:\n"
	"  -c, --command CMD   run CMD and exit instead of starting the REPL (repeatable)\n"
	"  -x, --file FILE     run the commands in FILE (one per line, # comments; - for\n"
	"                      standard input) and exit (repeatable; runs in order with -c)\n"
	"      --json          JSON output (schema aiodbg/1) for every command that has it:\n"
	"                      one object on one line per command (JSON Lines); a command\n"
	"                      that fails prints {\"ok\": false, \"error\", ...} on its line\n"
	"      --sysroot DIR   cores: look for the files the core names under DIR\n"
	"      --lib-path DIRS cores: colon-separated directories to find libraries by name\n"
	"      --no-color      never colour the output (also: NO_COLOR set, or not a terminal)\n"
	"  -h, --help          this help\n"
	"  -V, --version       the version\n"
	"\n"
	"Without -c or -x, commands are read from the terminal (an interactive REPL with\n"
	"history and completion) or, when standard input is not a terminal, from it.\n"
	"Every command runs even when an earlier one failed.\n"
	"\n"
	"Exit status: 0 every command succeeded; otherwise that of the first failure:\n"
	"1 a command failed (also an eval/await whose expression raised or timed out),\n"
	"2 bad usage, 3 cannot attach to or read the target; 130 Ctrl-C stopped a batch\n"
	"run. Ctrl-D or quit leaves the REPL with 0. SIGTERM, SIGHUP and SIGQUIT end aiodbg\n"
	"like quit (the command is interrupted, a paused loop runs again), then by the signal.\n"
	"Type 'help' in the REPL, or run -c help, for the commands; 'aiodbg watch --help'\n"
	"for watch (blocked loops, growing task counts, loop lag, over time), 'aiodbg top\n"
	"--help' for the live full-screen view.\n";

/* One -c or -x, in command-line order. */
struct action {
	const char *command; // -c
	const char *path; // -x
	FILE *file;
};

static int usage_error(const char *fmt, const char *arg)
{
	fputs("aiodbg: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs("\nTry 'aiodbg --help'.\n", stderr);
	return ADBG_EXIT_USAGE;
}

static int run_batch_line(struct adbg_session *s, const char *line, struct adbg_cmd_opts *opts,
			  bool *quit)
{
	const char *p = line + strspn(line, " \t");

	if (!*p || *p == '#')
		return ADBG_EXIT_OK;
	if (adbg_repl_is_quit(p)) {
		*quit = true;
		return ADBG_EXIT_OK;
	}
	return adbg_repl_run_line(s, p, opts);
}

/* Commands from a file or a pipe, one per line. Returns the first failure's status. */
static int run_stream(struct adbg_session *s, FILE *f, struct adbg_cmd_opts *opts, bool *quit)
{
	char *line = NULL;
	size_t cap = 0;
	int first = ADBG_EXIT_OK;

	while (!*quit) {
		ssize_t n;
		int st;

		errno = 0;
		n = getline(&line, &cap, f);
		if (n < 0) {
			// A signal (Ctrl-Z, a resize) interrupts a read from a pipe; Ctrl-C ends.
			if (ferror(f) && errno == EINTR && !term_interrupted) {
				clearerr(f);
				if (term_take_tstp())
					term_suspend();
				continue;
			}
			if (term_interrupted) {
				first = ADBG_EXIT_INTERRUPTED;
			} else if (ferror(f)) {
				adbg_repl_print_error("reading commands failed");
				first = first ? first : ADBG_EXIT_FAILED;
			}
			break;
		}
		line[strcspn(line, "\r\n")] = '\0';
		st = run_batch_line(s, line, opts, quit);
		if (st == ADBG_EXIT_INTERRUPTED || term_terminating) {
			first = ADBG_EXIT_INTERRUPTED;
			break;
		}
		if (st && !first)
			first = st;
		if (term_take_tstp())
			term_suspend();
	}
	free(line);
	return first;
}

static int run_batch(struct adbg_session *s, struct action *actions, int n,
		     struct adbg_cmd_opts *opts)
{
	int first = ADBG_EXIT_OK;
	bool quit = false;

	for (int i = 0; i < n && !quit; i++) {
		int st;

		if (term_interrupted)
			return ADBG_EXIT_INTERRUPTED;
		if (actions[i].command)
			st = run_batch_line(s, actions[i].command, opts, &quit);
		else
			st = run_stream(s, actions[i].file, opts, &quit);
		// A termination signal ends the batch even when the command took its Ctrl-C.
		if (st == ADBG_EXIT_INTERRUPTED || term_terminating)
			return ADBG_EXIT_INTERRUPTED;
		if (st && !first)
			first = st;
		// Ctrl-Z waits until no snapshot is under way (the target is running).
		if (term_take_tstp())
			term_suspend();
	}
	return first;
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

/* With --json, the failure is also the run's one JSON document ("command": "attach PID"). */
static void print_open_error(const struct adbg_error *err, const struct adbg_cmd_opts *opts,
			     char *const *positional)
{
	char what[512];

	adbg_repl_print_error(err->message);
	if (!opts->json)
		return;
	snprintf(what, sizeof(what), "%s %s", positional[0], positional[1]);
	adbg_json_emit_error(stdout, what, err, ADBG_EXIT_TARGET);
}

static void close_actions(struct action *actions, int n)
{
	for (int i = 0; i < n; i++)
		if (actions[i].file && actions[i].file != stdin)
			fclose(actions[i].file);
	free(actions);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"command", required_argument, NULL, 'c'},
		{"file", required_argument, NULL, 'x'},
		{"json", no_argument, NULL, 'j'},
		{"sysroot", required_argument, NULL, 's'},
		{"lib-path", required_argument, NULL, 'l'},
		{"no-color", no_argument, NULL, 'n'},
		{"no-colour", no_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct adbg_open_options open_opts = {0};
	struct adbg_cmd_opts opts = {0};
	struct adbg_cmd_state state = {0};
	struct action *actions = calloc((size_t)argc + 1, sizeof(*actions));
	char *positional[3] = {NULL};
	struct adbg_session *session = NULL;
	struct adbg_target *target = NULL;
	struct adbg_error *err;
	int nactions = 0, npos = 0, status, opt;
	bool no_color = false;
	const char *mode;

	if (!actions)
		return ADBG_EXIT_FAILED;
	// `aiodbg watch PID ...` has options of its own (watch.c).
	if (argc > 1 && strcmp(argv[1], "watch") == 0) {
		free(actions);
		return adbg_watch_main(argc - 1, argv + 1);
	}
	if (argc > 1 && strcmp(argv[1], "top") == 0) {
		free(actions);
		return adbg_top_main(argc - 1, argv + 1);
	}
	// "-" returns positionals in order as option 1, so options may come anywhere:
	// `aiodbg --json attach 42 -c tasks` and `aiodbg attach 42 --json -c tasks` alike.
	while ((opt = getopt_long(argc, argv, "-c:x:hV", longopts, NULL)) != -1) {
		switch (opt) {
		case 1:
			if (npos == 3) {
				close_actions(actions, nactions);
				return usage_error("unexpected argument '%s'", optarg);
			}
			positional[npos++] = optarg;
			break;
		case 'c':
			actions[nactions++].command = optarg;
			break;
		case 'x':
			// Opened now, so that a missing script is bad usage before any attach.
			actions[nactions].path = optarg;
			actions[nactions].file =
				strcmp(optarg, "-") == 0 ? stdin : fopen(optarg, "re");
			if (!actions[nactions].file) {
				fprintf(stderr, "aiodbg: cannot read commands from %s: %s\n",
					optarg, strerror(errno));
				close_actions(actions, nactions);
				return ADBG_EXIT_USAGE;
			}
			nactions++;
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
			close_actions(actions, nactions);
			return ADBG_EXIT_OK;
		case 'V':
			printf("aiodbg %s\n", AIODBG_VERSION);
			close_actions(actions, nactions);
			return ADBG_EXIT_OK;
		default:
			// getopt has said what is wrong.
			fputs("Try 'aiodbg --help'.\n", stderr);
			close_actions(actions, nactions);
			return ADBG_EXIT_USAGE;
		}
	}
	// Before attaching: a kill or Ctrl-C from here on lets us close what we opened (see
	// term_terminating); Ctrl-C interrupts the running command, it never kills or stops
	// the target.
	term_install_signals();
	mode = positional[0];
	status = ADBG_EXIT_USAGE;
	if (!mode) {
		usage_error("%smissing mode: attach PID or core CORE", "");
		goto out;
	}
	if (strcmp(mode, "help") == 0) {
		fputs(usage_text, stdout);
		status = ADBG_EXIT_OK;
		goto out;
	}
	if (strcmp(mode, "attach") == 0) {
		int pid;

		if (!positional[1]) {
			usage_error("%sattach needs a process id: aiodbg attach PID", "");
			goto out;
		}
		if (positional[2]) {
			usage_error("unexpected argument '%s' after the process id", positional[2]);
			goto out;
		}
		if (parse_pid(positional[1], &pid) < 0) {
			usage_error("'%s' is not a process id", positional[1]);
			goto out;
		}
		err = adbg_target_attach(pid, &open_opts, &target);
	} else if (strcmp(mode, "core") == 0) {
		if (!positional[1]) {
			usage_error("%score needs a core file: aiodbg core CORE [EXECUTABLE]", "");
			goto out;
		}
		open_opts.executable = positional[2];
		err = adbg_target_open_core(positional[1], &open_opts, &target);
	} else {
		usage_error("unknown mode '%s': use attach PID or core CORE", mode);
		goto out;
	}
	if (!err)
		err = adbg_session_create(target, &session);
	if (err) {
		print_open_error(err, &opts, positional);
		adbg_error_destroy(err);
		status = ADBG_EXIT_TARGET;
		goto out;
	}

	session->interrupted = &term_interrupted;
	session->warm_ms = ADBG_WARM_MS; // (no-op on a core)
	state.unwinder = &adbg_libunwind_unwinder;
	opts.state = &state;
	opts.color = term_color(no_color);

	if (term_interrupted)
		status = ADBG_EXIT_INTERRUPTED; // during the attach
	else if (nactions)
		status = run_batch(session, actions, nactions, &opts);
	else if (!isatty(STDIN_FILENO))
		status = run_batch(session, &(struct action){.file = stdin}, 1, &opts);
	else
		status = adbg_repl_interactive(session, &opts);
	// Live control's channel first: the agent then resumes a paused loop and unloads
	// itself, before the target is let go.
	adbg_cmd_state_deinit(&state);
	adbg_session_destroy(session);
out:
	close_actions(actions, nactions);
	term_reraise();
	return status;
}
