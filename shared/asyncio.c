// SPDX-License-Identifier: MIT
// Reading asyncio tasks, loops and the await graph out of a frozen target (see asyncio.h).
#include "asyncio.h"
#include "asyncio_waits.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asyncio_edges.h"
#include "codecache.h"
#include "hugemem.h"
#include "prefault.h"
#include "prefetch.h"
#include "objects.h"
#include "sort.h"
#include "trio.h"

// Coroutines awaiting coroutines: of deeper chains, the innermost this many frames are kept
// and the outer ones counted, up to MAX_CORO_WALK links (then the chain is taken to be
// garbage: a real one cannot loop).
#define MAX_CORO_DEPTH 256
#define MAX_CORO_WALK (MAX_CORO_DEPTH + ADBG_MAX_UNSHOWN_FRAMES)
// Children of one gather or TaskGroup read at most.
#define MAX_CHILDREN 65536
// Longest task name or cancel message kept.
#define MAX_NAME 256
// Task records from which a thread faults their pages in ahead (8 MiB: 60 000 tasks; a
// watch's samples stay far below), and how far ahead (4 huge pages: filling them takes the
// thread about 1 ms, the reader about 60 ms).
#define PREFAULT_FROM ((size_t)8 << 20)
#define PREFAULT_AHEAD ((size_t)8 << 20)
// Frames of the pool's first chunk (4 MiB, malloc'd), of each next one (32 MiB, mapped
// and faulted in ahead), and how far ahead.
#define POOL_FIRST ((size_t)1 << 17)
#define POOL_NEXT ((size_t)1 << 20)
#define POOL_AHEAD ((size_t)4 << 20)

/* What the readers need to know of a type, looked up once per type per snapshot. */
struct type_info {
	uint64_t type;
	const char *name; // interned
	bool coroutine_like; // coroutine, generator, async_generator: walk into it
	bool is_task; // _asyncio.Task or a subclass
	bool is_py_task; // asyncio.tasks._PyTask (the pure-Python Task) or a subclass
	bool gathering; // has gather()'s _children (a _GatheringFuture)
	// async_generator_asend/athrow: `async for` awaits one of these, whose first field
	// after the object header is the async generator (Objects/genobject.c, 3.11-3.15)
	bool agen_wrapper;
};

// Distinct types seen in one snapshot: a handful in practice; the cache is a small
// direct-mapped table, a miss only costs a re-lookup.
#define TYPE_CACHE 256

// What derive_edges looks for in a frame's function name, classified once per name: the
// names come from the code cache, one string per code object, so a million tasks
// suspended in Event.wait give one pointer (comparing the strings was 2-3 % of a
// million-task snapshot).
#define FN_CACHE 64
enum {
	FN_WAIT_FOR = 1, // wait_for
	FN_GROUP_EXIT = 2, // TaskGroup._aexit (3.12+) or TaskGroup.__aexit__ (3.11)
};
struct fn_class {
	const char *fn; // NULL: empty
	uint8_t flags;
	const char *known; // the name's entry in derive_edges' known waits, or NULL
};

struct reader {
	struct type_info types[TYPE_CACHE];
	struct fn_class fns[FN_CACHE];
	struct adbg_session *s;
	const struct adbg_layout *l;
	struct adbg_asyncio_snapshot *snap;
	unsigned flags;
	struct adbg_runtime_snapshot rt;
	// type objects, 0 when not found
	uint64_t task_type;
	uint64_t py_task_type;
	uint64_t future_type;
	uint64_t set_dummy;
	bool warned_cap;
	// Frames of all task stacks, allocated in chunks (a million tasks, a few frames
	// each: one malloc per task would dominate the snapshot).
	struct adbg_frame *pool;
	size_t pool_left;
	// the pool's current chunk, and what faults its pages in ahead (NULL: none)
	struct adbg_frame *pool_base;
	struct adbg_prefault *pool_prefault;
	// Edges read while visiting a task, whose other end may not be discovered yet:
	// resolved once discovery is over, in the order they were read.
	struct pending_edge *pending;
	size_t npending, pending_cap;
	// faults in the pages of the task records ahead of add_task (NULL: none)
	struct adbg_prefault *prefault;
	// what each task waits on in detail, and its done-callbacks, read as it is visited
	// (NULL: not wanted)
	struct adbg_aio_waits *waits;
	struct adbg_aio_edges *edges;
};

struct pending_edge {
	uint64_t awaited;
	// the waiter's address, with FUT_WAITER_EDGE set when the waiter's _fut_waiter is
	// `awaited` (if that is a task, the waiter is waiting on it); objects are aligned,
	// so bit 0 is free
	uint64_t waiter;
};

#define FUT_WAITER_EDGE 1u

/* What visiting a task needs beyond the public record. */
struct task_raw {
	uint64_t coro;
	uint64_t fut_waiter;
};

const char *adbg_task_state_name(enum adbg_task_state st)
{
	switch (st) {
	case ADBG_TASK_PENDING:
		return "pending";
	case ADBG_TASK_CANCELLED:
		return "cancelled";
	case ADBG_TASK_FINISHED:
		return "finished";
	}
	return "?";
}

static uint32_t tag_of(uint64_t id)
{
	return (uint32_t)(id >> 4) | 1u;
}

static size_t hash_id(uint64_t id, size_t size)
{
	// Fibonacci hashing: the top bits of the product are the well-mixed ones.
	return (size_t)(((id >> 4) * 0x9e3779b97f4a7c15ull) >> (64 - __builtin_ctzll(size)));
}

struct adbg_task *adbg_asyncio_find(const struct adbg_asyncio_snapshot *snap, uint64_t id)
{
	// A snapshot made by hand (tests) has no index: look at each task.
	for (size_t i = 0; !snap->index_size && id && i < snap->ntasks; i++)
		if (snap->tasks[i].id == id)
			return &snap->tasks[i];
	if (!snap->index_size || !id)
		return NULL;
	for (size_t i = hash_id(id, snap->index_size); snap->index[i].pos;
	     i = (i + 1) & (snap->index_size - 1))
		if (snap->index[i].tag == tag_of(id) &&
		    snap->tasks[snap->index[i].pos - 1].id == id)
			return &snap->tasks[snap->index[i].pos - 1];
	return NULL;
}

/*
 * At a million tasks the index is 16 MiB, and the first probe of each add_task missed
 * every cache (most of its time): walks call this a task ahead, while the task before it
 * is visited.
 */
void adbg_asyncio_find_prefetch(const struct adbg_asyncio_snapshot *snap, uint64_t id)
{
	if (snap->index_size)
		adbg_prefetch(&snap->index[hash_id(id, snap->index_size)]);
}

static ADBG_MUST_CHECK struct adbg_error *index_grow(struct adbg_asyncio_snapshot *snap)
{
	size_t n = snap->index_size ? snap->index_size * 2 : 1024;
	struct adbg_task_slot *idx = calloc(n, sizeof(*idx));

	if (!idx)
		return &adbg_error_nomem;
	adbg_advise_huge(idx, n * sizeof(*idx));
	for (size_t k = 0; k < snap->ntasks; k++) {
		size_t i = hash_id(snap->tasks[k].id, n);

		while (idx[i].pos)
			i = (i + 1) & (n - 1);
		idx[i] = (struct adbg_task_slot){.pos = (uint32_t)(k + 1),
						 .tag = tag_of(snap->tasks[k].id)};
	}
	free(snap->index);
	snap->index = idx;
	snap->index_size = n;
	return NULL;
}

/* Add a task id; *ret is NULL when it was already known (or beyond the cap). */
static ADBG_MUST_CHECK struct adbg_error *add_task(struct reader *r, uint64_t id,
						   struct adbg_task **ret)
{
	struct adbg_asyncio_snapshot *snap = r->snap;
	struct adbg_task *t;
	size_t i;

