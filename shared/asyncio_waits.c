// SPDX-License-Identifier: MIT
// What a task waits on, in detail: the asyncio primitive it is suspended in and its state
// (queue sizes, an Event's flag), and deadlines from the loop's timers (see asyncio_waits.h).
#include "asyncio_waits.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "objects.h"

// Timers of one loop read at most (loop._scheduled, a heap).
#define MAX_TIMERS (1u << 18)
// Loops whose timers are read at most.
#define MAX_LOOPS 64
// Longest callback qualname kept.
#define MAX_QUALNAME 128
// asyncio's Python sources, by the end of their path (Lib/asyncio/locks.py, queues.py).
#define LOCKS_PY "asyncio/locks.py"
#define QUEUES_PY "asyncio/queues.py"

/* A timer that wakes something: a task (a Timeout's) or whoever waits on a future. */
struct timer {
	uint64_t key; // the task (Timeout) or the future (args[0])
	double when;
	const char *via; // "timeout", "sleep", "wait_for", a callback's qualname
	bool of_task;
};

enum prim_kind { P_NONE, P_LOCK, P_SEM, P_COND, P_QUEUE, P_EVENT };

struct ctx {
	struct adbg_session *s;
	const struct adbg_layout *l;
	struct adbg_asyncio_snapshot *snap;
	struct timer *timers;
	size_t ntimers, timers_cap;
	size_t waits_cap;
	// primitive (| its kind in the low bits) -> the detail its waiters share (index + 1):
	// a million tasks waiting on one Event share one detail. Open addressing.
	uint64_t *keys;
	uint32_t *vals;
	size_t cap, n;
	// The primitive kind of a frame's function, by its name and file (one string each
	// per code object: a million tasks in Event.wait give one pair).
	struct {
		const char *function, *file;
		enum prim_kind kind;
	} kinds[64];
};

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = s ? strlen(s) : 0, m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

const struct adbg_wait_detail *adbg_asyncio_wait(const struct adbg_asyncio_snapshot *snap,
						 const struct adbg_task *t)
{
	return t->wait && t->wait <= snap->nwaits ? &snap->waits[t->wait - 1] : NULL;
}

/* The task's detail, made when it has none yet; NULL when out of memory. */
static struct adbg_wait_detail *detail_of(struct ctx *c, struct adbg_task *t)
{
	struct adbg_asyncio_snapshot *snap = c->snap;
	struct adbg_wait_detail *w;

	if (t->wait)
		return &snap->waits[t->wait - 1];
	if (snap->nwaits >= UINT32_MAX - 1)
		return NULL;
	// Doubling: a million sleeping tasks have a million deadlines.
	if (snap->nwaits == c->waits_cap) {
		size_t cap = c->waits_cap ? c->waits_cap * 2 : 16;

		w = realloc(snap->waits, cap * sizeof(*w));
		if (!w)
			return NULL;
		snap->waits = w;
		c->waits_cap = cap;
	}
	w = &snap->waits[snap->nwaits++];
	memset(w, 0, sizeof(*w));
	t->wait = (uint32_t)snap->nwaits;
	return w;
}

/* The task's own detail: a copy when it shared one (deadlines are per task). */
static struct adbg_wait_detail *detail_own(struct ctx *c, struct adbg_task *t)
{
	struct adbg_wait_detail copy, *w;

	if (!t->wait)
		return detail_of(c, t);
	copy = c->snap->waits[t->wait - 1];
	t->wait = 0;
	w = detail_of(c, t);
	if (w)
		*w = copy;
	return w;
}

static size_t slot_of(const struct ctx *c, uint64_t key)
{
	size_t i = (size_t)((key >> 4) * 0x9e3779b97f4a7c15ull) & (c->cap - 1);

	while (c->keys[i] && c->keys[i] != key)
		i = (i + 1) & (c->cap - 1);
	return i;
}

/* The shared detail of key (index + 1), 0 when none yet. */
static uint32_t shared_get(const struct ctx *c, uint64_t key)
{
	return c->cap ? c->vals[slot_of(c, key)] : 0;
}

