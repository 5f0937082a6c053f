// SPDX-License-Identifier: MIT
// Await edges derived from done-callbacks, structured groups and eager first steps (see
// asyncio_edges.h).
//
// Why done-callbacks: every way asyncio lets a task wait for other tasks without awaiting
// them one by one registers a done-callback on each of them that wakes the waiter, and
// the waiter sits on a future of its own. Following what the callback holds from the
// child's side finds that future, whoever wrote the code:
//  - asyncio.wait: _wait() adds the closure _on_completion to each child; its cell
//    `waiter` is the future the caller awaits (Lib/asyncio/tasks.py, 3.11-3.15; 3.14+
//    also records the edge, future_add_to_awaited_by in _wait).
//  - as_completed: 3.11/3.12 the closure _on_completion, whose cell `done` is a Queue;
//    3.13+ the bound method _AsCompletedIterator._handle_completion, whose __self__ holds
//    the Queue in `_done`. The caller awaits Queue.get(), i.e. a getter future kept in
//    the Queue's _getters deque (Lib/asyncio/queues.py). 3.14.10 records the edge to the
//    task that created the iterator (gh-156523); this rule finds the task that waits.
//  - gather: _done_callback's cell `outer`, the _GatheringFuture the caller awaits;
//    after a child failed, the caller no longer awaits it, and the rule gives no edge,
//    as 3.14.10 discards them (gh-157213, _discard_awaited_by).
//  - shield: inner's _inner_done_callback, cell `outer`, the future the caller awaits.
//  - wait_for: 3.11's and _cancel_and_wait's functools.partial(_release_waiter, waiter),
//    so wait_for(fut, 0) too (gh-157058; 3.14.10 records that edge itself).
//  - AnyIO task groups leaving their block: AnyIO 3.x and 4.0-4.7 __aexit__ await
//    asyncio.wait(tasks) (the rule above); 4.8+ await self._on_completed_fut, reached
//    from each child's task_done closure through its cell `self`, the group
//    (anyio/_backends/_asyncio.py TaskGroup.__aexit__ and _spawn).
// Structured groups are edges from creation, as CPython 3.14 records for TaskGroup
// (Lib/asyncio/taskgroups.py create_task: future_add_to_awaited_by(task, _parent_task)):
//  - asyncio.TaskGroup (3.11-3.15) gives each child the done-callback
//    self._on_task_done, a bound method of the group; the group's host is _parent_task,
//    set by __aenter__.
//  - AnyIO's TaskGroup (3.x and 4.x, asyncio backend) gives each child the closure
//    _spawn.<locals>.task_done over `self`, the group; the host is the task that entered
//    the group's cancel scope, self.cancel_scope._host_task (CancelScope.__enter__).
//    Starlette's BaseHTTPMiddleware runs the endpoint that way: awaited by the request
//    task that owns the group even while that task is busy reading the response.
//    AnyIO 4.14+ on 3.14+ records the same edge (future_add_to_awaited_by in _spawn).
//  A group counts only when the callback itself holds it (its __self__ or a cell): that
//  is the group's own callback, given to its own children.
// Eager tasks (3.12+): an eager task's first step runs inside create_task(), on the stack
// of the task that created it, which cannot go on until the step ends; 3.14 records no
// edge during that step (gh-157299, whose proposed fix adds it). Such a task is awaited
// by the task whose coroutine frame lies under it on the thread's stack.
#include "asyncio_edges.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "objects.h"
#include "prefetch.h"

// Objects between a done-callback and the future it completes, not counting closure
// cells: as_completed (3.13+) needs 4 (method -> iterator -> Queue -> deque -> future).
#define MAX_DEPTH 4
// Objects looked at from one callback, and items of one closure, argument tuple, deque
// or instance read: the walks above need a handful.
#define MAX_WALK 256
#define MAX_FANOUT 64
// Done-callbacks of one task read.
#define MAX_CALLBACKS 64
// Objects looked at in one snapshot, over all walks.
#define MAX_TOTAL (1u << 21)
// Frames under a running task looked at for the task that started it eagerly.
#define MAX_EAGER_FRAMES 4096

