// SPDX-License-Identifier: MIT
// Who holds the asyncio locks that tasks wait for (see asyncio_waits.h). asyncio records no
// owner (Lib/asyncio/locks.py: Lock keeps only _locked and _waiters), so it is read from
// the holders' frames:
//
// - `async with lock:` keeps the lock's __aexit__ on the value stack of the frame for the
//   whole body (3.11-3.13 BEFORE_ASYNC_WITH pushes the bound method; 3.14+ LOAD_SPECIAL
//   pushes the function and then `self`: Python/codegen.c codegen_async_with). Suspended
//   frames keep their stack top (stacktop / stackpointer), so a task whose frame holds
//   an __aexit__ of the lock is inside `async with` it, unless that frame is still
//   entering it (its innermost callee is _ContextManagerMixin.__aenter__) or waits in
//   Condition.wait of it (which released the lock).
// - A task that called `await lock.acquire()` leaves no such mark; when no task is inside
//   `async with` a held Lock and exactly one task other than its waiters has it in a local
//   of a suspended frame whose code calls something `acquire` (co_names), that task is
//   named, as found "by acquire".
// Otherwise the holder is unknown, and the detail says why.
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "asyncio_waits.h"
#include "objects.h"

// Words of one frame read at most (locals, then the value stack).
#define MAX_FRAME_WORDS 128
// Distinct locks looked at at most per snapshot.
#define MAX_LOCKS 4096
// Types and functions remembered (direct-mapped; a miss costs a re-read).
#define CACHE 64
#define AENTER "_ContextManagerMixin.__aenter__"

enum kind { K_UNKNOWN, K_METHOD, K_FUNCTION, K_AEXIT, K_ACQUIRE, K_OTHER };

/* A task's reference to a lock: inside `async with` it, or a local. */
struct mark {
	uint64_t obj;
	uint64_t task;
	size_t pos; // of the task in snap->tasks
	bool by_local;
};

struct lctx {
	struct adbg_session *s;
	const struct adbg_layout *l;
	struct adbg_asyncio_snapshot *snap;
	uint64_t *locks; // sorted, distinct
	size_t nlocks;
	struct mark *marks;
	size_t nmarks, marks_cap;
	size_t holders_cap;
	struct {
		uint64_t addr;
		uint8_t kind;
	} types[CACHE], funcs[CACHE], codes[CACHE];
};

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static bool is_lock(const struct lctx *c, uint64_t obj)
{
	return obj && bsearch(&obj, c->locks, c->nlocks, sizeof(uint64_t), u64_cmp);
}

/* method, function or something else, by the object's type (cached per type). */
static enum kind kind_of(struct lctx *c, uint64_t obj)
{
	uint64_t type = 0;
	char *tn = NULL;
	size_t h;
	enum kind k = K_OTHER;

	if (!obj || !adbg_ok(adbg_obj_type(c->s->target, c->l, obj, &type)))
		return K_OTHER;
	h = (type >> 4) % CACHE;
	if (c->types[h].addr == type)
		return c->types[h].kind;
	if (adbg_ok(adbg_obj_type_name(c->s->target, c->l, obj, &tn)))
		k = strcmp(tn, "method") == 0	  ? K_METHOD
		    : strcmp(tn, "function") == 0 ? K_FUNCTION
						  : K_OTHER;
	free(tn);
	c->types[h].addr = type;
	c->types[h].kind = (uint8_t)k;
	return k;
}

/* Whether a function object is some class's __aexit__ (by its qualname; cached). */
static bool is_aexit(struct lctx *c, uint64_t func)
{
	size_t h = (func >> 4) % CACHE;
	uint64_t qualname = 0;
	char *name = NULL;
	bool yes = false;

	if (c->funcs[h].addr == func)
		return c->funcs[h].kind == K_AEXIT;
	if (adbg_ok(adbg_read_u64(c->s->target, func + c->l->function_object.func_qualname,
				  &qualname)) &&
	    adbg_ok(adbg_obj_str(c->s->target, c->l, qualname, 128, &name, NULL))) {
		size_t n = strlen(name);

		yes = n >= 10 && strcmp(name + n - 10, ".__aexit__") == 0;
	}
	free(name);
	c->funcs[h].addr = func;
	c->funcs[h].kind = yes ? K_AEXIT : K_OTHER;
	return yes;
}

