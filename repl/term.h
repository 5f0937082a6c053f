// SPDX-License-Identifier: MIT
// The aiodbg executable's terminal plumbing: signals, the output stream, terminal width and
// colour, and the progress line on stderr.
//
// Ctrl-C only sets a flag (the session's `interrupted`): long walks poll it and stop, the
// snapshot ends (the target is thawed), and output still pending is dropped. Ctrl-Z is held
// back until no snapshot is under way, so a suspended debugger never keeps a target
// stopped. Command output goes to a stream over standard output that erases the progress
// line before the first byte of output and refuses bytes once Ctrl-C was pressed. This
// module does not parse commands.
#ifndef AIODBG_TERM_H
#define AIODBG_TERM_H

#include <stdbool.h>
#include <signal.h>
#include <stdio.h>

#include "cmd.h"
#include "session.h"

/** Set by SIGINT; the session's interrupted flag points here. */
extern volatile int term_interrupted;

/**
 * Set (to the signal's number) by SIGTERM, SIGHUP or SIGQUIT, which also set
 * term_interrupted: the debugger is asked to go. The running command is interrupted like
 * by Ctrl-C (a snapshot thaws the target, an expression is cancelled), no further command
 * runs, the session is closed as on quit (the agent lets a paused loop run, the channel's
 * files are removed), and then term_reraise() ends the process by that signal.
 */
extern volatile sig_atomic_t term_terminating;

/**
 * Install the handlers for SIGINT, SIGWINCH, SIGTSTP, SIGTERM, SIGHUP and SIGQUIT (none of
 * them restarts reads).
 */
void term_install_signals(void);

/**
 * A descriptor that becomes readable when SIGINT or a termination signal arrives (a
 * self-pipe), emptied by this call: poll it with the terminal, then look at
 * term_interrupted. -1 when the pipe could not be made.
 */
int term_wake_fd(void);

/** After a termination signal (term_terminating): die of it, with its default action. */
void term_reraise(void);

/** True once if the terminal was resized since the last call. */
bool term_take_winch(void);

/** True once if Ctrl-Z was pressed since the last call. */
bool term_take_tstp(void);

/** Stop the process now (as Ctrl-Z would have), and return when continued. */
void term_suspend(void);

/**
 * Columns for command output: $COLUMNS when set, else the width of the terminal on
 * standard output, else 0 (unlimited).
 */
int term_width(void);

/** Colour is wanted: standard output is a terminal, TERM is not dumb, no NO_COLOR, !no_color. */
bool term_color(bool no_color);

/** The stream commands write to (standard output, see the file comment). */
FILE *term_output(void);

/**
 * A command starts: arm the progress line for session s (shown on stderr, when it is a
 * terminal, once the command has taken more than a second), and show the notices of the
 * command (st, the REPL's command state) on stderr.
 */
void term_command_begin(struct adbg_session *s, struct adbg_cmd_state *st);

enum term_end {
	TERM_END_OK,
	/** Ctrl-C was pressed during the command; its pending output was dropped. */
	TERM_END_INTERRUPTED,
	/** writing the output failed (errno says why: a full disk, a closed pipe). */
	TERM_END_OUTPUT_ERROR,
};

/** The command ended: erase the progress line, flush its output (or drop it when
 * interrupted), and say how it went. */
enum term_end term_command_end(void);

/** Erase the progress line if it is shown (before writing to stderr). */
void term_progress_clear(void);

#endif
