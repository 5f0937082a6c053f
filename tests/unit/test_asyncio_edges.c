// SPDX-License-Identifier: MIT
// Unit tests of asyncio_edges.c without a process: the done-callback rule (closures,
// bound methods, functools.partial, instance attributes, deques, on native and pure-Python
// futures), structured groups (asyncio.TaskGroup's bound method, AnyIO's closure over the
// group, whose CancelScope keeps its host in a __slots__ slot), the eager first-step rule
// over a synthetic thread stack, and the caps (depth, cycles, a walk too wide), over
// synthetic objects in an in-memory target (fakepy.h), on every minor.
//
// The rules are static functions, so this file includes asyncio_edges.c itself, and
// asyncio.c for the task records and the edge resolution the rules feed (add_task,
// derive_edges, resolve_edges), as test_asyncio_graph.c does.
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asyncio.c"
#include "asyncio_edges.c"

#include "fixtures/fakepy.h"
#include "python.h"
#include "session.h"

static const unsigned minors[] = {11, 12, 13, 14, 15};
#define NMINORS (int)(sizeof(minors) / sizeof(minors[0]))

// Offsets of the synthetic FutureObj/TaskObj and frames (the rest is fakepy.h's layout).
#define FUT_CALLBACK0 0x40
#define FUT_CALLBACKS 0x50
#define TASK_CORO 0x60
#define GI_IFRAME 0x40
#define FRAME_OWNER 0x2e

static struct fake F;
static struct adbg_session *S;
static struct reader *R;
static struct adbg_asyncio_snapshot SNAP;
static uint64_t t_task, t_future, t_pyfuture, t_pytask, t_function, t_cell, t_method, t_cfunc,
	t_partial, t_deque, t_member_descr, t_coro;

static void setup(int i)
{
	struct adbg_python *py = calloc(1, sizeof(*py));
	struct adbg_layout *l = &F.l;
	bool ext_heap = minors[i] >= 12; // 3.12+ make deque and partial heap types

	ck_assert_ptr_nonnull(py);
	fake_init(&F, minors[i]);
	l->asyncio_future_object.fut_callback0 = FUT_CALLBACK0;
	l->asyncio_future_object.fut_callbacks = FUT_CALLBACKS;
	l->asyncio_future_object.fut_awaited_by = ADBG_NO_FIELD;
	l->asyncio_task_object.task_coro = TASK_CORO;
	l->gen_object.gi_iframe = GI_IFRAME;
	l->interpreter_frame.owner = FRAME_OWNER;
	l->frame_owner.generator = 1;
	py->layout = *l;
	ck_assert_ptr_null(adbg_session_create_python(F.t, py, &S));
	F.t = NULL; // the session's now
	t_future = fake_type(&F, "_asyncio.Future", 0, F.t_object, 256, 0);
	t_task = fake_type(&F, "_asyncio.Task", 0, t_future, 256, 0);
	t_pyfuture = fake_managed_type(
		&F, "Future", fake_keys(&F, 2, 1, (uint64_t[]){fake_str(&F, "_callbacks")}, NULL));
	t_pytask = fake_managed_type(
		&F, "_PyTask",
		fake_keys(&F, 2, 2, (uint64_t[]){fake_str(&F, "_callbacks"), fake_str(&F, "_coro")},
			  NULL));
	fake_w64(&F, t_pytask + F.l.type_object.tp_base, t_pyfuture);
	t_function = fake_type(&F, "function", 0, F.t_object, 128, 0);
	t_cell = fake_type(&F, "cell", 0, F.t_object, 24, 0);
	t_method = fake_type(&F, "method", 0, F.t_object, 48, 0);
	t_cfunc = fake_type(&F, "builtin_function_or_method", 0, F.t_object, 56, 0);
	t_partial =
		fake_type(&F, "functools.partial", ext_heap ? TPF_HEAPTYPE : 0, F.t_object, 72, 0);
	t_deque =
		fake_type(&F, "collections.deque", ext_heap ? TPF_HEAPTYPE : 0, F.t_object, 632, 0);
	t_member_descr = fake_type(&F, "member_descriptor", 0, F.t_object, 48, 0);
	t_coro = fake_type(&F, "coroutine", 0, F.t_object, 256, 0);
	memset(&SNAP, 0, sizeof(SNAP));
	R = calloc(1, sizeof(*R));
	ck_assert_ptr_nonnull(R);
	R->s = S;
	R->l = &S->python->layout;
	R->snap = &SNAP;
	R->flags = ADBG_AIO_STACKS;
	R->task_type = t_task;
	R->py_task_type = t_pytask;
	R->future_type = t_future;
}

