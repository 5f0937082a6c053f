// SPDX-License-Identifier: MIT
// Unit tests of lock holders (asyncio_locks.c), deadlines (asyncio_waits.c) and __slots__
// reading (objects_slots.c) over synthetic tasks, frames and objects in an in-memory target
// (fakepy.h), for each version's way of keeping `async with`'s exit on the value stack:
// 3.11-3.13 a bound method (BEFORE_ASYNC_WITH), 3.14+ the function and then `self`
// (LOAD_SPECIAL), tagged.
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asyncio.h"
#include "asyncio_waits.h"
#include "fixtures/fakepy.h"
#include "objects.h"
#include "python.h"
#include "session.h"

static const unsigned minors[] = {11, 12, 13, 14, 15};
#define NMINORS (int)(sizeof(minors) / sizeof(minors[0]))

#define FRAME_EXECUTABLE 0x08
#define FRAME_STACKPOINTER 0x40
#define LOCALSPLUS 0x48
#define CODE_CO_NAMES 0x20
#define CODE_NLOCALSPLUS 0x4c
#define CODE_LOCALSPLUSNAMES 0x60
#define FUNC_QUALNAME 0x30

static struct fake F;
static struct adbg_session *S;
static struct adbg_asyncio_snapshot SNAP;
static uint64_t t_function, t_method, t_lock, t_sem, lock_keys;
static uint64_t aexit_fn;

static void setup(int i)
{
	struct adbg_python *py = calloc(1, sizeof(*py));
	struct adbg_layout *l = &F.l;

	ck_assert_ptr_nonnull(py);
	fake_init(&F, minors[i]);
	l->interpreter_frame.executable = FRAME_EXECUTABLE;
	l->interpreter_frame.localsplus = LOCALSPLUS;
	l->interpreter_frame.stackpointer = FRAME_STACKPOINTER;
	l->interpreter_frame.stack_kind = F.minor >= 14 ? ADBG_STACK_POINTER : ADBG_STACK_INDEX;
	l->code_object.co_names = CODE_CO_NAMES;
	l->code_object.nlocalsplus = CODE_NLOCALSPLUS;
	l->code_object.localsplusnames = CODE_LOCALSPLUSNAMES;
	l->function_object.func_qualname = FUNC_QUALNAME;
	l->method_object.im_func = 16;
	l->method_object.im_self = 24;
	l->stackref_tag_mask = F.minor >= 14 ? 1 : 0;
	py->layout = *l;
	ck_assert_ptr_null(adbg_session_create_python(F.t, py, &S));
	F.t = NULL;
	t_function = fake_type(&F, "function", 0, F.t_object, 128, 0);
	t_method = fake_type(&F, "method", 0, F.t_object, 48, 0);
	lock_keys = fake_keys(&F, 2, 1, (uint64_t[]){fake_str(&F, "_locked")}, NULL);
	t_lock = fake_managed_type(&F, "Lock", lock_keys);
	t_sem = fake_managed_type(&F, "Semaphore",
				  fake_keys(&F, 2, 1, (uint64_t[]){fake_str(&F, "_value")}, NULL));
	aexit_fn = fake_obj(&F, t_function, 128);
	fake_w64(&F, aexit_fn + FUNC_QUALNAME, fake_str(&F, "_ContextManagerMixin.__aexit__"));
	memset(&SNAP, 0, sizeof(SNAP));
}

static void teardown(void)
{
	adbg_asyncio_waits_deinit(&SNAP);
	for (size_t i = 0; i < SNAP.ntasks; i++)
		adbg_stack_deinit(&SNAP.tasks[i].stack);
	free(SNAP.tasks);
	adbg_session_destroy(S);
	fake_deinit(&F);
}

static uint64_t new_lock(bool locked)
{
	return fake_instance(&F, t_lock, 1, 1, (uint8_t[]){0},
			     (uint64_t[]){locked ? F.true_ : F.false_}, 0);
}