/* Whether the frame's code uses the name `acquire` (co_names: it may call lock.acquire()). */
static bool calls_acquire(struct lctx *c, const struct adbg_frame *f)
{
	struct adbg_obj_items names = {0};
	uint64_t code = 0, tuple = 0;
	size_t h;
	bool yes = false;

	if (!adbg_ok(adbg_frame_code(c->s, f, &code)))
		return false;
	h = (code >> 4) % CACHE;
	if (c->codes[h].addr == code)
		return c->codes[h].kind == K_ACQUIRE;
	if (adbg_ok(adbg_read_u64(c->s->target, code + c->l->code_object.co_names, &tuple)) &&
	    adbg_ok(adbg_obj_tuple_items(c->s->target, c->l, tuple, 4096, &names)))
		for (size_t i = 0; i < names.n && !yes; i++)
			if (!adbg_ok(adbg_obj_str_equals(c->s->target, c->l, names.items[i],
							 "acquire", &yes)))
				yes = false;
	adbg_obj_items_deinit(&names);
	c->codes[h].addr = code;
	c->codes[h].kind = yes ? K_ACQUIRE : K_OTHER;
	return yes;
}

/*
 * The words of a suspended frame: its fast locals (*nlocals of them), then its value stack
 * up to the saved top (3.11-3.13 stacktop counts from localsplus; 3.14+ stackpointer
 * points past the top). Untagged. 0 when unreadable.
 */
static size_t frame_words(struct lctx *c, const struct adbg_frame *f, uint64_t *buf,
			  size_t *nlocals)
{
	const struct adbg_layout *l = c->l;
	uint64_t code = 0, base = f->addr + l->interpreter_frame.localsplus, total;
	int32_t nlp = 0;

	if (f->kind != ADBG_FRAME_PYTHON || !adbg_ok(adbg_frame_code(c->s, f, &code)) ||
	    !adbg_ok(adbg_read_u32(c->s->target, code + l->code_object.nlocalsplus,
				   (uint32_t *)&nlp)) ||
	    nlp < 0 || nlp > 65536)
		return 0;
	if (l->interpreter_frame.stack_kind == ADBG_STACK_POINTER) {
		uint64_t sp = 0;

		if (!adbg_ok(adbg_read_u64(c->s->target,
					   f->addr + l->interpreter_frame.stackpointer, &sp)) ||
		    sp < base || (sp - base) % 8)
			sp = base + 8ull * (uint64_t)nlp;
		total = (sp - base) / 8;
	} else {
		int32_t top = 0;

		if (!adbg_ok(adbg_read_u32(c->s->target,
					   f->addr + l->interpreter_frame.stackpointer,
					   (uint32_t *)&top)) ||
		    top < nlp)
			top = nlp;
		total = (uint64_t)top;
	}
	// A top far above the locals is not a suspended frame's: keep the locals only.
	if (total > (uint64_t)nlp + 1024)
		total = (uint64_t)nlp;
	if (total > MAX_FRAME_WORDS)
		total = MAX_FRAME_WORDS;
	if (!total || !adbg_ok(adbg_target_read(c->s->target, base, buf, 8 * total)))
		return 0;
	for (size_t i = 0; i < total; i++)
		buf[i] &= ~l->stackref_tag_mask;
	*nlocals = (size_t)nlp < total ? (size_t)nlp : total;
	return (size_t)total;
}