enum kind {
	K_UNREAD, // not classified yet (cache slot)
	K_OTHER, // leads nowhere
	K_FUTURE, // a Future or Task (native or pure-Python, or a subclass): never looked into
	K_FUNCTION,
	K_METHOD,
	K_CFUNCTION,
	K_PARTIAL,
	K_CELL,
	K_DEQUE,
	K_INSTANCE, // an instance of a class statement: its attributes
	K_GROUP, // an instance of a class named TaskGroup: also a group candidate
};

struct type_kind {
	uint64_t type;
	enum kind kind;
	bool py_future; // asyncio.futures._PyFuture or a subclass (callbacks in _callbacks)
};

#define TYPE_CACHE 256

// What one callback leads to: futures some task waits on and groups it holds directly.
// Group addresses carry RES_GROUP (objects are aligned: bit 0 is free).
#define RES_GROUP 1u

struct memo_slot {
	uint64_t cb; // 0: empty
	uint32_t start, n;
};

struct cb_rec {
	uint32_t task, start, n;
};

struct walk_item {
	uint64_t obj;
	unsigned depth;
};

struct state {
	const struct adbg_aio_edges_in *in;
	struct adbg_target *t;
	const struct adbg_layout *l;
	uint64_t future_type, py_future_type;
	struct type_kind types[TYPE_CACHE];
	// The futures some task waits on, by the waiting tasks' positions in the snapshot
	// (+ 1; 0: none): open addressing over whead, keyed by the first waiter's
	// waiting_on.id, the others chained through wnext. 20 bytes a task at most.
	uint32_t *whead;
	// beside each head, bits of its future's address: a probe compares them rather than
	// read the waiting task's record (a cache miss each, at a million tasks)
	uint32_t *wtag;
	size_t wsize;
	uint32_t *wnext;
	// results of the walks, memo per callback object
	uint64_t *res;
	size_t nres, res_cap;
	struct memo_slot *memo;
	size_t memo_size, nmemo;
	size_t total;
	bool warned;
	// The callbacks of each task, read as the task is visited: the task's position and
	// its callbacks' results (res[start, start + n)), in the order of the tasks. Tasks
	// [0, next) have been read.
	struct cb_rec *recs;
	size_t nrecs, recs_cap, next;
	struct walk_item queue[MAX_WALK];
};

// The state between adbg_asyncio_edges_begin and _end.
struct adbg_aio_edges {
	struct state st;
};

static size_t hash_addr(uint64_t a, size_t size)
{
	return (size_t)(((a >> 3) * 0x9e3779b97f4a7c15ull) >> (64 - __builtin_ctzll(size)));
}

/* What objects of the type at `type` are (cached per type). */
static enum kind kind_of_type(struct state *st, uint64_t type, bool *py_future)
{
	const struct adbg_layout *l = st->l;
	struct type_kind *tk;
	uint64_t flags = 0;
	char *name = NULL;
	bool yes = false;

	if (py_future)
		*py_future = false;
	if (!type)
		return K_OTHER;
	tk = &st->types[(type >> 4) % TYPE_CACHE];
	if (tk->type == type && tk->kind != K_UNREAD)
		goto out;
	tk->type = type;
	tk->kind = K_OTHER;
	tk->py_future = false;
	if (!adbg_ok(adbg_obj_tp_name(st->t, l, type, &name)) ||
	    !adbg_ok(adbg_obj_type_flags(st->t, l, type, &flags)))
		goto out;
	if (st->future_type &&
	    adbg_ok(adbg_obj_is_subtype(st->t, l, type, st->future_type, &yes)) && yes) {
		tk->kind = K_FUTURE;
	} else if (st->py_future_type &&
		   adbg_ok(adbg_obj_is_subtype(st->t, l, type, st->py_future_type, &yes)) && yes) {
		tk->kind = K_FUTURE;
		tk->py_future = true;
	} else {
		// Static types, and the types of extension modules, which 3.12+ make heap
		// types (deque and partial: Modules/_collectionsmodule.c and
		// _functoolsmodule.c use PyType_FromModuleAndSpec); a class statement names
		// its type without the module.
		static const struct {
			const char *name;
			enum kind kind;
			bool static_only;
		} builtin[] = {
			{"function", K_FUNCTION, true},
			{"method", K_METHOD, true},
			{"builtin_function_or_method", K_CFUNCTION, true},
			{"cell", K_CELL, true},
			{"functools.partial", K_PARTIAL, false},
			{"collections.deque", K_DEQUE, false},
		};
		bool heap = flags & l->tp_flags_bits.heaptype;

		if (heap)
			tk->kind = strcmp(name, "TaskGroup") == 0 ? K_GROUP : K_INSTANCE;
		for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++)
			if (strcmp(name, builtin[i].name) == 0 && !(heap && builtin[i].static_only))
				tk->kind = builtin[i].kind;
	}