/* A code object with local names and co_names (each a NULL-terminated list). */
static uint64_t code_of(const char *const *locals, const char *const *names)
{
	uint64_t code = fake_obj(&F, F.t_code, 256), items[8];
	size_t n = 0, m = 0;

	for (; locals[n]; n++)
		items[n] = fake_str(&F, locals[n]);
	fake_w64(&F, code + CODE_LOCALSPLUSNAMES, fake_tuple(&F, n, items));
	fake_w32(&F, code + CODE_NLOCALSPLUS, (uint32_t)n);
	for (; names && names[m]; m++)
		items[m] = fake_str(&F, names[m]);
	fake_w64(&F, code + CODE_CO_NAMES, fake_tuple(&F, m, items));
	return code;
}

/* A suspended frame: its locals, then its value stack (tagged on 3.14+). */
static uint64_t frame_of(uint64_t code, size_t nlocals, const uint64_t *locals, size_t nstack,
			 const uint64_t *stack)
{
	uint64_t frame = fake_alloc(&F, 512), tag = F.l.stackref_tag_mask;

	fake_w64(&F, frame + FRAME_EXECUTABLE, code);
	for (size_t i = 0; i < nlocals; i++)
		fake_w64(&F, frame + LOCALSPLUS + 8 * i, locals[i] | (locals[i] ? tag : 0));
	for (size_t i = 0; i < nstack; i++)
		fake_w64(&F, frame + LOCALSPLUS + 8 * (nlocals + i), stack[i] | tag);
	if (F.minor >= 14)
		fake_w64(&F, frame + FRAME_STACKPOINTER,
			 frame + LOCALSPLUS + 8 * (nlocals + nstack));
	else
		fake_w32(&F, frame + FRAME_STACKPOINTER, (uint32_t)(nlocals + nstack));
	return frame;
}

/* The value-stack words `async with obj:` leaves (3.11-3.13 one, 3.14+ two). */
static size_t async_with(uint64_t obj, uint64_t *out)
{
	uint64_t m;

	if (F.minor >= 14) {
		out[0] = aexit_fn;
		out[1] = obj;
		return 2;
	}
	m = fake_obj(&F, t_method, 48);
	fake_w64(&F, m + 16, aexit_fn);
	fake_w64(&F, m + 24, obj);
	out[0] = m;
	return 1;
}

static struct adbg_task *add_task(size_t nframes, const char *const *functions,
				  const uint64_t *frames)
{
	struct adbg_task *t;

	SNAP.tasks = realloc(SNAP.tasks, (SNAP.ntasks + 1) * sizeof(*t));
	ck_assert_ptr_nonnull(SNAP.tasks);
	t = &SNAP.tasks[SNAP.ntasks++];
	memset(t, 0, sizeof(*t));
	t->id = fake_alloc(&F, 64);
	t->state = ADBG_TASK_PENDING;
	for (size_t i = 0; i < nframes; i++) {
		struct adbg_frame fr = {.function = functions[i],
					.file = "/usr/lib/python3/asyncio/locks.py",
					.addr = frames[i],
					.line = 1,
					.kind = ADBG_FRAME_PYTHON};

		ck_assert_ptr_null(adbg_stack_push(&t->stack, &fr));
	}
	return t;
}

/* task i waits for lock (the primitive is prim, its type name type). */
static void waits_for(size_t i, uint64_t lock, uint64_t prim, const char *type)
{
	struct adbg_wait_detail *w;

	SNAP.waits = realloc(SNAP.waits, (SNAP.nwaits + 1) * sizeof(*w));
	w = &SNAP.waits[SNAP.nwaits++];
	memset(w, 0, sizeof(*w));
	w->is_lock = true;
	w->lock = lock;
	w->primitive = prim;
	w->primitive_type = type;
	SNAP.tasks[i].wait = (uint32_t)SNAP.nwaits;
	SNAP.tasks[i].has_waiting_on = true;
}

