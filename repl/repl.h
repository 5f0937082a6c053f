// SPDX-License-Identifier: MIT
// The interactive REPL of the aiodbg executable (libedit), and what main.c shares with it.
#ifndef AIODBG_REPL_H
#define AIODBG_REPL_H

#include <stdbool.h>

#include "cmd.h"

/** Run one command line, print its error if any; returns its exit status. */
int adbg_repl_run_line(struct adbg_session *s, const char *line,
		       const struct adbg_cmd_opts *opts);

/** True if line is quit/detach/exit. */
bool adbg_repl_is_quit(const char *line);

/**
 * Read commands from the terminal until quit or Ctrl-D. History persists in
 * $XDG_STATE_HOME/aiodbg/history. Returns the exit status of the last command.
 */
int adbg_repl_interactive(struct adbg_session *s, const struct adbg_cmd_opts *opts,
			  volatile int *interrupted);

#endif