static void teardown(void)
{
	free(R->pending);
	free(R);
	adbg_asyncio_snapshot_deinit(&SNAP);
	adbg_session_destroy(S);
	fake_deinit(&F);
}

static uint64_t new_task(void)
{
	uint64_t id = fake_obj(&F, t_task, 256);
	struct adbg_task *t;

	ck_assert_ptr_null(add_task(R, id, &t));
	ck_assert_ptr_nonnull(t);
	return id;
}

static struct adbg_task *task(uint64_t id)
{
	struct adbg_task *t = adbg_asyncio_find(&SNAP, id);

	ck_assert_ptr_nonnull(t);
	return t;
}

/* Task id waits on fut (what visit_task reads, then derive_edges). */
static void waits_on(uint64_t id, uint64_t fut)
{
	struct task_raw raw = {.fut_waiter = fut};

	ck_assert_ptr_null(derive_edges(R, task(id), &raw, false));
}

static uint64_t future(void)
{
	return fake_obj(&F, t_future, 256);
}

/* Give a native future or task its done-callbacks: the first in fut_callback0, the others
 * as (callback, context) tuples of the fut_callbacks list. */
static void callbacks(uint64_t fut, size_t n, const uint64_t *cbs)
{
	fake_w64(&F, fut + FUT_CALLBACK0, n ? cbs[0] : 0);
	if (n > 1) {
		uint64_t tuples[8];

		ck_assert_uint_le(n - 1, 8);
		for (size_t i = 1; i < n; i++)
			tuples[i - 1] = fake_tuple(&F, 2, (uint64_t[]){cbs[i], F.none});
		fake_w64(&F, fut + FUT_CALLBACKS, fake_list(&F, n - 1, tuples));
	}
}

static uint64_t cell(uint64_t v)
{
	uint64_t c = fake_obj(&F, t_cell, 24);

	fake_w64(&F, c + F.l.cell_object.ob_ref, v);
	return c;
}

/* A function whose closure holds cells over the n values. */
static uint64_t closure(size_t n, const uint64_t *values)
{
	uint64_t fn = fake_obj(&F, t_function, 128), cells[8];

	ck_assert_uint_le(n, 8);
	for (size_t i = 0; i < n; i++)
		cells[i] = cell(values[i]);
	fake_w64(&F, fn + F.l.function_object.func_closure, fake_tuple(&F, n, cells));
	return fn;
}

static uint64_t method(uint64_t self)
{
	uint64_t m = fake_obj(&F, t_method, 48);

	fake_w64(&F, m + F.l.method_object.im_func, closure(0, NULL));
	fake_w64(&F, m + F.l.method_object.im_self, self);
	return m;
}

/* An instance of a heap type `name` whose attributes are names[i] = values[i]. */
static uint64_t instance(const char *name, size_t n, const char *const *names,
			 const uint64_t *values)
{
	uint64_t keys[8];
	uint8_t order[8];
	uint64_t type;

	ck_assert_uint_le(n, 8);
	for (size_t i = 0; i < n; i++) {
		keys[i] = fake_str(&F, names[i]);
		order[i] = (uint8_t)i;
	}
	type = fake_managed_type(&F, name, fake_keys(&F, 2, n, keys, NULL));
	return fake_instance(&F, type, n, n, order, values, 0);
}

/* Replace the value of the first attribute of an instance() (split values, slot 0). */
static void set_first_attr(uint64_t obj, uint64_t v)
{
	uint64_t values;

	if (F.minor == 11)
		values = fake_r64(&F, obj - 32);
	else if (F.minor == 12)
		values = fake_r64(&F, obj - 24) + 1;
	else
		values = obj + 16 + F.l.dict_values.values;
	ck_assert_uint_eq(fake_r64(&F, values), F.none);
	fake_w64(&F, values, v);
}

