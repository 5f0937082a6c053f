// SPDX-License-Identifier: MIT
// Unit tests of the await graph of asyncio.c without a process: the edge rules of
// derive_edges (a task awaiting a task, gather children, TaskGroup children, shield,
// wait_for's `fut` on 3.11, the edges 3.14 records, a waiter found without the Task
// type), their resolution (resolve_edges: order, duplicates, ends outside the snapshot)
// and cycle finding (adbg_asyncio_find_cycles), over synthetic tasks and futures in an in-memory
// target (fakepy.h).
//
// The rules are static functions of asyncio.c, so this file includes asyncio.c itself:
// the tests run the real code paths, without the discovery of tasks (registries, thread
// states, frames) that building a whole synthetic interpreter would need. The task
// records (stack frames, the _fut_waiter read from the task) are filled in directly, as
// visit_task would have read them. The forest that `tree` draws from those edges is checked
// the same way, through cmd_tasks.c's render_tree.
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asyncio.c"
#include "cmd_tasks.c"

#include "fixtures/fakepy.h"
#include "python.h"
#include "session.h"

static const unsigned minors[] = {11, 12, 13, 14, 15};
#define NMINORS (int)(sizeof(minors) / sizeof(minors[0]))

// Offsets of the fields the rules read, in the synthetic objects below.
#define FUT_CALLBACK0 0x40
#define FUT_AWAITED_BY 0x50
#define FUT_AWAITED_BY_IS_SET 0x58
#define FUNC_QUALNAME 0x30
#define FUNC_CLOSURE 0x38
#define CELL_REF 0x10
#define LOCALSPLUS 0x48
#define FRAME_EXECUTABLE 0x08
#define CODE_LOCALSPLUSNAMES 0x60
#define CODE_LOCALSPLUSKINDS 0x68
// _PyLocals_Kind bits (Include/internal/pycore_code.h): a plain local, a cell variable.
#define FAST_LOCAL 0x20
#define FAST_CELL 0x40

static struct fake F;
static struct adbg_session *S;
static struct reader *R;
static struct adbg_asyncio_snapshot SNAP;
static uint64_t t_task, t_future, t_gathering, t_function, t_cell;