out:
	free(name);
	if (py_future)
		*py_future = tk->py_future;
	return tk->kind;
}

static enum kind kind_of(struct state *st, uint64_t obj, bool *py_future)
{
	uint64_t type = 0;

	if (py_future)
		*py_future = false;
	if (!obj || !adbg_ok(adbg_obj_type(st->t, st->l, obj, &type)))
		return K_OTHER;
	return kind_of_type(st, type, py_future);
}

/* --- futures some task waits on ---------------------------------------------------- */

static uint32_t wtag_of(uint64_t fut)
{
	return (uint32_t)(fut >> 4);
}

static ADBG_MUST_CHECK struct adbg_error *waited_build(struct state *st)
{
	const struct adbg_asyncio_snapshot *snap = st->in->snap;
	size_t n = 0;

	for (size_t i = 0; i < snap->ntasks; i++)
		n += snap->tasks[i].has_waiting_on && snap->tasks[i].waiting_on.id &&
		     !snap->tasks[i].waiting_on.task;
	if (!n)
		return NULL;
	st->wsize = 16;
	while (st->wsize < 2 * n)
		st->wsize *= 2;
	st->whead = calloc(st->wsize, sizeof(*st->whead));
	st->wtag = calloc(st->wsize, sizeof(*st->wtag));
	st->wnext = calloc(snap->ntasks, sizeof(*st->wnext));
	if (!st->whead || !st->wtag || !st->wnext)
		return &adbg_error_nomem;
	for (size_t i = 0; i < snap->ntasks; i++) {
		const struct adbg_task *t = &snap->tasks[i];
		uint64_t fut = t->waiting_on.id;
		size_t h;

		// The lookups of a task a few ahead (each is a cache miss otherwise).
		if (i + 8 < snap->ntasks && snap->tasks[i + 8].waiting_on.id) {
			adbg_asyncio_find_prefetch(snap, snap->tasks[i + 8].waiting_on.id);
			adbg_prefetch(
				&st->whead[hash_addr(snap->tasks[i + 8].waiting_on.id, st->wsize)]);
		}
		if (!t->has_waiting_on || !fut || t->waiting_on.task)
			continue;
		// A task is never the future of this rule: a task waiting on a task awaits
		// that task, not what finishes it.
		if (adbg_asyncio_find(snap, fut))
			continue;
		for (h = hash_addr(fut, st->wsize);
		     st->whead[h] && (st->wtag[h] != wtag_of(fut) ||
				      snap->tasks[st->whead[h] - 1].waiting_on.id != fut);
		     h = (h + 1) & (st->wsize - 1))
			;
		st->wnext[i] = st->whead[h];
		st->whead[h] = (uint32_t)(i + 1);
		st->wtag[h] = wtag_of(fut);
	}
	return NULL;
}

/* The first waiter (position + 1 in the snapshot) of fut, 0 when no task waits on it. */
static uint32_t waited_first(const struct state *st, uint64_t fut)
{
	const struct adbg_asyncio_snapshot *snap = st->in->snap;

	if (!st->wsize || !fut)
		return 0;
	for (size_t h = hash_addr(fut, st->wsize); st->whead[h]; h = (h + 1) & (st->wsize - 1))
		if (st->wtag[h] == wtag_of(fut) &&
		    snap->tasks[st->whead[h] - 1].waiting_on.id == fut)
			return st->whead[h];
	return 0;
}

/* --- walking from one callback -------------------------------------------------------- */

static ADBG_MUST_CHECK struct adbg_error *res_add(struct state *st, uint64_t v)
{
	if (st->nres == st->res_cap) {
		size_t ncap = st->res_cap ? st->res_cap * 2 : 64;
		uint64_t *nr = realloc(st->res, ncap * sizeof(*nr));

		if (!nr)
			return &adbg_error_nomem;
		st->res = nr;
		st->res_cap = ncap;
	}
	st->res[st->nres++] = v;
	return NULL;
}

struct walk {
	struct state *st;
	size_t n, head;
	bool cut;
};

