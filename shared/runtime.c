// SPDX-License-Identifier: MIT
// Walking interpreters, thread states and interpreter frames (see runtime.h).
#include "runtime.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "codecache.h"
#include "objects.h"

// Tasks keep several frames each: a million tasks make frames the bulk of the memory.
_Static_assert(sizeof(struct adbg_frame) == 32, "struct adbg_frame grew past 32 bytes");

static ADBG_MUST_CHECK struct adbg_error *read_ptr(struct adbg_session *s, uint64_t addr,
						   uint64_t *ret)
{
	return adbg_read_u64(s->target, addr, ret);
}

void adbg_stack_deinit(struct adbg_stack *st)
{
	if (!st->pooled)
		free(st->frames);
	memset(st, 0, sizeof(*st));
}

struct adbg_error *adbg_stack_push(struct adbg_stack *st, const struct adbg_frame *f)
{
	if (st->pooled)
		return adbg_error_create(ADBG_ERR_INVALID_ARG, "pooled stacks cannot grow");
	// Grow by doubling from 4 (most task stacks are 2-4 frames); ADBG_MAX_FRAMES
	// bounds it.
	if ((st->n & (st->n - 1)) == 0 && (st->n == 0 || st->n >= 4)) {
		size_t cap = st->n < 4 ? 4 : st->n * 2;
		struct adbg_frame *nf = realloc(st->frames, cap * sizeof(*nf));

		if (!nf)
			return &adbg_error_nomem;
		st->frames = nf;
	}
	st->frames[st->n++] = *f;
	return NULL;
}

struct adbg_error *adbg_frame_read(struct adbg_session *s, uint64_t iframe, struct adbg_frame *ret,
				   bool *skip_ret)
{
	const struct adbg_layout *l = &s->python->layout;
	uint64_t code, ip;
	const struct adbg_code_entry *ci;
	struct adbg_error *err;
	uint8_t owner;
	int line;

	err = adbg_read_u8(s->target, iframe + l->interpreter_frame.owner, &owner);
	if (err)
		return adbg_error_wrap(err, "frame %#" PRIx64 ": owner", iframe);
	// 3.12+: Include/internal/pycore_frame.h: frames owned by the C stack are shims
	// that mark an entry into the eval loop; 3.14 adds INTERPRETER-owned ones.
	if ((int)owner == l->frame_owner.cstack || (int)owner == l->frame_owner.interpreter) {
		*skip_ret = true;
		return NULL;
	}
	err = read_ptr(s, iframe + l->interpreter_frame.executable, &code);
	if (err)
		return adbg_error_wrap(err, "frame %#" PRIx64 ": code", iframe);
	code &= ~l->stackref_tag_mask;
	err = read_ptr(s, iframe + l->interpreter_frame.instr_ptr, &ip);
	if (err)
		return adbg_error_wrap(err, "frame %#" PRIx64 ": instruction pointer", iframe);
	err = adbg_session_code(s, code, &ci);
	if (!err)
		err = adbg_codecache_main_ip(ci, s->target, l, iframe, &ip);
	if (err)
		return adbg_error_wrap(err, "frame %#" PRIx64, iframe);
	// Like _PyFrame_IsIncomplete: a frame not owned by a generator whose instruction
	// pointer is still before _co_firsttraceable has not really started; CPython hides it.
	if ((int)owner != l->frame_owner.generator && ci->firsttraceable_addr &&
	    ip < ci->firsttraceable_addr) {
		*skip_ret = true;
		return NULL;
	}
	line = adbg_codecache_line(ci, ip);
	ret->function = ci->qualname ? ci->qualname : "???";
	ret->file = ci->filename;
	ret->kind = ADBG_FRAME_PYTHON;
	ret->line = line;
	ret->addr = iframe;
	*skip_ret = false;
	return NULL;
}

/*
 * Count the frames shown from iframe on (to stop_at included), without keeping them: what
 * a cut stack leaves out. Capped (ADBG_MAX_UNSHOWN_FRAMES) and cycle-checked (Brent: a
 * garbage chain that loops comes back to a remembered frame). *exact_ret is false when
 * the count stopped early (cap, cycle, unreadable frame).
 */