/* A deque holding items, its first one at index `left` of the first block. */
static uint64_t deque(size_t n, const uint64_t *items, unsigned left)
{
	const typeof(F.l.deque_object) *d = &F.l.deque_object;
	uint64_t dq = fake_obj(&F, t_deque, 632), block = fake_alloc(&F, 528), first = block;
	size_t slot = left;

	for (size_t i = 0; i < n; i++, slot++) {
		if (slot == d->block_len) {
			uint64_t next = fake_alloc(&F, 528);

			fake_w64(&F, block + d->block_rightlink, next);
			fake_w64(&F, next, block);
			block = next;
			slot = 0;
		}
		fake_w64(&F, block + d->block_data + 8 * slot, items[i]);
	}
	fake_w64(&F, dq + d->ob_size, n);
	fake_w64(&F, dq + d->leftblock, first);
	fake_w64(&F, dq + d->rightblock, block);
	fake_w64(&F, dq + d->leftindex, left);
	fake_w64(&F, dq + d->rightindex, slot - 1);
	return dq;
}

static uint64_t partial(uint64_t fn, size_t nargs, const uint64_t *args, uint64_t kw)
{
	uint64_t p = fake_obj(&F, t_partial, 72);

	fake_w64(&F, p + F.l.partial_object.fn, fn);
	fake_w64(&F, p + F.l.partial_object.args, fake_tuple(&F, nargs, args));
	fake_w64(&F, p + F.l.partial_object.kw, kw);
	return p;
}

/* Run the rules (the pure-Python Future type known when py_known, the eager rule over rt
 * when given), then resolve the edges. The first half of the tasks is read one by one, as
 * a snapshot visits them, the rest by adbg_asyncio_edges_end: both ways give every edge. */
static void run_with(const struct adbg_runtime_snapshot *rt, bool py_known)
{
	struct adbg_aio_edges_in in = {.s = S,
				       .snap = &SNAP,
				       .rt = rt,
				       .stacks = true,
				       .edge = more_edge,
				       .is_task = edges_is_task,
				       .ctx = R};
	struct adbg_aio_edges *e = calloc(1, sizeof(*e));
	struct state *st = e ? &e->st : NULL;

	ck_assert_ptr_nonnull(e);
	st->in = &in;
	st->t = S->target;
	st->l = &S->python->layout;
	st->future_type = t_future;
	st->py_future_type = py_known ? t_pyfuture : 0;
	for (size_t i = 0; i < SNAP.ntasks / 2; i++)
		ck_assert_ptr_null(adbg_asyncio_edges_task(e, &SNAP.tasks[i]));
	ck_assert_ptr_null(adbg_asyncio_edges_end(e));
	ck_assert_ptr_null(resolve_edges(R));
}

static void run(const struct adbg_runtime_snapshot *rt)
{
	run_with(rt, true);
}

static void awaited_by(uint64_t id, size_t n, const uint64_t *want)
{
	struct adbg_task *t = task(id);

	ck_assert_uint_eq(t->nawaited_by, n);
	for (size_t i = 0; i < n; i++)
		ck_assert_uint_eq(t->awaited_by[i], want[i]);
}

static bool warned(const char *what)
{
	for (size_t i = 0; i < S->nwarnings; i++)
		if (strstr(S->warnings[i], what))
			return true;
	return false;
}

/* asyncio.wait: the child's closure _on_completion holds `waiter`, which the parent
 * awaits; a closure over a future nobody waits on, or over a task that is waited on,
 * is no edge. */
START_TEST(test_wait_closure)
{
	uint64_t parent, parent2, c0, c1, lone, other, waiter, idle, waited_task;

	setup(_i);
	parent = new_task();
	parent2 = new_task();
	c0 = new_task();
	c1 = new_task();
	lone = new_task();
	other = new_task();
	waited_task = new_task();
	waiter = future();
	idle = future();
	waits_on(parent, waiter);
	waits_on(parent2, waiter); // two tasks on one future: both await the children
	waits_on(other, waited_task); // other awaits a task: that task is no future here
	callbacks(c0, 1, (uint64_t[]){closure(3, (uint64_t[]){F.none, waiter, fake_int(&F, 2)})});
	// the second callback, in the fut_callbacks list
	callbacks(c1, 2, (uint64_t[]){closure(1, (uint64_t[]){idle}), closure(1, &waiter)});
	callbacks(lone, 2,
		  (uint64_t[]){closure(1, (uint64_t[]){idle}),
			       closure(1, (uint64_t[]){waited_task})});
	run(NULL);
	awaited_by(c0, 2, (uint64_t[]){parent2, parent});
	awaited_by(c1, 2, (uint64_t[]){parent2, parent});
	awaited_by(lone, 0, NULL);
	awaited_by(waited_task, 1, (uint64_t[]){other});
	teardown();
}
END_TEST