static void push(struct walk *w, uint64_t obj, unsigned depth)
{
	if (!obj || depth > MAX_DEPTH)
		return;
	// Cycle check: an object is queued once per walk.
	for (size_t i = 0; i < w->n; i++)
		if (w->st->queue[i].obj == obj)
			return;
	if (w->n == MAX_WALK) {
		w->cut = true;
		return;
	}
	w->st->queue[w->n++] = (struct walk_item){.obj = obj, .depth = depth};
}

/* Queue the items of a tuple (closure cells, partial arguments). */
static void push_tuple(struct walk *w, uint64_t tuple, unsigned depth)
{
	struct adbg_obj_items items = {0};

	if (tuple && adbg_ok(adbg_obj_tuple_items(w->st->t, w->st->l, tuple, MAX_FANOUT, &items)))
		for (size_t i = 0; i < items.n; i++)
			push(w, items.items[i], depth);
	adbg_obj_items_deinit(&items);
}

/* Queue the items of a deque: blocks of block_len slots from leftblock[leftindex]. */
static void push_deque(struct walk *w, uint64_t dq, unsigned depth)
{
	const struct adbg_layout *l = w->st->l;
	const typeof(l->deque_object) *d = &l->deque_object;
	uint64_t block = 0, right = 0, left_i = 0, right_i = 0, size = 0;
	size_t taken = 0;

	if (!adbg_ok(adbg_read_u64(w->st->t, dq + d->ob_size, &size)) ||
	    !adbg_ok(adbg_read_u64(w->st->t, dq + d->leftblock, &block)) ||
	    !adbg_ok(adbg_read_u64(w->st->t, dq + d->rightblock, &right)) ||
	    !adbg_ok(adbg_read_u64(w->st->t, dq + d->leftindex, &left_i)) ||
	    !adbg_ok(adbg_read_u64(w->st->t, dq + d->rightindex, &right_i)))
		return;
	if ((int64_t)size <= 0 || left_i >= d->block_len || right_i >= d->block_len)
		return;
	// At most MAX_FANOUT items, so at most MAX_FANOUT / block_len + 2 blocks: the list
	// cannot make this loop long, whatever it holds.
	for (uint64_t i = left_i; block && taken < MAX_FANOUT && taken < size; i++) {
		uint64_t item = 0;

		if (i == d->block_len) {
			if (block == right ||
			    !adbg_ok(adbg_read_u64(w->st->t, block + d->block_rightlink, &block)))
				break;
			i = 0;
		}
		if (!adbg_ok(adbg_read_u64(w->st->t, block + d->block_data + 8 * i, &item)))
			break;
		push(w, item, depth);
		taken++;
		if (block == right && i == right_i)
			break;
	}
}

/* Queue the attribute values of an instance of a class statement. */
static void push_attrs(struct walk *w, uint64_t obj, unsigned depth)
{
	struct adbg_obj_dict_items attrs = {0};

	if (adbg_ok(adbg_obj_instance_attrs(w->st->t, w->st->l, obj, MAX_FANOUT, &attrs)))
		for (size_t i = 0; i < attrs.n; i++)
			push(w, attrs.pairs[i].value, depth);
	adbg_obj_dict_items_deinit(&attrs);
}

/*
 * Everything callback cb leads to (see the file's comment), appended to st->res: breadth
 * first, so the objects closest to the callback are looked at before a cap is reached.
 */