static void holders_are(size_t waiter, size_t n, const size_t *want, const char *evidence)
{
	const struct adbg_wait_detail *w = adbg_asyncio_wait(&SNAP, &SNAP.tasks[waiter]);

	ck_assert_ptr_nonnull(w);
	ck_assert_uint_eq(w->nholders, n);
	for (size_t i = 0; i < n; i++)
		ck_assert_uint_eq(SNAP.holders[w->holders_at + i], SNAP.tasks[want[i]].id);
	if (n)
		ck_assert_str_eq(w->held_evidence, evidence);
	else
		ck_assert_ptr_nonnull(w->held_unknown);
}

static const char *const NOLOCALS[] = {NULL};
static const char *const SELF[] = {"self", NULL};

/*
 * Two tasks each inside `async with` one lock, each entering `async with` the other: both
 * hold one lock, the one being entered is not held, and the lock edges form the cycle.
 */
START_TEST(test_deadlock)
{
	uint64_t la, lb, words[8], code, aenter, acquire;
	uint64_t fa[3], fb[3];
	size_t n;
	const struct adbg_lock_edge *le;

	setup(_i);
	code = code_of(NOLOCALS, NULL);
	la = new_lock(true);
	lb = new_lock(true);
	aenter = code_of(SELF, NULL);
	acquire = code_of(SELF, NULL);
	// transfer(a, b): async with la, entering async with lb (its __aenter__ is the callee)
	n = async_with(la, words);
	n += async_with(lb, words + n);
	words[n++] = fake_obj(&F, F.t_object, 16); // the __aenter__ coroutine awaited
	fa[2] = frame_of(code, 0, NULL, n, words);
	fa[1] = frame_of(aenter, 1, (uint64_t[]){lb}, 0, NULL);
	fa[0] = frame_of(acquire, 1, (uint64_t[]){lb}, 0, NULL);
	n = async_with(lb, words);
	n += async_with(la, words + n);
	words[n++] = fake_obj(&F, F.t_object, 16);
	fb[2] = frame_of(code, 0, NULL, n, words);
	fb[1] = frame_of(aenter, 1, (uint64_t[]){la}, 0, NULL);
	fb[0] = frame_of(acquire, 1, (uint64_t[]){la}, 0, NULL);
	{
		static const char *const fns[] = {"Lock.acquire", "_ContextManagerMixin.__aenter__",
						  "transfer"};

		add_task(3, fns, fa);
		add_task(3, fns, fb);
	}
	waits_for(0, lb, lb, "Lock");
	waits_for(1, la, la, "Lock");
	ck_assert_ptr_null(adbg_asyncio_lock_holders(S, &SNAP));
	holders_are(0, 1, (size_t[]){1}, "async with");
	holders_are(1, 1, (size_t[]){0}, "async with");
	ck_assert_uint_eq(SNAP.nlock_edges, 2);
	ck_assert_uint_eq(adbg_asyncio_lock_waiters(&SNAP, SNAP.tasks[0].id, &le), 1);
	ck_assert_uint_eq(le->waiter, SNAP.tasks[1].id);
	ck_assert_uint_eq(le->lock, la);
	teardown();
}
END_TEST

/*
 * A lock taken with acquire(): named when exactly one task (not a waiter) has it in a local
 * of a frame whose code calls `acquire`; unknown when two could have; a free lock is free.
 */
