// SPDX-License-Identifier: MIT
// Session lifetime and per-command warnings (see session.h).
#include "session.h"

#include "codecache.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

// More warnings than this in one command say nothing new; the rest are counted.
#define MAX_WARNINGS 100

struct adbg_error *adbg_session_create(struct adbg_target *t, struct adbg_session **ret)
{
	struct adbg_session *s = calloc(1, sizeof(*s));
	struct adbg_error *err;

	if (!s) {
		adbg_target_destroy(t);
		return &adbg_error_nomem;
	}
	s->target = t;
	err = adbg_python_find(t, &s->python);
	if (err) {
		adbg_session_destroy(s);
		return err;
	}
	*ret = s;
	return NULL;
}

struct adbg_error *adbg_session_create_python(struct adbg_target *t, struct adbg_python *py,
					      struct adbg_session **ret)
{
	struct adbg_session *s = calloc(1, sizeof(*s));

	if (!s) {
		adbg_python_destroy(py);
		adbg_target_destroy(t);
		return &adbg_error_nomem;
	}
	s->target = t;
	s->python = py;
	*ret = s;
	return NULL;
}

void adbg_session_destroy(struct adbg_session *s)
{
	if (!s)
		return;
	adbg_session_clear_warnings(s);
	adbg_codecache_destroy(s->codecache);
	adbg_arena_deinit(&s->strings);
	adbg_python_destroy(s->python);
	adbg_target_destroy(s->target);
	free(s->warnings);
	free(s->race_detail);
	free(s);
}

void adbg_session_warn(struct adbg_session *s, const char *fmt, ...)
{
	char **w;
	char *msg;
	va_list ap;

	if (s->nwarnings > MAX_WARNINGS)
		return;
	if (s->nwarnings == MAX_WARNINGS) {
		fmt = "more warnings were dropped";
		msg = NULL;
	}
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (!msg)
		return;
	w = realloc(s->warnings, (s->nwarnings + 1) * sizeof(*w));
	if (!w) {
		free(msg);
		return;
	}
	s->warnings = w;
	s->warnings[s->nwarnings++] = msg;
}

void adbg_session_warn_error(struct adbg_session *s, struct adbg_error *err)
{
	if (!err)
		return;
	adbg_session_warn(s, "%s", err->message);
	adbg_error_destroy(err);
}

void adbg_session_clear_warnings(struct adbg_session *s)
{
	for (size_t i = 0; i < s->nwarnings; i++)
		free(s->warnings[i]);
	s->nwarnings = 0;
}

struct adbg_error *adbg_session_code(struct adbg_session *s, uint64_t code,
				     const struct adbg_code_entry **ret)
{
	// Made on first use: sessions built by hand (tests) start without one.
	if (!s->codecache) {
		s->codecache = adbg_codecache_create();
		if (!s->codecache)
			return &adbg_error_nomem;
	}
	return adbg_codecache_get(s->codecache, s->target, &s->python->layout, &s->strings, code,
				  ret);
}

bool adbg_session_interrupted(const struct adbg_session *s)
{
	return (s->interrupted && *s->interrupted) ||
	       (s->warm_until_ns && adbg_now_ns() > s->warm_until_ns);
}

const char *adbg_session_kind_name(const struct adbg_session *s)
{
	switch (s->target->kind) {
	case ADBG_TARGET_PROCESS:
		return "process";
	case ADBG_TARGET_CORE:
		return "core";
	case ADBG_TARGET_GDB:
		// To the user GDB's inferior is a process or a core like any other (the JSON
		// schema knows only those two); gdbext sets core_path for cores.
		return s->target->core_path ? "core" : "process";
	case ADBG_TARGET_MEMORY:
		break;
	}
	return "memory";
}

bool adbg_session_live(const struct adbg_session *s)
{
	const struct adbg_target *t = s->target;

	return t->ops->freeze && t->kind != ADBG_TARGET_CORE && !t->core_path;
}

static void race_clear(struct adbg_session *s)
{
	s->race_what = NULL;
	free(s->race_detail);
	s->race_detail = NULL;
}