static ADBG_MUST_CHECK struct adbg_error *walk_callback(struct state *st, uint64_t cb)
{
	const struct adbg_layout *l = st->l;
	struct walk w = {.st = st};
	struct adbg_error *err = NULL;

	push(&w, cb, 0);
	for (; w.head < w.n && !err; w.head++) {
		uint64_t obj = st->queue[w.head].obj, v = 0;
		unsigned d = st->queue[w.head].depth;

		if (++st->total > MAX_TOTAL) {
			w.cut = true;
			break;
		}
		// A task finishes nothing this rule follows (a waiter's wakeup callback is
		// bound to the waiting task). This runs while the tasks are still being
		// found: a task not found yet is one by its type.
		if (adbg_asyncio_find(st->in->snap, obj) ||
		    (st->in->is_task && st->in->is_task(st->in->ctx, obj)))
			continue;
		switch (kind_of(st, obj, NULL)) {
		case K_FUTURE:
			// A candidate: whether some task waits on it is known at the end.
			err = res_add(st, obj);
			break;
		case K_CELL:
			// Cells are how closures hold things: not a step of their own.
			if (adbg_ok(adbg_read_u64(st->t, obj + l->cell_object.ob_ref, &v)))
				push(&w, v, d);
			break;
		case K_FUNCTION:
			if (adbg_ok(adbg_read_u64(st->t, obj + l->function_object.func_closure,
						  &v)))
				push_tuple(&w, v, d + 1);
			break;
		case K_METHOD:
			if (adbg_ok(adbg_read_u64(st->t, obj + l->method_object.im_self, &v)))
				push(&w, v, d + 1);
			break;
		case K_CFUNCTION:
			if (adbg_ok(adbg_read_u64(st->t, obj + l->cfunction_object.m_self, &v)))
				push(&w, v, d + 1);
			break;
		case K_PARTIAL: {
			struct adbg_obj_dict_items kw = {0};

			if (adbg_ok(adbg_read_u64(st->t, obj + l->partial_object.fn, &v)))
				push(&w, v, d + 1);
			if (adbg_ok(adbg_read_u64(st->t, obj + l->partial_object.args, &v)))
				push_tuple(&w, v, d + 1);
			if (adbg_ok(adbg_read_u64(st->t, obj + l->partial_object.kw, &v)) && v &&
			    adbg_ok(adbg_obj_dict_items(st->t, l, v, MAX_FANOUT, &kw)))
				for (size_t i = 0; i < kw.n; i++)
					push(&w, kw.pairs[i].value, d + 1);
			adbg_obj_dict_items_deinit(&kw);
			break;
		}
		case K_DEQUE:
			push_deque(&w, obj, d + 1);
			break;
		case K_GROUP:
			// Held by the callback itself (its __self__ or a cell): the group's own
			// callback.
			if (d == 1)
				err = res_add(st, obj | RES_GROUP);
			push_attrs(&w, obj, d + 1);
			break;
		case K_INSTANCE:
			push_attrs(&w, obj, d + 1);
			break;
		case K_UNREAD:
		case K_OTHER:
			break;
		}
	}
	if (w.cut && !st->warned) {
		st->warned = true;
		adbg_session_warn(
			st->in->s,
			"await edges through done-callbacks: a walk reached its cap (%u "
			"objects from one callback, %u in all); some edges may be missing",
			MAX_WALK, MAX_TOTAL);
	}
	return err;
}

/* The results of callback cb: [*start, *start + *n) of st->res, walked once per snapshot. */
static ADBG_MUST_CHECK struct adbg_error *callback_results(struct state *st, uint64_t cb,
							   size_t *start, size_t *n)
{
	struct adbg_error *err;
	size_t h, from = st->nres;

	if ((st->nmemo + 1) * 2 > st->memo_size) {
		size_t nsize = st->memo_size ? st->memo_size * 2 : 256;
		struct memo_slot *nm = calloc(nsize, sizeof(*nm));

		if (!nm)
			return &adbg_error_nomem;
		for (size_t i = 0; i < st->memo_size; i++) {
			if (!st->memo[i].cb)
				continue;
			for (h = hash_addr(st->memo[i].cb, nsize); nm[h].cb;
			     h = (h + 1) & (nsize - 1))
				;
			nm[h] = st->memo[i];
		}
		free(st->memo);
		st->memo = nm;
		st->memo_size = nsize;
	}
	for (h = hash_addr(cb, st->memo_size); st->memo[h].cb; h = (h + 1) & (st->memo_size - 1)) {
		if (st->memo[h].cb == cb) {
			*start = st->memo[h].start;
			*n = st->memo[h].n;
			return NULL;
		}
	}
	err = walk_callback(st, cb);
	if (err)
		return err;
	st->memo[h] = (struct memo_slot){
		.cb = cb, .start = (uint32_t)from, .n = (uint32_t)(st->nres - from)};
	st->nmemo++;
	*start = from;
	*n = st->nres - from;
	return NULL;
}

/* --- structured groups -------------------------------------------------------------------- */

/*
 * An attribute of a Python object, from its __dict__ or a __slots__ slot (AnyIO 4's
 * CancelScope has slots); 0 when missing or None.
 */