	*ret = NULL;
	if (!id)
		return NULL;
	if ((snap->ntasks + 1) * 2 > snap->index_size) {
		struct adbg_error *err = index_grow(snap);

		if (err)
			return err;
	}
	// One probe sequence answers "known?" and gives the free slot.
	for (i = hash_id(id, snap->index_size); snap->index[i].pos;
	     i = (i + 1) & (snap->index_size - 1))
		if (snap->index[i].tag == tag_of(id) &&
		    snap->tasks[snap->index[i].pos - 1].id == id)
			return NULL;
	if (snap->ntasks >= ADBG_MAX_TASKS) {
		if (!r->warned_cap)
			adbg_session_warn(r->s, "more than %u tasks; the rest are not shown",
					  ADBG_MAX_TASKS);
		r->warned_cap = true;
		return NULL;
	}
	if ((snap->ntasks + 1) * sizeof(*t) > snap->tasks_bytes) {
		void *p = snap->tasks;

		// A large snapshot: room for the cap at once (address space; only what is
		// touched counts), so that the records never move and a thread can fault
		// their pages in ahead (prefault.h). Else, or if that fails, doubling.
		if (!r->prefault && (snap->ntasks + 1) * sizeof(*t) > PREFAULT_FROM &&
		    adbg_huge_grow(&p, &snap->tasks_bytes, (size_t)ADBG_MAX_TASKS * sizeof(*t))) {
			snap->tasks = p;
			r->prefault = adbg_prefault_start(
				p, snap->tasks_bytes, snap->ntasks * sizeof(*t), PREFAULT_AHEAD);
		} else if (!adbg_huge_grow(&p, &snap->tasks_bytes,
					   (snap->ntasks + 1) * sizeof(*t))) {
			return &adbg_error_nomem;
		}
		snap->tasks = p;
	}
	t = &snap->tasks[snap->ntasks];
	memset(t, 0, sizeof(*t));
	t->id = id;
	snap->index[i] =
		(struct adbg_task_slot){.pos = (uint32_t)++snap->ntasks, .tag = tag_of(id)};
	adbg_prefault_used(r->prefault, snap->ntasks * sizeof(*t));
	*ret = t;
	return NULL;
}

static const struct type_info *type_of(struct reader *r, uint64_t obj);

static ADBG_MUST_CHECK struct adbg_error *rd_ptr(struct reader *r, uint64_t addr, uint64_t *ret)
{
	return adbg_read_u64(r->s->target, addr, ret);
}

/* A str of the target, interned; *truncated_ret (may be NULL) says it was cut at MAX_NAME. */
static const char *intern_str(struct reader *r, uint64_t obj, bool *truncated_ret)
{
	const char *interned;
	char *text;
	struct adbg_error *err =
		adbg_obj_str(r->s->target, r->l, obj, MAX_NAME, &text, truncated_ret);

	if (err) {
		adbg_error_destroy(err);
		return NULL;
	}
	interned = adbg_snapshot_strdup(r->s, text);
	free(text);
	return interned;
}

/*
 * The task name: 3.12+ keeps the counter as an int until get_name() is called
 * (Modules/_asynciomodule.c, TaskObj_get_name), so an int means "Task-<n>".
 */
static const char *task_name(struct reader *r, uint64_t name_obj, bool *truncated_ret)
{
	char buf[48];
	int64_t n;
	struct adbg_obj_class c;
	struct adbg_error *err;

	if (!name_obj)
		return NULL;
	// Most names are strs: not tried as an int first (a failed read makes an error).
	err = adbg_obj_classify(r->s->target, r->l, name_obj, &c);
	if (!err && c.kind == ADBG_OBJ_STR)
		return intern_str(r, name_obj, truncated_ret);
	adbg_error_destroy(err);
	err = adbg_obj_int(r->s->target, r->l, name_obj, &n);
	if (!err) {
		snprintf(buf, sizeof(buf), "Task-%" PRId64, n);
		return adbg_snapshot_strdup(r->s, buf);
	}
	adbg_error_destroy(err);
	return intern_str(r, name_obj, truncated_ret);
}

static const struct type_info *type_of(struct reader *r, uint64_t obj)
{
	static const struct type_info unknown = {.name = "?"};
	struct type_info *ti;
	uint64_t type;
	char *name;
	struct adbg_error *err = adbg_obj_type(r->s->target, r->l, obj, &type);

	if (err) {
		adbg_error_destroy(err);
		return &unknown;
	}
	ti = &r->types[(type >> 4) % TYPE_CACHE];
	if (ti->type == type && type)
		return ti;
	err = adbg_obj_type_name(r->s->target, r->l, obj, &name);
	if (err) {
		adbg_error_destroy(err);
		return &unknown;
	}
	memset(ti, 0, sizeof(*ti));
	ti->type = type;
	ti->name = adbg_snapshot_strdup(r->s, name);
	if (!ti->name)
		ti->name = "?";
	ti->coroutine_like = strcmp(name, "coroutine") == 0 || strcmp(name, "generator") == 0 ||
			     strcmp(name, "async_generator") == 0;
	ti->gathering = strcmp(name, "_GatheringFuture") == 0;
	ti->agen_wrapper = strcmp(name, "async_generator_asend") == 0 ||
			   strcmp(name, "async_generator_athrow") == 0;
	free(name);
	if (r->task_type) {
		bool yes = false;

		err = adbg_obj_is_subtype(r->s->target, r->l, type, r->task_type, &yes);
		ti->is_task = !err && yes;
		adbg_error_destroy(err);
	}
	if (r->py_task_type && !ti->is_task) {
		bool yes = false;

		err = adbg_obj_is_subtype(r->s->target, r->l, type, r->py_task_type, &yes);
		ti->is_py_task = !err && yes;
		adbg_error_destroy(err);
	}
	return ti;
}

/* A Task: native (or a subclass) or pure-Python (or a subclass). */
static bool is_any_task(struct reader *r, uint64_t obj)
{
	const struct type_info *ti;

	if (!obj)
		return false;
	ti = type_of(r, obj);
	return ti->is_task || ti->is_py_task;
}

static bool is_coroutine_like(struct reader *r, uint64_t obj)
{
	return type_of(r, obj)->coroutine_like;
}

static const char *intern_type_name(struct reader *r, uint64_t obj)
{
	return type_of(r, obj)->name;
}

/*
 * What a suspended generator frame awaits: the top of its value stack (3.11-3.13
 * localsplus[stacktop-1], 3.14 stackpointer[-1], 3.15 stackpointer[-2]; see
 * docs/design.md §3). 0 when it awaits nothing we can see.
 */
static uint64_t awaited_object(struct reader *r, uint64_t iframe)
{
	const struct adbg_layout *l = r->l;
	uint64_t top = 0, obj = 0;
	struct adbg_error *err;

	if (l->interpreter_frame.stack_kind == ADBG_STACK_POINTER) {
		uint64_t sp;

		err = rd_ptr(r, iframe + l->interpreter_frame.stackpointer, &sp);
		if (err || !sp)
			goto none;
		top = sp - 8ull * (l->interpreter_frame.awaited_depth
					   ? l->interpreter_frame.awaited_depth
					   : 1);
	} else {
		uint32_t stacktop;

		err = adbg_read_u32(r->s->target, iframe + l->interpreter_frame.stackpointer,
				    &stacktop);
		if (err || (int32_t)stacktop <= 0 || stacktop > 1u << 20)
			goto none;
		top = iframe + l->interpreter_frame.localsplus + 8ull * (stacktop - 1);
	}
	err = rd_ptr(r, top, &obj);
	if (err)
		goto none;
	obj &= ~l->stackref_tag_mask;
	return obj;
none:
	adbg_error_destroy(err);
	return 0;
}

/*
 * A chunk of the frame pool of `size` frames after its header, chained to the snapshot's:
 * the first from malloc (most snapshots need no other), the next ones mapped on their own
 * with a thread faulting their pages in ahead (prefault.h), as for the task records.
 */
static struct adbg_frame *pool_chunk(struct reader *r, size_t size, bool mapped)
{
	size_t bytes = sizeof(struct adbg_frame) * (size + 1);
	struct adbg_frame *c;

	if (mapped) {
		void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
			       0);

		c = p == MAP_FAILED ? NULL : p;
		if (c)
			(void)madvise(c, bytes, MADV_HUGEPAGE);
	} else {
		c = malloc(bytes);
		adbg_advise_huge(c, bytes);
	}
	if (!c)
		return NULL;
	// The header: the next chunk in addr, and in line the frames of a mapped chunk
	// (0: malloc'd), for adbg_asyncio_snapshot_deinit.
	memset(c, 0, sizeof(*c));
	c[0].addr = (uint64_t)(uintptr_t)r->snap->frame_chunks;
	c[0].line = mapped ? (int)size : 0;
	r->snap->frame_chunks = c;
	adbg_prefault_stop(r->pool_prefault, (size_t)((char *)r->pool - (char *)r->pool_base));
	r->pool_prefault = NULL;
	r->pool_base = c;
	if (mapped)
		r->pool_prefault = adbg_prefault_start(c, bytes, sizeof(*c), POOL_AHEAD);
	return c;
}