START_TEST(test_acquire_and_unknown)
{
	static const char *const LOCK[] = {"lock", NULL};
	static const char *const CALLS[] = {"acquire", "release", NULL};
	static const char *const fns[] = {"Lock.acquire", "holder"};
	uint64_t lock, free_lock, holder_code, creator_code, acquire, f0, f1, f2, f3;

	setup(_i);
	lock = new_lock(true);
	free_lock = new_lock(false);
	holder_code = code_of(LOCK, CALLS);
	creator_code = code_of(LOCK, NULL); // refers to it, never calls acquire
	acquire = code_of(SELF, NULL);
	f0 = frame_of(holder_code, 1, (uint64_t[]){lock}, 0, NULL);
	f1 = frame_of(creator_code, 1, (uint64_t[]){lock}, 0, NULL);
	f2 = frame_of(acquire, 1, (uint64_t[]){lock}, 0, NULL);
	f3 = frame_of(holder_code, 1, (uint64_t[]){lock}, 0, NULL); // the waiter's own caller
	add_task(1, fns + 1, &f0);
	add_task(1, fns + 1, &f1);
	add_task(2, fns, (uint64_t[]){f2, f3});
	waits_for(2, lock, lock, "Lock");
	f2 = frame_of(acquire, 1, (uint64_t[]){free_lock}, 0, NULL);
	add_task(1, fns, &f2);
	waits_for(3, free_lock, free_lock, "Lock");
	ck_assert_ptr_null(adbg_asyncio_lock_holders(S, &SNAP));
	holders_are(2, 1, (size_t[]){0}, "acquire");
	holders_are(3, 0, NULL, NULL);
	ck_assert_str_eq(SNAP.waits[1].held_unknown,
			 "nobody: it is free (a waiter was woken and has not run yet)");
	teardown();

	// A second task whose code calls acquire and refers to the lock: ambiguous.
	setup(_i);
	lock = new_lock(true);
	holder_code = code_of(LOCK, CALLS);
	acquire = code_of(SELF, NULL);
	f0 = frame_of(holder_code, 1, (uint64_t[]){lock}, 0, NULL);
	f1 = frame_of(holder_code, 1, (uint64_t[]){lock}, 0, NULL);
	f2 = frame_of(acquire, 1, (uint64_t[]){lock}, 0, NULL);
	add_task(1, fns + 1, &f0);
	add_task(1, fns + 1, &f1);
	add_task(1, fns, &f2);
	waits_for(2, lock, lock, "Lock");
	ck_assert_ptr_null(adbg_asyncio_lock_holders(S, &SNAP));
	holders_are(2, 0, NULL, NULL);
	ck_assert_ptr_nonnull(strstr(SNAP.waits[0].held_unknown, "more than one"));
	ck_assert_uint_eq(SNAP.nlock_edges, 0);
	teardown();
}
END_TEST

/* A Semaphore with two holders inside `async with` it; a holder in Condition.wait is not. */
START_TEST(test_semaphore_and_condition)
{
	static const char *const fns[] = {"holder"};
	static const char *const wfns[] = {"Condition.wait", "holder"};
	uint64_t sem, words[2], code, f[3], waitcode, fw;
	size_t n;

	setup(_i);
	code = code_of(NOLOCALS, NULL);
	sem = fake_instance(&F, t_sem, 1, 1, (uint8_t[]){0}, (uint64_t[]){fake_int(&F, 0)}, 0);
	for (size_t i = 0; i < 3; i++) {
		n = async_with(sem, words);
		f[i] = frame_of(code, 0, NULL, n, words);
	}
	add_task(1, fns, &f[0]);
	add_task(1, fns, &f[1]);
	// The third is inside `async with sem` but waits in Condition.wait of it: released.
	waitcode = code_of(SELF, NULL);
	fw = frame_of(waitcode, 1, (uint64_t[]){sem}, 0, NULL);
	add_task(2, wfns, (uint64_t[]){fw, f[2]});
	add_task(0, NULL, NULL);
	waits_for(3, sem, sem, "Semaphore");
	ck_assert_ptr_null(adbg_asyncio_lock_holders(S, &SNAP));
	holders_are(3, 2, (size_t[]){0, 1}, "async with");
	teardown();
}
END_TEST