static ADBG_MUST_CHECK struct adbg_error *add_mark(struct lctx *c, struct mark m)
{
	if (c->nmarks == c->marks_cap) {
		size_t cap = c->marks_cap ? c->marks_cap * 2 : 64;
		struct mark *n = realloc(c->marks, cap * sizeof(*n));

		if (!n)
			return &adbg_error_nomem;
		c->marks = n;
		c->marks_cap = cap;
	}
	c->marks[c->nmarks++] = m;
	return NULL;
}

/* The marks one task leaves on the locks of interest. */
static ADBG_MUST_CHECK struct adbg_error *task_marks(struct lctx *c, const struct adbg_task *t)
{
	uint64_t released[8], words[MAX_FRAME_WORDS];
	size_t nreleased = 0;
	struct adbg_error *err = NULL;

	// Condition.wait released its Condition's lock until it returns.
	for (size_t i = 0; i < t->stack.n && nreleased < 8; i++) {
		uint64_t self = 0;

		if (strcmp(t->stack.frames[i].function, "Condition.wait") == 0 &&
		    adbg_ok(adbg_frame_local(c->s, &t->stack.frames[i], "self", &self)))
			released[nreleased++] = self;
	}
	for (size_t i = 0; i < t->stack.n && !err; i++) {
		const struct adbg_frame *f = &t->stack.frames[i];
		size_t nlocals = 0, n = frame_words(c, f, words, &nlocals);
		bool entering = i > 0 && strcmp(t->stack.frames[i - 1].function, AENTER) == 0;
		struct mark found[MAX_FRAME_WORDS];
		size_t nfound = 0;

		for (size_t k = 0; k < nlocals && !err; k++)
			if (is_lock(c, words[k]) && calls_acquire(c, f))
				err = add_mark(c, (struct mark){.obj = words[k],
								.task = t->id,
								.pos = (size_t)(t - c->snap->tasks),
								.by_local = true});
		for (size_t k = nlocals; k < n; k++) {
			enum kind kd = kind_of(c, words[k]);
			uint64_t func = 0, self = 0;

			if (kd == K_METHOD) {
				if (!adbg_ok(adbg_read_u64(c->s->target,
							   words[k] + c->l->method_object.im_func,
							   &func)) ||
				    !adbg_ok(adbg_read_u64(c->s->target,
							   words[k] + c->l->method_object.im_self,
							   &self)))
					continue;
			} else if (kd == K_FUNCTION && k + 1 < n) {
				func = words[k];
				self = words[k + 1];
			} else {
				continue;
			}
			if (kind_of(c, func) != K_FUNCTION || !is_aexit(c, func))
				continue;
			found[nfound++] = (struct mark){
				.obj = self, .task = t->id, .pos = (size_t)(t - c->snap->tasks)};
		}
		// The topmost `async with` of a frame whose callee is __aenter__ is not
		// entered yet.
		if (entering && nfound)
			nfound--;
		for (size_t k = 0; k < nfound && !err; k++) {
			bool gone = false;

			for (size_t j = 0; j < nreleased; j++)
				gone |= released[j] == found[k].obj;
			if (!gone && is_lock(c, found[k].obj))
				err = add_mark(c, found[k]);
		}
	}
	return err;
}

/* A mark on w's lock, or on the Condition around it. */
static bool on_lock(const struct mark *m, const struct adbg_wait_detail *w)
{
	return m->obj == w->lock || m->obj == w->primitive;
}

/*
 * Whether the lock is held at all: Lock._locked, Semaphore._value (Lib/asyncio/locks.py);
 * true when it cannot be read.
 */
static bool is_held(struct lctx *c, const struct adbg_wait_detail *w)
{
	uint64_t v = 0;
	bool locked = true;
	int64_t value = 0;

	if (adbg_ok(adbg_obj_getattr(c->s->target, c->l, w->lock, "_locked", &v)) &&
	    adbg_ok(adbg_obj_bool(c->s->target, c->l, v, &locked)))
		return locked;
	if (adbg_ok(adbg_obj_getattr(c->s->target, c->l, w->lock, "_value", &v)) &&
	    adbg_ok(adbg_obj_int(c->s->target, c->l, v, &value)))
		return value <= 0;
	return true;
}