static bool shared_put(struct ctx *c, uint64_t key, uint32_t val)
{
	if ((c->n + 1) * 2 > c->cap) {
		size_t ocap = c->cap, ncap = ocap ? ocap * 2 : 64;
		uint64_t *ok = c->keys, *nk = calloc(ncap, sizeof(*nk));
		uint32_t *ov = c->vals, *nv = calloc(ncap, sizeof(*nv));

		if (!nk || !nv) {
			free(nk);
			free(nv);
			return false;
		}
		c->keys = nk;
		c->vals = nv;
		c->cap = ncap;
		for (size_t i = 0; i < ocap; i++)
			if (ok[i]) {
				size_t j = slot_of(c, ok[i]);

				c->keys[j] = ok[i];
				c->vals[j] = ov[i];
			}
		free(ok);
		free(ov);
	}
	{
		size_t i = slot_of(c, key);

		c->n += !c->keys[i];
		c->keys[i] = key;
		c->vals[i] = val;
	}
	return true;
}

/* An attribute of an instance dict; 0 when missing or unreadable. */
static uint64_t attr(struct ctx *c, uint64_t obj, const char *name)
{
	uint64_t v = 0;
	struct adbg_error *err = adbg_obj_getattr(c->s->target, c->l, obj, name, &v);

	adbg_error_destroy(err);
	return err ? 0 : v;
}

/* The length of a deque or list; -1 when it is neither or unreadable. */
static int64_t length(struct ctx *c, uint64_t obj)
{
	const struct adbg_layout *l = c->l;
	char *tn = NULL;
	uint64_t n = 0;
	int64_t ret = -1;

	if (!obj || !adbg_ok(adbg_obj_type_name(c->s->target, l, obj, &tn)))
		return -1;
	if (strcmp(tn, "collections.deque") == 0)
		ret = adbg_ok(adbg_read_u64(c->s->target, obj + l->deque_object.ob_size, &n))
			      ? (int64_t)n
			      : -1;
	else if (strcmp(tn, "list") == 0)
		ret = adbg_ok(adbg_read_u64(c->s->target, obj + l->list_object.ob_size, &n))
			      ? (int64_t)n
			      : -1;
	free(tn);
	return ret < 0 || ret > (1ll << 40) ? -1 : ret;
}

static bool bool_attr(struct ctx *c, uint64_t obj, const char *name, bool *ret)
{
	uint64_t v = attr(c, obj, name);

	return v && adbg_ok(adbg_obj_bool(c->s->target, c->l, v, ret));
}

static const char *type_name(struct ctx *c, uint64_t obj)
{
	char *tn = NULL;
	const char *ret;

	if (!adbg_ok(adbg_obj_type_name(c->s->target, c->l, obj, &tn)))
		return "?";
	ret = adbg_snapshot_strdup(c->s, tn);
	free(tn);
	return ret ? ret : "?";
}

/* Which primitive's method f runs, if any (cached by name and file). */
static enum prim_kind prim_kind(struct ctx *c, const struct adbg_frame *f)
{
	size_t i = ((uintptr_t)f->function >> 4) % (sizeof(c->kinds) / sizeof(c->kinds[0]));
	const char *fn = f->function;
	enum prim_kind k = P_NONE;

	if (c->kinds[i].function == fn && c->kinds[i].file == f->file && fn)
		return c->kinds[i].kind;
	if (!fn)
		return P_NONE;
	if (strcmp(fn, "Lock.acquire") == 0)
		k = P_LOCK;
	else if (strcmp(fn, "Semaphore.acquire") == 0)
		k = P_SEM;
	else if (strcmp(fn, "Condition.wait") == 0)
		k = P_COND;
	else if (strcmp(fn, "Queue.get") == 0 || strcmp(fn, "Queue.put") == 0)
		k = P_QUEUE;
	else if (strcmp(fn, "Event.wait") == 0)
		k = P_EVENT;
	if (k != P_NONE && !ends_with(f->file, k == P_QUEUE ? QUEUES_PY : LOCKS_PY))
		k = P_NONE;
	c->kinds[i].function = fn;
	c->kinds[i].file = f->file;
	c->kinds[i].kind = k;
	return k;
}

