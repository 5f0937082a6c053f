// SPDX-License-Identifier: MIT
// Reading Trio runs, tasks, nurseries and cancel scopes out of a frozen target (see trio.h).
#include "trio.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "asyncio.h"
#include "codecache.h"
#include "objects.h"

// Longest task name or cancel reason kept.
#define MAX_NAME 256
// Trio's tasks of one run read at most.
#define MAX_RUN_TASKS (1u << 20)

/* One task as first read, before it joins the snapshot (in nursery-tree order). */
struct raw_task {
	uint64_t id;
	uint64_t parent_task;
	uint64_t parent_nursery;
	uint64_t coro;
	// Task._counter: creation order (itertools.count), how siblings are shown
	int64_t counter;
	uint32_t runner; // index in snap->runners
	uint32_t first_child, nchildren; // of the tree, in order[]
};

struct reader {
	const struct adbg_trio_in *in;
	struct adbg_session *s;
	const struct adbg_layout *l;
	struct adbg_trio_snapshot *snap;
	// per runner: the clock, and where its value came from
	double *now;
	const char **now_source;
	uint64_t *runner_thread_frames; // index in rt->threads + 1 of each runner's thread
};

static ADBG_MUST_CHECK struct adbg_error *rd_ptr(struct reader *r, uint64_t addr, uint64_t *ret)
{
	return adbg_read_u64(r->s->target, addr, ret);
}

/*
 * An attribute of a Trio object, from its instance dict or its slots (Trio's classes have
 * one or the other, and which one changed between versions); 0 when it is missing, None,
 * or cannot be read.
 */
static uint64_t attr(struct reader *r, uint64_t obj, const char *name)
{
	uint64_t v = 0;
	bool none = false;
	struct adbg_error *err;

	if (!obj)
		return 0;
	err = adbg_obj_getattr(r->s->target, r->l, obj, name, &v);
	if (adbg_error_is(err, ADBG_ERR_NOT_FOUND)) {
		adbg_error_destroy(err);
		// attrs makes slotted classes of Trio's Runner, Task, CancelScope and
		// CancelStatus (0.22 `slots=True`, 0.34 attrs.define).
		err = adbg_obj_slot(r->s->target, r->l, obj, name, &v);
	}
	if (!err)
		err = adbg_obj_is_none(r->s->target, r->l, v, &none);
	adbg_error_destroy(err);
	return err || none ? 0 : v;
}

static bool attr_bool(struct reader *r, uint64_t obj, const char *name)
{
	uint64_t v = attr(r, obj, name);
	bool b = false;

	if (v)
		adbg_error_destroy(adbg_obj_bool(r->s->target, r->l, v, &b));
	return b;
}

/* A float (or int) object's value; false when it is neither. */
static bool number(struct reader *r, uint64_t v, double *ret)
{
	int64_t n;
	struct adbg_error *err;

	if (!v)
		return false;
	err = adbg_obj_float(r->s->target, r->l, v, ret);
	if (!err)
		return true;
	adbg_error_destroy(err);
	err = adbg_obj_int(r->s->target, r->l, v, &n);
	if (!err) {
		*ret = (double)n;
		return true;
	}
	adbg_error_destroy(err);
	return false;
}

/* A str of the target, interned; NULL when it is not a str. */
static const char *intern_str(struct reader *r, uint64_t obj)
{
	const char *interned;
	char *text;
	struct adbg_error *err;

	if (!obj)
		return NULL;
	err = adbg_obj_str(r->s->target, r->l, obj, MAX_NAME, &text, NULL);
	if (err) {
		adbg_error_destroy(err);
		return NULL;
	}
	interned = adbg_snapshot_strdup(r->s, text);
	free(text);
	return interned;
}

