// SPDX-License-Identifier: MIT
// The sampler of `aiodbg watch` and `aiodbg top` (watch.h): what each loop thread runs at
// each sample, episodes of one callback holding a loop, task counts per coroutine, lag.
#include "watch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "asyncio.h"
#include "runtime.h"
#include "session.h"
#include "target.h"

// Periodic task samples come no sooner than this many ms per task after the last one: a
// task sample stops the target about 5 us per task on this project's 2-core machine (3.11
// to 3.14), so they take about 1 % of the time. Counted in tasks, not measured stops: a
// loaded machine's stops vary tenfold, and the leak signal needs a steady pace.
#define TASKS_GAP_MS_PER_TASK 0.5

/* One distinct stack of an episode and how often it was seen. */
struct stackcount {
	uint64_t hash;
	unsigned count;
	struct adbg_watch_frame *frames;
	size_t n;
};

/* A loop thread and its episode under way. */
struct lstate {
	struct adbg_watch_loop pub;
	/** the time of the thread's last sample (-1: none yet). */
	double last_sample;
	bool in_episode;
	/** the episode: its key (outermost frame above the loop, address and function). */
	uint64_t key_addr;
	char *key_fn;
	double first, last, before;
	double first_wall;
	unsigned samples;
	uint64_t task;
	char *task_name, *task_coro;
	struct stackcount stacks[ADBG_WATCH_MAX_STACKS];
	size_t nstacks;
	bool seen;
};

struct coro_series {
	char *name;
	uint32_t *counts;
};

struct adbg_watch {
	struct adbg_session *s;
	struct adbg_watch_opts o;
	struct lstate loops[ADBG_WATCH_MAX_LOOPS];
	size_t nloops;
	struct adbg_asyncio_snapshot aio;
	/** the strings of aio (the session's snapshot arena of that sample, moved here: the
	 * next sample's snapshot would free them). */
	struct adbg_arena aio_strings;
	bool has_aio;
	double last_tasks;
	/** between periodic task samples (ms): tasks_every_ms, or longer with many tasks
	 * (TASKS_GAP_MS_PER_TASK; see adbg_watch_sample). */
	double tasks_gap_ms;
	/** task-count series: times[i] and each coroutine's counts[i], for i < npoints. */
	double *times;
	size_t npoints;
	/** only every stride-th task sample is recorded (thinned out when full). */
	unsigned stride, skipped;
	struct coro_series *coros;
	size_t ncoros;
	struct adbg_watch_stats st;
	bool finished;
};

/* What one thread runs, from its stack. */
enum run_kind { RUN_NONE, RUN_IDLE, RUN_BUSY };

struct thread_run {
	enum run_kind kind;
	/** RUN_BUSY: frames 0 .. top-1 are the callback's; frames[top-1] is its outermost. */
	size_t top;
	bool compiled;
};

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = s ? strlen(s) : 0, b = strlen(suffix);

	return a >= b && memcmp(s + a - b, suffix, b) == 0;
}

static bool frame_is(const struct adbg_frame *f, const char *fn, const char *file_suffix)
{
	return f->kind == ADBG_FRAME_PYTHON && f->function && strcmp(f->function, fn) == 0 &&
	       ends_with(f->file, file_suffix);
}

/*
 * What a thread runs. asyncio's loops (Lib/asyncio/base_events.py): the frames above
 * BaseEventLoop._run_once; it waits in selectors.py's select, runs a callback under
 * Handle._run (events.py), or does its own work. A loop compiled in C (uvloop) has no
 * Python frame of its own: what runs is above asyncio's Runner.run (runners.py, 3.11+) or
 * BaseEventLoop.run_until_complete; nothing above it means the loop waits (or runs C).
 */
static struct thread_run thread_run(const struct adbg_stack *st)
{
	struct thread_run r = {RUN_NONE, 0, false};