static void setup(int i, bool recorded)
{
	struct adbg_python *py = calloc(1, sizeof(*py));
	struct adbg_layout *l = &F.l;
	struct adbg_error *err;

	ck_assert_ptr_nonnull(py);
	fake_init(&F, minors[i]);
	l->asyncio_future_object.fut_callback0 = FUT_CALLBACK0;
	l->asyncio_future_object.fut_awaited_by = recorded ? FUT_AWAITED_BY : ADBG_NO_FIELD;
	l->asyncio_future_object.fut_awaited_by_is_set = FUT_AWAITED_BY_IS_SET;
	l->function_object.func_qualname = FUNC_QUALNAME;
	l->function_object.func_closure = FUNC_CLOSURE;
	l->cell_object.ob_ref = CELL_REF;
	l->interpreter_frame.localsplus = LOCALSPLUS;
	l->interpreter_frame.executable = FRAME_EXECUTABLE;
	l->code_object.localsplusnames = CODE_LOCALSPLUSNAMES;
	l->code_object.localspluskinds = CODE_LOCALSPLUSKINDS;
	l->localsplus_kind.cell = FAST_CELL;
	l->localsplus_kind.free = 0x80;
	// 3.14+ tags stack references in bit 0.
	l->stackref_tag_mask = F.minor >= 14 ? 1 : 0;
	py->layout = *l;
	err = adbg_session_create_python(F.t, py, &S);
	ck_assert_ptr_null(err);
	F.t = NULL; // the session's now
	t_task = fake_type(&F, "_asyncio.Task", 0, F.t_object, 256, 0);
	t_future = fake_type(&F, "_asyncio.Future", 0, F.t_object, 256, 0);
	t_function = fake_type(&F, "function", 0, F.t_object, 128, 0);
	t_cell = fake_type(&F, "cell", 0, F.t_object, 24, 0);
	t_gathering = fake_managed_type(
		&F, "_GatheringFuture",
		fake_keys(&F, 2, 1, (uint64_t[]){fake_str(&F, "_children")}, NULL));
	memset(&SNAP, 0, sizeof(SNAP));
	R = calloc(1, sizeof(*R));
	ck_assert_ptr_nonnull(R);
	R->s = S;
	R->l = &S->python->layout;
	R->snap = &SNAP;
	R->flags = ADBG_AIO_STACKS;
	R->task_type = t_task;
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

/* A task object of the snapshot (of type type, 0: _asyncio.Task). */
static uint64_t new_task(uint64_t type)
{
	uint64_t id = fake_obj(&F, type ? type : t_task, 256);
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

/* Give task id a one-frame stack suspended in function (frame object at frame_addr). */
static void suspend_in(uint64_t id, const char *function, uint64_t frame_addr)
{
	struct adbg_frame fr = {.function = function,
				.file = "x.py",
				.addr = frame_addr,
				.line = 1,
				.kind = ADBG_FRAME_PYTHON};

	ck_assert_ptr_null(adbg_stack_push(&task(id)->stack, &fr));
}

/* What visit_task does after reading the task: derive its edges. */
static void derive(uint64_t id, uint64_t fut_waiter)
{
	struct task_raw raw = {.fut_waiter = fut_waiter};

	ck_assert_ptr_null(derive_edges(R, task(id), &raw, false));
}

static void finish(void)
{
	ck_assert_ptr_null(resolve_edges(R));
	ck_assert_ptr_null(adbg_asyncio_find_cycles(&SNAP));
}

/* task id is awaited by exactly the n tasks of want, in that order. */
static void awaited_by(uint64_t id, size_t n, const uint64_t *want)
{
	struct adbg_task *t = task(id);

	ck_assert_uint_eq(t->nawaited_by, n);
	for (size_t i = 0; i < n; i++)
		ck_assert_uint_eq(t->awaited_by[i], want[i]);
}

static uint64_t gathering_future(size_t n, const uint64_t *children)
{
	uint64_t list = fake_list(&F, n, children);

	return fake_instance(&F, t_gathering, 1, 1, (uint8_t[]){0}, (uint64_t[]){list}, 0);
}

/* A future whose first done-callback is shield()'s closure over inner. */
static uint64_t shield_outer(uint64_t inner, const char *qualname)
{
	uint64_t outer = fake_obj(&F, t_future, 256), cb = fake_obj(&F, t_function, 128);
	uint64_t cell = fake_obj(&F, t_cell, 24);

	fake_w64(&F, cell + CELL_REF, inner);
	fake_w64(&F, cb + FUNC_QUALNAME, fake_str(&F, qualname));
	fake_w64(&F, cb + FUNC_CLOSURE, fake_tuple(&F, 1, (uint64_t[]){cell}));
	fake_w64(&F, outer + FUT_CALLBACK0, cb);
	return outer;
}

/* A TaskGroup whose _tasks set holds children, and a frame of its _aexit whose first
 * local (self) is the group. */
static uint64_t taskgroup_frame(size_t n, const uint64_t *children)
{
	uint64_t slots[8] = {0}, keys, group, frame = fake_alloc(&F, 256);

	ck_assert_uint_le(n, 4);
	for (size_t i = 0; i < n; i++)
		slots[(i * 3) % 8] = children[i];
	keys = fake_keys(&F, 2, 1, (uint64_t[]){fake_str(&F, "_tasks")}, NULL);
	group = fake_instance(&F, fake_managed_type(&F, "TaskGroup", keys), 1, 1, (uint8_t[]){0},
			      (uint64_t[]){fake_set(&F, F.t_set, 8, slots, 0)}, 0);
	fake_w64(&F, frame + LOCALSPLUS, group | F.l.stackref_tag_mask);
	return frame;
}

START_TEST(test_task_awaits_task)
{
	uint64_t outer, middle, inner, sub_type, sub, lone, stranger;

	setup(_i, false);
	outer = new_task(0);
	middle = new_task(0);
	inner = new_task(0);
	// A subclass of Task is a task too.
	sub_type = fake_type(&F, "MyTask", TPF_HEAPTYPE, t_task, 256, 0);
	sub = new_task(sub_type);
	lone = new_task(0);
	stranger = fake_obj(&F, t_task, 256); // a task the snapshot does not hold
	derive(outer, middle);
	derive(middle, inner);
	derive(inner, fake_obj(&F, t_future, 256));
	derive(sub, outer);
	derive(lone, stranger);
	finish();
	awaited_by(inner, 1, (uint64_t[]){middle});
	awaited_by(middle, 1, (uint64_t[]){outer});
	awaited_by(outer, 1, (uint64_t[]){sub});
	awaited_by(sub, 0, NULL);
	ck_assert_uint_eq(task(outer)->waiting_on.task, middle);
	ck_assert_str_eq(task(outer)->waiting_on.type, "_asyncio.Task");
	ck_assert(task(inner)->has_waiting_on);
	ck_assert_uint_eq(task(inner)->waiting_on.task, 0);
	ck_assert_str_eq(task(inner)->waiting_on.type, "_asyncio.Future");
	// The awaited end is not in the snapshot: it is still what lone waits on, no edge.
	ck_assert_uint_eq(task(lone)->waiting_on.task, stranger);
	ck_assert_uint_eq(SNAP.ncycles, 0);
	teardown();
}
END_TEST

START_TEST(test_gather)
{
	uint64_t parent, c[3], fut;

	setup(_i, false);
	parent = new_task(0);
	c[0] = new_task(0);
	c[1] = new_task(0);
	fut = fake_obj(&F, t_future, 256); // gather() of a plain future: not a task
	c[2] = fut;
	derive(parent, gathering_future(3, c));
	finish();
	awaited_by(c[0], 1, (uint64_t[]){parent});
	awaited_by(c[1], 1, (uint64_t[]){parent});
	awaited_by(parent, 0, NULL);
	ck_assert_str_eq(task(parent)->waiting_on.type, "_GatheringFuture");
	ck_assert_uint_eq(task(parent)->waiting_on.task, 0);
	teardown();
}
END_TEST

/*
 * A frame of wait_for (code with locals timeout, fut) whose `fut` is fut; in_cell: `fut` is
 * a cell variable (a closure uses it), so its slot holds a cell holding fut.
 */
static uint64_t wait_for_frame_cell(uint64_t fut, bool in_cell)
{
	uint64_t frame = fake_alloc(&F, 256), code = fake_obj(&F, F.t_code, 256);
	uint64_t names[2] = {fake_str(&F, "timeout"), fake_str(&F, "fut")};
	uint8_t kinds[2] = {FAST_LOCAL, in_cell ? FAST_LOCAL | FAST_CELL : FAST_LOCAL};

	if (in_cell) {
		uint64_t cell = fake_obj(&F, t_cell, 24);

		fake_w64(&F, cell + CELL_REF, fut);
		fut = cell;
	}
	fake_w64(&F, code + CODE_LOCALSPLUSNAMES, fake_tuple(&F, 2, names));
	fake_w64(&F, code + CODE_LOCALSPLUSKINDS, fake_bytes(&F, kinds, sizeof(kinds)));
	fake_w64(&F, frame + FRAME_EXECUTABLE, code);
	fake_w64(&F, frame + LOCALSPLUS, fake_int(&F, 5));
	fake_w64(&F, frame + LOCALSPLUS + 8, fut | F.l.stackref_tag_mask);
	return frame;
}

static uint64_t wait_for_frame(uint64_t fut)
{
	return wait_for_frame_cell(fut, false);
}

START_TEST(test_taskgroup)
{
	uint64_t parent, other, k[3], frame;
	const char *aexit = minors[_i] == 11 ? "TaskGroup.__aexit__" : "TaskGroup._aexit";

	setup(_i, false);
	parent = new_task(0);
	other = new_task(0);
	for (int i = 0; i < 3; i++)
		k[i] = new_task(0);
	frame = taskgroup_frame(3, k);
	suspend_in(parent, aexit, frame);
	derive(parent, fake_obj(&F, t_future, 256));
	// A frame of another name with the same locals is no TaskGroup.
	suspend_in(other, "Group._aexit", frame);
	derive(other, fake_obj(&F, t_future, 256));
	finish();
	for (int i = 0; i < 3; i++)
		awaited_by(k[i], 1, (uint64_t[]){parent});
	ck_assert_str_eq(task(parent)->waiting_on.what, "TaskGroup");
	ck_assert_ptr_null(task(other)->waiting_on.what);
	teardown();
}
END_TEST

START_TEST(test_shield)
{
	uint64_t parent, child, decoy_parent, decoy_child;

	setup(_i, false);
	parent = new_task(0);
	child = new_task(0);
	decoy_parent = new_task(0);
	decoy_child = new_task(0);
	derive(parent, shield_outer(child, "shield.<locals>._outer_done_callback"));
	// A done-callback closing over a task is not a shield unless it is shield's.
	derive(decoy_parent, shield_outer(decoy_child, "other.<locals>._done"));
	finish();
	awaited_by(child, 1, (uint64_t[]){parent});
	ck_assert_str_eq(task(parent)->waiting_on.what, "shield");
	awaited_by(decoy_child, 0, NULL);
	ck_assert_ptr_null(task(decoy_parent)->waiting_on.what);
	teardown();
}
END_TEST

/* wait_for() on 3.11 awaits a private waiter future; the task it waits for is its `fut`. */
START_TEST(test_wait_for)
{
	uint64_t parent, child, plain_parent, cell_parent, cell_child;

	setup(_i, false);
	parent = new_task(0);
	child = new_task(0);
	plain_parent = new_task(0);
	cell_parent = new_task(0);
	cell_child = new_task(0);
	suspend_in(parent, "wait_for", wait_for_frame(child));
	derive(parent, fake_obj(&F, t_future, 256));
	// `fut` a cell variable: the frame's reader of locals opens the cell.
	suspend_in(cell_parent, "wait_for", wait_for_frame_cell(cell_child, true));
	derive(cell_parent, fake_obj(&F, t_future, 256));
	// `fut` a plain future: nothing to point at.
	suspend_in(plain_parent, "wait_for", wait_for_frame(fake_obj(&F, t_future, 256)));
	derive(plain_parent, fake_obj(&F, t_future, 256));
	finish();
	awaited_by(child, 1, (uint64_t[]){parent});
	ck_assert_str_eq(task(parent)->waiting_on.what, "wait_for");
	awaited_by(cell_child, 1, (uint64_t[]){cell_parent});
	awaited_by(plain_parent, 0, NULL);
	teardown();
}
END_TEST

/* What the innermost frame says the plain future is for. */
START_TEST(test_primitive_waits)
{
	uint64_t lock, ev;

	setup(_i, false);
	lock = new_task(0);
	ev = new_task(0);
	suspend_in(lock, "Lock.acquire", 0);
	derive(lock, fake_obj(&F, t_future, 256));
	suspend_in(ev, "my_func", 0);
	derive(ev, fake_obj(&F, t_future, 256));
	finish();
	ck_assert_str_eq(task(lock)->waiting_on.what, "Lock.acquire");
	ck_assert_ptr_null(task(ev)->waiting_on.what);
	awaited_by(lock, 0, NULL);
	teardown();
}
END_TEST

/* 3.14+ records awaited_by in the future: one waiter, or a set of them. Recorded edges
 * that are also derived count once; waiters keep the order they were read in. */
START_TEST(test_recorded_edges)
{
	uint64_t one, many, w[3], slots[8] = {0};

	setup(_i, true);
	one = new_task(0);
	many = new_task(0);
	for (int i = 0; i < 3; i++)
		w[i] = new_task(0);
	fake_w64(&F, one + FUT_AWAITED_BY, w[0]);
	fake_w8(&F, one + FUT_AWAITED_BY_IS_SET, 0);
	slots[1] = w[1];
	slots[5] = w[2];
	fake_w64(&F, many + FUT_AWAITED_BY, fake_set(&F, F.t_set, 8, slots, 0));
	fake_w8(&F, many + FUT_AWAITED_BY_IS_SET, 1);
	derive(w[1], many); // derived as well as recorded
	derive(one, 0);
	derive(many, 0);
	finish();
	awaited_by(one, 1, (uint64_t[]){w[0]});
	awaited_by(many, 2, (uint64_t[]){w[1], w[2]});
	teardown();
}
END_TEST

/* Without the Task type (not found in the target), a waiter that is one of the snapshot's
 * tasks is still an edge, and what the waiting task waits on. */
START_TEST(test_no_task_type)
{
	uint64_t a, b;

	setup(_i, false);
	R->task_type = 0;
	a = new_task(0);
	b = new_task(0);
	derive(a, b);
	derive(b, fake_obj(&F, t_future, 256));
	finish();
	awaited_by(b, 1, (uint64_t[]){a});
	ck_assert_uint_eq(task(a)->waiting_on.task, b);
	ck_assert_uint_eq(task(b)->waiting_on.task, 0);
	teardown();
}
END_TEST

static bool cycle_is(const struct adbg_cycle *c, size_t n, const uint64_t *ids)
{
	if (c->n != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		bool found = false;

		for (size_t j = 0; j < n; j++)
			found |= c->ids[j] == ids[i];
		if (!found)
			return false;
	}
	return true;
}

START_TEST(test_cycles)
{
	uint64_t a, b, x, y, z, tail, head, self;

	setup(_i, false);
	a = new_task(0);
	b = new_task(0);
	x = new_task(0);
	y = new_task(0);
	z = new_task(0);
	tail = new_task(0);
	head = new_task(0);
	self = new_task(0);
	derive(a, b);
	derive(b, a);
	derive(x, y);
	derive(y, z);
	derive(z, x);
	derive(tail, x); // waits on a cycle without being part of it
	derive(head, tail);
	derive(self, self); // never an edge
	finish();
	ck_assert_uint_eq(SNAP.ncycles, 2);
	ck_assert(cycle_is(&SNAP.cycles[0], 2, (uint64_t[]){a, b}) ||
		  cycle_is(&SNAP.cycles[1], 2, (uint64_t[]){a, b}));
	ck_assert(cycle_is(&SNAP.cycles[0], 3, (uint64_t[]){x, y, z}) ||
		  cycle_is(&SNAP.cycles[1], 3, (uint64_t[]){x, y, z}));
	awaited_by(x, 2, (uint64_t[]){z, tail});
	awaited_by(self, 0, NULL);
	teardown();
}
END_TEST

/* A long chain is no cycle, closed it is one; the iterative search does not recurse. */
START_TEST(test_long_chain)
{
	enum { N = 20000 };
	uint64_t *ids = malloc(N * sizeof(*ids));

	ck_assert_ptr_nonnull(ids);
	for (int closed = 0; closed < 2; closed++) {
		setup(_i, false);
		for (size_t i = 0; i < N; i++)
			ids[i] = new_task(0);
		for (size_t i = 0; i + 1 < N; i++)
			derive(ids[i], ids[i + 1]);
		if (closed)
			derive(ids[N - 1], ids[0]);
		finish();
		ck_assert_uint_eq(SNAP.ncycles, closed ? 1 : 0);
		if (closed)
			ck_assert_uint_eq(SNAP.cycles[0].n, N);
		awaited_by(ids[N - 1], 1, (uint64_t[]){ids[N - 2]});
		teardown();
	}
	free(ids);
}
END_TEST

/* The forest `tree` draws: the tasks nobody awaits are roots, under each task the tasks it
 * awaits; then each cycle once, and its tasks (which have no root) with the edge back. */
START_TEST(test_forest)
{
	uint64_t root, mid, leaf0, leaf1, ca, cb;
	char *buf = NULL, want[1024];
	size_t len = 0;
	struct adbg_cmd_ctx c = {0};

	setup(_i, false);
	root = new_task(0);
	mid = new_task(0);
	leaf0 = new_task(0);
	leaf1 = new_task(0);
	ca = new_task(0);
	cb = new_task(0);
	task(root)->name = "root";
	task(mid)->name = "mid";
	task(leaf0)->name = "leaf0";
	task(leaf1)->name = "leaf1";
	task(ca)->name = "ca";
	task(cb)->name = "cb";
	derive(root, mid);
	derive(mid, gathering_future(2, (uint64_t[]){leaf0, leaf1}));
	derive(leaf0, fake_obj(&F, t_future, 256));
	derive(ca, cb);
	derive(cb, ca);
	finish();
	c.out = open_memstream(&buf, &len);
	ck_assert_ptr_nonnull(c.out);
	ck_assert_ptr_null(render_tree(&c, &SNAP));
	ck_assert_int_eq(fclose(c.out), 0);
	snprintf(want, sizeof(want),
		 "(T) root %#" PRIx64 " [pending]\n"
		 "└── (T) mid %#" PRIx64 " [pending]\n"
		 "    ├── (T) leaf0 %#" PRIx64 " [pending] awaiting _asyncio.Future %#" PRIx64 "\n"
		 "    └── (T) leaf1 %#" PRIx64 " [pending]\n"
		 "cycle: ca %#" PRIx64 " → cb %#" PRIx64 "\n"
		 "(T) ca %#" PRIx64 " [pending]\n"
		 "└── (T) cb %#" PRIx64 " [pending]\n"
		 "    └── (cycle back to ca %#" PRIx64 ")\n",
		 root, mid, leaf0, task(leaf0)->waiting_on.id, leaf1, ca, cb, ca, cb, ca);
	ck_assert_str_eq(buf, want);
	free(buf);
	teardown();
}
END_TEST

static Suite *graph_suite(void)
{
	Suite *s = suite_create("asyncio_graph");
	TCase *tc = tcase_create("fake");

	tcase_add_loop_test(tc, test_task_awaits_task, 0, NMINORS);
	tcase_add_loop_test(tc, test_gather, 0, NMINORS);
	tcase_add_loop_test(tc, test_taskgroup, 0, NMINORS);
	tcase_add_loop_test(tc, test_shield, 0, NMINORS);
	tcase_add_loop_test(tc, test_wait_for, 0, NMINORS);
	tcase_add_loop_test(tc, test_primitive_waits, 0, NMINORS);
	tcase_add_loop_test(tc, test_recorded_edges, 0, NMINORS);
	tcase_add_loop_test(tc, test_no_task_type, 0, NMINORS);
	tcase_add_loop_test(tc, test_cycles, 0, NMINORS);
	tcase_add_loop_test(tc, test_long_chain, 0, NMINORS);
	tcase_add_loop_test(tc, test_forest, 0, NMINORS);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(graph_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