static const char *type_name(struct reader *r, uint64_t obj)
{
	const char *interned;
	char *name;
	struct adbg_error *err = adbg_obj_type_name(r->s->target, r->l, obj, &name);

	if (err) {
		adbg_error_destroy(err);
		return NULL;
	}
	interned = adbg_snapshot_strdup(r->s, name);
	free(name);
	return interned;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = s ? strlen(s) : 0, m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* A frame of Trio's run loop: run() or unrolled_run() of trio/_core/_run.py. */
static bool is_run_frame(const struct adbg_frame *f, const char *function)
{
	return f->kind == ADBG_FRAME_PYTHON && strcmp(f->function, function) == 0 &&
	       ends_with(f->file, "/trio/_core/_run.py");
}

/* A frame of Trio's own code (its files are under a directory named trio). */
static bool is_trio_frame(const struct adbg_frame *f)
{
	return f->file && strstr(f->file, "/trio/") != NULL;
}

static struct timespec monotonic_now(void)
{
	struct timespec ts = {0};

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts;
}

/*
 * The run's clock now. Live, with Trio's SystemClock: its offset plus perf_counter(),
 * which is CLOCK_MONOTONIC on Linux (Python/pytime.c, 3.11-3.15) and so can be read here.
 * Otherwise (a core, another clock): the `now` that unrolled_run last read when the loop
 * woke (trio/_core/_run.py, 0.22-0.34), from its frame on the thread's stack or from the
 * suspended generator that run() keeps in `gen`.
 */
static void runner_now(struct reader *r, uint64_t runner, const struct adbg_pythread *th,
		       double *now_ret, const char **source_ret)
{
	const struct adbg_layout *l = r->l;
	uint64_t clock = attr(r, runner, "clock"), v = 0;
	const char *clock_type = clock ? type_name(r, clock) : NULL;
	double offset;

	*source_ret = NULL;
	// A process, not a core: also one that GDB holds stopped (it has no freeze of ours).
	if (strcmp(adbg_session_kind_name(r->s), "process") == 0 && clock_type &&
	    strcmp(clock_type, "SystemClock") == 0 &&
	    number(r, attr(r, clock, "offset"), &offset)) {
		struct timespec ts = monotonic_now();

		*now_ret = offset + (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
		*source_ret = "clock";
		return;
	}
	for (size_t i = 0; i < th->stack.n; i++) {
		const struct adbg_frame *f = &th->stack.frames[i];
		struct adbg_frame gf = {0};
		bool skip = false;

		if (is_run_frame(f, "unrolled_run")) {
			if (adbg_ok(adbg_frame_local(r->s, f, "now", &v)) && number(r, v, now_ret))
				*source_ret = "last wake";
			return;
		}
		if (!is_run_frame(f, "run"))
			continue;
		if (!adbg_ok(adbg_frame_local(r->s, f, "gen", &v)) || !v ||
		    !adbg_ok(adbg_frame_read(r->s, v + l->gen_object.gi_iframe, &gf, &skip)))
			return;
		if (adbg_ok(adbg_frame_local(r->s, &gf, "now", &v)) && number(r, v, now_ret))
			*source_ret = "last wake";
		return;
	}
}

/* The Runners of the threads' Trio runs (one per thread at most). */
static ADBG_MUST_CHECK struct adbg_error *find_runners(struct reader *r)
{
	const struct adbg_runtime_snapshot *rt = r->in->rt;
	struct adbg_trio_snapshot *snap = r->snap;

	for (size_t i = 0; i < rt->nthreads; i++) {
		const struct adbg_pythread *th = &rt->threads[i];
		uint64_t runner = 0;
		bool dup = false;

		if (th->agent)
			continue;
		// Outermost first: run() holds the runner for the whole run; unrolled_run
		// (which run() drives) is on the stack only while tasks step.
		for (size_t k = th->stack.n; k-- > 0 && !runner;) {
			const struct adbg_frame *f = &th->stack.frames[k];
			struct adbg_error *err;

			if (!is_run_frame(f, "run") && !is_run_frame(f, "unrolled_run"))
				continue;
			err = adbg_frame_local(r->s, f, "runner", &runner);
			if (err) {
				runner = 0;
				if (!adbg_error_is(err, ADBG_ERR_NOT_FOUND))
					adbg_session_warn_error(
						r->s, adbg_error_wrap(err, "thread %d: trio run",
								      th->tid));
				else
					adbg_error_destroy(err);
			}
		}
		for (size_t k = 0; k < snap->nrunners; k++)
			dup |= snap->runners[k].id == runner;
		if (!runner || dup)
			continue;
		if (snap->nrunners == ADBG_TRIO_MAX_RUNNERS) {
			adbg_session_warn(r->s, "more than %d Trio runs; the rest are not shown",
					  ADBG_TRIO_MAX_RUNNERS);
			break;
		}
		snap->runners[snap->nrunners] =
			(struct adbg_trio_runner){.id = runner, .thread = th->tid};
		r->runner_thread_frames[snap->nrunners] = i + 1;
		runner_now(r, runner, th, &r->now[snap->nrunners], &r->now_source[snap->nrunners]);
		snap->nrunners++;
	}
	return NULL;
}

/* Read the tasks of one runner (Runner.tasks, a set) into *raws. */
static ADBG_MUST_CHECK struct adbg_error *
runner_tasks(struct reader *r, uint32_t ri, struct raw_task **raws, size_t *n, size_t *cap)
{
	struct adbg_obj_items items = {0};
	uint64_t set = attr(r, r->snap->runners[ri].id, "tasks");
	struct adbg_error *err;

	if (!set) {
		adbg_session_warn(r->s, "trio run %#" PRIx64 ": no readable Runner.tasks",
				  r->snap->runners[ri].id);
		return NULL;
	}
	err = adbg_obj_set_items(r->s->target, r->l, set, r->in->set_dummy, MAX_RUN_TASKS, &items);
	if (err) {
		if (adbg_error_is(err, ADBG_ERR_NOMEM))
			return err;
		adbg_session_warn_error(r->s, adbg_error_wrap(err, "trio run %#" PRIx64 ": tasks",
							      r->snap->runners[ri].id));
		return NULL;
	}
	if (items.truncated)
		adbg_session_warn(r->s, "trio run %#" PRIx64 ": more tasks than could be read",
				  r->snap->runners[ri].id);
	if (*n + items.n > *cap) {
		size_t ncap = *n + items.n;
		struct raw_task *np = realloc(*raws, ncap * sizeof(*np));

		if (!np) {
			adbg_obj_items_deinit(&items);
			return &adbg_error_nomem;
		}
		*raws = np;
		*cap = ncap;
	}
	for (size_t i = 0; i < items.n; i++) {
		struct raw_task *t = &(*raws)[(*n)++];

		memset(t, 0, sizeof(*t));
		t->id = items.items[i];
		t->runner = ri;
		t->coro = attr(r, t->id, "coro");
		t->counter = INT64_MAX;
		if (attr(r, t->id, "_counter"))
			adbg_error_destroy(adbg_obj_int(r->s->target, r->l,
							attr(r, t->id, "_counter"), &t->counter));
		t->parent_nursery = attr(r, t->id, "_parent_nursery");
		t->parent_task = attr(r, t->parent_nursery, "_parent_task");
		if (adbg_session_interrupted(r->s)) {
			adbg_obj_items_deinit(&items);
			return adbg_error_create(ADBG_ERR_INTERRUPTED, "interrupted");
		}
	}
	adbg_obj_items_deinit(&items);
	return NULL;
}

static int cmp_parent(const void *a, const void *b)
{
	const struct raw_task *x = a, *y = b;

	if (x->parent_task != y->parent_task)
		return x->parent_task < y->parent_task ? -1 : 1;
	if (x->counter != y->counter)
		return x->counter < y->counter ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* The first of the tasks whose parent is `parent`, in raws sorted by parent. */
static size_t first_child_of(const struct raw_task *raws, size_t n, uint64_t parent)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (raws[mid].parent_task < parent)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * The order tasks are shown in: the nursery tree depth first from each root (a task whose
 * parent is not one of the run's tasks: the init task), children in the order they were created; tasks that
 * no walk reaches (a parent cycle in garbage) after them. raws is sorted by parent here.
 */
static ADBG_MUST_CHECK struct adbg_error *tree_order(struct raw_task *raws, size_t n, size_t **ret)
{
	size_t *order = malloc((n ? n : 1) * sizeof(*order));
	size_t *stack = malloc((n ? n : 1) * sizeof(*stack));
	uint64_t *ids = malloc((n ? n : 1) * sizeof(*ids));
	uint8_t *seen = calloc(n ? n : 1, 1);
	size_t no = 0;

	if (!order || !stack || !ids || !seen) {
		free(order);
		free(stack);
		free(ids);
		free(seen);
		return &adbg_error_nomem;
	}
	qsort(raws, n, sizeof(*raws), cmp_parent);
	for (size_t i = 0; i < n; i++)
		ids[i] = raws[i].id;
	qsort(ids, n, sizeof(*ids), cmp_u64);
	for (size_t pass = 0; pass < 2; pass++) {
		for (size_t root = 0; root < n; root++) {
			size_t sp = 0;

			// First pass: the roots, whose parent is not one of the tasks.
			if (seen[root] ||
			    (pass == 0 && raws[root].parent_task &&
			     bsearch(&raws[root].parent_task, ids, n, sizeof(*ids), cmp_u64)))
				continue;
			stack[sp++] = root;
			seen[root] = 1;
			while (sp) {
				size_t cur = stack[--sp], c, end;

				order[no++] = cur;
				c = first_child_of(raws, n, raws[cur].id);
				for (end = c; end < n && raws[end].parent_task == raws[cur].id;
				     end++)
					;
				// pushed in reverse, so that they come out in creation order
				while (end-- > c)
					if (!seen[end]) {
						seen[end] = 1;
						stack[sp++] = end;
					}
			}
		}
	}
	free(stack);
	free(ids);
	free(seen);
	*ret = order;
	return NULL;
}

/* The cancel-scope chain of a task: its CancelStatus, then each _parent, innermost first. */
static ADBG_MUST_CHECK struct adbg_error *read_scopes(struct reader *r, uint64_t task,
						      struct adbg_trio_task *tt)
{
	uint64_t status = attr(r, task, "_cancel_status");
	uint64_t seen[ADBG_TRIO_MAX_SCOPES];
	struct adbg_trio_scope buf[ADBG_TRIO_MAX_SCOPES];
	uint32_t n = 0;

	while (status) {
		struct adbg_trio_scope *sc = &buf[n];
		uint64_t scope = attr(r, status, "_scope"), reason;
		bool cycle = false;

		for (uint32_t k = 0; k < n; k++)
			cycle |= seen[k] == status;
		if (cycle || n == ADBG_TRIO_MAX_SCOPES) {
			tt->scopes_truncated = true;
			adbg_session_warn(r->s,
					  "trio task %#" PRIx64 ": the cancel-scope chain %s; cut",
					  task, cycle ? "cycles" : "is too deep");
			break;
		}
		seen[n] = status;
		memset(sc, 0, sizeof(*sc));
		sc->id = scope;
		sc->effectively_cancelled = attr_bool(r, status, "effectively_cancelled");
		sc->shield = attr_bool(r, scope, "_shield");
		sc->cancel_called = attr_bool(r, scope, "_cancel_called");
		sc->cancelled_caught = attr_bool(r, scope, "cancelled_caught");
		sc->has_deadline = number(r, attr(r, scope, "_deadline"), &sc->deadline) &&
				   isfinite(sc->deadline);
		// 0.28+: CancelScope._cancel_reason, a CancelReason(source, source_task, reason).
		reason = attr(r, scope, "_cancel_reason");
		if (reason) {
			sc->cancel_source = intern_str(r, attr(r, reason, "source"));
			sc->cancel_reason = intern_str(r, attr(r, reason, "reason"));
		}
		n++;
		status = attr(r, status, "_parent");
	}
	if (!n)
		return NULL;
	tt->scopes = malloc(n * sizeof(*tt->scopes));
	if (!tt->scopes)
		return &adbg_error_nomem;
	memcpy(tt->scopes, buf, n * sizeof(*tt->scopes));
	tt->nscopes = n;
	// Where a cancellation comes from: the innermost scope that was cancelled, unless a
	// shield lies between it and the task (trio/_core/_run.py CancelStatus.recalculate:
	// a shielded scope's status ignores its parent's).
	for (uint32_t k = 0; k < n; k++) {
		if (tt->scopes[k].cancel_called) {
			tt->cancelled_by = (int)k;
			break;
		}
		if (tt->scopes[k].shield) {
			for (uint32_t m = k + 1; m < n; m++)
				if (tt->scopes[m].cancel_called) {
					tt->shielded_by = (int)k;
					break;
				}
			break;
		}
	}
	return NULL;
}

/* What the task waits on: Trio's function it is suspended in, named as for asyncio. */
struct known_wait {
	const char *function;
	/* the name shown; NULL: "<type of self>.<method>" (a Lock's acquire is _LockImpl's) */
	const char *what;
};

static const struct known_wait known_waits[] = {
	{"sleep", "sleep"},
	{"sleep_until", "sleep_until"},
	{"sleep_forever", "sleep_forever"},
	{"Event.wait", NULL},
	{"_LockImpl.acquire", NULL},
	{"Semaphore.acquire", NULL},
	{"CapacityLimiter.acquire", NULL},
	{"CapacityLimiter.acquire_on_behalf_of", NULL},
	{"Condition.wait", NULL},
	{"MemoryReceiveChannel.receive", NULL},
	{"MemorySendChannel.send", NULL},
	{"wait_readable", "wait_readable"},
	{"wait_writable", "wait_writable"},
	{"NurseryManager.__aexit__", "nursery"},
	{"Nursery._nested_child_finished", "nursery"},
	{"wait_all_tasks_blocked", "wait_all_tasks_blocked"},
	{"to_thread_run_sync", "to_thread.run_sync"},
	{"ParkingLot.park", NULL},
	{"wait_task_rescheduled", "wait_task_rescheduled"},
};

/* A method frame's `self`, through its cell when a closure captures it (Event.wait). */
static uint64_t frame_self(struct reader *r, const struct adbg_frame *f)
{
	uint64_t self = 0;
	const char *tn;

	if (!adbg_ok(adbg_frame_local(r->s, f, "self", &self)) || !self)
		return 0;
	tn = type_name(r, self);
	if (tn && strcmp(tn, "cell") == 0 &&
	    !adbg_ok(rd_ptr(r, self + r->l->cell_object.ob_ref, &self)))
		return 0;
	return self;
}

static ADBG_MUST_CHECK struct adbg_error *waiting_on(struct reader *r, struct adbg_task *t,
						     struct adbg_trio_task *tt)
{
	const struct adbg_frame *f = NULL;
	const struct known_wait *kw = NULL;
	size_t tail = 0;
	uint64_t self = 0;

	// The innermost frames that are Trio's own; of those, the outermost that is known.
	while (tail < t->stack.n && is_trio_frame(&t->stack.frames[tail]))
		tail++;
	// Where the task is, for a table: the program's own frame that called into Trio.
	tt->where = tail < t->stack.n ? (uint32_t)tail : 0;
	for (size_t i = tail; i-- > 0 && !kw;)
		for (size_t k = 0; k < sizeof(known_waits) / sizeof(known_waits[0]); k++)
			if (strcmp(t->stack.frames[i].function, known_waits[k].function) == 0) {
				kw = &known_waits[k];
				f = &t->stack.frames[i];
				break;
			}
	if (!kw)
		return NULL;
	if (tail == t->stack.n)
		tt->where = (uint32_t)(f - t->stack.frames);
	t->has_waiting_on = true;
	if (strchr(kw->function, '.') && (self = frame_self(r, f)) != 0) {
		const char *tn = type_name(r, self);
		const char *method = strrchr(kw->function, '.') + 1;
		char buf[256];

		t->waiting_on.id = self;
		t->waiting_on.type = tn;
		snprintf(buf, sizeof(buf), "%s.%s", tn ? tn : "?", method);
		t->waiting_on.what = kw->what ? kw->what : adbg_snapshot_strdup(r->s, buf);
		// trio.Lock (and StrictFIFOLock) know their holder: _LockImpl._owner.
		if (strcmp(kw->function, "_LockImpl.acquire") == 0)
			tt->lock_owner = attr(r, self, "_owner");
	} else {
		t->waiting_on.what = kw->what ? kw->what : kw->function;
		// no object: the type says which of Trio's functions it is
		t->waiting_on.type = kw->function;
	}
	return NULL;
}

/* The qualname of a coroutine's code (the task's function), NULL if unknown. */
static const char *coro_name(struct reader *r, uint64_t coro)
{
	const struct adbg_layout *l = r->l;
	const struct adbg_code_entry *ce;
	uint64_t code = 0;

	if (!coro ||
	    rd_ptr(r, coro + l->gen_object.gi_iframe + l->interpreter_frame.executable, &code))
		return NULL;
	code &= ~l->stackref_tag_mask;
	return code && adbg_ok(adbg_session_code(r->s, code, &ce)) ? ce->qualname : NULL;
}

/* The stack of a task that is running now: its thread's frames down to its coroutine's. */
static ADBG_MUST_CHECK struct adbg_error *running_stack(struct reader *r, const struct raw_task *rw,
							struct adbg_task *t)
{
	const struct adbg_runtime_snapshot *rt = r->in->rt;
	uint64_t ti = r->runner_thread_frames[rw->runner];
	const struct adbg_pythread *th = ti ? &rt->threads[ti - 1] : NULL;
	uint64_t base = rw->coro + r->l->gen_object.gi_iframe;
	size_t k;

	if (!th || !rw->coro)
		return NULL;
	for (k = 0; k < th->stack.n && th->stack.frames[k].addr != base; k++)
		;
	if (k == th->stack.n)
		return NULL;
	t->running = true;
	for (size_t m = 0; m <= k; m++) {
		struct adbg_error *err = adbg_stack_push(&t->stack, &th->stack.frames[m]);

		if (err)
			return err;
	}
	return NULL;
}

/* Fill one task of the snapshot (t, just added) and its trio record. */
static ADBG_MUST_CHECK struct adbg_error *visit(struct reader *r, const struct raw_task *rw,
						struct adbg_task *t, struct adbg_trio_task *tt)
{
	const struct adbg_trio_runner *run = &r->snap->runners[rw->runner];
	struct adbg_obj_items items = {0};
	struct adbg_error *err;
	uint64_t list;

	t->trio = tt;
	t->loop = run->id;
	t->thread = run->thread;
	t->state = ADBG_TASK_PENDING;
	t->name = intern_str(r, attr(r, rw->id, "name"));
	t->coro = coro_name(r, rw->coro);
	tt->runner = run->id;
	tt->parent_nursery = rw->parent_nursery;
	tt->parent_task = rw->parent_task;
	tt->cancelled_by = tt->shielded_by = -1;
	tt->now = r->now[rw->runner];
	tt->now_source = r->now_source[rw->runner];
	tt->now_known = tt->now_source != NULL;
	if (rw->coro) {
		err = r->in->stack(r->in->ctx, rw->coro, &t->stack);
		if (!err && !t->stack.n)
			err = running_stack(r, rw, t);
		if (err)
			return err;
	}
	list = attr(r, rw->id, "_child_nurseries");
	if (list) {
		err = adbg_obj_list_items(r->s->target, r->l, list, ADBG_TRIO_MAX_NURSERIES,
					  &items);
		if (adbg_error_is(err, ADBG_ERR_NOMEM))
			return err;
		adbg_session_warn_error(r->s, adbg_error_wrap(err, "trio task %#" PRIx64, rw->id));
		if (items.n) {
			tt->child_nurseries = malloc(items.n * sizeof(uint64_t));
			if (!tt->child_nurseries) {
				adbg_obj_items_deinit(&items);
				return &adbg_error_nomem;
			}
			memcpy(tt->child_nurseries, items.items, items.n * sizeof(uint64_t));
			tt->nchild_nurseries = (uint32_t)items.n;
		}
		adbg_obj_items_deinit(&items);
	}
	err = read_scopes(r, rw->id, tt);
	if (err)
		return err;
	for (uint32_t k = 0; k < tt->nscopes; k++)
		if (tt->scopes[k].has_deadline && tt->now_known)
			tt->scopes[k].left = tt->scopes[k].deadline - tt->now;
	if (tt->cancelled_by >= 0) {
		const struct adbg_trio_scope *sc = &tt->scopes[tt->cancelled_by];

		t->cancelling = true;
		t->cancel_requested = true;
		t->cancel_message = sc->cancel_reason ? sc->cancel_reason : sc->cancel_source;
	}
	err = waiting_on(r, t, tt);
	if (!err && rw->parent_task)
		err = r->in->edge(r->in->ctx, rw->id, rw->parent_task);
	return err;
}

/* Which of the tasks' scopes are nurseries' (Nursery.cancel_scope of a child nursery). */
static void label_nursery_scopes(struct reader *r)
{
	struct adbg_trio_snapshot *snap = r->snap;
	size_t npairs = 0, cap = 0;
	uint64_t(*pairs)[2] = NULL;

	for (size_t i = 0; i < snap->ntasks; i++) {
		const struct adbg_trio_task *tt = &snap->tasks[i];

		for (uint32_t k = 0; k < tt->nchild_nurseries; k++) {
			uint64_t scope = attr(r, tt->child_nurseries[k], "cancel_scope");

			if (!scope)
				continue;
			if (npairs == cap) {
				size_t ncap = cap ? cap * 2 : 64;
				uint64_t(*np)[2] = realloc(pairs, ncap * sizeof(*np));

				if (!np)
					break;
				pairs = np;
				cap = ncap;
			}
			pairs[npairs][0] = scope;
			pairs[npairs++][1] = tt->child_nurseries[k];
		}
	}
	for (size_t i = 0; i < snap->ntasks; i++) {
		struct adbg_trio_task *tt = &snap->tasks[i];

		for (uint32_t k = 0; k < tt->nscopes; k++)
			for (size_t p = 0; p < npairs; p++)
				if (pairs[p][0] == tt->scopes[k].id) {
					tt->scopes[k].nursery = pairs[p][1];
					break;
				}
	}
	free(pairs);
}

/*
 * Deadlocks through trio.Lock: each waiting task points to the lock's holder (at most one
 * edge out of each task), so following the pointers from every task finds each cycle once.
 */
static ADBG_MUST_CHECK struct adbg_error *lock_cycles(struct reader *r, const size_t *order,
						      const struct raw_task *raws)
{
	struct adbg_trio_snapshot *snap = r->snap;
	size_t n = snap->ntasks;
	uint8_t *mark = calloc(n ? n : 1, 1); // 0 new, 1 on this walk, 2 done
	size_t *path = malloc((n ? n : 1) * sizeof(*path));
	struct adbg_error *err = NULL;

	if (!mark || !path) {
		err = &adbg_error_nomem;
		goto out;
	}
	for (size_t start = 0; start < n; start++) {
		size_t len = 0, cur = start;

		while (cur < n && !mark[cur]) {
			uint64_t owner = snap->tasks[cur].lock_owner;
			size_t next = n;

			mark[cur] = 1;
			path[len++] = cur;
			for (size_t k = 0; owner && k < n; k++)
				if (raws[order[k]].id == owner) {
					next = k;
					break;
				}
			cur = next;
		}
		if (cur < n && mark[cur] == 1) {
			size_t from = 0, clen;
			uint64_t *ids, **nc;
			size_t *nl;

			while (path[from] != cur)
				from++;
			clen = len - from;
			ids = malloc(clen * sizeof(*ids));
			nc = realloc(snap->cycles, (snap->ncycles + 1) * sizeof(*nc));
			if (nc)
				snap->cycles = nc;
			nl = realloc(snap->cycle_len, (snap->ncycles + 1) * sizeof(*nl));
			if (nl)
				snap->cycle_len = nl;
			if (!ids || !nc || !nl) {
				free(ids);
				err = &adbg_error_nomem;
				goto out;
			}
			for (size_t k = 0; k < clen; k++)
				ids[k] = raws[order[path[from + k]]].id;
			snap->cycles[snap->ncycles] = ids;
			snap->cycle_len[snap->ncycles++] = clen;
		}
		for (size_t k = 0; k < len; k++)
			mark[path[k]] = 2;
	}
out:
	free(mark);
	free(path);
	return err;
}

struct adbg_error *adbg_trio_collect(const struct adbg_trio_in *in, struct adbg_trio_snapshot **ret)
{
	struct reader r = {.in = in, .s = in->s, .l = &in->s->python->layout};
	struct raw_task *raws = NULL;
	size_t nraw = 0, cap = 0, *order = NULL;
	struct adbg_error *err = NULL;

	*ret = NULL;
	if (!in->rt->nthreads)
		return NULL;
	r.snap = calloc(1, sizeof(*r.snap));
	r.now = calloc(in->rt->nthreads, sizeof(*r.now));
	r.now_source = calloc(in->rt->nthreads, sizeof(*r.now_source));
	r.runner_thread_frames = calloc(in->rt->nthreads, sizeof(uint64_t));
	if (r.snap)
		r.snap->runners = calloc(in->rt->nthreads, sizeof(*r.snap->runners));
	if (!r.snap || !r.now || !r.now_source || !r.runner_thread_frames || !r.snap->runners) {
		err = &adbg_error_nomem;
		goto out;
	}
	err = find_runners(&r);
	if (err || !r.snap->nrunners)
		goto out;
	for (uint32_t i = 0; i < r.snap->nrunners && !err; i++)
		err = runner_tasks(&r, i, &raws, &nraw, &cap);
	if (!err)
		err = tree_order(raws, nraw, &order);
	if (err)
		goto out;
	r.snap->tasks = calloc(nraw ? nraw : 1, sizeof(*r.snap->tasks));
	if (!r.snap->tasks) {
		err = &adbg_error_nomem;
		goto out;
	}
	// Every record is in place before the first task joins (tasks point into the array).
	r.snap->ntasks = nraw;
	for (size_t i = 0; i < nraw && !err; i++) {
		const struct raw_task *rw = &raws[order[i]];
		struct adbg_task *t = NULL;

		err = in->add(in->ctx, rw->id, &t);
		if (!err && t)
			err = visit(&r, rw, t, &r.snap->tasks[i]);
		if (!err && adbg_session_interrupted(r.s))
			err = adbg_error_create(ADBG_ERR_INTERRUPTED, "interrupted");
	}
	if (err)
		goto out;
	label_nursery_scopes(&r);
	err = lock_cycles(&r, order, raws);
out:
	free(raws);
	free(order);
	free(r.now);
	free(r.now_source);
	free(r.runner_thread_frames);
	if (err || (r.snap && !r.snap->nrunners)) {
		adbg_trio_snapshot_destroy(r.snap);
		return err;
	}
	*ret = r.snap;
	return NULL;
}

struct adbg_error *adbg_trio_wakeup_sock(struct adbg_session *s, uint64_t runner, uint64_t *ret)
{
	struct reader r = {.s = s, .l = &s->python->layout};
	const char *tn = type_name(&r, runner);
	uint64_t sock;

	if (!tn || strcmp(tn, "Runner") != 0)
		return adbg_error_create(ADBG_ERR_NOT_FOUND, "%#" PRIx64 " is not a Trio Runner",
					 runner);
	sock = attr(&r, attr(&r, attr(&r, runner, "entry_queue"), "wakeup"), "write_sock");
	if (!sock)
		return adbg_error_create(ADBG_ERR_NOT_FOUND,
					 "Trio run %#" PRIx64 ": no entry_queue.wakeup.write_sock",
					 runner);
	*ret = sock;
	return NULL;
}

void adbg_trio_snapshot_destroy(struct adbg_trio_snapshot *snap)
{
	if (!snap)
		return;
	for (size_t i = 0; i < snap->ntasks; i++) {
		free(snap->tasks[i].child_nurseries);
		free(snap->tasks[i].scopes);
	}
	for (size_t i = 0; i < snap->ncycles; i++)
		free(snap->cycles[i]);
	free(snap->cycles);
	free(snap->cycle_len);
	free(snap->tasks);
	free(snap->runners);
	free(snap);
}