/*
 * The primitive a task is suspended in, from its innermost frame, a method of asyncio's
 * own classes (Lib/asyncio/locks.py, queues.py, 3.11-3.15): `self` is the primitive. A
 * task entering `async with cond` waits in Lock.acquire of the Condition's _lock, called
 * by _ContextManagerMixin.__aenter__ (or Condition.wait re-acquiring it) of the Condition.
 */
static ADBG_MUST_CHECK struct adbg_error *primitive(struct ctx *c, struct adbg_task *t)
{
	const struct adbg_frame *f = &t->stack.frames[0];
	struct adbg_wait_detail *w;
	uint64_t self = 0, prim, key;
	enum prim_kind kind = prim_kind(c, f);
	bool lock = kind == P_LOCK, sem = kind == P_SEM, cond = kind == P_COND,
	     queue = kind == P_QUEUE, event = kind == P_EVENT;

	if (kind == P_NONE || !adbg_ok(adbg_frame_local(c->s, f, "self", &self)))
		return NULL;
	prim = self;
	// The Condition whose lock this is.
	for (size_t i = 1; lock && i < t->stack.n && i < 3; i++) {
		const struct adbg_frame *g = &t->stack.frames[i];
		uint64_t outer = 0;

		if ((strcmp(g->function, "_ContextManagerMixin.__aenter__") == 0 ||
		     strcmp(g->function, "Condition.wait") == 0) &&
		    adbg_ok(adbg_frame_local(c->s, g, "self", &outer)) && outer != self &&
		    attr(c, outer, "_lock") == self) {
			prim = outer;
			break;
		}
	}
	// Objects are 16-byte aligned: the kind of wait goes in the low bits.
	key = prim | (uint64_t)(lock ? 1 : sem ? 2 : cond ? 3 : queue ? 4 : 5);
	t->wait = shared_get(c, key);
	if (t->wait)
		return NULL;
	w = detail_of(c, t);
	if (!w || !shared_put(c, key, t->wait))
		return &adbg_error_nomem;
	w->primitive = prim;
	w->primitive_type = type_name(c, prim);
	if (lock || sem) {
		w->is_lock = true;
		w->lock = self;
	}
	if (queue) {
		uint64_t maxsize = attr(c, self, "_maxsize");
		int64_t n = 0;

		w->is_queue = true;
		w->qsize = length(c, attr(c, self, "_queue"));
		w->maxsize =
			maxsize && adbg_ok(adbg_obj_int(c->s->target, c->l, maxsize, &n)) ? n : -1;
		n = length(c, attr(c, self, "_getters"));
		w->getters = n < 0 ? 0 : (uint32_t)n;
		n = length(c, attr(c, self, "_putters"));
		w->putters = n < 0 ? 0 : (uint32_t)n;
	}
	if (event) {
		w->is_event = bool_attr(c, self, "_value", &w->event_set);
	}
	return NULL;
}

static ADBG_MUST_CHECK struct adbg_error *add_timer(struct ctx *c, struct timer tm)
{
	if (c->ntimers == c->timers_cap) {
		size_t cap = c->timers_cap ? c->timers_cap * 2 : 64;
		struct timer *n = realloc(c->timers, cap * sizeof(*n));

		if (!n)
			return &adbg_error_nomem;
		c->timers = n;
		c->timers_cap = cap;
	}
	c->timers[c->ntimers++] = tm;
	return NULL;
}