static ADBG_MUST_CHECK struct adbg_error *add_holder(struct lctx *c, uint64_t task)
{
	struct adbg_asyncio_snapshot *snap = c->snap;

	if (snap->nholders == c->holders_cap) {
		size_t cap = c->holders_cap ? c->holders_cap * 2 : 16;
		uint64_t *n = realloc(snap->holders, cap * sizeof(*n));

		if (!n)
			return &adbg_error_nomem;
		snap->holders = n;
		c->holders_cap = cap;
	}
	snap->holders[snap->nholders++] = task;
	return NULL;
}

/* The holders of w's lock, into snap->holders (w is the first waiter of its lock). */
static ADBG_MUST_CHECK struct adbg_error *find_holders(struct lctx *c, struct adbg_wait_detail *w)
{
	struct adbg_asyncio_snapshot *snap = c->snap;
	struct adbg_error *err = NULL;
	size_t candidates = 0;
	uint64_t candidate = 0, last = 0;

	w->holders_at = (uint32_t)snap->nholders;
	if (!is_held(c, w)) {
		w->held_unknown = "nobody: it is free (a waiter was woken and has not run yet)";
		return NULL;
	}
	// Marks come task by task: a task's repeated marks are adjacent.
	for (size_t i = 0; i < c->nmarks && !err && w->nholders < ADBG_MAX_LOCK_HOLDERS; i++) {
		const struct mark *m = &c->marks[i];

		if (m->by_local || !on_lock(m, w) || (last && m->task == last))
			continue;
		last = m->task;
		err = add_holder(c, m->task);
		w->nholders++;
	}
	if (err || w->nholders) {
		w->held_evidence = "async with";
		return err;
	}
	// acquire() without `async with`: the one task, other than the lock's waiters, with the
	// lock in a local.
	last = 0;
	for (size_t i = 0; i < c->nmarks; i++) {
		const struct mark *m = &c->marks[i];
		const struct adbg_wait_detail *o;

		if (!m->by_local || !on_lock(m, w) || (last && m->task == last))
			continue;
		last = m->task;
		o = adbg_asyncio_wait(snap, &snap->tasks[m->pos]);
		if (o && o->is_lock && o->lock == w->lock)
			continue;
		candidates++;
		candidate = m->task;
	}
	if (candidates == 1 && strcmp(w->primitive_type, "Semaphore") != 0 &&
	    strcmp(w->primitive_type, "BoundedSemaphore") != 0) {
		w->held_evidence = "acquire";
		w->nholders = 1;
		return add_holder(c, candidate);
	}
	w->held_unknown = candidates ? "an unknown owner: no task is inside `async with` it, and "
				       "more than one could have called acquire()"
				     : "an unknown owner: no task is inside `async with` it or "
				       "refers to it (acquired outside a task, or through another "
				       "object)";
	return NULL;
}

static int edge_cmp(const void *a, const void *b)
{
	const struct adbg_lock_edge *x = a, *y = b;

	if (x->holder != y->holder)
		return x->holder < y->holder ? -1 : 1;
	return x->waiter < y->waiter ? -1 : x->waiter > y->waiter;
}

static ADBG_MUST_CHECK struct adbg_error *build_edges(struct lctx *c)
{
	struct adbg_asyncio_snapshot *snap = c->snap;
	size_t n = 0;

	for (size_t i = 0; i < snap->nwaits; i++)
		n += snap->waits[i].nholders;
	if (!n)
		return NULL;
	snap->lock_edges = malloc(n * sizeof(*snap->lock_edges));
	if (!snap->lock_edges)
		return &adbg_error_nomem;
	for (size_t i = 0; i < snap->ntasks; i++) {
		const struct adbg_task *t = &snap->tasks[i];
		const struct adbg_wait_detail *w = adbg_asyncio_wait(snap, t);

		for (uint32_t k = 0; w && k < w->nholders && snap->nlock_edges < n; k++)
			snap->lock_edges[snap->nlock_edges++] =
				(struct adbg_lock_edge){.holder = snap->holders[w->holders_at + k],
							.waiter = t->id,
							.lock = w->primitive};
	}
	qsort(snap->lock_edges, snap->nlock_edges, sizeof(*snap->lock_edges), edge_cmp);
	return NULL;
}