/* as_completed, 3.13+: a bound method of an iterator whose _done Queue keeps the getter
 * future the parent awaits in its _getters deque (past a block boundary); 3.11/3.12: a
 * closure over the Queue. Both children share one callback object (walked once). */
START_TEST(test_as_completed)
{
	uint64_t parent, kids[2], getter, items[70], q, it, old_parent, old_kid, old_getter;

	setup(_i);
	parent = new_task();
	kids[0] = new_task();
	kids[1] = new_task();
	getter = future();
	for (size_t i = 0; i < 70; i++)
		items[i] = fake_int(&F, (int64_t)i);
	items[60] = getter; // slot 60 + 10 of the first block: in the second block
	q = instance("Queue", 2, (const char *const[]){"_maxsize", "_getters"},
		     (uint64_t[]){fake_int(&F, 0), deque(61, items, 10)});
	it = instance("_AsCompletedIterator", 2, (const char *const[]){"_done", "_todo_left"},
		      (uint64_t[]){q, fake_int(&F, 2)});
	waits_on(parent, getter);
	{
		uint64_t cb = method(it);

		callbacks(kids[0], 1, &cb);
		callbacks(kids[1], 1, &cb);
	}
	old_parent = new_task();
	old_kid = new_task();
	old_getter = future();
	waits_on(old_parent, old_getter);
	callbacks(old_kid, 1,
		  (uint64_t[]){closure(
			  2, (uint64_t[]){instance("Queue", 1, (const char *const[]){"_getters"},
						   (uint64_t[]){deque(1, &old_getter, 63)}),
					  F.none})});
	run(NULL);
	awaited_by(kids[0], 1, (uint64_t[]){parent});
	awaited_by(kids[1], 1, (uint64_t[]){parent});
	awaited_by(old_kid, 1, (uint64_t[]){old_parent});
	teardown();
}
END_TEST

/* wait_for / _cancel_and_wait: functools.partial(_release_waiter, waiter); and a partial
 * whose keyword holds the future; and a builtin method bound to it (m_self). */
START_TEST(test_partial_and_cfunction)
{
	uint64_t p1, p2, p3, k1, k2, k3, w1, w2, w3, cf;

	setup(_i);
	p1 = new_task();
	p2 = new_task();
	p3 = new_task();
	k1 = new_task();
	k2 = new_task();
	k3 = new_task();
	w1 = future();
	w2 = future();
	w3 = future();
	waits_on(p1, w1);
	waits_on(p2, w2);
	waits_on(p3, w3);
	callbacks(k1, 1, (uint64_t[]){partial(closure(0, NULL), 1, (uint64_t[]){w1}, 0)});
	callbacks(k2, 1,
		  (uint64_t[]){partial(closure(0, NULL), 0, NULL,
				       fake_dict_pairs(&F, false, 1,
						       (uint64_t[]){fake_str(&F, "waiter")},
						       (uint64_t[]){w2}))});
	cf = fake_obj(&F, t_cfunc, 56);
	fake_w64(&F, cf + F.l.cfunction_object.m_self, w3);
	callbacks(k3, 1, &cf);
	run(NULL);
	awaited_by(k1, 1, (uint64_t[]){p1});
	awaited_by(k2, 1, (uint64_t[]){p2});
	awaited_by(k3, 1, (uint64_t[]){p3});
	teardown();
}
END_TEST

/* Pure-Python futures keep their callbacks in _callbacks, a list of (fn, context). */
START_TEST(test_py_future_callbacks)
{
	uint64_t parent, waiter, kid, list;
	struct adbg_task *t;

	setup(_i);
	parent = new_task();
	waiter = future();
	waits_on(parent, waiter);
	list = fake_list(
		&F, 1, (uint64_t[]){fake_tuple(&F, 2, (uint64_t[]){closure(1, &waiter), F.none})});
	kid = fake_instance(&F, t_pytask, 2, 2, (uint8_t[]){0, 1}, (uint64_t[]){list, F.none}, 0);
	ck_assert_ptr_null(add_task(R, kid, &t));
	run(NULL);
	awaited_by(kid, 1, (uint64_t[]){parent});
	teardown();
}
END_TEST