static uint64_t attr(struct state *st, uint64_t obj, const char *name)
{
	uint64_t v = 0;
	bool none = true;

	if (!obj)
		return 0;
	if (!adbg_ok(adbg_obj_getattr(st->t, st->l, obj, name, &v)) &&
	    !adbg_ok(adbg_obj_slot(st->t, st->l, obj, name, &v)))
		return 0;
	if (!adbg_ok(adbg_obj_is_none(st->t, st->l, v, &none)) || none)
		return 0;
	return v;
}

/* The task that hosts group g (see the file's comment), 0 when none. */
static uint64_t group_host(struct state *st, uint64_t g)
{
	uint64_t host = attr(st, g, "_parent_task"); // asyncio.TaskGroup

	if (!host) // AnyIO
		host = attr(st, attr(st, g, "cancel_scope"), "_host_task");
	return host;
}

/* --- the done-callbacks of a task --------------------------------------------------------- */

/*
 * The first words of a task: its type and, were it a native task, its first done-callback
 * and the list of the others (Modules/_asynciomodule.c fut_callback0, fut_callbacks,
 * 3.11-3.15). One read of the object's head when they are in it, as they are: this runs
 * for every task of the snapshot.
 */
struct task_head {
	uint64_t type, cb0, list;
};

static bool read_task_head(struct state *st, uint64_t task, struct task_head *ret)
{
	const typeof(st->l->asyncio_future_object) *fo = &st->l->asyncio_future_object;
	uint64_t off[3] = {st->l->pyobject.ob_type, fo->fut_callback0, fo->fut_callbacks};
	uint64_t words[8], *out[3] = {&ret->type, &ret->cb0, &ret->list}, end = 0;

	for (size_t i = 0; i < 3; i++)
		end = off[i] + 8 > end ? off[i] + 8 : end;
	if (end <= sizeof(words) && !(off[0] % 8) && !(off[1] % 8) && !(off[2] % 8) &&
	    adbg_ok(adbg_target_read(st->t, task, words, end))) {
		for (size_t i = 0; i < 3; i++)
			*out[i] = words[off[i] / 8];
		return true;
	}
	for (size_t i = 0; i < 3; i++)
		if (!adbg_ok(adbg_read_u64(st->t, task + off[i], out[i])))
			return false;
	return true;
}

/* The done-callbacks of a pending task (up to MAX_CALLBACKS, into cbs). */
static size_t callbacks_of(struct state *st, uint64_t task, const struct task_head *h, bool py,
			   uint64_t *cbs)
{
	const struct adbg_layout *l = st->l;
	struct adbg_obj_items items = {0};
	uint64_t list = h->list;
	size_t n = 0;

	if (py) {
		// Lib/asyncio/futures.py: self._callbacks, a list of (fn, context) tuples.
		list = attr(st, task, "_callbacks");
	} else if (h->cb0) {
		// Modules/_asynciomodule.c: fut_callback0 (with fut_context0), then the
		// list fut_callbacks of (fn, context) tuples (3.11-3.15).
		cbs[n++] = h->cb0;
	}
	if (list && adbg_ok(adbg_obj_list_items(st->t, l, list, MAX_CALLBACKS - n, &items))) {
		for (size_t i = 0; i < items.n && n < MAX_CALLBACKS; i++) {
			uint64_t cb = 0;

			if (adbg_ok(adbg_read_u64(st->t, items.items[i] + l->tuple_object.ob_item,
						  &cb)) &&
			    cb)
				cbs[n++] = cb;
		}
	}
	adbg_obj_items_deinit(&items);
	return n;
}

static ADBG_MUST_CHECK struct adbg_error *rec_add(struct state *st, size_t task, size_t start,
						  size_t n)
{
	if (st->nrecs == st->recs_cap) {
		size_t ncap = st->recs_cap ? st->recs_cap * 2 : 256;
		struct cb_rec *nr = realloc(st->recs, ncap * sizeof(*nr));

		if (!nr)
			return &adbg_error_nomem;
		st->recs = nr;
		st->recs_cap = ncap;
	}
	st->recs[st->nrecs++] =
		(struct cb_rec){.task = (uint32_t)task, .start = (uint32_t)start, .n = (uint32_t)n};
	return NULL;
}