static uint32_t count_frames(struct adbg_session *s, uint64_t iframe, uint64_t stop_at,
			     bool *exact_ret)
{
	const struct adbg_layout *l = &s->python->layout;
	uint64_t mark = iframe;
	size_t steps = 0, power = 1, lam = 0;
	uint32_t n = 0;

	*exact_ret = false;
	while (iframe && steps++ < ADBG_MAX_UNSHOWN_FRAMES) {
		struct adbg_frame f;
		bool skip = false;

		if (!adbg_ok(adbg_frame_read(s, iframe, &f, &skip)))
			return n;
		n += !skip;
		if (iframe == stop_at)
			break;
		if (!adbg_ok(read_ptr(s, iframe + l->interpreter_frame.previous, &iframe)))
			return n;
		if (iframe == mark)
			return n;
		if (++lam == power) {
			mark = iframe;
			power *= 2;
			lam = 0;
		}
	}
	*exact_ret = !iframe || iframe == stop_at;
	return n;
}

struct adbg_error *adbg_stack_walk(struct adbg_session *s, uint64_t iframe, uint64_t stop_at,
				   unsigned max_frames, struct adbg_stack *ret)
{
	const struct adbg_layout *l = &s->python->layout;
	struct adbg_stack st = {0};
	size_t steps = 0, cap = adbg_frame_cap(max_frames);

	// Frames form a singly linked list through `previous`; a cycle in garbage memory
	// would loop forever, so count steps (a real stack never exceeds the cap by much
	// more than the shims it contains).
	while (iframe) {
		struct adbg_frame f = {0};
		struct adbg_error *err;
		bool skip = false;

		if (st.n == cap) {
			// Innermost first: what is cut is the outermost part. Count it, so
			// that the cut is marked with what it hides.
			bool exact;

			st.truncated = true;
			st.omitted = count_frames(s, iframe, stop_at, &exact);
			adbg_session_warn(s,
					  "stack cut at %zu frames; %s%" PRIu32 " outer frames "
					  "not shown",
					  cap, exact ? "" : "at least ", st.omitted);
			break;
		}
		if (++steps > 2 * cap) {
			st.truncated = true;
			adbg_session_warn(
				s, "stack cut at %zu frames (a cycle in the frame chain?)", st.n);
			break;
		}
		err = adbg_frame_read(s, iframe, &f, &skip);
		if (err) {
			adbg_session_warn_error(s, err);
			st.truncated = true;
			break;
		}
		if (!skip) {
			err = adbg_stack_push(&st, &f);
			if (err) {
				adbg_stack_deinit(&st);
				return err;
			}
		}
		if (iframe == stop_at)
			break;
		err = read_ptr(s, iframe + l->interpreter_frame.previous, &iframe);
		if (err) {
			adbg_session_warn_error(s, adbg_error_wrap(err, "frame chain"));
			st.truncated = true;
			break;
		}
	}
	*ret = st;
	return NULL;
}

/* "/tmp/aiodbg-XXXXXX/a.py" and the like: the agent's file (channel.c make_dir, inject.c). */
static bool is_agent_file(const char *file)
{
	static const char *const bases[] = {"/tmp/", "/var/tmp/", "/dev/shm/"};
	static const char prefix[] = "aiodbg-", name[] = "/a.py";
	size_t len, dir;

	if (!file)
		return false;
	for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		size_t blen = strlen(bases[i]);
		const char *p = file + blen;

		if (strncmp(file, bases[i], blen) != 0 || strncmp(p, prefix, sizeof(prefix) - 1))
			continue;
		p += sizeof(prefix) - 1;
		// mkdtemp's XXXXXX: letters and digits, then the file itself.
		dir = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
		len = strlen(p + dir);
		return dir >= 6 && len == sizeof(name) - 1 && !strcmp(p + dir, name);
	}
	return false;
}

bool adbg_stack_is_agent(const struct adbg_stack *st)
{
	// The outermost Python frame: the agent's thread starts in its code (shared/agent/
	// agent.py: _thread.start_new_thread(_Agent(config).run, ())), and whatever it calls
	// (json, socket) sits above it. 3.11-3.13 compile the agent with its file's name;
	// 3.14+'s PEP 768 runner compiles the script it is given as "<string>" (Python/
	// ceval_gil.c: run_remote_debugger_source), which then names only the entry point.
	for (size_t i = st->n; i-- > 0;) {
		const struct adbg_frame *f = &st->frames[i];

		if (f->kind != ADBG_FRAME_PYTHON)
			continue;
		return !st->omitted &&
		       (is_agent_file(f->file) || (f->file && !strcmp(f->file, "<string>") &&
						   !strcmp(f->function, "_Agent.run")));
	}
	return false;
}