struct adbg_error *adbg_session_inconsistent(struct adbg_session *s, const char *what,
					     const char *fmt, ...)
{
	struct adbg_error *err;
	char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (!msg)
		return &adbg_error_nomem;
	if (adbg_session_live(s)) {
		err = adbg_error_create(ADBG_ERR_BAD_DATA, "%s", msg);
		race_clear(s);
		s->race_what = what;
		s->race_detail = msg;
		return err;
	}
	// A core does not change: what does not add up is corrupt.
	err = adbg_error_create(ADBG_ERR_BAD_DATA, "%s (corrupt data)", msg);
	free(msg);
	return err;
}

/*
 * Growing back-off steps: a thread starts or ends in well under a millisecond; another
 * aiodbg's snapshot of a thousand tasks takes a few on a quiet machine, hundreds of them on
 * a loaded one or a big heap. A race is read again after 2 + 5 + 10 + 20 ms in all, so a
 * target that keeps changing is not waited on for long; a process another aiodbg holds is
 * tried for about 1.2 s (2 + 5 + 10 + 20 + 50 + 100 + 200 * 5 ms).
 */
static unsigned backoff_step(unsigned attempt, unsigned nsteps)
{
	static const unsigned steps[] = {2, 5, 10, 20, 50, 100, 200};

	if (nsteps > sizeof(steps) / sizeof(steps[0]))
		nsteps = sizeof(steps) / sizeof(steps[0]);
	if (attempt < 1)
		attempt = 1;
	if (attempt > nsteps)
		attempt = nsteps;
	return steps[attempt - 1];
}

unsigned adbg_snapshot_backoff_ms(unsigned attempt)
{
	return backoff_step(attempt, 4);
}

unsigned adbg_freeze_backoff_ms(unsigned attempt)
{
	return backoff_step(attempt, 7);
}

/* Sleep ms milliseconds with the target thawed; false when interrupted meanwhile. */
static bool sleep_ms(struct adbg_session *s, unsigned ms)
{
	for (unsigned i = 0; i < ms; i++) {
		struct timespec ts = {0, 1000 * 1000};

		if (adbg_session_interrupted(s))
			return false;
		nanosleep(&ts, NULL);
	}
	return !adbg_session_interrupted(s);
}

static bool back_off(struct adbg_session *s, unsigned attempt)
{
	return sleep_ms(s, adbg_snapshot_backoff_ms(attempt));
}

static ADBG_MUST_CHECK struct adbg_error *interrupted_error(void)
{
	return adbg_error_create(ADBG_ERR_INTERRUPTED, "interrupted");
}

/* Freeze, trying again while the failure is one that a moment may cure. */
static ADBG_MUST_CHECK struct adbg_error *freeze(struct adbg_session *s)
{
	struct adbg_target *t = s->target;
	struct adbg_error *err, *last;

	for (unsigned attempt = 1;; attempt++) {
		err = adbg_target_freeze(t);
		if (!err || !t->freeze_transient || adbg_error_is(err, ADBG_ERR_NOMEM))
			return err;
		if (attempt == ADBG_FREEZE_ATTEMPTS)
			break;
		adbg_error_destroy(err);
		if (!sleep_ms(s, adbg_freeze_backoff_ms(attempt)))
			return interrupted_error();
	}
	// Keep the code: another aiodbg holding the process is a tracer like any other.
	last = adbg_error_create(err->code, "%s; tried %d times, try again", err->message,
				 ADBG_FREEZE_ATTEMPTS);
	adbg_error_destroy(err);
	return last;
}

struct adbg_error *adbg_session_snapshot_begin(struct adbg_session *s)
{
	adbg_codecache_clear(s->codecache);
	adbg_arena_deinit(&s->strings);
	race_clear(s);
	if (s->python->layout.live_unverified && !s->unverified_warned) {
		adbg_session_warn(s,
				  "Python %u.%u free-threaded: this flavour's layout comes from "
				  "its headers and is not verified against a live interpreter yet",
				  s->python->layout.major, s->python->layout.minor);
		s->unverified_warned = true;
	}
	// The AsyncioDebug section (layout.h: has_asyncio_debug) appears only once the
	// target imports asyncio; until it has been found, look again (new mappings first)
	// before each snapshot.
	if (s->python->layout.has_asyncio_debug && !s->python->layout.from_asyncio_debug) {
		struct adbg_error *err = adbg_target_refresh(s->target);

		if (!err)
			err = adbg_python_find_asyncio(s->target, s->python);
		adbg_session_warn_error(s, adbg_error_wrap(err, "asyncio offsets"));
	}
	return freeze(s);
}