/* Tasks are where walks end, even when the pure-Python Future type is unknown (asyncio.
 * futures not found): a callback bound to a pure-Python task (its __wakeup) does not lead through the task's _fut_waiter to the
 * future another task waits on. */
START_TEST(test_tasks_end_walks)
{
	uint64_t waiter, kid, other, fut;
	struct adbg_task *t;

	setup(_i);
	other = new_task();
	kid = new_task();
	fut = future();
	waits_on(other, fut);
	waiter = fake_instance(&F, t_pytask, 2, 2, (uint8_t[]){0, 1},
			       (uint64_t[]){fake_list(&F, 0, NULL), fut}, 0);
	ck_assert_ptr_null(add_task(R, waiter, &t));
	callbacks(kid, 1, (uint64_t[]){method(waiter)});
	run_with(NULL, false);
	awaited_by(kid, 0, NULL);
	teardown();
}
END_TEST

/* A CancelScope-like class whose `_host_task` is a __slots__ slot at offset 24. */
static uint64_t slotted_scope(uint64_t host)
{
	uint64_t type = fake_type(&F, "CancelScope", TPF_HEAPTYPE, F.t_object, 48, 0);
	uint64_t def = fake_alloc(&F, 48), descr = fake_obj(&F, t_member_descr, 48), obj;

	fake_w64(&F, def, fake_cstr(&F, "_host_task"));
	fake_w32(&F, def + F.l.member_descr.type, 16);
	fake_w64(&F, def + F.l.member_descr.offset, 24);
	fake_w64(&F, descr + F.l.member_descr.d_member, def);
	fake_w64(&F, type + F.l.type_object.tp_dict,
		 fake_dict_pairs(&F, false, 1, (uint64_t[]){fake_str(&F, "_host_task")},
				 (uint64_t[]){descr}));
	obj = fake_obj(&F, type, 48);
	fake_w64(&F, obj + 24, host);
	return obj;
}

/* Structured groups, from creation: asyncio.TaskGroup's bound _on_task_done (host in
 * _parent_task); AnyIO's task_done closure over the group (host in the CancelScope's
 * slot); the host waits on something else entirely. A group reached further than the
 * callback's own __self__ or cell is not the child's group. */
START_TEST(test_groups)
{
	uint64_t host, child, ahost, achild, far, farhost, group, agroup, unrelated;

	setup(_i);
	host = new_task();
	child = new_task();
	ahost = new_task();
	achild = new_task();
	far = new_task();
	farhost = new_task();
	waits_on(host, future());
	waits_on(ahost, future());
	group = instance("TaskGroup", 2, (const char *const[]){"_parent_task", "_tasks"},
			 (uint64_t[]){host, fake_set(&F, F.t_set, 8, (uint64_t[8]){0}, 0)});
	callbacks(child, 1, (uint64_t[]){method(group)});
	agroup = instance("TaskGroup", 2, (const char *const[]){"cancel_scope", "_exceptions"},
			  (uint64_t[]){slotted_scope(ahost), fake_list(&F, 0, NULL)});
	callbacks(achild, 1, (uint64_t[]){closure(2, (uint64_t[]){agroup, F.none})});
	unrelated = instance("TaskGroup", 1, (const char *const[]){"_parent_task"},
			     (uint64_t[]){farhost});
	callbacks(far, 1,
		  (uint64_t[]){method(instance("App", 1, (const char *const[]){"_tg"},
					       (uint64_t[]){unrelated}))});
	run(NULL);
	awaited_by(child, 1, (uint64_t[]){host});
	awaited_by(achild, 1, (uint64_t[]){ahost});
	awaited_by(far, 0, NULL);
	teardown();
}
END_TEST

/* AnyIO 4.8+ exit: the host awaits the group's _on_completed_fut. Also the depth cap: a
 * future 5 objects away is not reached; and cycles end. */