/* A __slots__ attribute, through the member descriptor of a base class's dict. */
START_TEST(test_slot)
{
	uint64_t t_descr, def, descr, keys, dict, base, derived, obj, v = 0;
	struct adbg_error *err;

	setup(_i);
	F.l.type_object.tp_dict = 264;
	F.l.member_descr.d_member = 40;
	F.l.member_descr.type = 8;
	F.l.member_descr.offset = 16;
	S->python->layout = F.l;
	t_descr = fake_type(&F, "member_descriptor", 0, F.t_object, 48, 0);
	def = fake_alloc(&F, 40);
	fake_w32(&F, def + 8, 16); // Py_T_OBJECT_EX
	fake_w64(&F, def + 16, 24);
	descr = fake_obj(&F, t_descr, 48);
	fake_w64(&F, descr + 40, def);
	keys = fake_str(&F, "_when");
	dict = fake_dict_pairs(&F, false, 1, (uint64_t[]){keys}, (uint64_t[]){descr});
	base = fake_type(&F, "Handle", TPF_HEAPTYPE, F.t_object, 40, 0);
	fake_w64(&F, base + 264, dict);
	derived = fake_type(&F, "TimerHandle", TPF_HEAPTYPE, base, 40, 0);
	obj = fake_obj(&F, derived, 40);
	fake_w64(&F, obj + 24, fake_float(&F, 12.5));
	ck_assert_ptr_null(adbg_obj_slot(S->target, &S->python->layout, obj, "_when", &v));
	ck_assert_uint_eq(v, fake_r64(&F, obj + 24));
	err = adbg_obj_slot(S->target, &S->python->layout, obj, "_args", &v);
	ck_assert(adbg_error_is(err, ADBG_ERR_NOT_FOUND));
	adbg_error_destroy(err);
	fake_w64(&F, obj + 24, 0);
	err = adbg_obj_slot(S->target, &S->python->layout, obj, "_when", &v);
	ck_assert(adbg_error_is(err, ADBG_ERR_NOT_FOUND));
	adbg_error_destroy(err);
	fake_w64(&F, def + 16, 1 << 20); // an offset no slot has
	fake_w64(&F, obj + 24, fake_float(&F, 12.5));
	err = adbg_obj_slot(S->target, &S->python->layout, obj, "_when", &v);
	ck_assert(adbg_error_is(err, ADBG_ERR_BAD_DATA));
	adbg_error_destroy(err);
	teardown();
}
END_TEST

/*
 * Garbage where frames and classes should be: a stack top below the locals or far above
 * them, a negative or huge local count, a frame in unmapped memory, a class that is its own
 * base. Nothing is named, nothing hangs, nothing is read out of bounds.
 */
START_TEST(test_hostile)
{
	static const char *const fns[] = {"holder", "holder", "holder", "holder"};
	uint64_t lock, words[2], code, bad_code, f[4], t_loop, obj, v = 0;
	struct adbg_error *err;
	size_t n;

	setup(_i);
	lock = new_lock(true);
	code = code_of(NOLOCALS, NULL);
	n = async_with(lock, words);
	f[0] = frame_of(code, 0, NULL, n, words);
	// stack top below the locals / far beyond them
	if (F.minor >= 14) {
		fake_w64(&F, f[0] + FRAME_STACKPOINTER, f[0]);
	} else {
		fake_w32(&F, f[0] + FRAME_STACKPOINTER, (uint32_t)-5);
	}
	f[1] = frame_of(code, 0, NULL, n, words);
	if (F.minor >= 14)
		fake_w64(&F, f[1] + FRAME_STACKPOINTER, f[1] + LOCALSPLUS + (8u << 20));
	else
		fake_w32(&F, f[1] + FRAME_STACKPOINTER, 1u << 30);
	bad_code = code_of(NOLOCALS, NULL);
	fake_w32(&F, bad_code + CODE_NLOCALSPLUS, (uint32_t)-3);
	f[2] = frame_of(bad_code, 0, NULL, n, words);
	f[3] = FAKE_UNMAPPED;
	add_task(4, fns, f);
	add_task(0, NULL, NULL);
	waits_for(1, lock, lock, "Lock");
	ck_assert_ptr_null(adbg_asyncio_lock_holders(S, &SNAP));
	holders_are(1, 0, NULL, NULL);
	teardown();

	// A class that is its own base, without the slot: the walk stops.
	setup(_i);
	F.l.type_object.tp_dict = 264;
	S->python->layout = F.l;
	t_loop = fake_type(&F, "Loop", TPF_HEAPTYPE, 0, 40, 0);
	fake_w64(&F, t_loop + F.l.type_object.tp_base, t_loop);
	fake_w64(&F, t_loop + 264, fake_dict_pairs(&F, false, 0, NULL, NULL));
	obj = fake_obj(&F, t_loop, 40);
	err = adbg_obj_slot(S->target, &S->python->layout, obj, "_when", &v);
	ck_assert(adbg_error_is(err, ADBG_ERR_NOT_FOUND));
	adbg_error_destroy(err);
	teardown();
}
END_TEST