/* n frames from the snapshot's frame pool (freed with the snapshot). */
static struct adbg_frame *pool_frames(struct reader *r, size_t n)
{
	struct adbg_frame *f;

	if (n > r->pool_left) {
		bool first = !r->snap->frame_chunks;
		size_t size = first ? POOL_FIRST : POOL_NEXT;
		struct adbg_frame *c;

		if (n > size)
			size = n;
		c = pool_chunk(r, size, !first);
		if (!c)
			return NULL;
		r->pool = c + 1;
		r->pool_left = size;
	}
	f = r->pool;
	r->pool += n;
	r->pool_left -= n;
	adbg_prefault_used(r->pool_prefault, (size_t)((char *)r->pool - (char *)r->pool_base));
	return f;
}

/*
 * A task's coroutine stack, innermost first: the coroutine's frame, then whatever
 * coroutine it awaits, recursively (each chain link is a separate coroutine object).
 * The chain is walked from the task's coroutine inwards, but what matters is its inner
 * end, where the task waits: the last MAX_CORO_DEPTH frames are kept (a ring), the outer
 * ones beyond them only counted (stack.omitted). The walk is capped and cycle-checked.
 */
static ADBG_MUST_CHECK struct adbg_error *coro_stack(struct reader *r, uint64_t coro,
						     struct adbg_stack *ret)
{
	const struct adbg_layout *l = r->l;
	struct adbg_frame ring[MAX_CORO_DEPTH];
	struct adbg_error *err = NULL;
	uint64_t mark = coro;
	size_t total = 0, kept, power = 1, lam = 0, steps;
	const char *cut = NULL;

	for (steps = 0; coro; steps++) {
		uint64_t iframe = coro + l->gen_object.gi_iframe, next;
		struct adbg_frame f = {0};
		uint8_t st;
		int8_t state;
		bool skip = false;

		if (steps == MAX_CORO_WALK) {
			cut = "does not end";
			break;
		}
		err = adbg_read_u8(r->s->target, coro + l->gen_object.gi_frame_state, &st);
		if (err)
			break;
		state = (int8_t)st;
		if (state == l->frame_state.cleared || state == l->frame_state.completed ||
		    state == l->frame_state.executing)
			break;
		err = adbg_frame_read(r->s, iframe, &f, &skip);
		if (err)
			break;
		if (!skip)
			ring[total++ % MAX_CORO_DEPTH] = f;
		if (state == l->frame_state.created)
			break;
		next = awaited_object(r, iframe);
		if (next && type_of(r, next)->agen_wrapper) {
			uint64_t agen = 0;

			// ags_gen / agt_gen: the async generator the wrapper drives.
			err = rd_ptr(r, next + l->pyobject.size, &agen);
			if (err)
				break;
			next = agen;
		}
		if (!next || next == coro || !is_coroutine_like(r, next))
			break;
		// Brent: garbage that loops comes back to a remembered coroutine.
		if (next == mark) {
			cut = "cycles";
			break;
		}
		if (++lam == power) {
			mark = next;
			power *= 2;
			lam = 0;
		}
		coro = next;
	}
	if (adbg_error_is(err, ADBG_ERR_NOMEM))
		return err;
	ret->truncated = false;
	if (err || cut) {
		if (err)
			adbg_session_warn_error(r->s,
						adbg_error_wrap(err, "coroutine %#" PRIx64, coro));
		else
			adbg_session_warn(r->s, "coroutine %#" PRIx64 ": the await chain %s; cut",
					  coro, cut);
		ret->truncated = true;
	}
	kept = total < MAX_CORO_DEPTH ? total : MAX_CORO_DEPTH;
	ret->n = kept;
	ret->omitted = (uint32_t)(total - kept);
	ret->frames = NULL;
	if (total > kept)
		ret->truncated = true;
	if (kept) {
		ret->frames = pool_frames(r, kept);
		if (!ret->frames)
			return &adbg_error_nomem;
		ret->pooled = true;
		// The ring holds the chain outermost first, its oldest entry at total % cap
		// once it wrapped; stacks are innermost first.
		for (size_t i = 0; i < kept; i++)
			ret->frames[i] = ring[(total - 1 - i) % MAX_CORO_DEPTH];
	}
	return NULL;
}

/* The coroutine's name: its code's qualname, via the frame's code object; NULL if unknown. */
static const char *coro_name(struct reader *r, uint64_t coro)
{
	const struct adbg_layout *l = r->l;
	const struct adbg_code_entry *ce;
	uint64_t code = 0;

	if (!coro || !is_coroutine_like(r, coro) ||
	    rd_ptr(r, coro + l->gen_object.gi_iframe + l->interpreter_frame.executable, &code))
		return NULL;
	code &= ~l->stackref_tag_mask;
	return adbg_ok(adbg_session_code(r->s, code, &ce)) ? ce->qualname : NULL;
}

/* Read the fields of a native (C) Task. */
static ADBG_MUST_CHECK struct adbg_error *read_native_task(struct reader *r, struct adbg_task *t,
							   struct task_raw *raw)
{
	const struct adbg_layout *l = r->l;
	const typeof(l->asyncio_task_object) *to = &l->asyncio_task_object;
	const typeof(l->asyncio_future_object) *fo = &l->asyncio_future_object;
	uint64_t id = t->id, name = 0, msg = 0;
	uint32_t state = 0, ncancel = 0;
	struct adbg_error *err;

	err = adbg_read_u32(r->s->target, id + fo->fut_state, &state);
	if (!err)
		err = rd_ptr(r, id + fo->fut_loop, &t->loop);
	if (!err)
		err = rd_ptr(r, id + to->task_coro, &raw->coro);
	if (!err)
		err = rd_ptr(r, id + to->task_fut_waiter, &raw->fut_waiter);
	if (!err)
		err = rd_ptr(r, id + to->task_name, &name);
	if (!err)
		err = adbg_read_u32(r->s->target, id + to->task_num_cancels_requested, &ncancel);
	if (!err)
		err = rd_ptr(r, id + fo->fut_cancel_msg, &msg);
	if (err)
		return adbg_error_wrap(err, "task %#" PRIx64, id);
	if (to->task_must_cancel_mask) {
		uint8_t bits;

		err = adbg_read_u8(r->s->target, id + to->task_must_cancel, &bits);
		t->cancel_requested = !err && (bits & to->task_must_cancel_mask);
	} else {
		uint32_t v;

		err = adbg_read_u32(r->s->target, id + to->task_must_cancel, &v);
		t->cancel_requested = !err && v;
	}
	adbg_error_destroy(err);
	if ((int)state == l->future_state.pending)
		t->state = ADBG_TASK_PENDING;
	else if ((int)state == l->future_state.cancelled)
		t->state = ADBG_TASK_CANCELLED;
	else if ((int)state == l->future_state.finished)
		t->state = ADBG_TASK_FINISHED;
	else
		return adbg_error_create(ADBG_ERR_BAD_DATA, "task %#" PRIx64 ": state %u", id,
					 state);
	t->cancel_count = (int)ncancel;
	t->cancelling = t->state == ADBG_TASK_PENDING && (ncancel > 0 || t->cancel_requested);
	t->name = task_name(r, name, &t->name_truncated);
	if (msg) {
		bool none = true;

		adbg_error_destroy(adbg_obj_is_none(r->s->target, l, msg, &none));
		if (!none)
			t->cancel_message = intern_str(r, msg, &t->cancel_message_truncated);
	}
	t->coro = coro_name(r, raw->coro);
	return NULL;
}

/*
 * A class attribute: in the dict of obj's type or of one of its bases (single inheritance,
 * as Lib/asyncio's Task and Future are); heap types keep their namespace in tp_dict.
 */