START_TEST(test_depth_and_cycles)
{
	uint64_t host, child, deep_parent, deep_child, fut, deep_fut, a, b, c, d;
	uint64_t loop_parent, loop_child, loop_fut, self_ref;

	setup(_i);
	host = new_task();
	child = new_task();
	fut = future();
	waits_on(host, fut);
	callbacks(child, 1,
		  (uint64_t[]){closure(
			  1, (uint64_t[]){instance("TaskGroup", 1,
						   (const char *const[]){"_on_completed_fut"},
						   (uint64_t[]){fut})})});
	// callback -> a -> b -> c -> d -> future: 5 steps, one too many.
	deep_parent = new_task();
	deep_child = new_task();
	deep_fut = future();
	waits_on(deep_parent, deep_fut);
	d = instance("D", 1, (const char *const[]){"x"}, (uint64_t[]){deep_fut});
	c = instance("C", 1, (const char *const[]){"x"}, (uint64_t[]){d});
	b = instance("B", 1, (const char *const[]){"x"}, (uint64_t[]){c});
	a = instance("A", 1, (const char *const[]){"x"}, (uint64_t[]){b});
	callbacks(deep_child, 1, (uint64_t[]){method(a)});
	// A closure whose cell holds the function itself, and an object holding itself.
	loop_parent = new_task();
	loop_child = new_task();
	loop_fut = future();
	waits_on(loop_parent, loop_fut);
	{
		uint64_t fn = closure(2, (uint64_t[]){0, loop_fut});
		uint64_t cells = fake_r64(&F, fn + F.l.function_object.func_closure);

		fake_w64(&F,
			 fake_r64(&F, cells + F.l.tuple_object.ob_item) + F.l.cell_object.ob_ref,
			 fn);
		self_ref = instance("Node", 2, (const char *const[]){"me", "fut"},
				    (uint64_t[]){F.none, loop_fut});
		set_first_attr(self_ref, self_ref);
		callbacks(loop_child, 2, (uint64_t[]){fn, method(self_ref)});
	}
	run(NULL);
	awaited_by(child, 1, (uint64_t[]){host});
	awaited_by(deep_child, 0, NULL);
	awaited_by(loop_child, 1, (uint64_t[]){loop_parent});
	teardown();
}
END_TEST

/* A callback leading to more objects than one walk looks at: cut, with a warning. */
START_TEST(test_wide_walk_is_capped)
{
	enum { N = 40 };
	uint64_t parent, kid, fut, objs[N];
	const char *attrs[8] = {"a", "b", "c", "d", "e", "f", "g", "h"};

	setup(_i);
	parent = new_task();
	kid = new_task();
	fut = future();
	waits_on(parent, fut);
	// 40 objects of 8 attributes each, all distinct: more than MAX_WALK in all.
	for (size_t i = 0; i < N; i++) {
		uint64_t vals[8];

		for (size_t k = 0; k < 8; k++)
			vals[k] = fake_int(&F, (int64_t)(i * 8 + k + 1000));
		objs[i] = instance("Leaf", 8, attrs, vals);
	}
	callbacks(kid, 1,
		  (uint64_t[]){closure(8, (uint64_t[]){instance("Mid", 8, attrs, objs),
						       instance("Mid", 8, attrs, objs + 8),
						       instance("Mid", 8, attrs, objs + 16),
						       instance("Mid", 8, attrs, objs + 24),
						       instance("Mid", 8, attrs, objs + 32), fut,
						       F.none, F.none})});
	run(NULL);
	// The future is close to the callback: found before the cap.
	awaited_by(kid, 1, (uint64_t[]){parent});
	ck_assert(warned("a walk reached its cap"));
	teardown();
}
END_TEST

/* A coroutine object whose frame (at GI_IFRAME) has the generator owner. */
static uint64_t coro(void)
{
	uint64_t c = fake_obj(&F, t_coro, 256);

	fake_w8(&F, c + GI_IFRAME + FRAME_OWNER, 1);
	return c;
}

static struct adbg_frame frame(uint64_t addr, const char *fn)
{
	return (struct adbg_frame){
		.function = fn, .file = "x.py", .addr = addr, .line = 1, .kind = ADBG_FRAME_PYTHON};
}

/* Eager first steps: the running task's coroutine frame sits on the frames of the task
 * that created it (and that one on its creator's): each awaits the one above. The creator
 * shows the frames from inside create_task down to its coroutine. A running task over
 * plain frames has no such edge. */