/* A heap class whose __slots__ are names[i] at offset 16 + 8 * i (a dict of member
 * descriptors in its tp_dict). */
static uint64_t slots_type(const char *name, size_t n, const char *const *names)
{
	uint64_t t_descr = fake_type(&F, "member_descriptor", 0, F.t_object, 48, 0), keys[8],
		 vals[8], type;

	for (size_t i = 0; i < n; i++) {
		uint64_t def = fake_alloc(&F, 40), descr = fake_obj(&F, t_descr, 48);

		fake_w32(&F, def + 8, 16);
		fake_w64(&F, def + 16, 16 + 8 * i);
		fake_w64(&F, descr + 40, def);
		keys[i] = fake_str(&F, names[i]);
		vals[i] = descr;
	}
	type = fake_type(&F, name, TPF_HEAPTYPE, F.t_object, 16 + 8 * n, 0);
	fake_w64(&F, type + 264, fake_dict_pairs(&F, false, n, keys, vals));
	return type;
}

static uint64_t managed(const char *type, const char *key, uint64_t value)
{
	uint64_t t = fake_managed_type(&F, type,
				       fake_keys(&F, 2, 1, (uint64_t[]){fake_str(&F, key)}, NULL));

	return fake_instance(&F, t, 1, 1, (uint8_t[]){0}, (uint64_t[]){value}, 0);
}

/*
 * Deadlines from the loop's timers: a sleep's (its future is what the task waits on), a
 * Timeout's (its _task), a cancelled one (ignored), the earliest of two; a core's `now` is
 * the end_time of the loop's _run_once.
 */