/* What a timer's callback is called, for the deadline it sets. */
static const char *callback_via(struct ctx *c, uint64_t cb)
{
	uint64_t qualname = 0;
	char *name = NULL;
	const char *ret = NULL;

	if (!adbg_ok(adbg_read_u64(c->s->target, cb + c->l->function_object.func_qualname,
				   &qualname)) ||
	    !adbg_ok(adbg_obj_str(c->s->target, c->l, qualname, MAX_QUALNAME, &name, NULL)))
		return NULL;
	// asyncio.sleep() and wait_for() before 3.12 (Lib/asyncio/tasks.py).
	if (strcmp(name, "_set_result_unless_cancelled") == 0)
		ret = "sleep";
	else if (strcmp(name, "_release_waiter") == 0)
		ret = "wait_for";
	else
		ret = adbg_snapshot_strdup(c->s, name);
	free(name);
	return ret;
}

/*
 * The loop's timers (BaseEventLoop._scheduled, a heap of TimerHandle, Lib/asyncio/
 * base_events.py and events.py, 3.11-3.15: _when, _callback, _args and _cancelled are
 * __slots__). A timer whose callback is a bound method of a Timeout (asyncio.timeout,
 * timeout_at, and wait_for from 3.12) is that Timeout's task's deadline; one whose first
 * argument is a future (sleep, wait_for before 3.12) wakes whoever waits on it. A loop
 * without _scheduled (uvloop) has none we can read.
 */
static ADBG_MUST_CHECK struct adbg_error *loop_timers(struct ctx *c, uint64_t loop)
{
	struct adbg_target *tg = c->s->target;
	const struct adbg_layout *l = c->l;
	struct adbg_obj_items items = {0};
	struct adbg_error *err = NULL;
	uint64_t heap = attr(c, loop, "_scheduled");
	struct adbg_loop *lp = NULL;

	for (size_t i = 0; i < c->snap->nloops; i++)
		if (c->snap->loops[i].id == loop)
			lp = &c->snap->loops[i];
	if (!heap || !adbg_ok(adbg_obj_list_items(tg, l, heap, MAX_TIMERS, &items)))
		return NULL;
	if (items.truncated)
		adbg_session_warn(c->s,
				  "loop %#" PRIx64 ": more than %u timers; deadlines of the "
				  "rest are not shown",
				  loop, MAX_TIMERS);
	for (size_t i = 0; i < items.n && !err; i++) {
		uint64_t h = items.items[i], v = 0, cb = 0, args = 0;
		struct adbg_obj_items a = {0};
		struct timer tm = {0};
		bool cancelled = false;
		char *tn = NULL;

		if (!adbg_ok(adbg_obj_slot(tg, l, h, "_when", &v)) ||
		    !adbg_ok(adbg_obj_float(tg, l, v, &tm.when)) ||
		    !adbg_ok(adbg_obj_slot(tg, l, h, "_callback", &cb)))
			continue;
		if (adbg_ok(adbg_obj_slot(tg, l, h, "_cancelled", &v)) &&
		    adbg_ok(adbg_obj_bool(tg, l, v, &cancelled)) && cancelled)
			continue;
		if (lp && (!lp->has_first_timer || tm.when < lp->first_timer)) {
			lp->has_first_timer = true;
			lp->first_timer = tm.when;
		}
		if (adbg_ok(adbg_obj_type_name(tg, l, cb, &tn)) && strcmp(tn, "method") == 0) {
			uint64_t self = 0;
			char *sn = NULL;

			if (adbg_ok(adbg_read_u64(tg, cb + l->method_object.im_self, &self)) &&
			    adbg_ok(adbg_obj_type_name(tg, l, self, &sn)) &&
			    strcmp(sn, "Timeout") == 0 && (tm.key = attr(c, self, "_task"))) {
				tm.via = "timeout";
				tm.of_task = true;
				err = add_timer(c, tm);
			}
			free(sn);
		} else if (adbg_ok(adbg_obj_slot(tg, l, h, "_args", &args)) &&
			   adbg_ok(adbg_obj_tuple_items(tg, l, args, 1, &a)) && a.n) {
			tm.key = a.items[0];
			tm.via = callback_via(c, cb);
			err = add_timer(c, tm);
		}
		free(tn);
		adbg_obj_items_deinit(&a);
	}
	adbg_obj_items_deinit(&items);
	return err;
}

static int timer_cmp(const void *a, const void *b)
{
	const struct timer *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->when < y->when ? -1 : x->when > y->when;
}