void adbg_session_snapshot_end(struct adbg_session *s)
{
	adbg_target_thaw(s->target);
}

/* Drop the warnings recorded after the first n (those of an abandoned attempt). */
static void drop_warnings_from(struct adbg_session *s, size_t n)
{
	while (s->nwarnings > n)
		free(s->warnings[--s->nwarnings]);
}

static const char *target_what(const struct adbg_session *s, char *buf, size_t len)
{
	if (s->target->pid)
		snprintf(buf, len, "process %d", s->target->pid);
	else
		snprintf(buf, len, "the target");
	return buf;
}

void adbg_session_warm(struct adbg_session *s, adbg_snapshot_read_fn read,
		       adbg_snapshot_drop_fn drop, void *arg, unsigned max_ms)
{
	adbg_progress_fn progress;
	size_t nwarnings = s->nwarnings;
	struct adbg_error *err;

	if (!adbg_session_live(s) || s->target->frozen)
		return;
	adbg_codecache_clear(s->codecache);
	adbg_arena_deinit(&s->strings);
	race_clear(s);
	if (max_ms)
		s->warm_until_ns = adbg_now_ns() + (uint64_t)max_ms * 1000000u;
	// The read shows no progress: the frozen read that follows counts the tasks again.
	progress = s->progress;
	s->progress = NULL;
	s->warming = true;
	err = read(s, arg);
	s->warming = false;
	s->progress = progress;
	s->warm_until_ns = 0;
	if (err)
		adbg_error_destroy(err);
	else if (drop)
		drop(s, arg);
	drop_warnings_from(s, nwarnings);
	race_clear(s);
	adbg_codecache_clear(s->codecache);
	adbg_arena_deinit(&s->strings);
}

struct adbg_error *adbg_session_snapshot(struct adbg_session *s, adbg_snapshot_read_fn read,
					 adbg_snapshot_drop_fn drop, void *arg)
{
	size_t nwarnings = s->nwarnings;
	struct adbg_error *err;
	unsigned attempt;
	char who[32];

	if (s->warm_ms && !(s->last_snapshot_ns &&
			    adbg_now_ns() - s->last_snapshot_ns < ADBG_WARM_FRESH_MS * 1000000ull))
		adbg_session_warm(s, read, drop, arg, s->warm_ms);
	for (attempt = 1;; attempt++) {
		err = adbg_session_snapshot_begin(s);
		if (!err)
			err = read(s, arg);
		// Thawed before anything else happens: on every path, also before a retry's
		// back-off, so the program never waits on our retries.
		adbg_session_snapshot_end(s);
		if (!s->race_what || attempt == ADBG_SNAPSHOT_ATTEMPTS ||
		    adbg_error_is(err, ADBG_ERR_NOMEM) || adbg_error_is(err, ADBG_ERR_INTERRUPTED))
			break;
		if (err)
			adbg_error_destroy(err);
		else if (drop)
			drop(s, arg);
		err = NULL;
		drop_warnings_from(s, nwarnings);
		if (!back_off(s, attempt)) {
			race_clear(s);
			return interrupted_error();
		}
	}
	if (adbg_session_live(s))
		s->last_snapshot_ns = adbg_now_ns();
	if (s->race_what && err && !adbg_error_is(err, ADBG_ERR_NOMEM) &&
	    !adbg_error_is(err, ADBG_ERR_INTERRUPTED)) {
		struct adbg_error *e = adbg_error_create(
			ADBG_ERR_TIMEOUT,
			"the %s of %s kept changing during %u snapshots; try again (last: %s)",
			s->race_what, target_what(s, who, sizeof(who)), attempt, err->message);

		adbg_error_destroy(err);
		err = e;
	} else if (s->race_what && !err) {
		adbg_session_warn(s,
				  "the %s of %s kept changing during %u snapshots; this one may "
				  "be incomplete (%s)",
				  s->race_what, target_what(s, who, sizeof(who)), attempt,
				  s->race_detail ? s->race_detail : "?");
	}
	race_clear(s);
	return err;
}