/* Read the done-callbacks of the task at position i and what each leads to. */
static ADBG_MUST_CHECK struct adbg_error *task_callbacks(struct state *st, size_t i)
{
	const struct adbg_task *t = &st->in->snap->tasks[i];
	struct adbg_error *err = NULL;
	struct task_head h = {0};
	uint64_t cbs[MAX_CALLBACKS];
	bool py = false;
	size_t ncb;

	if (i + 1 > st->next)
		st->next = i + 1;
	if (t->state != ADBG_TASK_PENDING || !read_task_head(st, t->id, &h) ||
	    kind_of_type(st, h.type, &py) != K_FUTURE)
		return NULL;
	ncb = callbacks_of(st, t->id, &h, py, cbs);
	for (size_t c = 0; c < ncb && !err; c++) {
		size_t start = 0, n = 0;

		err = callback_results(st, cbs[c], &start, &n);
		if (!err && n)
			err = rec_add(st, i, start, n);
	}
	return err;
}

/* The edges of the callbacks read, once every task is known. */
static ADBG_MUST_CHECK struct adbg_error *callback_edges(struct state *st)
{
	const struct adbg_asyncio_snapshot *snap = st->in->snap;
	struct adbg_error *err = NULL;

	for (size_t r = 0; r < st->nrecs && !err; r++) {
		uint64_t id = snap->tasks[st->recs[r].task].id;

		for (size_t k = st->recs[r].start; k < st->recs[r].start + st->recs[r].n && !err;
		     k++) {
			uint64_t v = st->res[k];

			if (v & RES_GROUP) {
				uint64_t host = group_host(st, v & ~(uint64_t)RES_GROUP);

				if (host)
					err = st->in->edge(st->in->ctx, id, host);
				continue;
			}
			if (adbg_asyncio_find(snap, v))
				continue;
			for (uint32_t wi = waited_first(st, v); wi && !err; wi = st->wnext[wi - 1])
				err = st->in->edge(st->in->ctx, id, snap->tasks[wi - 1].id);
		}
		if (!err && (r & 1023) == 1023 && adbg_session_interrupted(st->in->s))
			err = adbg_error_create(ADBG_ERR_INTERRUPTED, "interrupted");
	}
	return err;
}

/* --- eager first steps -------------------------------------------------------------------- */

/* The coroutine of a task of the snapshot, 0 when unreadable. */
static uint64_t task_coro(struct state *st, uint64_t task)
{
	bool py = false;
	uint64_t coro = 0;

	if (kind_of(st, task, &py) != K_FUTURE)
		return 0;
	if (py)
		return attr(st, task, "_coro");
	if (st->l->asyncio_task_object.task_coro == ADBG_NO_FIELD ||
	    !adbg_ok(adbg_read_u64(st->t, task + st->l->asyncio_task_object.task_coro, &coro)))
		return 0;
	return coro;
}

struct coro_task {
	uint64_t coro, task;
};

static int cmp_coro(const void *a, const void *b)
{
	const struct coro_task *x = a, *y = b;

	return x->coro < y->coro ? -1 : x->coro > y->coro;
}

/*
 * Whether the Python frame at addr is a coroutine's or generator's own frame, embedded in
 * it (owner FRAME_OWNED_BY_GENERATOR, Include/internal/pycore_frame.h 3.11-3.15).
 */
static bool generator_frame(struct state *st, uint64_t addr)
{
	uint8_t owner = 0;

	return adbg_ok(adbg_read_u8(st->t, addr + st->l->interpreter_frame.owner, &owner)) &&
	       owner == st->l->frame_owner.generator;
}

/*
 * A running task whose thread's stack holds, under the task's coroutine frame, another
 * task's coroutine frame is that task's eager first step (Lib/asyncio/tasks.py
 * Task.__eager_start, Modules/_asynciomodule.c task_eager_start, 3.12+): awaited by it.
 * Going down the stack, each task found awaits the one above it (an eager step that
 * starts another eagerly).
 */