struct adbg_error *adbg_asyncio_lock_holders(struct adbg_session *s,
					     struct adbg_asyncio_snapshot *snap)
{
	struct lctx *c = calloc(1, sizeof(*c));
	struct adbg_error *err = NULL;
	uint64_t *seen = NULL; // lock -> the detail that found its holders, + 1

	if (!c)
		return &adbg_error_nomem;
	c->s = s;
	c->l = &s->python->layout;
	c->snap = snap;
	c->locks = malloc(2 * MAX_LOCKS * sizeof(uint64_t));
	seen = calloc(2 * MAX_LOCKS, sizeof(uint64_t));
	if (!c->locks || !seen) {
		err = &adbg_error_nomem;
		goto out;
	}
	for (size_t i = 0; i < snap->nwaits && c->nlocks + 2 <= 2 * MAX_LOCKS; i++) {
		if (!snap->waits[i].is_lock)
			continue;
		c->locks[c->nlocks++] = snap->waits[i].lock;
		if (snap->waits[i].primitive != snap->waits[i].lock)
			c->locks[c->nlocks++] = snap->waits[i].primitive;
	}
	if (!c->nlocks)
		goto out;
	qsort(c->locks, c->nlocks, sizeof(uint64_t), u64_cmp);
	{
		size_t k = 0;

		for (size_t i = 0; i < c->nlocks; i++)
			if (!k || c->locks[k - 1] != c->locks[i])
				c->locks[k++] = c->locks[i];
		c->nlocks = k;
	}
	for (size_t i = 0; i < snap->ntasks && !err; i++) {
		if (snap->tasks[i].state == ADBG_TASK_PENDING)
			err = task_marks(c, &snap->tasks[i]);
		if (!err && (i & 1023) == 1023 && adbg_session_interrupted(s))
			err = adbg_error_create(ADBG_ERR_INTERRUPTED, "interrupted");
	}
	// Each lock's holders once: its other waiters share them.
	for (size_t i = 0; i < snap->nwaits && !err; i++) {
		struct adbg_wait_detail *w = &snap->waits[i];
		uint64_t *slot;

		if (!w->is_lock)
			continue;
		slot = bsearch(&w->lock, c->locks, c->nlocks, sizeof(uint64_t), u64_cmp);
		if (!slot)
			continue; // beyond MAX_LOCKS
		if (seen[slot - c->locks]) {
			const struct adbg_wait_detail *first =
				&snap->waits[seen[slot - c->locks] - 1];

			w->holders_at = first->holders_at;
			w->nholders = first->nholders;
			w->held_unknown = first->held_unknown;
			w->held_evidence = first->held_evidence;
			continue;
		}
		seen[slot - c->locks] = i + 1;
		err = find_holders(c, w);
	}
	if (!err)
		err = build_edges(c);
out:
	free(seen);
	free(c->locks);
	free(c->marks);
	free(c);
	return err;
}

size_t adbg_asyncio_lock_waiters(const struct adbg_asyncio_snapshot *snap, uint64_t holder,
				 const struct adbg_lock_edge **ret)
{
	size_t lo = 0, hi = snap->nlock_edges, end;

	*ret = NULL;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (snap->lock_edges[mid].holder < holder)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (end = lo; end < snap->nlock_edges && snap->lock_edges[end].holder == holder; end++)
		;
	if (end > lo)
		*ret = &snap->lock_edges[lo];
	return end - lo;
}