void adbg_runtime_snapshot_deinit(struct adbg_runtime_snapshot *snap)
{
	for (size_t i = 0; i < snap->nthreads; i++) {
		free(snap->threads[i].name);
		adbg_stack_deinit(&snap->threads[i].stack);
	}
	free(snap->threads);
	memset(snap, 0, sizeof(*snap));
}

/* The innermost interpreter frame of a thread state, 0 when it runs no Python code. */
static ADBG_MUST_CHECK struct adbg_error *current_frame(struct adbg_session *s, uint64_t tstate,
							uint64_t *ret)
{
	const struct adbg_layout *l = &s->python->layout;
	uint64_t cframe;
	struct adbg_error *err;

	if (l->thread_state.current_frame != ADBG_NO_FIELD)
		return read_ptr(s, tstate + l->thread_state.current_frame, ret);
	// 3.11/3.12: tstate->cframe points into the C stack (Include/cpython/pystate.h).
	err = read_ptr(s, tstate + l->thread_state.cframe, &cframe);
	if (err)
		return err;
	if (!cframe) {
		*ret = 0;
		return NULL;
	}
	return read_ptr(s, cframe + l->thread_state.cframe_current_frame, ret);
}

const char *adbg_gil_name(enum adbg_gil_state g)
{
	switch (g) {
	case ADBG_GIL_HELD:
		return "held";
	case ADBG_GIL_RELEASED:
		return "released";
	case ADBG_GIL_NONE:
		return "none";
	case ADBG_GIL_UNKNOWN:
		break;
	}
	return "unknown";
}

static enum adbg_gil_state gil_state(struct adbg_session *s, uint64_t interp, uint64_t tstate)
{
	const struct adbg_layout *l = &s->python->layout;
	uint64_t gil = 0, holder = 0;
	uint32_t locked = 0;
	struct adbg_error *err = NULL;

	// Where the GIL is: 3.11 embeds it in _PyRuntimeState (ceval.gil); 3.12+ each
	// interpreter points (ceval.gil) at the one it uses (Include/internal/pycore_ceval_state.h).
	if (l->runtime_state.ceval_gil != ADBG_NO_FIELD)
		gil = s->python->runtime_addr + l->runtime_state.ceval_gil;
	else if (l->interpreter_state.ceval_gil != ADBG_NO_FIELD)
		err = read_ptr(s, interp + l->interpreter_state.ceval_gil, &gil);
	// Free-threaded builds: struct _gil_runtime_state starts with `int enabled`; 0 means
	// no thread takes the GIL (Python/ceval_gil.c _PyEval_EnableGILTransient sets it).
	if (!err && gil && l->interpreter_state.gil_runtime_state_enabled != ADBG_NO_FIELD) {
		uint32_t enabled = 0;

		err = adbg_read_u32(s->target,
				    gil + l->interpreter_state.gil_runtime_state_enabled -
					    l->interpreter_state.gil_runtime_state,
				    &enabled);
		if (!err && !enabled)
			return ADBG_GIL_NONE;
	}
	if (!err && gil)
		err = adbg_read_u32(s->target, gil + l->gil_state.locked, &locked);
	if (!err && gil)
		err = read_ptr(s, gil + l->gil_state.last_holder, &holder);
	if (err || !gil) {
		adbg_error_destroy(err);
		return ADBG_GIL_UNKNOWN;
	}
	// last_holder keeps its value after a release: only locked says it is held now.
	return locked && holder == tstate ? ADBG_GIL_HELD : ADBG_GIL_RELEASED;
}

static ADBG_MUST_CHECK struct adbg_error *push_thread(struct adbg_runtime_snapshot *snap,
						      size_t *cap, struct adbg_pythread *th)
{
	if (snap->nthreads == *cap) {
		size_t ncap = *cap ? *cap * 2 : 8;
		struct adbg_pythread *nt = realloc(snap->threads, ncap * sizeof(*nt));

		if (!nt)
			return &adbg_error_nomem;
		snap->threads = nt;
		*cap = ncap;
	}
	snap->threads[snap->nthreads++] = *th;
	return NULL;
}