static ADBG_MUST_CHECK struct adbg_error *eager_edges(struct state *st)
{
	const struct adbg_aio_edges_in *in = st->in;
	const struct adbg_layout *l = st->l;
	struct coro_task *map = NULL;
	size_t nmap = 0;
	bool built = false;
	struct adbg_error *err = NULL;

	for (size_t i = 0; i < in->rt->nthreads && !err; i++) {
		const struct adbg_pythread *th = &in->rt->threads[i];
		struct adbg_task *above = adbg_asyncio_find(in->snap, th->running_task);
		uint64_t coro = above ? task_coro(st, above->id) : 0;
		size_t k = 0, below;

		if (!coro)
			continue;
		while (k < th->stack.n &&
		       th->stack.frames[k].addr != coro + l->gen_object.gi_iframe)
			k++;
		below = k + 1;
		for (size_t m = k + 1; m < th->stack.n && m < k + MAX_EAGER_FRAMES && !err; m++) {
			const struct adbg_frame *f = &th->stack.frames[m];
			struct coro_task key = {.coro = f->addr - l->gen_object.gi_iframe}, *hit;
			struct adbg_task *h;

			if (f->kind != ADBG_FRAME_PYTHON || !generator_frame(st, f->addr))
				continue;
			if (!built) {
				// Every pending task's coroutine, once: only a snapshot with a
				// coroutine frame under a running task pays for it.
				built = true;
				map = malloc((in->snap->ntasks ? in->snap->ntasks : 1) *
					     sizeof(*map));
				if (!map)
					return &adbg_error_nomem;
				for (size_t j = 0; j < in->snap->ntasks; j++) {
					const struct adbg_task *t = &in->snap->tasks[j];

					if (t->state == ADBG_TASK_PENDING && !t->running)
						map[nmap++] = (struct coro_task){
							.coro = task_coro(st, t->id),
							.task = t->id};
				}
				qsort(map, nmap, sizeof(*map), cmp_coro);
			}
			hit = nmap ? bsearch(&key, map, nmap, sizeof(*map), cmp_coro) : NULL;
			h = hit ? adbg_asyncio_find(in->snap, hit->task) : NULL;
			if (!h || h == above)
				continue;
			err = in->edge(in->ctx, above->id, h->id);
			// The creator is suspended in no await: where it is, is these frames
			// (down to its coroutine's own).
			if (!err && in->stacks && !h->stack.n)
				for (size_t x = below; x <= m && !err; x++)
					err = adbg_stack_push(&h->stack, &th->stack.frames[x]);
			above = h;
			below = m + 1;
		}
	}
	free(map);
	return err;
}

struct adbg_error *adbg_asyncio_edges_begin(const struct adbg_aio_edges_in *in,
					    struct adbg_aio_edges **ret)
{
	struct adbg_aio_edges *e = calloc(1, sizeof(*e));
	struct state *st = e ? &e->st : NULL;

	*ret = NULL;
	if (!e)
		return &adbg_error_nomem;
	st->in = in;
	st->t = in->s->target;
	st->l = &in->s->python->layout;
	if (in->interp) {
		adbg_error_destroy(adbg_runtime_module_global(in->s, in->interp, "_asyncio",
							      "Future", &st->future_type));
		adbg_error_destroy(adbg_runtime_module_global(in->s, in->interp, "asyncio.futures",
							      "_PyFuture", &st->py_future_type));
	}
	*ret = e;
	return NULL;
}

struct adbg_error *adbg_asyncio_edges_task(struct adbg_aio_edges *e, const struct adbg_task *t)
{
	return task_callbacks(&e->st, (size_t)(t - e->st.in->snap->tasks));
}

void adbg_asyncio_edges_free(struct adbg_aio_edges *e)
{
	if (!e)
		return;
	free(e->st.whead);
	free(e->st.wtag);
	free(e->st.wnext);
	free(e->st.res);
	free(e->st.memo);
	free(e->st.recs);
	free(e);
}

struct adbg_error *adbg_asyncio_edges_end(struct adbg_aio_edges *e)
{
	struct state *st = &e->st;
	const struct adbg_asyncio_snapshot *snap = st->in->snap;
	struct adbg_error *err = NULL;

	// The tasks found since the last one read (or all, when none was).
	for (size_t i = st->next; i < snap->ntasks && !err; i++) {
		err = task_callbacks(st, i);
		if (!err && (i & 1023) == 1023 && adbg_session_interrupted(st->in->s))
			err = adbg_error_create(ADBG_ERR_INTERRUPTED, "interrupted");
	}
	if (!err)
		err = waited_build(st);
	if (!err)
		err = callback_edges(st);
	if (!err && st->in->rt)
		err = eager_edges(st);
	adbg_asyncio_edges_free(e);
	return err;
}

struct adbg_error *adbg_asyncio_more_edges(const struct adbg_aio_edges_in *in)
{
	struct adbg_aio_edges *e;
	struct adbg_error *err = adbg_asyncio_edges_begin(in, &e);

	return err ? err : adbg_asyncio_edges_end(e);
}
