// SPDX-License-Identifier: MIT
// Getting the agent into a live target, only at points where CPython allows it, and
// waking an idle loop without anything the program could notice.
//
// 3.14+: the PEP 768 slot of one thread (refused when the target disabled remote
// debugging). 3.11-3.13: a pending call of PyRun_SimpleString on the main thread, queued
// by writing CPython's own pending-call queue while every thread is stopped. Both run the
// agent between two bytecodes of a thread that holds the GIL: never at an arbitrary
// instruction, never with a signal. An idle loop is woken with one byte into its
// self-pipe, the way call_soon_threadsafe does it. The design and the reasons are at the
// top of inject.c. This module does not speak the agent's protocol beyond the hello
// (cmd_live.c does).
#ifndef AIODBG_INJECT_H
#define AIODBG_INJECT_H

#include <stdint.h>

#include "channel.h"
#include "error.h"
#include "session.h"

struct adbg_inject_opts {
	/**
	 * 3.14+: kernel thread id of the Python thread that loads the agent (0: the main
	 * thread). Ignored on 3.11-3.13, where pending calls run on the main thread only.
	 */
	int tid;
	/** a loop to wake once the request is queued (its self-pipe gets one byte); 0: none. */
	uint64_t wake_loop;
	/** give up after this many milliseconds. */
	int timeout_ms;
	/** the agent resumes a paused loop after this many seconds of silence. */
	double lease;
	/** set asynchronously (Ctrl-C) to give up early; may be NULL. */
	volatile int *interrupted;
	/** called about once a second while waiting, with a sentence for the user; may be NULL. */
	void (*progress)(void *arg, const char *msg);
	void *progress_arg;
};

/**
 * Load the agent into the live target of s and wait until it connects back.
 * *ret is the channel to it (adbg_channel_destroy closes it, which makes the agent resume
 * any paused loop and unload). ADBG_ERR_UNSUPPORTED with the reason when this target
 * cannot take the agent safely (remote debugging disabled, unknown pending-call layout,
 * finalizing), ADBG_ERR_TIMEOUT when the chosen thread did not reach a safe point in
 * time (the request is withdrawn when it still can be), ADBG_ERR_INTERRUPTED.
 */
ADBG_MUST_CHECK struct adbg_error *adbg_inject_agent(struct adbg_session *s,
						     const struct adbg_inject_opts *opts,
						     struct adbg_channel **ret);

/**
 * Wake the loop object at loop: send one byte into its self-pipe (loop._csock, taken with
 * pidfd_getfd), exactly what loop.call_soon_threadsafe does. The target need not be
 * frozen. ADBG_ERR_NOT_FOUND when the loop has no self-pipe (not a selector loop).
 */
ADBG_MUST_CHECK struct adbg_error *adbg_inject_wake_loop(struct adbg_session *s, uint64_t loop);

/**
 * A sentence saying where Python thread tid (0: main) is: "MainThread is in
 * spin (/app/x.py:12)". Freezes the target briefly. *ret is malloc'd.
 */
ADBG_MUST_CHECK struct adbg_error *adbg_inject_describe_thread(struct adbg_session *s, int tid,
							       char **ret);

#endif