/* The earliest timer of key (of the kind asked), or NULL. */
static const struct timer *timer_find(const struct ctx *c, uint64_t key, bool of_task)
{
	size_t lo = 0, hi = c->ntimers;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c->timers[mid].key < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < c->ntimers && c->timers[lo].key == key; lo++)
		if (c->timers[lo].of_task == of_task)
			return &c->timers[lo];
	return NULL;
}

/*
 * A core has no clock: its loop's last reading stands in. BaseEventLoop._run_once
 * (Lib/asyncio/base_events.py, 3.11-3.15) sets `end_time` from the clock after its
 * select() returns; while it waits in select(), `timeout` is the first timer's _when minus
 * the clock when it went to sleep (unless clamped to 0 or MAXIMUM_SELECT_TIMEOUT).
 */
static bool loop_clock(struct ctx *c, const struct adbg_runtime_snapshot *rt, double *ret)
{
	struct adbg_target *tg = c->s->target;
	const struct adbg_layout *l = c->l;

	for (size_t i = 0; i < rt->nthreads; i++) {
		const struct adbg_stack *st = &rt->threads[i].stack;

		for (size_t k = 0; k < st->n; k++) {
			const struct adbg_frame *f = &st->frames[k];
			struct adbg_obj_items heap = {0};
			uint64_t v = 0, self = 0, when = 0;
			double timeout = 0, first = 0;
			bool ok;

			if (strcmp(f->function, "BaseEventLoop._run_once") != 0)
				continue;
			if (adbg_ok(adbg_frame_local(c->s, f, "end_time", &v)) &&
			    adbg_ok(adbg_obj_float(tg, l, v, ret)))
				return true;
			if (!adbg_ok(adbg_frame_local(c->s, f, "timeout", &v)) ||
			    !adbg_ok(adbg_obj_float(tg, l, v, &timeout)) || timeout <= 0 ||
			    timeout >= 86400 || !adbg_ok(adbg_frame_local(c->s, f, "self", &self)))
				continue;
			ok = adbg_ok(adbg_obj_list_items(tg, l, attr(c, self, "_scheduled"), 1,
							 &heap)) &&
			     heap.n &&
			     adbg_ok(adbg_obj_slot(tg, l, heap.items[0], "_when", &when)) &&
			     adbg_ok(adbg_obj_float(tg, l, when, &first));
			adbg_obj_items_deinit(&heap);
			if (ok) {
				*ret = first - timeout;
				return true;
			}
		}
	}
	return false;
}

static bool in_function(const struct adbg_task *t, const char *function)
{
	for (size_t i = 0; i < t->stack.n; i++)
		if (strcmp(t->stack.frames[i].function, function) == 0)
			return true;
	return false;
}