static ADBG_MUST_CHECK struct adbg_error *class_attr(struct reader *r, uint64_t obj,
						     const char *name, uint64_t *ret)
{
	const struct adbg_layout *l = r->l;
	struct adbg_error *err;
	uint64_t type = 0;

	err = adbg_obj_type(r->s->target, l, obj, &type);
	for (int depth = 0; !err && type && depth < 32; depth++) {
		uint64_t dict = 0;

		err = rd_ptr(r, type + l->type_object.tp_dict, &dict);
		if (!err && dict) {
			err = adbg_obj_dict_lookup_str(r->s->target, l, dict, name, ret);
			if (!err)
				return NULL;
			if (err->code != ADBG_ERR_NOT_FOUND)
				break;
			adbg_error_destroy(err);
			err = NULL;
		}
		if (!err)
			err = rd_ptr(r, type + l->type_object.tp_base, &type);
	}
	return err ? err : adbg_error_create(ADBG_ERR_NOT_FOUND, "no attribute %s", name);
}

/*
 * An attribute of a pure-Python object (its instance dict, else its class: Future keeps
 * defaults such as _state = 'PENDING' as class attributes); 0 when missing or None.
 */
static uint64_t py_attr(struct reader *r, uint64_t obj, const char *name)
{
	uint64_t v = 0;
	bool none = false;
	struct adbg_error *err = adbg_obj_getattr(r->s->target, r->l, obj, name, &v);

	if (adbg_error_is(err, ADBG_ERR_NOT_FOUND)) {
		adbg_error_destroy(err);
		err = class_attr(r, obj, name, &v);
	}
	if (!err)
		err = adbg_obj_is_none(r->s->target, r->l, v, &none);
	adbg_error_destroy(err);
	return err || none ? 0 : v;
}

/* An int (or bool) attribute of a pure-Python object; dflt when missing. */
static int64_t py_int_attr(struct reader *r, uint64_t obj, const char *name, int64_t dflt)
{
	uint64_t v = py_attr(r, obj, name);
	int64_t n = dflt;
	struct adbg_error *err = v ? adbg_obj_int(r->s->target, r->l, v, &n) : NULL;

	adbg_error_destroy(err);
	return err ? dflt : n;
}

/*
 * Read the fields of a pure-Python Task (Lib/asyncio/tasks.py and futures.py, 3.11-3.15:
 * _state is the string "PENDING", "CANCELLED" or "FINISHED"; the rest are plain
 * attributes of the instance dict).
 */
static ADBG_MUST_CHECK struct adbg_error *read_py_task(struct reader *r, struct adbg_task *t,
						       struct task_raw *raw)
{
	uint64_t state = py_attr(r, t->id, "_state");
	struct adbg_error *err;
	char *st = NULL;

	if (!state)
		return adbg_error_create(ADBG_ERR_BAD_DATA, "task %#" PRIx64 ": no _state", t->id);
	err = adbg_obj_str(r->s->target, r->l, state, 16, &st, NULL);
	if (err)
		return adbg_error_wrap(err, "task %#" PRIx64 ": _state", t->id);
	if (strcmp(st, "PENDING") == 0)
		t->state = ADBG_TASK_PENDING;
	else if (strcmp(st, "CANCELLED") == 0)
		t->state = ADBG_TASK_CANCELLED;
	else if (strcmp(st, "FINISHED") == 0)
		t->state = ADBG_TASK_FINISHED;
	else
		err = adbg_error_create(ADBG_ERR_BAD_DATA, "task %#" PRIx64 ": _state %.16s", t->id,
					st);
	free(st);
	if (err)
		return err;
	t->loop = py_attr(r, t->id, "_loop");
	raw->coro = py_attr(r, t->id, "_coro");
	raw->fut_waiter = py_attr(r, t->id, "_fut_waiter");
	t->name = task_name(r, py_attr(r, t->id, "_name"), &t->name_truncated);
	t->cancel_count = (int)py_int_attr(r, t->id, "_num_cancels_requested", 0);
	t->cancel_requested = py_int_attr(r, t->id, "_must_cancel", 0) != 0;
	t->cancelling =
		t->state == ADBG_TASK_PENDING && (t->cancel_count > 0 || t->cancel_requested);
	if (py_attr(r, t->id, "_cancel_message"))
		t->cancel_message = intern_str(r, py_attr(r, t->id, "_cancel_message"),
					       &t->cancel_message_truncated);
	t->coro = coro_name(r, raw->coro);
	return NULL;
}

static ADBG_MUST_CHECK struct adbg_error *visit_task(struct reader *r, struct adbg_task *t);

/* 3.14+: walk one circular task list (sentinel head node at head). */
static ADBG_MUST_CHECK struct adbg_error *walk_task_list(struct reader *r, uint64_t head, int tid)
{
	const struct adbg_layout *l = r->l;
	uint64_t node;
	struct adbg_error *err;
	size_t steps = 0;

	err = rd_ptr(r, head + l->llist_node.next, &node);
	if (err)
		return adbg_error_wrap(err, "task list %#" PRIx64, head);
	while (node && node != head) {
		uint64_t id = node - l->asyncio_task_object.task_node, ahead = 0;
		struct adbg_task *t;

		// The next task's index slot, while this one is visited (a failed read is
		// found again below).
		if (adbg_ok(rd_ptr(r, node + l->llist_node.next, &ahead)) && ahead && ahead != head)
			adbg_asyncio_find_prefetch(r->snap,
						   ahead - l->asyncio_task_object.task_node);
		if (++steps > ADBG_MAX_TASKS) {
			adbg_session_warn(r->s, "task list %#" PRIx64 " does not end; cut", head);
			break;
		}
		err = add_task(r, id, &t);
		if (err)
			return err;
		if (!t) {
			if (!r->warned_cap)
				adbg_session_warn(r->s, "task list %#" PRIx64 " cycles; cut", head);
			break;
		}
		t->thread = tid;
		// Now, while the task's memory is in the read cache.
		err = visit_task(r, t);
		if (err)
			return err;
		adbg_session_progress(r->s, "tasks", r->snap->ntasks);
		err = rd_ptr(r, node + l->llist_node.next, &node);
		if (err) {
			// A list that leads into memory that is not there any more: on a live
			// target, one changing as we read (the snapshot is read again).
			struct adbg_error *e = adbg_session_inconsistent(
				r->s, "task list", "task list %#" PRIx64 ": %s", head,
				err->message);

			adbg_error_destroy(err);
			adbg_session_warn_error(r->s, e);
			break;
		}
		if (adbg_session_interrupted(r->s))
			return adbg_error_create(ADBG_ERR_INTERRUPTED, "interrupted");
	}
	return NULL;
}

/*
 * Tasks held by a WeakSet (or set) of the asyncio.tasks module. An unreadable registry is
 * a warning; only running out of memory and Ctrl-C stop the snapshot.
 */