	for (size_t i = 0; i < st->n; i++) {
		const struct adbg_frame *f = &st->frames[i];

		if (frame_is(f, "BaseEventLoop._run_once", "asyncio/base_events.py")) {
			if (i == 0)
				return (struct thread_run){RUN_BUSY, 1, false};
			if (ends_with(st->frames[i - 1].file, "/selectors.py"))
				return (struct thread_run){RUN_IDLE, 0, false};
			if (frame_is(&st->frames[i - 1], "Handle._run", "asyncio/events.py"))
				return (struct thread_run){RUN_BUSY, i >= 2 ? i - 1 : i, false};
			return (struct thread_run){RUN_BUSY, i, false};
		}
		if (frame_is(f, "Runner.run", "asyncio/runners.py") ||
		    frame_is(f, "BaseEventLoop.run_until_complete", "asyncio/base_events.py") ||
		    frame_is(f, "BaseEventLoop.run_forever", "asyncio/base_events.py"))
			return (struct thread_run){i ? RUN_BUSY : RUN_IDLE, i, true};
	}
	return r;
}

static uint64_t stack_hash(const struct adbg_frame *f, size_t n)
{
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < n; i++) {
		for (const char *p = f[i].function; p && *p; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ull;
		for (const char *p = f[i].file; p && *p; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ull;
		h = (h ^ (uint64_t)(unsigned)f[i].line) * 1099511628211ull;
	}
	return h;
}

static void frames_free(struct adbg_watch_frame *f, size_t n)
{
	for (size_t i = 0; f && i < n; i++) {
		free(f[i].function);
		free(f[i].file);
	}
	free(f);
}

static void episode_clear(struct lstate *l)
{
	for (size_t i = 0; i < l->nstacks; i++)
		frames_free(l->stacks[i].frames, l->stacks[i].n);
	free(l->key_fn);
	free(l->task_name);
	free(l->task_coro);
	l->key_fn = l->task_name = l->task_coro = NULL;
	l->nstacks = 0;
	l->in_episode = false;
	l->task = 0;
	l->samples = 0;
}

/* Count this sample's stack in the episode (a copy of a new one). Out of memory: skipped. */
static void count_stack(struct lstate *l, const struct adbg_frame *f, size_t n)
{
	uint64_t h;
	struct stackcount *sc;

	if (n > ADBG_WATCH_MAX_FRAMES)
		n = ADBG_WATCH_MAX_FRAMES;
	h = stack_hash(f, n);
	for (size_t i = 0; i < l->nstacks; i++) {
		if (l->stacks[i].hash == h) {
			l->stacks[i].count++;
			return;
		}
	}
	if (l->nstacks == ADBG_WATCH_MAX_STACKS)
		return;
	sc = &l->stacks[l->nstacks];
	sc->frames = calloc(n ? n : 1, sizeof(*sc->frames));
	if (!sc->frames)
		return;
	for (size_t i = 0; i < n; i++) {
		sc->frames[i].function = strdup(f[i].function ? f[i].function : "???");
		sc->frames[i].file = f[i].file ? strdup(f[i].file) : NULL;
		sc->frames[i].line = f[i].line;
	}
	sc->n = n;
	sc->hash = h;
	sc->count = 1;
	l->nstacks++;
}

/*
 * The episode of l ends: its last sample was at l->last, the next sample (that saw
 * something else) at next. An event if it lasted long enough.
 */
static void episode_end(struct adbg_watch *w, struct lstate *l, double next, bool ongoing)
{
	double end = ongoing ? next : (l->last + next) / 2;
	double start = l->before >= 0 ? (l->before + l->first) / 2 : l->first;
	double duration = end - start;
	const struct stackcount *best = NULL;

	for (size_t i = 0; i < l->nstacks; i++)
		if (!best || l->stacks[i].count > best->count)
			best = &l->stacks[i];
	if (duration * 1000 >= w->o.blocked_ms && l->samples >= 2) {
		struct adbg_watch_event ev = {
			.start = start,
			.duration = duration,
			.duration_low = l->last - l->first,
			.duration_high = next - (l->before >= 0 ? l->before : l->first),
			.start_wall = l->first_wall - (l->first - start),
			.loop = l->pub.loop,
			.thread = l->pub.thread,
			.task = l->task,
			.task_name = l->task_name,
			.task_coro = l->task_coro,
			.frames = best ? best->frames : NULL,
			.nframes = best ? best->n : 0,
			.stack_samples = best ? best->count : 0,
			.samples = l->samples,
			.ongoing = ongoing,
		};

		w->st.events++;
		l->pub.events++;
		if (duration * 1000 > l->pub.longest_ms)
			l->pub.longest_ms = duration * 1000;
		if (duration * 1000 > w->st.longest_ms)
			w->st.longest_ms = duration * 1000;
		if (w->o.on_event)
			w->o.on_event(w->o.arg, &ev);
	}
	episode_clear(l);
}

static struct lstate *loop_state(struct adbg_watch *w, int tid)
{
	for (size_t i = 0; i < w->nloops; i++)
		if (w->loops[i].pub.thread == tid)
			return &w->loops[i];
	if (w->nloops == ADBG_WATCH_MAX_LOOPS)
		return NULL;
	w->loops[w->nloops] = (struct lstate){.pub = {.thread = tid}, .last_sample = -1};
	return &w->loops[w->nloops++];
}

/* What a sample reads while the target is frozen. */
struct sample {
	struct adbg_watch *w;
	struct adbg_runtime_snapshot rt;
	struct adbg_asyncio_snapshot aio;
	bool want_tasks, has_aio;
};

/*
 * Would reading the tasks now name the task of an episode that may become an event? The
 * loop threads' running tasks are read first (a few objects): a callback runs no task and
 * needs no read of every task (which, with many tasks, would stop the target long on every
 * sample while the callback holds the loop). A task's name is read once per episode, from
 * a read of every task: the last task sample's may be older than the task (a new task may
 * even have the address of one that has finished since).
 */
static bool tasks_needed(struct adbg_watch *w, struct adbg_session *s,
			 struct adbg_runtime_snapshot *rt)
{
	bool loops_read = false;

	for (size_t i = 0; i < rt->nthreads; i++) {
		struct adbg_pythread *th = &rt->threads[i];
		struct thread_run r = thread_run(&th->stack);
		const struct adbg_frame *top;
		bool unnamed = false;

		if (r.kind != RUN_BUSY)
			continue;
		top = &th->stack.frames[r.top - 1];
		for (size_t j = 0; j < w->nloops; j++) {
			const struct lstate *l = &w->loops[j];

			if (l->pub.thread == th->tid && l->in_episode && !l->task &&
			    l->key_addr == top->addr && l->key_fn &&
			    strcmp(l->key_fn, top->function) == 0)
				unnamed = true;
		}
		if (!unnamed)
			continue;
		if (!loops_read) {
			adbg_asyncio_thread_loops(s, rt);
			loops_read = true;
		}
		if (th->running_task)
			return true;
	}
	return false;
}

static ADBG_MUST_CHECK struct adbg_error *sample_read(struct adbg_session *s, void *arg)
{
	struct sample *sm = arg;
	struct adbg_error *err = adbg_runtime_snapshot(s, ADBG_RT_STACKS, &sm->rt);

	if (err)
		return err;
	if (sm->want_tasks || tasks_needed(sm->w, s, &sm->rt)) {
		err = adbg_asyncio_snapshot(s, 0, &sm->aio);
		if (err) {
			adbg_runtime_snapshot_deinit(&sm->rt);
			return err;
		}
		sm->has_aio = true;
	}
	return NULL;
}

static void sample_drop(struct adbg_session *s, void *arg)
{
	struct sample *sm = arg;

	(void)s;
	adbg_runtime_snapshot_deinit(&sm->rt);
	if (sm->has_aio)
		adbg_asyncio_snapshot_deinit(&sm->aio);
	sm->has_aio = false;
}

static uint64_t fnv(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

void adbg_watch_count_tasks(struct adbg_watch *w, const struct adbg_asyncio_snapshot *aio,
			    double now)
{
	size_t hsize = 1, *slot;
	uint32_t *counts;

	if (w->skipped + 1 < w->stride) {
		w->skipped++;
		return;
	}
	w->skipped = 0;
	if (w->npoints == ADBG_WATCH_MAX_POINTS) {
		// Full: keep every other point, and record every other sample from now on.
		for (size_t i = 0; i < w->npoints / 2; i++) {
			w->times[i] = w->times[2 * i];
			for (size_t c = 0; c < w->ncoros; c++)
				w->coros[c].counts[i] = w->coros[c].counts[2 * i];
		}
		w->npoints /= 2;
		w->stride *= 2;
	}
	while (hsize < 2 * (w->ncoros + aio->ntasks + 1))
		hsize *= 2;
	slot = calloc(hsize, sizeof(*slot));
	counts = calloc(ADBG_WATCH_MAX_COROS, sizeof(*counts));
	if (!slot || !counts)
		goto out;
	for (size_t c = 0; c < w->ncoros; c++) {
		size_t at = fnv(w->coros[c].name) & (hsize - 1);

		while (slot[at])
			at = (at + 1) & (hsize - 1);
		slot[at] = c + 1;
	}
	for (size_t i = 0; i < aio->ntasks; i++) {
		const struct adbg_task *t = &aio->tasks[i];
		const char *name = t->coro ? t->coro : "?";
		size_t at, c = 0;

		if (t->state != ADBG_TASK_PENDING)
			continue;
		for (at = fnv(name) & (hsize - 1); slot[at]; at = (at + 1) & (hsize - 1))
			if (strcmp(w->coros[slot[at] - 1].name, name) == 0) {
				c = slot[at];
				break;
			}
		if (!c) {
			struct coro_series *cs;

			if (w->ncoros == ADBG_WATCH_MAX_COROS)
				continue;
			cs = &w->coros[w->ncoros];
			cs->name = strdup(name);
			cs->counts = calloc(ADBG_WATCH_MAX_POINTS, sizeof(*cs->counts));
			if (!cs->name || !cs->counts) {
				free(cs->name);
				free(cs->counts);
				continue;
			}
			c = ++w->ncoros;
			slot[at] = c;
		}
		counts[c - 1]++;
	}
	w->times[w->npoints] = now;
	for (size_t c = 0; c < w->ncoros; c++)
		w->coros[c].counts[w->npoints] = counts[c];
	w->npoints++;
out:
	free(slot);
	free(counts);
}

/*
 * Loop lag at this task sample: how overdue the earliest timer of each loop's heap is (a
 * sleep, timeout or call_later that should have run by now; 0 when it is still to come).
 */
static void loop_lag(struct adbg_watch *w, const struct adbg_asyncio_snapshot *aio, bool periodic)
{
	for (size_t i = 0; i < aio->nloops; i++) {
		const struct adbg_loop *lp = &aio->loops[i];
		struct lstate *l;
		double lag = 0;

		if (!lp->thread || !(l = loop_state(w, lp->thread)))
			continue;
		l->pub.loop = lp->id;
		l->pub.task = 0;
		for (size_t k = 0; k < aio->ntasks; k++)
			if (aio->tasks[k].loop == lp->id && aio->tasks[k].running)
				l->pub.task = aio->tasks[k].id;
		if (lp->has_first_timer && aio->has_now && aio->now > lp->first_timer)
			lag = aio->now - lp->first_timer;
		if (lag * 1000 > l->pub.lag_max_ms)
			l->pub.lag_max_ms = lag * 1000;
		// The mean is over the periodic task samples only: those taken because a
		// callback held the loop would weigh the busy times more.
		if (periodic) {
			l->pub.lag_sum_ms += lag * 1000;
			l->pub.lag_samples++;
		}
	}
}

/* The running task of thread tid's loop in the task snapshot, or NULL. */
static const struct adbg_task *running_task(const struct adbg_asyncio_snapshot *aio, int tid)
{
	for (size_t k = 0; k < aio->ntasks; k++)
		if (aio->tasks[k].running && aio->tasks[k].thread == tid)
			return &aio->tasks[k];
	return NULL;
}

static double wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One thread's sample: extend, end or start its episode. */
static void thread_sample(struct adbg_watch *w, const struct adbg_pythread *th,
			  const struct sample *sm, double now)
{
	struct thread_run r = thread_run(&th->stack);
	struct lstate *l;
	const struct adbg_frame *top;

	if (r.kind == RUN_NONE || th->agent || !(l = loop_state(w, th->tid)))
		return;
	l->seen = true;
	l->pub.compiled = r.compiled;
	l->pub.busy = r.kind == RUN_BUSY;
	top = r.kind == RUN_BUSY ? &th->stack.frames[r.top - 1] : NULL;
	if (l->in_episode &&
	    (!top || top->addr != l->key_addr || strcmp(top->function, l->key_fn) != 0))
		episode_end(w, l, now, false);
	if (top && !l->in_episode) {
		l->in_episode = true;
		l->key_addr = top->addr;
		l->key_fn = strdup(top->function);
		l->first = now;
		l->first_wall = wall_now();
		l->before = l->last_sample;
		if (!l->key_fn)
			l->in_episode = false;
	}
	l->pub.current[0] = '\0';
	if (top && l->in_episode) {
		const struct adbg_frame *in = &th->stack.frames[0];
		const char *base = in->file ? strrchr(in->file, '/') : NULL;

		snprintf(l->pub.current, sizeof(l->pub.current), "%s (%s:%d)", in->function,
			 base	    ? base + 1
			 : in->file ? in->file
				    : "?",
			 in->line);
		l->pub.since = l->before >= 0 ? (l->before + l->first) / 2 : l->first;
		l->last = now;
		l->samples++;
		count_stack(l, th->stack.frames, r.top);
		if (sm->has_aio && !l->task) {
			const struct adbg_task *t = running_task(&sm->aio, th->tid);

			if (t) {
				l->task = t->id;
				l->task_name = t->name ? strdup(t->name) : NULL;
				l->task_coro = t->coro ? strdup(t->coro) : NULL;
			}
		}
	}
	l->last_sample = now;
}

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

struct adbg_error *adbg_watch_sample(struct adbg_watch *w, double now)
{
	struct sample sm = {.w = w};
	struct adbg_error *err;
	double called;

	if (w->finished)
		return NULL;
	sm.want_tasks = !w->has_aio || (now - w->last_tasks) * 1000 >= w->tasks_gap_ms;
	adbg_session_clear_warnings(w->s);
	if (!w->st.samples) {
		// The first sample reads what no stop has touched for a while: bring it into
		// memory first, with the target running (adbg_session_warm; bounded as for attach).
		struct sample warm = {.w = w, .want_tasks = sm.want_tasks};

		adbg_session_warm(w->s, sample_read, sample_drop, &warm, ADBG_WARM_MS);
	}
	called = mono();
	err = adbg_session_snapshot(w->s, sample_read, sample_drop, &sm);
	if (err)
		return err;
	// The sample's time is when the process stopped: stopping it can take a while on a
	// loaded machine, and what was read is what it ran then.
	now += mono() - called - w->s->target->stopped_ms / 1000;
	w->st.samples++;
	w->st.stopped_ms_total += w->s->target->stopped_ms;
	if (w->s->target->stopped_ms > w->st.stopped_ms_max)
		w->st.stopped_ms_max = w->s->target->stopped_ms;
	for (size_t i = 0; i < w->nloops; i++)
		w->loops[i].seen = false;
	if (sm.has_aio && sm.want_tasks) {
		// A task sample's stop grows with the tasks: 100 000 tasks are counted every
		// 50 s rather than stopping the service a tenth of the time.
		w->tasks_gap_ms = (double)sm.aio.ntasks * TASKS_GAP_MS_PER_TASK;
		if (w->tasks_gap_ms < w->o.tasks_every_ms)
			w->tasks_gap_ms = w->o.tasks_every_ms;
		w->st.task_samples++;
		w->last_tasks = now;
		adbg_watch_count_tasks(w, &sm.aio, now);
	}
	if (sm.has_aio)
		loop_lag(w, &sm.aio, sm.want_tasks);
	for (size_t i = 0; i < sm.rt.nthreads; i++)
		thread_sample(w, &sm.rt.threads[i], &sm, now);
	// A loop thread gone (its loop ended, the thread exited): its episode ends.
	for (size_t i = 0; i < w->nloops; i++)
		if (!w->loops[i].seen && w->loops[i].in_episode)
			episode_end(w, &w->loops[i], now, false);
	adbg_runtime_snapshot_deinit(&sm.rt);
	if (sm.has_aio) {
		// The newest task snapshot is kept (adbg_watch_tasks), with its strings.
		if (w->has_aio) {
			adbg_asyncio_snapshot_deinit(&w->aio);
			adbg_arena_deinit(&w->aio_strings);
		}
		w->aio = sm.aio;
		w->aio_strings = w->s->strings;
		memset(&w->s->strings, 0, sizeof(w->s->strings));
		w->has_aio = true;
	}
	return NULL;
}

void adbg_watch_finish(struct adbg_watch *w, double now)
{
	if (w->finished)
		return;
	for (size_t i = 0; i < w->nloops; i++)
		if (w->loops[i].in_episode)
			episode_end(w, &w->loops[i],
				    now < w->loops[i].last ? w->loops[i].last : now, true);
	w->finished = true;
}

struct adbg_error *adbg_watch_create(struct adbg_session *s, const struct adbg_watch_opts *opts,
				     struct adbg_watch **ret)
{
	struct adbg_watch *w = calloc(1, sizeof(*w));

	if (!w)
		return &adbg_error_nomem;
	w->s = s;
	w->o = *opts;
	if (w->o.blocked_ms <= 0)
		w->o.blocked_ms = ADBG_WATCH_BLOCKED_MS;
	if (w->o.interval_ms <= 0)
		w->o.interval_ms = ADBG_WATCH_INTERVAL_MS;
	if (w->o.tasks_every_ms <= 0)
		w->o.tasks_every_ms = ADBG_WATCH_TASKS_EVERY_MS;
	w->tasks_gap_ms = w->o.tasks_every_ms;
	w->stride = 1;
	w->times = calloc(ADBG_WATCH_MAX_POINTS, sizeof(*w->times));
	w->coros = calloc(ADBG_WATCH_MAX_COROS, sizeof(*w->coros));
	if (!w->times || !w->coros) {
		adbg_watch_destroy(w);
		return &adbg_error_nomem;
	}
	*ret = w;
	return NULL;
}

void adbg_watch_destroy(struct adbg_watch *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->nloops; i++)
		episode_clear(&w->loops[i]);
	for (size_t c = 0; c < w->ncoros; c++) {
		free(w->coros[c].name);
		free(w->coros[c].counts);
	}
	free(w->coros);
	free(w->times);
	if (w->has_aio) {
		adbg_asyncio_snapshot_deinit(&w->aio);
		adbg_arena_deinit(&w->aio_strings);
	}
	free(w);
}

const struct adbg_asyncio_snapshot *adbg_watch_tasks(const struct adbg_watch *w)
{
	return w->has_aio ? &w->aio : NULL;
}

size_t adbg_watch_nloops(const struct adbg_watch *w)
{
	return w->nloops;
}

const struct adbg_watch_loop *adbg_watch_loop_at(const struct adbg_watch *w, size_t i)
{
	return &w->loops[i].pub;
}

size_t adbg_watch_growth(const struct adbg_watch *w, struct adbg_watch_growth *ret, size_t max)
{
	size_t n = w->npoints, k = 0;

	if (n < 4)
		return 0;
	for (size_t c = 0; c < w->ncoros && k < max; c++) {
		const uint32_t *v = w->coros[c].counts;
		double q[4] = {0}, mt = 0, mv = 0, sxy = 0, sxx = 0;
		bool rising = true;

		for (int j = 0; j < 4; j++) {
			size_t a = n * (size_t)j / 4, b = n * (size_t)(j + 1) / 4;

			for (size_t i = a; i < b; i++)
				q[j] += v[i];
			q[j] /= (double)(b - a);
			if (j && q[j] <= q[j - 1])
				rising = false;
		}
		if (!rising || q[3] - q[0] < 3)
			continue;
		for (size_t i = 0; i < n; i++) {
			mt += w->times[i] / (double)n;
			mv += v[i] / (double)n;
		}
		for (size_t i = 0; i < n; i++) {
			sxy += (w->times[i] - mt) * (v[i] - mv);
			sxx += (w->times[i] - mt) * (w->times[i] - mt);
		}
		ret[k++] = (struct adbg_watch_growth){
			.coro = w->coros[c].name,
			.first = v[0],
			.last = v[n - 1],
			.per_s = sxx > 0 ? sxy / sxx : 0,
			.over = w->times[n - 1] - w->times[0],
			.points = (unsigned)n,
		};
	}
	return k;
}

void adbg_watch_stats(const struct adbg_watch *w, struct adbg_watch_stats *ret)
{
	*ret = w->st;
}