START_TEST(test_deadlines)
{
	static const char *const handle_slots[] = {"_when", "_callback", "_args", "_cancelled"};
	static const char *const run_once_locals[] = {"self", "timeout", "end_time", NULL};
	static const char *const fns[] = {"Event.wait", "wait_for"};
	uint64_t t_handle, loop, fut, fut2, sleep_cb, method, timeout, heap[4], frame, code;
	struct adbg_task *t0, *t1, *t2;
	struct adbg_pythread th = {0};
	struct adbg_runtime_snapshot rt = {.threads = &th, .nthreads = 1};
	struct adbg_frame fr = {.function = "BaseEventLoop._run_once",
				.file = "base_events.py",
				.line = 1,
				.kind = ADBG_FRAME_PYTHON};
	const struct adbg_wait_detail *w;

	setup(_i);
	F.l.type_object.tp_dict = 264;
	F.l.member_descr.d_member = 40;
	F.l.member_descr.type = 8;
	F.l.member_descr.offset = 16;
	S->python->layout = F.l;
	fut = fake_obj(&F, F.t_object, 16);
	fut2 = fake_obj(&F, F.t_object, 16);
	t_handle = slots_type("TimerHandle", 4, handle_slots);
	sleep_cb = fake_obj(&F, t_function, 128);
	fake_w64(&F, sleep_cb + FUNC_QUALNAME, fake_str(&F, "_set_result_unless_cancelled"));
	t0 = add_task(0, NULL, NULL);
	t1 = add_task(2, fns, (uint64_t[]){fake_alloc(&F, 64), fake_alloc(&F, 64)});
	t2 = add_task(0, NULL, NULL);
	timeout = managed("Timeout", "_task", SNAP.tasks[1].id);
	method = fake_obj(&F, t_method, 48);
	fake_w64(&F, method + 16, aexit_fn);
	fake_w64(&F, method + 24, timeout);
	for (size_t i = 0; i < 4; i++)
		heap[i] = fake_obj(&F, t_handle, 48);
	// sleep (130.5), the Timeout (140.25), a later sleep of the same future, a cancelled one
	fake_w64(&F, heap[0] + 16, fake_float(&F, 130.5));
	fake_w64(&F, heap[0] + 24, sleep_cb);
	fake_w64(&F, heap[0] + 32, fake_tuple(&F, 2, (uint64_t[]){fut, F.none}));
	fake_w64(&F, heap[0] + 40, F.false_);
	fake_w64(&F, heap[1] + 16, fake_float(&F, 140.25));
	fake_w64(&F, heap[1] + 24, method);
	fake_w64(&F, heap[1] + 32, fake_tuple(&F, 0, NULL));
	fake_w64(&F, heap[1] + 40, F.false_);
	fake_w64(&F, heap[2] + 16, fake_float(&F, 150.0));
	fake_w64(&F, heap[2] + 24, sleep_cb);
	fake_w64(&F, heap[2] + 32, fake_tuple(&F, 1, (uint64_t[]){fut}));
	fake_w64(&F, heap[2] + 40, F.false_);
	fake_w64(&F, heap[3] + 16, fake_float(&F, 110.0));
	fake_w64(&F, heap[3] + 24, sleep_cb);
	fake_w64(&F, heap[3] + 32, fake_tuple(&F, 1, (uint64_t[]){fut2}));
	fake_w64(&F, heap[3] + 40, F.true_);
	loop = managed("_UnixSelectorEventLoop", "_scheduled", fake_list(&F, 4, heap));
	t0 = &SNAP.tasks[0];
	t1 = &SNAP.tasks[1];
	t2 = &SNAP.tasks[2];
	for (size_t i = 0; i < 3; i++) {
		SNAP.tasks[i].loop = loop;
		SNAP.tasks[i].has_waiting_on = true;
	}
	t0->waiting_on.id = fut;
	t1->waiting_on.id = fake_obj(&F, F.t_object, 16);
	t2->waiting_on.id = fut2;
	code = code_of(run_once_locals, NULL);
	frame = frame_of(code, 3, (uint64_t[]){loop, fake_float(&F, 5.0), fake_float(&F, 100.25)},
			 0, NULL);
	fr.addr = frame;
	ck_assert_ptr_null(adbg_stack_push(&th.stack, &fr));
	ck_assert_ptr_null(adbg_asyncio_waits(S, &SNAP, &rt));
	ck_assert(SNAP.has_now);
	ck_assert_str_eq(SNAP.now_source, "loop");
	ck_assert(SNAP.now == 100.25);
	w = adbg_asyncio_wait(&SNAP, t0);
	ck_assert_ptr_nonnull(w);
	ck_assert(w->has_deadline && w->left_known);
	ck_assert(w->when == 130.5 && w->left == 30.25);
	ck_assert_str_eq(w->deadline_via, "sleep");
	w = adbg_asyncio_wait(&SNAP, t1);
	ck_assert_ptr_nonnull(w);
	ck_assert(w->when == 140.25);
	// A Timeout inside wait_for (3.12+'s wait_for).
	ck_assert_str_eq(w->deadline_via, "wait_for");
	ck_assert_ptr_null(adbg_asyncio_wait(&SNAP, t2));
	adbg_stack_deinit(&th.stack);
	teardown();
}
END_TEST

static Suite *locks_suite(void)
{
	Suite *s = suite_create("asyncio_locks");
	TCase *tc = tcase_create("fake");

	tcase_add_loop_test(tc, test_deadlock, 0, NMINORS);
	tcase_add_loop_test(tc, test_acquire_and_unknown, 0, NMINORS);
	tcase_add_loop_test(tc, test_semaphore_and_condition, 0, NMINORS);
	tcase_add_loop_test(tc, test_slot, 0, NMINORS);
	tcase_add_loop_test(tc, test_hostile, 0, NMINORS);
	tcase_add_loop_test(tc, test_deadlines, 0, NMINORS);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(locks_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