static ADBG_MUST_CHECK struct adbg_error *registry_tasks(struct reader *r, uint64_t interp,
							 const char *global, bool weak)
{
	struct adbg_obj_items items = {0};
	struct adbg_error *err;
	uint64_t obj, data;

	err = adbg_runtime_module_global(r->s, interp, "asyncio.tasks", global, &obj);
	if (err)
		goto out;
	if (weak) {
		// weakref.WeakSet keeps its weak references in the `data` set
		// (Lib/_weakrefset.py, 3.11-3.15).
		err = adbg_obj_getattr(r->s->target, r->l, obj, "data", &data);
		if (err)
			goto out;
		obj = data;
	}
	err = adbg_obj_set_items(r->s->target, r->l, obj, r->set_dummy, ADBG_MAX_TASKS, &items);
	if (err)
		goto out;
	if (items.truncated)
		adbg_session_warn(r->s, "asyncio.tasks.%s: more tasks than could be read", global);
	// A warm read needs a few tasks, not the sorting and weak references of a million.
	if (r->s->warming && items.n > ADBG_WARM_ITEMS)
		items.n = ADBG_WARM_ITEMS;
	// A set's table is in hash order, which scatters the reads over the whole heap and
	// makes every task a few cache misses. In address order, the weak references, then
	// the tasks (each allocated next to its coroutine and frames), are read as the
	// 3.14 list walk reads them: one block brings many.
	adbg_sort_u64(items.items, items.n);
	if (weak) {
		size_t n = 0;
		uint64_t ref_type = 0; // the type of the first well-formed weak reference

		for (size_t i = 0; i < items.n; i++) {
			uint64_t task = 0, type = 0;
			struct adbg_error *e =
				adbg_obj_type(r->s->target, r->l, items.items[i], &type);

			// One checked weak reference vouches for the others of its type: theirs
			// is just the referent field (a dead one's None is no task, and dropped
			// below like any other non-task).
			if (!e && type && type == ref_type)
				e = rd_ptr(r, items.items[i] + r->l->weakref_object.wr_object,
					   &task);
			else if (!e)
				e = adbg_obj_weakref_referent(r->s->target, r->l, items.items[i],
							      &task);
			if (!e && task && !ref_type)
				ref_type = type;
			adbg_error_destroy(e);
			if (!e && task)
				items.items[n++] = task;
			if ((i & 1023) == 1023 && adbg_session_interrupted(r->s)) {
				err = adbg_error_create(ADBG_ERR_INTERRUPTED, "interrupted");
				goto out;
			}
		}
		items.n = n;
		adbg_sort_u64(items.items, items.n);
	}
	for (size_t i = 0; i < items.n; i++) {
		uint64_t task = items.items[i];
		struct adbg_task *t;

		if (i + 1 < items.n)
			adbg_asyncio_find_prefetch(r->snap, items.items[i + 1]);
		if (!is_any_task(r, task))
			continue;
		err = add_task(r, task, &t);
		if (!err && t)
			err = visit_task(r, t);
		if (err)
			goto out;
		adbg_session_progress(r->s, "tasks", r->snap->ntasks);
		if (adbg_session_interrupted(r->s)) {
			err = adbg_error_create(ADBG_ERR_INTERRUPTED, "interrupted");
			goto out;
		}
	}
out:
	adbg_obj_items_deinit(&items);
	if (adbg_error_is(err, ADBG_ERR_NOMEM) || adbg_error_is(err, ADBG_ERR_INTERRUPTED))
		return err;
	if (adbg_error_is(err, ADBG_ERR_NOT_FOUND))
		adbg_error_destroy(err);
	else
		adbg_session_warn_error(r->s, adbg_error_wrap(err, "asyncio.tasks.%s", global));
	return NULL;
}

/* The running loop and task of each thread. */
static void thread_loops(struct reader *r)
{
	const struct adbg_layout *l = r->l;

	for (size_t i = 0; i < r->rt.nthreads; i++) {
		struct adbg_pythread *th = &r->rt.threads[i];
		uint64_t loop = 0, task = 0;

		if (l->thread_state.asyncio_running_loop != ADBG_NO_FIELD) {
			adbg_error_destroy(rd_ptr(
				r, th->tstate + l->thread_state.asyncio_running_loop, &loop));
		} else if (l->thread_state.dict != ADBG_NO_FIELD) {
			// 3.11/3.12 keep the running loop in the thread-state dict; 3.11 wraps
			// it in a _RunningLoopHolder whose rl_loop follows the object header.
			uint64_t dict = 0, v = 0;
			char *tn = NULL;

			if (adbg_ok(rd_ptr(r, th->tstate + l->thread_state.dict, &dict)) && dict &&
			    adbg_ok(adbg_obj_dict_lookup_str(
				    r->s->target, l, dict, "__asyncio_running_event_loop__", &v))) {
				if (adbg_ok(adbg_obj_type_name(r->s->target, l, v, &tn)) &&
				    strstr(tn, "RunningLoopHolder"))
					adbg_error_destroy(rd_ptr(r, v + l->pyobject.size, &v));
				free(tn);
				loop = v;
			}
		}
		if (loop) {
			bool none = false;

			adbg_error_destroy(adbg_obj_is_none(r->s->target, l, loop, &none));
			if (none)
				loop = 0;
		}
		if (l->thread_state.asyncio_running_task != ADBG_NO_FIELD)
			adbg_error_destroy(rd_ptr(
				r, th->tstate + l->thread_state.asyncio_running_task, &task));
		th->loop = loop;
		th->running_task = task;
	}
}

/* ≤3.13: the running task per loop from asyncio.tasks._current_tasks {loop: task}. */
static void current_tasks(struct reader *r)
{
	struct adbg_obj_dict_items items = {0};
	uint64_t dict;
	struct adbg_error *err;

	if (r->l->thread_state.asyncio_running_task != ADBG_NO_FIELD || !r->rt.nthreads)
		return;
	err = adbg_runtime_module_global(r->s, r->rt.threads[0].interp, "asyncio.tasks",
					 "_current_tasks", &dict);
	if (!err)
		err = adbg_obj_dict_items(r->s->target, r->l, dict, 4096, &items);
	if (err) {
		adbg_error_destroy(err);
		return;
	}
	for (size_t i = 0; i < items.n; i++)
		for (size_t j = 0; j < r->rt.nthreads; j++)
			if (r->rt.threads[j].loop == items.pairs[i].key)
				r->rt.threads[j].running_task = items.pairs[i].value;
	adbg_obj_dict_items_deinit(&items);
}

void adbg_asyncio_thread_loops(struct adbg_session *s, struct adbg_runtime_snapshot *rt)
{
	struct reader *r = calloc(1, sizeof(*r));

	if (!r)
		return; // the fields stay 0 (null): what they are when nothing could be read
	r->s = s;
	r->l = &s->python->layout;
	r->rt = *rt;
	thread_loops(r);
	current_tasks(r);
	*rt = r->rt;
	free(r);
}

static ADBG_MUST_CHECK struct adbg_error *add_loop(struct reader *r, uint64_t loop, int tid,
						   bool running)
{
	struct adbg_asyncio_snapshot *snap = r->snap;
	struct adbg_loop *nl;

	if (!loop)
		return NULL;
	for (size_t i = 0; i < snap->nloops; i++)
		if (snap->loops[i].id == loop)
			return NULL;
	if (snap->nloops >= 4096)
		return NULL;
	nl = realloc(snap->loops, (snap->nloops + 1) * sizeof(*nl));
	if (!nl)
		return &adbg_error_nomem;
	snap->loops = nl;
	nl[snap->nloops++] = (struct adbg_loop){
		.id = loop, .thread = tid, .type = intern_type_name(r, loop), .running = running};
	return NULL;
}

/*
 * The loops: Trio's runners, those the threads run, then those of the tasks (once each, in
 * that order: a Trio task's loop is its runner, known by then with its thread).
 */
static ADBG_MUST_CHECK struct adbg_error *add_loops(struct reader *r)
{
	const struct adbg_trio_snapshot *ts = r->snap->trio;
	struct adbg_error *err = NULL;

	for (size_t i = 0; ts && i < ts->nrunners && !err; i++)
		err = add_loop(r, ts->runners[i].id, ts->runners[i].thread, true);
	for (size_t i = 0; i < r->rt.nthreads && !err; i++)
		err = add_loop(r, r->rt.threads[i].loop, r->rt.threads[i].tid, true);
	// Tasks of one loop mostly follow each other: a million tasks, one lookup.
	for (size_t i = 0; i < r->snap->ntasks && !err; i++)
		if (!i || r->snap->tasks[i].loop != r->snap->tasks[i - 1].loop)
			err = add_loop(r, r->snap->tasks[i].loop, 0, false);
	return err;
}

/* Remember that waiter awaits `awaited`, for when every task is known. */
static ADBG_MUST_CHECK struct adbg_error *defer_edge(struct reader *r, uint64_t awaited,
						     uint64_t waiter, bool fut_waiter)
{
	if (!awaited || !waiter || awaited == waiter)
		return NULL;
	if (waiter & FUT_WAITER_EDGE)
		return NULL; // not an object
	if (r->npending == r->pending_cap) {
		size_t ncap = r->pending_cap ? r->pending_cap * 2 : 1024;
		struct pending_edge *np = realloc(r->pending, ncap * sizeof(*np));

		if (!np)
			return &adbg_error_nomem;
		adbg_advise_huge(np, ncap * sizeof(*np));
		r->pending = np;
		r->pending_cap = ncap;
	}
	r->pending[r->npending++] = (struct pending_edge){
		.awaited = awaited, .waiter = waiter | (fut_waiter ? FUT_WAITER_EDGE : 0)};
	return NULL;
}

/* adbg_aio_edges_in.is_task for asyncio_edges.c. */
static bool edges_is_task(void *ctx, uint64_t obj)
{
	return is_any_task(ctx, obj);
}

/* adbg_aio_edge_fn for asyncio_edges.c. */
static ADBG_MUST_CHECK struct adbg_error *more_edge(void *ctx, uint64_t awaited, uint64_t waiter)
{
	return defer_edge(ctx, awaited, waiter, false);
}