START_TEST(test_eager)
{
	uint64_t outer, mid, top, lone, co_outer, co_mid, co_top, co_lone, plain[4];
	struct adbg_pythread th[2] = {0};
	struct adbg_runtime_snapshot rt = {.threads = th, .nthreads = 2};
	struct adbg_frame fr[7], fl[2];

	setup(_i);
	outer = new_task();
	mid = new_task();
	top = new_task();
	lone = new_task();
	co_outer = coro();
	co_mid = coro();
	co_top = coro();
	co_lone = coro();
	fake_w64(&F, outer + TASK_CORO, co_outer);
	fake_w64(&F, mid + TASK_CORO, co_mid);
	fake_w64(&F, top + TASK_CORO, co_top);
	fake_w64(&F, lone + TASK_CORO, co_lone);
	for (size_t i = 0; i < 4; i++)
		plain[i] = fake_alloc(&F, 128); // owner 0: thread
	fr[0] = frame(co_top + GI_IFRAME, "top_coro");
	fr[1] = frame(plain[0], "factory");
	fr[2] = frame(plain[1], "create_task");
	fr[3] = frame(co_mid + GI_IFRAME, "mid_coro");
	fr[4] = frame(plain[2], "TaskGroup.create_task");
	fr[5] = frame(co_outer + GI_IFRAME, "outer_coro");
	fr[6] = frame(plain[3], "Handle._run");
	th[0] = (struct adbg_pythread){
		.tid = 1, .running_task = top, .stack = {.frames = fr, .n = 7, .pooled = true}};
	fl[0] = frame(co_lone + GI_IFRAME, "lone_coro");
	fl[1] = frame(plain[3], "Handle._run");
	th[1] = (struct adbg_pythread){
		.tid = 2, .running_task = lone, .stack = {.frames = fl, .n = 2, .pooled = true}};
	task(top)->running = true;
	task(lone)->running = true;
	run(&rt);
	awaited_by(top, 1, (uint64_t[]){mid});
	awaited_by(mid, 1, (uint64_t[]){outer});
	awaited_by(outer, 0, NULL);
	awaited_by(lone, 0, NULL);
	ck_assert_uint_eq(task(mid)->stack.n, 3);
	ck_assert_str_eq(task(mid)->stack.frames[0].function, "factory");
	ck_assert_str_eq(task(mid)->stack.frames[2].function, "mid_coro");
	ck_assert_uint_eq(task(outer)->stack.n, 2);
	ck_assert_str_eq(task(outer)->stack.frames[0].function, "TaskGroup.create_task");
	ck_assert_str_eq(task(outer)->stack.frames[1].function, "outer_coro");
	ck_assert_uint_eq(task(lone)->stack.n, 0);
	teardown();
}
END_TEST

/* Garbage: callbacks that are not objects, a deque with absurd indices, a closure that is
 * not a tuple: no edge, no crash. */
START_TEST(test_garbage)
{
	uint64_t parent, kid, fut, dq, fn;

	setup(_i);
	parent = new_task();
	kid = new_task();
	fut = future();
	waits_on(parent, fut);
	dq = deque(1, &fut, 0);
	fake_w64(&F, dq + F.l.deque_object.leftindex, 1000);
	fn = fake_obj(&F, t_function, 128);
	fake_w64(&F, fn + F.l.function_object.func_closure, fake_int(&F, 7));
	callbacks(kid, 4,
		  (uint64_t[]){FAKE_UNMAPPED, fn,
			       method(instance("Q", 1, (const char *const[]){"_getters"},
					       (uint64_t[]){dq})),
			       0x10});
	run(NULL);
	awaited_by(kid, 0, NULL);
	teardown();
}
END_TEST

static Suite *edges_suite(void)
{
	Suite *s = suite_create("asyncio_edges");
	TCase *tc = tcase_create("fake");

	tcase_add_loop_test(tc, test_wait_closure, 0, NMINORS);
	tcase_add_loop_test(tc, test_as_completed, 0, NMINORS);
	tcase_add_loop_test(tc, test_partial_and_cfunction, 0, NMINORS);
	tcase_add_loop_test(tc, test_py_future_callbacks, 0, NMINORS);
	tcase_add_loop_test(tc, test_tasks_end_walks, 0, NMINORS);
	tcase_add_loop_test(tc, test_groups, 0, NMINORS);
	tcase_add_loop_test(tc, test_depth_and_cycles, 0, NMINORS);
	tcase_add_loop_test(tc, test_wide_walk_is_capped, 0, NMINORS);
	tcase_add_loop_test(tc, test_eager, 0, NMINORS);
	tcase_add_loop_test(tc, test_garbage, 0, NMINORS);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(edges_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
