// SPDX-License-Identifier: MIT
// `aiodbg watch` and `aiodbg top`: the loop over time, by sampling a live process.
//
// Each sample is one short snapshot: every thread's Python stack, and from it, for each
// thread that runs an event loop, whether the loop waits for I/O or runs something, and
// what (the frames above BaseEventLoop._run_once / Handle._run; on a loop compiled in C,
// uvloop's, the frames above asyncio's Runner.run or run_until_complete). asyncio sets
// loop._current_handle only in debug mode, so the stack is what tells callbacks apart.
// Every so often (and while one callback keeps a loop busy), the sample also reads the
// tasks: which task is running, how many tasks each coroutine has, how late the loops'
// timers are. An episode is a run of consecutive samples in which one loop runs the same
// callback or task step (the same outermost frame, at the same address); one that lasts
// at least the threshold is an event, with its most frequent stack. The sampler does not
// print: events go to a callback, the summary is read from the struct.
#ifndef AIODBG_WATCH_H
#define AIODBG_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct adbg_session;
struct adbg_asyncio_snapshot;

/** Frames kept of an episode's stack (innermost first). */
#define ADBG_WATCH_MAX_FRAMES 64
/** Distinct stacks counted per episode; later ones are not counted. */
#define ADBG_WATCH_MAX_STACKS 32
/** Loop threads followed. */
#define ADBG_WATCH_MAX_LOOPS 64
/** Coroutines whose task counts are followed. */
#define ADBG_WATCH_MAX_COROS 4096
/** Task-count samples kept per coroutine (older ones are thinned out by halves). */
#define ADBG_WATCH_MAX_POINTS 512

/** A frame as the watch keeps it (its own copies of the strings). */
struct adbg_watch_frame {
	char *function;
	char *file;
	int line;
};

/** A blocked-loop episode. */
struct adbg_watch_event {
	/** start and length, in seconds since the watch began; duration from the samples. */
	double start, duration;
	/**
	 * what the samples prove: at least from its first to its last sample (low), at most
	 * from the sample before it to the one after it (high; the watch's end when ongoing).
	 */
	double duration_low, duration_high;
	/** the wall-clock start (seconds since the epoch). */
	double start_wall;
	/** the loop (0: not known yet) and its thread. */
	uint64_t loop;
	int thread;
	/** the running task (0: a plain callback, or not known), its name and coroutine. */
	uint64_t task;
	const char *task_name, *task_coro;
	/** the most frequent stack of the episode, innermost first, and how often seen. */
	const struct adbg_watch_frame *frames;
	size_t nframes;
	unsigned stack_samples;
	/** samples in the episode. */
	unsigned samples;
	/** the watch ended while the loop was still in it (duration: so far). */
	bool ongoing;
};

/** A coroutine whose task count grew steadily across the watch (a leak signal). */
struct adbg_watch_growth {
	const char *coro;
	/** task count at the first and the last task sample, and its slope (tasks per s). */
	unsigned first, last;
	double per_s;
	/** over this long (s), in so many task samples. */
	double over;
	unsigned points;
};

/** What the watch knows of one loop thread. */
struct adbg_watch_loop {
	int thread;
	uint64_t loop;
	/** the longest episode (ms) and how many events. */
	double longest_ms;
	unsigned events;
	/** loop lag (ms): how late its most overdue task timer was, max and mean. */
	double lag_max_ms, lag_sum_ms;
	unsigned lag_samples;
	/** a loop compiled in C (uvloop): the frames above Runner.run / run_until_complete. */
	bool compiled;
	/** what the thread ran at the last sample: 0 idle, 1 busy. */
	bool busy;
	/** the running task at the last task sample (0: none). */
	uint64_t task;
	/**
	 * busy: where the episode under way is now, its innermost frame ("f (file.py:12)";
	 * "" when none), and since when (s).
	 */
	char current[128];
	double since;
};

/** The defaults of adbg_watch_opts (ms), which watch and top show in their help. */
#define ADBG_WATCH_BLOCKED_MS 100
#define ADBG_WATCH_INTERVAL_MS 50
#define ADBG_WATCH_TASKS_EVERY_MS 500
#define ADBG_WATCH_OPTS_DEFAULT                                                             \
	{                                                                                   \
		.blocked_ms = ADBG_WATCH_BLOCKED_MS, .interval_ms = ADBG_WATCH_INTERVAL_MS, \
		.tasks_every_ms = ADBG_WATCH_TASKS_EVERY_MS                                 \
	}

struct adbg_watch_opts {
	/** episodes this long (ms) or longer are events (ADBG_WATCH_BLOCKED_MS). */
	double blocked_ms;
	/** between samples (ms; ADBG_WATCH_INTERVAL_MS). */
	double interval_ms;
	/** read the tasks at least this often (ms; ADBG_WATCH_TASKS_EVERY_MS). */
	double tasks_every_ms;
	/** an event: called as each episode ends (may be NULL). */
	void (*on_event)(void *arg, const struct adbg_watch_event *ev);
	void *arg;
};

struct adbg_watch;

/** A sampler over live session s (borrowed). */
ADBG_MUST_CHECK struct adbg_error *adbg_watch_create(struct adbg_session *s,
						     const struct adbg_watch_opts *opts,
						     struct adbg_watch **ret);
/** Free it. NULL is a no-op. */
void adbg_watch_destroy(struct adbg_watch *w);

/**
 * Take one sample, called at time now (seconds since the watch began; CLOCK_MONOTONIC; the
 * sample's own time is when the snapshot stopped the process): one snapshot of
 * the target (frozen for its duration, thawed on every path), events for the episodes it
 * ends. An error leaves the watch as it was (the sample is dropped).
 */
ADBG_MUST_CHECK struct adbg_error *adbg_watch_sample(struct adbg_watch *w, double now);

/** End the watch at time now: events for episodes still under way (ongoing). Idempotent. */
void adbg_watch_finish(struct adbg_watch *w, double now);

/** The latest task snapshot (NULL before the first); valid until the next sample. */
const struct adbg_asyncio_snapshot *adbg_watch_tasks(const struct adbg_watch *w);

/** How many loop threads were seen so far. */
size_t adbg_watch_nloops(const struct adbg_watch *w);
/** Loop thread i (< adbg_watch_nloops). */
const struct adbg_watch_loop *adbg_watch_loop_at(const struct adbg_watch *w, size_t i);

/**
 * Record the pending tasks of aio per coroutine at time now (s), as each task sample does:
 * the series adbg_watch_growth reads. Once ADBG_WATCH_MAX_POINTS are kept, every other
 * point is dropped and every other later call recorded. Public for the unit tests.
 */
void adbg_watch_count_tasks(struct adbg_watch *w, const struct adbg_asyncio_snapshot *aio,
			    double now);

/**
 * The coroutines whose task count grows steadily (each quarter of the task samples has
 * more tasks on average than the one before, and by at least 3 in all); at most max.
 * Returns how many were written to ret.
 */
size_t adbg_watch_growth(const struct adbg_watch *w, struct adbg_watch_growth *ret, size_t max);

/** Counts: samples, task samples, events; the target's stops (ms): total and longest. */
struct adbg_watch_stats {
	unsigned samples, task_samples, events;
	double stopped_ms_total, stopped_ms_max;
	double longest_ms;
};
void adbg_watch_stats(const struct adbg_watch *w, struct adbg_watch_stats *ret);

#endif