/* Every task in an items list is awaited by waiter. */
static ADBG_MUST_CHECK struct adbg_error *
edges_from_items(struct reader *r, const struct adbg_obj_items *it, uint64_t waiter)
{
	for (size_t i = 0; i < it->n; i++) {
		struct adbg_error *err = defer_edge(r, it->items[i], waiter, false);

		if (err)
			return err;
	}
	return NULL;
}

/*
 * The deferred edges whose awaited end is a task of the snapshot, in the order they were
 * read, without duplicates, into one array that the tasks' awaited_by point into: count,
 * place, fill.
 */
static ADBG_MUST_CHECK struct adbg_error *resolve_edges(struct reader *r)
{
	// Up to this many waiters, a duplicate is found by scanning them; beyond, by a set.
	const uint32_t small_fanin = 64;
	struct adbg_asyncio_snapshot *snap = r->snap;
	struct pending_edge *set = NULL;
	uint32_t *cap = NULL;
	size_t total = 0, big = 0, nset = 0;

	if (!r->npending)
		return NULL;
	cap = calloc(snap->ntasks ? snap->ntasks : 1, sizeof(*cap));
	if (!cap)
		return &adbg_error_nomem;
	// Count, and replace each edge's awaited id by its task's position + 1 (0: not a
	// task of the snapshot), so the fill does not look it up again.
	for (size_t i = 0; i < r->npending; i++) {
		struct pending_edge *e = &r->pending[i];
		const struct pending_edge *ahead = i + 8 < r->npending ? &r->pending[i + 8] : NULL;
		uint64_t waiter = e->waiter & ~(uint64_t)FUT_WAITER_EDGE;
		struct adbg_task *awaited;
		size_t pos;

		// The index slots a few edges ahead: each lookup is a cache miss otherwise.
		if (ahead) {
			adbg_asyncio_find_prefetch(snap, ahead->awaited);
			if (ahead->waiter & FUT_WAITER_EDGE)
				adbg_asyncio_find_prefetch(
					snap, ahead->waiter & ~(uint64_t)FUT_WAITER_EDGE);
		}
		awaited = adbg_asyncio_find(snap, e->awaited);
		e->awaited = 0;
		if (!awaited)
			continue;
		if (e->waiter & FUT_WAITER_EDGE) {
			struct adbg_task *w = adbg_asyncio_find(snap, waiter);

			if (w)
				w->waiting_on.task = awaited->id;
		}
		pos = (size_t)(awaited - snap->tasks);
		if (cap[pos] >= ADBG_MAX_AWAITED_BY)
			continue;
		cap[pos]++;
		e->awaited = pos + 1;
		e->waiter = waiter;
		total++;
	}
	if (total) {
		snap->edges = malloc(total * sizeof(*snap->edges));
		if (!snap->edges) {
			free(cap);
			return &adbg_error_nomem;
		}
		adbg_advise_huge(snap->edges, total * sizeof(*snap->edges));
	}
	total = 0;
	for (size_t i = 0; i < snap->ntasks; i++) {
		struct adbg_task *t = &snap->tasks[i];

		t->awaited_by = cap[i] ? snap->edges + total : NULL;
		t->nawaited_by = 0;
		total += cap[i];
		if (cap[i] > small_fanin)
			big += cap[i];
	}
	// Duplicates: 3.14 records an edge that is also derived.
	if (big) {
		nset = 1024;
		while (nset < 2 * big)
			nset *= 2;
		set = calloc(nset, sizeof(*set));
		if (!set) {
			free(cap);
			return &adbg_error_nomem;
		}
	}
	for (size_t i = 0; i < r->npending; i++) {
		const struct pending_edge *e = &r->pending[i];
		struct adbg_task *t;
		bool dup = false;

		if (!e->awaited)
			continue;
		t = &snap->tasks[e->awaited - 1];
		if (cap[e->awaited - 1] <= small_fanin) {
			for (uint32_t k = 0; k < t->nawaited_by && !dup; k++)
				dup = t->awaited_by[k] == e->waiter;
		} else {
			size_t h = hash_id(e->waiter ^ (e->awaited * 0x9e3779b97f4a7c15ull), nset);

			for (; set[h].awaited; h = (h + 1) & (nset - 1))
				if (set[h].waiter == e->waiter && set[h].awaited == e->awaited)
					dup = true;
			if (!dup)
				set[h] = *e;
		}
		if (!dup)
			t->awaited_by[t->nawaited_by++] = e->waiter;
	}
	free(set);
	free(cap);
	free(r->pending);
	r->pending = NULL;
	r->npending = r->pending_cap = 0;
	return NULL;
}

/*
 * shield(inner) gives the caller an `outer` future whose first done-callback is
 * shield.<locals>._outer_done_callback, a closure over `inner` (Lib/asyncio/tasks.py,
 * 3.11-3.13; 3.14 records the edge itself). A task waiting on such an outer future awaits
 * the inner task, as CPython 3.14 reports it.
 */
static ADBG_MUST_CHECK struct adbg_error *shield_edge(struct reader *r, struct adbg_task *t,
						      uint64_t outer)
{
	const struct adbg_layout *l = r->l;
	struct adbg_obj_items cells = {0};
	uint64_t cb = 0, qualname = 0, closure = 0;
	struct adbg_error *err;
	bool is_shield = false;

	err = rd_ptr(r, outer + l->asyncio_future_object.fut_callback0, &cb);
	if (!err && cb)
		err = rd_ptr(r, cb + l->function_object.func_qualname, &qualname);
	if (!err && qualname)
		err = adbg_obj_str_equals(r->s->target, l, qualname,
					  "shield.<locals>._outer_done_callback", &is_shield);
	if (err || !is_shield)
		goto out;
	err = rd_ptr(r, cb + l->function_object.func_closure, &closure);
	if (!err && closure)
		err = adbg_obj_tuple_items(r->s->target, l, closure, 8, &cells);
	for (size_t i = 0; !err && i < cells.n; i++) {
		uint64_t inner = 0;

		err = rd_ptr(r, cells.items[i] + l->cell_object.ob_ref, &inner);
		if (!err && inner && is_any_task(r, inner)) {
			t->waiting_on.what = "shield";
			err = defer_edge(r, inner, t->id, false);
			break;
		}
	}
out:
	adbg_obj_items_deinit(&cells);
	// An unreadable callback only costs the edge; running out of memory is an error.
	if (err && !adbg_error_is(err, ADBG_ERR_NOMEM)) {
		adbg_error_destroy(err);
		err = NULL;
	}
	return err;
}

/* What derive_edges needs to know of a function name (see struct fn_class). */
static const struct fn_class *fn_class(struct reader *r, const char *fn)
{
	// What the innermost frame says the future is for, when it is one of asyncio's
	// primitives (their waiters are plain Futures).
	static const char *const known[] = {
		"Lock.acquire", "Event.wait",	  "Condition.wait", "Semaphore.acquire",
		"Queue.get",	"Queue.put",	  "Queue.join",	    "sleep",
		"Barrier.wait", "Barrier._block", "Barrier._wait",  "wait_for",
		"_wait",	"shield",	  "timeout",	    "StreamReader._wait_for_data",
	};
	static const struct fn_class none = {0};
	struct fn_class *c;

	if (!fn)
		return &none;
	c = &r->fns[((uintptr_t)fn >> 4) % FN_CACHE];
	if (c->fn == fn)
		return c;
	*c = (struct fn_class){.fn = fn};
	if (strcmp(fn, "wait_for") == 0)
		c->flags |= FN_WAIT_FOR;
	if (strcmp(fn, "TaskGroup._aexit") == 0 || strcmp(fn, "TaskGroup.__aexit__") == 0)
		c->flags |= FN_GROUP_EXIT;
	for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++)
		if (strcmp(fn, known[k]) == 0)
			c->known = known[k];
	return c;
}

/*
 * Edges the way CPython 3.14 records them in awaited_by, derived on any version:
 * - a task whose _fut_waiter is a task awaits that task;
 * - a task awaiting a _GatheringFuture awaits each of its _children;
 * - a task suspended in TaskGroup.__aexit__/_aexit awaits the group's _tasks;
 * - a task waiting on shield()'s outer future awaits the shielded task;
 * - a task in wait_for() (3.11) awaits its `fut`.
 * 3.14+ also has the recorded awaited_by (single object or set), which is read too.
 */