static ADBG_MUST_CHECK struct adbg_error *deadlines(struct ctx *c,
						    const struct adbg_runtime_snapshot *rt)
{
	struct adbg_asyncio_snapshot *snap = c->snap;
	uint64_t loops[MAX_LOOPS];
	size_t nloops = 0;
	struct adbg_error *err = NULL;

	for (size_t i = 0; i < snap->ntasks && nloops < MAX_LOOPS; i++) {
		uint64_t loop = snap->tasks[i].loop;
		size_t k;

		if (!loop || snap->tasks[i].state != ADBG_TASK_PENDING)
			continue;
		for (k = 0; k < nloops && loops[k] != loop; k++)
			;
		if (k == nloops) {
			loops[nloops++] = loop;
			err = loop_timers(c, loop);
			if (err)
				return err;
		}
	}
	if (!c->ntimers && !nloops)
		return NULL;
	// A process, also one GDB holds stopped (adbg_session_kind_name), not a core.
	if (strcmp(adbg_session_kind_name(c->s), "process") == 0) {
		struct timespec ts;

		// The loops' clock is time.monotonic(), CLOCK_MONOTONIC: the same clock here
		// (the target is frozen: its time stands at now).
		if (clock_gettime(CLOCK_MONOTONIC, &ts) == 0) {
			snap->now = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
			snap->has_now = true;
			snap->now_source = "clock";
		}
	} else if (loop_clock(c, rt, &snap->now)) {
		snap->has_now = true;
		snap->now_source = "loop";
	}
	if (!c->ntimers)
		return NULL;
	qsort(c->timers, c->ntimers, sizeof(*c->timers), timer_cmp);
	for (size_t i = 0; i < snap->ntasks; i++) {
		struct adbg_task *t = &snap->tasks[i];
		const struct timer *a, *b;
		struct adbg_wait_detail *w;

		if (t->state != ADBG_TASK_PENDING)
			continue;
		a = timer_find(c, t->id, true);
		b = t->has_waiting_on ? timer_find(c, t->waiting_on.id, false) : NULL;
		if (!a || (b && b->when < a->when))
			a = b;
		if (!a)
			continue;
		w = detail_own(c, t);
		if (!w)
			return &adbg_error_nomem;
		w->has_deadline = true;
		w->when = a->when;
		w->deadline_via = a->via;
		// 3.12+ wait_for() is `async with timeout(...)` (Lib/asyncio/tasks.py).
		if (a->of_task && in_function(t, "wait_for"))
			w->deadline_via = "wait_for";
		if (snap->has_now) {
			w->left = a->when - snap->now;
			w->left_known = true;
		}
	}
	return NULL;
}

struct adbg_aio_waits {
	struct ctx c;
	// tasks [0, next) were given to adbg_asyncio_wait_task (or could have been)
	size_t next;
};

struct adbg_aio_waits *adbg_asyncio_waits_begin(struct adbg_session *s,
						struct adbg_asyncio_snapshot *snap)
{
	struct adbg_aio_waits *w = calloc(1, sizeof(*w));

	if (w)
		w->c = (struct ctx){.s = s, .l = &s->python->layout, .snap = snap};
	return w;
}

struct adbg_error *adbg_asyncio_wait_task(struct adbg_aio_waits *w, struct adbg_task *t)
{
	size_t i = (size_t)(t - w->c.snap->tasks);

	if (i + 1 > w->next)
		w->next = i + 1;
	if (t->state == ADBG_TASK_PENDING && t->has_waiting_on && t->stack.n)
		return primitive(&w->c, t);
	return NULL;
}

void adbg_asyncio_waits_free(struct adbg_aio_waits *w)
{
	if (!w)
		return;
	free(w->c.timers);
	free(w->c.keys);
	free(w->c.vals);
	free(w);
}

struct adbg_error *adbg_asyncio_waits_end(struct adbg_aio_waits *w,
					  const struct adbg_runtime_snapshot *rt)
{
	struct ctx *c = &w->c;
	struct adbg_asyncio_snapshot *snap = c->snap;
	struct adbg_error *err = NULL;

	for (size_t i = w->next; i < snap->ntasks && !err; i++) {
		err = adbg_asyncio_wait_task(w, &snap->tasks[i]);
		if (!err && (i & 4095) == 4095 && adbg_session_interrupted(c->s))
			err = adbg_error_create(ADBG_ERR_INTERRUPTED, "interrupted");
	}
	if (!err)
		err = deadlines(c, rt);
	if (!err)
		err = adbg_asyncio_lock_holders(c->s, snap);
	adbg_asyncio_waits_free(w);
	return err;
}

struct adbg_error *adbg_asyncio_waits(struct adbg_session *s, struct adbg_asyncio_snapshot *snap,
				      const struct adbg_runtime_snapshot *rt)
{
	struct adbg_aio_waits *w = adbg_asyncio_waits_begin(s, snap);

	return w ? adbg_asyncio_waits_end(w, rt) : &adbg_error_nomem;
}

void adbg_asyncio_waits_deinit(struct adbg_asyncio_snapshot *snap)
{
	for (size_t i = 0; i < snap->ncycles; i++)
		free(snap->cycles[i].locks);
	free(snap->waits);
	free(snap->holders);
	free(snap->lock_edges);
}