/* A thread list cut by err (freed): what was read of it is kept, the rest is not. */
static void list_cut(struct adbg_session *s, struct adbg_error *err)
{
	adbg_session_warn(s, "%s; the rest of the thread list is not shown", err->message);
	adbg_error_destroy(err);
}

struct adbg_error *adbg_runtime_snapshot(struct adbg_session *s, unsigned flags,
					 struct adbg_runtime_snapshot *ret)
{
	return adbg_runtime_snapshot_capped(s, flags, 0, ret);
}

struct adbg_error *adbg_runtime_snapshot_capped(struct adbg_session *s, unsigned flags,
						unsigned max_frames,
						struct adbg_runtime_snapshot *ret)
{
	const struct adbg_layout *l = &s->python->layout;
	struct adbg_runtime_snapshot snap = {0};
	uint64_t interp, main_ident = 0;
	struct adbg_error *err;
	size_t cap = 0;
	int ninterp = 0;

	err = read_ptr(s, s->python->runtime_addr + l->runtime_state.interpreters_head, &interp);
	if (err)
		return adbg_error_wrap(err, "reading the interpreter list");
	if (l->runtime_state.main_thread != ADBG_NO_FIELD)
		adbg_error_destroy(read_ptr(
			s, s->python->runtime_addr + l->runtime_state.main_thread, &main_ident));

	for (; interp; ninterp++) {
		uint64_t tstate, main_tstate = 0;
		int nthreads = 0;

		if (ninterp == ADBG_MAX_INTERPRETERS) {
			adbg_session_warn(s, "more than %d interpreters; the rest are not shown",
					  ADBG_MAX_INTERPRETERS);
			break;
		}
		if (l->interpreter_state.threads_main != ADBG_NO_FIELD)
			adbg_error_destroy(read_ptr(s, interp + l->interpreter_state.threads_main,
						    &main_tstate));
		// threads_head is the newest thread; `next` leads to older ones (3.11-3.15
		// Python/pystate.c: new thread states are pushed at the head).
		err = read_ptr(s, interp + l->interpreter_state.threads_head, &tstate);
		if (err) {
			err = adbg_error_wrap(err, "interpreter %#" PRIx64 ": thread list", interp);
			goto fail;
		}
		while (tstate) {
			struct adbg_pythread th = {.tstate = tstate, .interp = interp};
			uint64_t tid = 0, iframe = 0, back = 0;

			if (++nthreads > ADBG_MAX_THREADS) {
				adbg_session_warn(s, "more than %d threads; the rest are not shown",
						  ADBG_MAX_THREADS);
				break;
			}
			// A cycle in the thread list would repeat a thread state.
			for (size_t i = 0; i < snap.nthreads && !err; i++)
				if (snap.threads[i].tstate == tstate)
					err = adbg_session_inconsistent(
						s, "thread list", "thread list cycles at %#" PRIx64,
						tstate);
			if (err) {
				if (adbg_error_is(err, ADBG_ERR_NOMEM))
					goto fail;
				list_cut(s, err);
				break;
			}
			// Every thread state of the list belongs to its interpreter. One that does
			// not is being created or torn down as we read (a live target whose
			// freeze missed a thread), or is corrupt (a core).
			err = read_ptr(s, tstate + l->thread_state.interp, &back);
			if (!err)
				err = adbg_read_u64(
					s->target, tstate + l->thread_state.native_thread_id, &tid);
			if (!err)
				err = read_ptr(s, tstate + l->thread_state.thread_id, &th.ident);
			if (err) {
				struct adbg_error *e = adbg_session_inconsistent(
					s, "thread list", "thread state %#" PRIx64 ": %s", tstate,
					err->message);

				adbg_error_destroy(err);
				err = e;
				goto fail;
			}
			if (back != interp) {
				err = adbg_session_inconsistent(s, "thread list",
								"thread state %#" PRIx64
								" does not point back to "
								"interpreter %#" PRIx64,
								tstate, interp);
				if (adbg_error_is(err, ADBG_ERR_NOMEM))
					goto fail;
				list_cut(s, err);
				break;
			}
			th.tid = (int)tid;
			th.main = main_tstate ? tstate == main_tstate
					      : (main_ident && th.ident == main_ident);
			th.gil = gil_state(s, interp, tstate);
			if (flags & ADBG_RT_STACKS) {
				err = current_frame(s, tstate, &iframe);
				if (err) {
					adbg_session_warn_error(
						s, adbg_error_wrap(err, "thread %d", th.tid));
					err = NULL;
				} else if (iframe) {
					th.current_frame = iframe;
					err = adbg_stack_walk(s, iframe, 0, max_frames, &th.stack);
					if (err)
						goto fail;
					th.agent = adbg_stack_is_agent(&th.stack);
				}
			}
			err = push_thread(&snap, &cap, &th);
			if (err) {
				adbg_stack_deinit(&th.stack);
				goto fail;
			}
			err = read_ptr(s, tstate + l->thread_state.next, &tstate);
			if (err) {
				struct adbg_error *e = adbg_session_inconsistent(
					s, "thread list", "thread list: %s", err->message);

				adbg_error_destroy(err);
				err = NULL;
				list_cut(s, e);
				break;
			}
		}
		err = read_ptr(s, interp + l->interpreter_state.next, &interp);
		if (err) {
			adbg_session_warn_error(s, adbg_error_wrap(err, "interpreter list"));
			err = NULL;
			break;
		}
	}
	if (flags & ADBG_RT_NAMES)
		adbg_runtime_thread_names(s, &snap);
	for (size_t i = 0; i < snap.nthreads; i++) {
		// The agent starts its thread with _thread (no threading name): say what it is.
		if (snap.threads[i].agent && !snap.threads[i].name)
			snap.threads[i].name = strdup(ADBG_AGENT_THREAD_NAME);
	}
	*ret = snap;
	return NULL;

fail:
	adbg_runtime_snapshot_deinit(&snap);
	return err;
}