static ADBG_MUST_CHECK struct adbg_error *derive_edges(struct reader *r, struct adbg_task *t,
						       const struct task_raw *raw, bool py)
{
	const struct adbg_layout *l = r->l;
	struct adbg_obj_items items = {0};
	struct adbg_error *err = NULL;
	uint64_t w = raw->fut_waiter, children;

	if (w) {
		t->has_waiting_on = true;
		t->waiting_on.id = w;
		t->waiting_on.type = intern_type_name(r, w);
		if (is_any_task(r, w)) {
			t->waiting_on.task = w;
			err = defer_edge(r, w, t->id, false);
		} else if (type_of(r, w)->gathering &&
			   adbg_ok(adbg_obj_getattr(r->s->target, l, w, "_children", &children))) {
			// gather(): Lib/asyncio/tasks.py _GatheringFuture._children.
			if (adbg_ok(adbg_obj_list_items(r->s->target, l, children, MAX_CHILDREN,
							&items)))
				err = edges_from_items(r, &items, t->id);
			adbg_obj_items_deinit(&items);
		} else if (!r->task_type) {
			// Without the Task type, a waiter that turns out to be one of the
			// snapshot's tasks is still an edge.
			err = defer_edge(r, w, t->id, true);
		}
		if (err)
			return err;
	}
	if (w && !t->waiting_on.task) {
		err = shield_edge(r, t, w);
		if (err)
			return err;
	}
	// wait_for() before 3.12 awaits a private `waiter` future while the awaited task is
	// its local `fut` (Lib/asyncio/tasks.py 3.11); 3.12+ awaits `fut` directly.
	if (w && !t->waiting_on.task && t->stack.n &&
	    (fn_class(r, t->stack.frames[0].function)->flags & FN_WAIT_FOR)) {
		uint64_t fut = 0;
		struct adbg_error *e = adbg_frame_local(r->s, &t->stack.frames[0], "fut", &fut);

		if (!e && is_any_task(r, fut))
			err = defer_edge(r, fut, t->id, false);
		adbg_error_destroy(e);
		if (err)
			return err;
	}
	// TaskGroup: the parent waits in TaskGroup._aexit (3.12+) or __aexit__ (3.11);
	// `self`, the group, is its first local (Lib/asyncio/taskgroups.py).
	for (size_t i = 0; i < t->stack.n; i++) {
		const struct adbg_frame *f = &t->stack.frames[i];
		uint64_t self = 0, tasks;

		if (!(fn_class(r, f->function)->flags & FN_GROUP_EXIT))
			continue;
		if (!adbg_ok(rd_ptr(r, f->addr + l->interpreter_frame.localsplus, &self)))
			break;
		self &= ~l->stackref_tag_mask;
		if (!adbg_ok(adbg_obj_getattr(r->s->target, l, self, "_tasks", &tasks)) ||
		    !adbg_ok(adbg_obj_set_items(r->s->target, l, tasks, r->set_dummy, MAX_CHILDREN,
						&items)))
			break;
		err = edges_from_items(r, &items, t->id);
		adbg_obj_items_deinit(&items);
		if (err)
			return err;
		if (w && !t->waiting_on.task)
			t->waiting_on.what = "TaskGroup";
		break;
	}
	// What the innermost frame says the future is for, when it is one of asyncio's
	// primitives (their waiters are plain Futures).
	if (t->has_waiting_on && !t->waiting_on.what && t->stack.n)
		t->waiting_on.what = fn_class(r, t->stack.frames[0].function)->known;
	// 3.14+: the recorded edges (Modules/_asynciomodule.c future_awaited_by_add; a
	// pure-Python future keeps them in _asyncio_awaited_by, Lib/asyncio/futures.py).
	if (py && l->asyncio_future_object.fut_awaited_by != ADBG_NO_FIELD) {
		// Future.__asyncio_awaited_by, name-mangled (the unmangled name is a property).
		uint64_t by = py_attr(r, t->id, "_Future__asyncio_awaited_by");

		if (by && adbg_ok(adbg_obj_set_items(r->s->target, l, by, r->set_dummy,
						     MAX_CHILDREN, &items))) {
			for (size_t i = 0; i < items.n && !err; i++)
				err = defer_edge(r, t->id, items.items[i], false);
		}
		adbg_obj_items_deinit(&items);
	} else if (l->asyncio_future_object.fut_awaited_by != ADBG_NO_FIELD) {
		uint64_t by = 0;
		uint8_t is_set = 0;

		if (!adbg_ok(rd_ptr(r, t->id + l->asyncio_future_object.fut_awaited_by, &by)) ||
		    !by)
			return NULL;
		adbg_error_destroy(adbg_read_u8(
			r->s->target, t->id + l->asyncio_future_object.fut_awaited_by_is_set,
			&is_set));
		if (!is_set)
			return defer_edge(r, t->id, by, false);
		if (adbg_ok(adbg_obj_set_items(r->s->target, l, by, r->set_dummy, MAX_CHILDREN,
					       &items))) {
			for (size_t i = 0; i < items.n && !err; i++)
				err = defer_edge(r, t->id, items.items[i], false);
		}
		adbg_obj_items_deinit(&items);
	}
	return err;
}

/*
 * Everything about one task that is read from the target: fields, stack, the edges it
 * takes part in (resolved later). Called as soon as the task is discovered, so its
 * memory is read once, while it is in the read cache. An unreadable task is a warning.
 */
static ADBG_MUST_CHECK struct adbg_error *visit_task(struct reader *r, struct adbg_task *t)
{
	const struct adbg_layout *l = r->l;
	struct task_raw raw = {0};
	bool py = type_of(r, t->id)->is_py_task;
	struct adbg_error *err = py ? read_py_task(r, t, &raw) : read_native_task(r, t, &raw);

	if (err) {
		if (adbg_error_is(err, ADBG_ERR_NOMEM))
			return err;
		adbg_session_warn_error(r->s, err);
		return NULL;
	}
	for (size_t j = 0; j < r->rt.nthreads; j++) {
		struct adbg_pythread *th = &r->rt.threads[j];

		if (th->running_task == t->id) {
			t->running = true;
			t->thread = th->tid;
		}
		if (!t->thread && th->loop && th->loop == t->loop)
			t->thread = th->tid;
	}
	if ((r->flags & ADBG_AIO_STACKS) && raw.coro && t->running) {
		// The running task's stack is its thread's, from the innermost frame down
		// to the task's coroutine frame.
		for (size_t j = 0; j < r->rt.nthreads && !err; j++) {
			struct adbg_pythread *th = &r->rt.threads[j];
			uint64_t base = raw.coro + l->gen_object.gi_iframe;
			size_t k;

			if (th->running_task != t->id)
				continue;
			for (k = 0; k < th->stack.n && th->stack.frames[k].addr != base; k++)
				;
			if (k == th->stack.n)
				break;
			for (size_t m = 0; m <= k && !err; m++)
				err = adbg_stack_push(&t->stack, &th->stack.frames[m]);
		}
	} else if ((r->flags & ADBG_AIO_STACKS) && raw.coro) {
		err = coro_stack(r, raw.coro, &t->stack);
		if (!err && t->stack.omitted)
			adbg_session_warn(r->s,
					  "task %#" PRIx64 ": await chain of %zu frames; the "
					  "outermost %" PRIu32 " are not shown",
					  t->id, t->stack.n + t->stack.omitted, t->stack.omitted);
	}
	if (!err)
		err = derive_edges(r, t, &raw, py);
	// Its primitive and its done-callbacks now, while its memory is in the read cache:
	// passes over all tasks afterwards read a million tasks a second and a third time.
	if (!err && r->waits)
		err = adbg_asyncio_wait_task(r->waits, t);
	if (!err && r->edges)
		err = adbg_asyncio_edges_task(r->edges, t);
	return err;
}

/* What trio.c needs of the reader: adding a task, a coroutine stack, an edge. */
static ADBG_MUST_CHECK struct adbg_error *trio_add(void *ctx, uint64_t id, struct adbg_task **ret)
{
	return add_task(ctx, id, ret);
}

static ADBG_MUST_CHECK struct adbg_error *trio_stack(void *ctx, uint64_t coro,
						     struct adbg_stack *ret)
{
	struct reader *r = ctx;

