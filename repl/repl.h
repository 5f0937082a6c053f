// SPDX-License-Identifier: MIT
// The aiodbg executable's command runner (one line: run it, print its error, give its exit
// status), used by batch mode in main.c, and its interactive REPL (libedit); repl.c.
#ifndef AIODBG_REPL_H
#define AIODBG_REPL_H

#include <stdbool.h>

#include "cmd.h"

/** Exit statuses (docs/design.md §2), and 130 when Ctrl-C stopped a batch run. */
enum adbg_exit_status {
	ADBG_EXIT_OK = 0,
	ADBG_EXIT_FAILED = 1,
	ADBG_EXIT_USAGE = 2,
	ADBG_EXIT_TARGET = 3,
	ADBG_EXIT_INTERRUPTED = 130,
};

/** Print an error as one line on stderr: "aiodbg: MESSAGE". */
void adbg_repl_print_error(const char *message);

/**
 * Run one command line and print its error, if any. Returns its exit status
 * (ADBG_EXIT_INTERRUPTED when Ctrl-C stopped it). opts->width is refreshed from the
 * terminal first.
 */
int adbg_repl_run_line(struct adbg_session *s, const char *line, struct adbg_cmd_opts *opts);

/** True if line is quit/detach/exit/q. */
bool adbg_repl_is_quit(const char *line);

/**
 * Read commands from the terminal until quit or Ctrl-D. History persists in
 * $XDG_STATE_HOME/aiodbg/history (default ~/.local/state/aiodbg/history). Tab completes
 * commands, options, task ids and names, thread ids. Returns 0: a failed command is
 * reported where it happens and does not make the session fail.
 */
int adbg_repl_interactive(struct adbg_session *s, struct adbg_cmd_opts *opts);

/**
 * `aiodbg watch PID [OPTIONS]` (watch.c): argv[0] is "watch". Returns the exit status.
 */
int adbg_watch_main(int argc, char **argv);

/** `aiodbg top PID [OPTIONS]` (top.c): argv[0] is "top". Returns the exit status. */
int adbg_top_main(int argc, char **argv);

struct adbg_watch;
struct adbg_watch_opts;
/**
 * For watch and top: attach to pid (signals installed, Ctrl-C interrupting the session) and
 * start a sampler with o. On failure, print the error and return false.
 */
bool adbg_watch_attach(int pid, const struct adbg_watch_opts *o, struct adbg_session **s_ret,
		       struct adbg_watch **w_ret);
/** CLOCK_MONOTONIC in seconds. */
double adbg_mono_now(void);

#endif