struct adbg_error *adbg_runtime_module_global(struct adbg_session *s, uint64_t interp,
					      const char *module, const char *name, uint64_t *ret)
{
	const struct adbg_layout *l = &s->python->layout;
	uint64_t modules, mod, dict;
	struct adbg_error *err;

	err = read_ptr(s, interp + l->interpreter_state.imports_modules, &modules);
	if (!err && !modules)
		err = adbg_error_create(ADBG_ERR_NOT_FOUND, "sys.modules is not set up");
	if (!err)
		err = adbg_obj_dict_lookup_str(s->target, l, modules, module, &mod);
	if (!err)
		err = adbg_obj_module_dict(s->target, l, mod, &dict);
	if (!err)
		err = adbg_obj_dict_lookup_str(s->target, l, dict, name, ret);
	if (err)
		return adbg_error_wrap(err, "%s.%s", module, name);
	return NULL;
}

// threading._active rarely holds more threads than this; the rest keep no name.
#define MAX_ACTIVE_THREADS 4096
// Longest thread name kept (bytes of UTF-8); a longer one is marked name_truncated.
#define MAX_THREAD_NAME 256

void adbg_runtime_thread_names(struct adbg_session *s, struct adbg_runtime_snapshot *snap)
{
	const struct adbg_layout *l = &s->python->layout;
	struct adbg_obj_dict_items items = {0};
	struct adbg_error *err;
	uint64_t active;

	if (!snap->nthreads)
		return;
	// threading._active maps get_ident() to the Thread object (Lib/threading.py,
	// 3.11-3.15); a thread not started through threading has no entry.
	err = adbg_runtime_module_global(s, snap->threads[0].interp, "threading", "_active",
					 &active);
	if (!err)
		err = adbg_obj_dict_items(s->target, l, active, MAX_ACTIVE_THREADS, &items);
	if (err) {
		// No threading module imported is normal for small scripts.
		if (adbg_error_is(err, ADBG_ERR_NOT_FOUND))
			adbg_error_destroy(err);
		else
			adbg_session_warn_error(s, adbg_error_wrap(err, "thread names"));
		return;
	}
	for (size_t i = 0; i < items.n; i++) {
		uint64_t thread_obj = items.pairs[i].value, name_obj = 0;
		int64_t ident = 0;
		char *name = NULL;
		bool truncated = false;

		err = adbg_obj_int(s->target, l, items.pairs[i].key, &ident);
		if (!err)
			err = adbg_obj_getattr(s->target, l, thread_obj, "_name", &name_obj);
		if (!err)
			err = adbg_obj_str(s->target, l, name_obj, MAX_THREAD_NAME, &name,
					   &truncated);
		if (err) {
			// One unreadable Thread object costs that thread its name only.
			adbg_error_destroy(err);
			continue;
		}
		for (size_t j = 0; j < snap->nthreads; j++) {
			if (snap->threads[j].ident == (uint64_t)ident && !snap->threads[j].name) {
				snap->threads[j].name = name;
				snap->threads[j].name_truncated = truncated;
				name = NULL;
				break;
			}
		}
		free(name);
	}
	adbg_obj_dict_items_deinit(&items);
}