	return r->flags & ADBG_AIO_STACKS ? coro_stack(r, coro, ret) : NULL;
}

static ADBG_MUST_CHECK struct adbg_error *trio_edge(void *ctx, uint64_t awaited, uint64_t waiter)
{
	return defer_edge(ctx, awaited, waiter, false);
}

/* Trio's runs, tasks and lock deadlocks join the snapshot (trio.h). */
static ADBG_MUST_CHECK struct adbg_error *trio_tasks(struct reader *r)
{
	struct adbg_trio_in in = {.s = r->s,
				  .rt = &r->rt,
				  .set_dummy = r->set_dummy,
				  .add = trio_add,
				  .stack = trio_stack,
				  .edge = trio_edge,
				  .ctx = r};

	return adbg_trio_collect(&in, &r->snap->trio);
}

/* After find_cycles: the Trio runs' lock deadlocks as cycles (their runners are loops: add_loops). */
static ADBG_MUST_CHECK struct adbg_error *trio_finish(struct reader *r)
{
	struct adbg_asyncio_snapshot *snap = r->snap;
	const struct adbg_trio_snapshot *ts = snap->trio;
	struct adbg_error *err = NULL;

	for (size_t i = 0; ts && i < ts->ncycles && !err; i++) {
		struct adbg_cycle *nc = realloc(snap->cycles, (snap->ncycles + 1) * sizeof(*nc));

		if (!nc)
			return &adbg_error_nomem;
		snap->cycles = nc;
		nc[snap->ncycles].ids = malloc(ts->cycle_len[i] * sizeof(uint64_t));
		if (!nc[snap->ncycles].ids)
			return &adbg_error_nomem;
		memcpy(nc[snap->ncycles].ids, ts->cycles[i], ts->cycle_len[i] * sizeof(uint64_t));
		nc[snap->ncycles].locks = NULL;
		nc[snap->ncycles].locks = NULL;
		nc[snap->ncycles++].n = ts->cycle_len[i];
	}
	return err;
}

void adbg_asyncio_snapshot_deinit(struct adbg_asyncio_snapshot *snap)
{
	for (size_t i = 0; i < snap->ntasks; i++) {
		adbg_stack_deinit(&snap->tasks[i].stack);
	}
	free(snap->edges);
	adbg_trio_snapshot_destroy(snap->trio);
	adbg_asyncio_waits_deinit(snap);
	for (size_t i = 0; i < snap->ncycles; i++)
		free(snap->cycles[i].ids);
	free(snap->cycles);
	adbg_huge_free(snap->tasks, snap->tasks_bytes);
	free(snap->loops);
	free(snap->index);
	while (snap->frame_chunks) {
		struct adbg_frame *c = snap->frame_chunks;

		snap->frame_chunks = (struct adbg_frame *)(uintptr_t)c[0].addr;
		if (c[0].line > 0)
			munmap(c, sizeof(*c) * ((size_t)c[0].line + 1));
		else
			free(c);
	}
	memset(snap, 0, sizeof(*snap));
}

struct adbg_error *adbg_asyncio_snapshot(struct adbg_session *s, unsigned flags,
					 struct adbg_asyncio_snapshot *ret)
{
	struct adbg_asyncio_snapshot snap = {0};
	struct reader r = {.s = s, .l = &s->python->layout, .snap = &snap, .flags = flags};
	struct adbg_aio_edges_in ein;
	const struct adbg_layout *l = r.l;
	struct adbg_error *err;
	uint64_t interp = 0;

	err = adbg_runtime_snapshot(s, flags & ADBG_AIO_LOOPS_ONLY ? 0 : ADBG_RT_STACKS, &r.rt);
	if (err)
		return err;
	if (r.rt.nthreads)
		interp = r.rt.threads[0].interp;
	if (s->python->set_dummy_addr)
		adbg_error_destroy(rd_ptr(&r, s->python->set_dummy_addr, &r.set_dummy));
	if (interp) {
		adbg_error_destroy(
			adbg_runtime_module_global(s, interp, "_asyncio", "Task", &r.task_type));
		adbg_error_destroy(adbg_runtime_module_global(s, interp, "_asyncio", "Future",
							      &r.future_type));
		adbg_error_destroy(adbg_runtime_module_global(s, interp, "asyncio.tasks", "_PyTask",
							      &r.py_task_type));
	}
	thread_loops(&r);
	if (flags & ADBG_AIO_LOOPS_ONLY)
		goto loops;
	current_tasks(&r);
	ein = (struct adbg_aio_edges_in){.s = s,
					 .snap = &snap,
					 .rt = &r.rt,
					 .interp = interp,
					 .stacks = flags & ADBG_AIO_STACKS,
					 .edge = more_edge,
					 .is_task = edges_is_task,
					 .ctx = &r};
	r.waits = adbg_asyncio_waits_begin(s, &snap);
	err = r.waits ? adbg_asyncio_edges_begin(&ein, &r.edges) : &adbg_error_nomem;
	if (err)
		goto fail;

	// Discovery. 3.14+: the lists AsyncioDebug describes, per thread then per
	// interpreter (tasks of threads that exited).
	if (l->thread_state.asyncio_tasks_head != ADBG_NO_FIELD &&
	    l->asyncio_task_object.task_node != ADBG_NO_FIELD) {
		for (size_t i = 0; i < r.rt.nthreads && !err; i++)
			err = walk_task_list(
				&r, r.rt.threads[i].tstate + l->thread_state.asyncio_tasks_head,
				r.rt.threads[i].tid);
		if (!err && interp && l->interpreter_state.asyncio_tasks_head != ADBG_NO_FIELD)
			err = walk_task_list(&r, interp + l->interpreter_state.asyncio_tasks_head,
					     0);
		if (err)
			goto fail;
	}
	// The registries of asyncio.tasks: all tasks on 3.11-3.13 (3.11 _all_tasks, 3.12+
	// _scheduled_tasks and _eager_tasks); on 3.14+ only the pure-Python tasks, which
	// register there (Lib/asyncio/tasks.py _py_register_task).
	if (interp) {
		static const char *const registries[] = {"_all_tasks", "_scheduled_tasks",
							 "_eager_tasks"};

		for (size_t i = 0; i < 3 && !err; i++)
			err = registry_tasks(&r, interp, registries[i], i < 2);
		if (err)
			goto fail;
	}
	// The running tasks are tasks too, even if no registry holds them.
	for (size_t i = 0; i < r.rt.nthreads; i++) {
		struct adbg_task *t;

		if (r.rt.threads[i].running_task && is_any_task(&r, r.rt.threads[i].running_task)) {
			err = add_task(&r, r.rt.threads[i].running_task, &t);
			if (!err && t)
				err = visit_task(&r, t);
			if (err)
				goto fail;
		}
	}
	err = trio_tasks(&r);
	// What no field names: done-callbacks, structured groups, eager first steps.
	if (!err) {
		err = adbg_asyncio_edges_end(r.edges);
		r.edges = NULL;
	}
	if (!err)
		err = resolve_edges(&r);
	// The loops before the waits: those read each loop's timers (deadlines, first timer).
	if (!err)
		err = add_loops(&r);
	if (!err) {
		err = adbg_asyncio_waits_end(r.waits, &r.rt);
		r.waits = NULL;
	}
	if (!err)
		err = adbg_asyncio_find_cycles(&snap);
	if (!err)
		err = trio_finish(&r);
	if (err)
		goto fail;
loops:
	err = add_loops(&r);
	if (err)
		goto fail;
	adbg_prefault_stop(r.prefault, snap.ntasks * sizeof(*snap.tasks));
	adbg_prefault_stop(r.pool_prefault, (size_t)((char *)r.pool - (char *)r.pool_base));
	adbg_runtime_snapshot_deinit(&r.rt);
	*ret = snap;
	return NULL;

fail:
	adbg_prefault_stop(r.prefault, snap.ntasks * sizeof(*snap.tasks));
	adbg_prefault_stop(r.pool_prefault, (size_t)((char *)r.pool - (char *)r.pool_base));
	adbg_asyncio_edges_free(r.edges);
	adbg_asyncio_waits_free(r.waits);
	free(r.pending);
	adbg_runtime_snapshot_deinit(&r.rt);
	adbg_asyncio_snapshot_deinit(&snap);
	return err;
}