// Code objects with more local slots than this are not searched.
#define MAX_LOCALSPLUS 4096

struct adbg_error *adbg_frame_code(struct adbg_session *s, const struct adbg_frame *f,
				   uint64_t *ret)
{
	const struct adbg_layout *l = &s->python->layout;
	uint64_t code = 0;
	struct adbg_error *err;

	if (f->kind != ADBG_FRAME_PYTHON || !f->addr)
		return adbg_error_create(ADBG_ERR_NOT_FOUND, "not a Python frame");
	err = read_ptr(s, f->addr + l->interpreter_frame.executable, &code);
	if (err)
		return adbg_error_wrap(err, "frame %#" PRIx64 ": code", f->addr);
	*ret = code & ~l->stackref_tag_mask;
	return NULL;
}

/*
 * The value in a cell or free variable's slot: once the frame has run its MAKE_CELL /
 * COPY_FREE_VARS the slot holds a cell, whose content is the variable's value (before,
 * an argument that is also a cell variable still holds the argument itself).
 */
static uint64_t open_cell(struct adbg_session *s, uint64_t v)
{
	const struct adbg_layout *l = &s->python->layout;
	char *type = NULL;
	bool cell;

	if (!adbg_ok(adbg_obj_type_name(s->target, l, v, &type)))
		return v;
	cell = strcmp(type, "cell") == 0;
	free(type);
	if (cell && !adbg_ok(read_ptr(s, v + l->cell_object.ob_ref, &v)))
		return 0;
	return v;
}

struct adbg_error *adbg_frame_locals(struct adbg_session *s, const struct adbg_frame *f, size_t max,
				     struct adbg_frame_locals *ret)
{
	const struct adbg_layout *l = &s->python->layout;
	uint8_t cells = l->localsplus_kind.cell | l->localsplus_kind.free;
	struct adbg_frame_locals fl = {0};
	struct adbg_obj_items names = {0};
	struct adbg_error *err;
	uint64_t code = 0, names_obj = 0, kinds_obj = 0;
	uint8_t *kinds = NULL;
	size_t nkinds = 0;

	if (f->kind != ADBG_FRAME_PYTHON || !adbg_ok(adbg_frame_code(s, f, &code)))
		return adbg_error_create(ADBG_ERR_NOT_FOUND, "not a Python frame");
	err = read_ptr(s, code + l->code_object.localsplusnames, &names_obj);
	if (!err)
		err = adbg_obj_tuple_items(s->target, l, names_obj, max, &names);
	// The kinds only say which slots hold cells: without them (unreadable) every slot is
	// read as it is, a cell variable then showing its cell.
	if (!err && adbg_ok(read_ptr(s, code + l->code_object.localspluskinds, &kinds_obj))) {
		err = adbg_obj_bytes(s->target, l, kinds_obj, max, &kinds, &nkinds, NULL);
		if (err && !adbg_error_is(err, ADBG_ERR_NOMEM)) {
			adbg_error_destroy(err);
			err = NULL;
			nkinds = 0;
		}
	}
	if (!err && names.n) {
		fl.values = calloc(names.n, sizeof(*fl.values));
		if (!fl.values)
			err = &adbg_error_nomem;
	}
	for (size_t i = 0; !err && i < names.n; i++) {
		uint64_t v = 0;

		if (!adbg_ok(read_ptr(s, f->addr + l->interpreter_frame.localsplus + 8 * i, &v)))
			continue; // left 0: a slot that cannot be read shows as unbound
		v &= ~l->stackref_tag_mask;
		if (v && i < nkinds && (kinds[i] & cells))
			v = open_cell(s, v);
		fl.values[i] = v;
	}
	free(kinds);
	if (err) {
		free(fl.values);
		adbg_obj_items_deinit(&names);
		return adbg_error_wrap(err, "frame %#" PRIx64 ": locals", f->addr);
	}
	fl.names = names.items;
	fl.n = names.n;
	fl.truncated = names.truncated;
	*ret = fl;
	return NULL;
}

void adbg_frame_locals_deinit(struct adbg_frame_locals *fl)
{
	free(fl->names);
	free(fl->values);
	memset(fl, 0, sizeof(*fl));
}

/*
 * The slot of the local called name in code (-1: none) and whether it holds a cell,
 * from the code's localsplusnames and localspluskinds.
 */
static ADBG_MUST_CHECK struct adbg_error *local_slot(struct adbg_session *s, uint64_t code,
						     const char *name, int *slot, bool *cell)
{
	const struct adbg_layout *l = &s->python->layout;
	struct adbg_obj_items names = {0};
	uint64_t names_obj = 0, kinds_obj = 0;
	uint8_t *kinds = NULL;
	size_t nkinds = 0;
	struct adbg_error *err = read_ptr(s, code + l->code_object.localsplusnames, &names_obj);

	if (!err)
		err = adbg_obj_tuple_items(s->target, l, names_obj, MAX_LOCALSPLUS, &names);
	*slot = -1;
	*cell = false;
	for (size_t i = 0; !err && i < names.n; i++) {
		bool same = false;

		err = adbg_obj_str_equals(s->target, l, names.items[i], name, &same);
		if (!err && same) {
			*slot = (int)i;
			break;
		}
	}
	adbg_obj_items_deinit(&names);
	// Without the kinds (unreadable) the slot is read as it is (as adbg_frame_locals).
	if (!err && *slot >= 0 &&
	    adbg_ok(read_ptr(s, code + l->code_object.localspluskinds, &kinds_obj))) {
		struct adbg_error *e = adbg_obj_bytes(s->target, l, kinds_obj, MAX_LOCALSPLUS,
						      &kinds, &nkinds, NULL);

		if (adbg_error_is(e, ADBG_ERR_NOMEM))
			return e;
		adbg_error_destroy(e);
		*cell = (size_t)*slot < nkinds &&
			(kinds[*slot] & (l->localsplus_kind.cell | l->localsplus_kind.free));
		free(kinds);
	}
	return err;
}

struct adbg_error *adbg_frame_local(struct adbg_session *s, const struct adbg_frame *f,
				    const char *name, uint64_t *ret)
{
	const struct adbg_layout *l = &s->python->layout;
	const struct adbg_code_entry *ce = NULL;
	struct adbg_error *err;
	uint64_t code = 0, value = 0;
	int slot;
	bool cell;

	if (f->kind != ADBG_FRAME_PYTHON || !adbg_ok(adbg_frame_code(s, f, &code)))
		return adbg_error_create(ADBG_ERR_NOT_FOUND, "not a Python frame");
	// Which slot is looked up once per code object and snapshot (the code cache's
	// lifetime): the names are the code's, the frame only holds the values.
	if (!adbg_ok(adbg_session_code(s, code, &ce)))
		ce = NULL;
	if (!ce || !adbg_codecache_local(ce, name, &slot, &cell)) {
		err = local_slot(s, code, name, &slot, &cell);
		if (err)
			return adbg_error_wrap(err, "frame %#" PRIx64 ": locals", f->addr);
		if (ce)
			adbg_codecache_remember_local(ce, name, slot, cell);
	}
	if (slot < 0)
		return adbg_error_create(ADBG_ERR_NOT_FOUND, "no local %s", name);
	// A slot that cannot be read shows as unbound.
	if (adbg_ok(read_ptr(s, f->addr + l->interpreter_frame.localsplus + 8 * (uint64_t)slot,
			     &value)))
		value &= ~l->stackref_tag_mask;
	else
		value = 0;
	if (value && cell)
		value = open_cell(s, value);
	if (!value)
		return adbg_error_create(ADBG_ERR_NOT_FOUND, "local %s is unbound", name);
	*ret = value;
	return NULL;
}
