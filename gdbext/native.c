// SPDX-License-Identifier: MIT
// `aio bt --native`: GDB's native frames of each thread, with the Python frames put where
// the eval loop runs them.
//
// Each native frame of _PyEval_EvalFrameDefault is one entry into the eval loop, and runs
// the interpreter frames pushed since that entry. The interpreter-frame chain marks entries:
// 3.12+ with a shim frame below the frames of each entry (owned by the C stack; 3.14+ also
// by the interpreter), 3.11 with `is_entry` on the first frame an entry pushed. Cutting the
// chain at the marks gives one segment per entry, innermost first.
//
// Which native frame runs a segment: the 3.12+ shim is a local variable of that very
// _PyEval_EvalFrameDefault call (Python/ceval.c: entry_frame), so the native frame whose
// stack area holds the shim's address is the one; this needs no symbols, which matters
// because Debian's PGO builds split the eval loop and GDB names its cold part "??". When
// an anchor is missing (3.11), segments go to the frames GDB names _PyEval_EvalFrameDefault,
// in order. Each such native frame is replaced by its segment's Python frames.
#include "gdbext.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

// Native frames beyond this many per thread are cut (deep recursion in C).
#define MAX_NATIVE_FRAMES 4096

// Include/internal/pycore_frame.h, 3.11 only: `bool is_entry` (offset 68, just before
// owner) is true on the first frame an eval-loop entry pushed. Later versions mark entries
// with shim frames (layout frame_owner.cstack / interpreter) instead.
static const struct {
	const char *version_prefix;
	uint64_t is_entry;
} entry_flags[] = {
	{ "3.11.", 68 },
};

/* Strings of the native frames of one command, freed together. */
struct arena {
	char **v;
	size_t n, cap;
};

static const char *arena_keep(struct arena *a, const char *s)
{
	char *copy;

	if (!s)
		return NULL;
	if (a->n == a->cap) {
		size_t ncap = a->cap ? a->cap * 2 : 64;
		char **nv = realloc(a->v, ncap * sizeof(*nv));

		if (!nv)
			return NULL;
		a->v = nv;
		a->cap = ncap;
	}
	copy = strdup(s);
	if (copy)
		a->v[a->n++] = copy;
	return copy;
}

static void arena_free(struct arena *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
}

/* obj.name() or obj.name as a borrowed UTF-8 string held by *keep (NULL: none). */
static const char *call_str(PyObject *obj, const char *method, PyObject **keep)
{
	PyObject *v = PyObject_CallMethod(obj, method, NULL);

	*keep = NULL;
	if (!v || !PyUnicode_Check(v)) {
		Py_XDECREF(v);
		PyErr_Clear();
		return NULL;
	}
	*keep = v;
	return PyUnicode_AsUTF8(v);
}

/* The InferiorThread whose LWP is tid, or NULL. New reference. */
static PyObject *find_thread(int tid)
{
	PyObject *gdb = gdbext_gdb_module(), *inf, *threads, *seq, *found = NULL;

	inf = gdb ? PyObject_CallMethod(gdb, "selected_inferior", NULL) : NULL;
	threads = inf ? PyObject_CallMethod(inf, "threads", NULL) : NULL;
	Py_XDECREF(inf);
	seq = threads ? PySequence_Fast(threads, "threads") : NULL;
	Py_XDECREF(threads);
	if (!seq) {
		PyErr_Clear();
		return NULL;
	}
	for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(seq) && !found; i++) {
		PyObject *th = PySequence_Fast_GET_ITEM(seq, i);
		PyObject *ptid = PyObject_GetAttrString(th, "ptid");
		long pid = 0, lwp = 0, t = 0;

		if (ptid && PyArg_ParseTuple(ptid, "lll", &pid, &lwp, &t) &&
		    (lwp ? lwp : t ? t : pid) == tid) {
			found = th;
			Py_INCREF(found);
		}
		Py_XDECREF(ptid);
		PyErr_Clear();
	}
	Py_DECREF(seq);
	return found;
}

/* Where a native frame is: source file and line with debug info, else its object file. */
static void native_location(PyObject *frame, uint64_t pc, struct arena *a,
			    struct adbg_frame *f)
{
	PyObject *sal = PyObject_CallMethod(frame, "find_sal", NULL), *symtab = NULL;
	PyObject *gdb = gdbext_gdb_module(), *so;
	long line = 0;

	if (sal && sal != Py_None) {
		PyObject *ln = PyObject_GetAttrString(sal, "line");

		if (ln && PyLong_Check(ln))
			line = PyLong_AsLong(ln);
		Py_XDECREF(ln);
		symtab = PyObject_GetAttrString(sal, "symtab");
	}
	PyErr_Clear();
	if (symtab && symtab != Py_None && line > 0) {
		PyObject *fn = PyObject_GetAttrString(symtab, "filename");

		if (fn && PyUnicode_Check(fn)) {
			f->file = arena_keep(a, PyUnicode_AsUTF8(fn));
			f->line = (int)line;
		}
		Py_XDECREF(fn);
	}
	Py_XDECREF(symtab);
	Py_XDECREF(sal);
	PyErr_Clear();
	if (f->file)
		return;
	// No line information: name the shared object (or the executable).
	so = gdb ? PyObject_CallMethod(gdb, "solib_name", "K", (unsigned long long)pc) : NULL;
	if (so && PyUnicode_Check(so)) {
		f->file = arena_keep(a, PyUnicode_AsUTF8(so));
	} else {
		PyObject *ps = gdb ? PyObject_CallMethod(gdb, "current_progspace", NULL) : NULL;
		PyObject *fn = ps ? PyObject_GetAttrString(ps, "filename") : NULL;

		if (fn && PyUnicode_Check(fn))
			f->file = arena_keep(a, PyUnicode_AsUTF8(fn));
		Py_XDECREF(fn);
		Py_XDECREF(ps);
	}
	Py_XDECREF(so);
	PyErr_Clear();
}

struct native_stack {
	struct adbg_stack st;
	/** eval[i]: GDB names frame i _PyEval_EvalFrameDefault. */
	bool *eval;
	/** sp[i]: the stack pointer in frame i (0: unknown); its area is [sp[i], sp[i+1]). */
	uint64_t *sp;
};

/* frame.read_register("sp"), 0 when GDB cannot tell. */
static uint64_t frame_sp(PyObject *frame)
{
	PyObject *v = PyObject_CallMethod(frame, "read_register", "s", "sp"), *i;
	uint64_t r = 0;

	i = v ? PyNumber_Long(v) : NULL;
	if (i)
		r = PyLong_AsUnsignedLongLongMask(i);
	Py_XDECREF(i);
	Py_XDECREF(v);
	PyErr_Clear();
	return r;
}

static bool is_eval_loop(const char *name)
{
	// The default eval loop; builds with computed gotos or the 3.14 tail-calling
	// interpreter still enter through it.
	return name && (strcmp(name, "_PyEval_EvalFrameDefault") == 0 ||
			strncmp(name, "_PyEval_EvalFrameDefault.", 25) == 0);
}

/*
 * Walk GDB's frames of thread tid, innermost first. The selected thread and frame are
 * restored afterwards, whatever happens.
 */
static struct adbg_error *native_frames(int tid, struct arena *a, struct native_stack *ret)
{
	PyObject *gdb = gdbext_gdb_module(), *th, *orig_th, *orig_frame, *frame, *r;
	struct native_stack ns = { 0 };
	struct adbg_error *err = NULL;
	size_t cap = 0;

	th = find_thread(tid);
	if (!th)
		return adbg_error_create(ADBG_ERR_NOT_FOUND, "GDB knows no thread with LWP %d", tid);
	orig_th = PyObject_CallMethod(gdb, "selected_thread", NULL);
	if (!orig_th)
		PyErr_Clear();
	orig_frame = PyObject_CallMethod(gdb, "selected_frame", NULL);
	if (!orig_frame)
		PyErr_Clear();
	r = PyObject_CallMethod(th, "switch", NULL);
	Py_DECREF(th);
	if (!r) {
		err = gdbext_py_error(ADBG_ERR_NOT_FOUND, "switching to the thread");
		goto restore;
	}
	Py_DECREF(r);
	frame = PyObject_CallMethod(gdb, "newest_frame", NULL);
	if (!frame) {
		err = gdbext_py_error(ADBG_ERR_NOT_FOUND, "newest frame");
		goto restore;
	}
	while (frame && frame != Py_None && ns.st.n < MAX_NATIVE_FRAMES) {
		struct adbg_frame f = { .kind = ADBG_FRAME_NATIVE };
		PyObject *keep, *pcobj, *older;
		const char *name = call_str(frame, "name", &keep);

		pcobj = PyObject_CallMethod(frame, "pc", NULL);
		f.addr = pcobj && PyLong_Check(pcobj) ? PyLong_AsUnsignedLongLong(pcobj) : 0;
		Py_XDECREF(pcobj);
		PyErr_Clear();
		f.function = arena_keep(a, name ? name : "??");
		Py_XDECREF(keep);
		native_location(frame, f.addr, a, &f);
		if (!f.function) {
			err = &adbg_error_nomem;
			break;
		}
		if (ns.st.n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			bool *ne = realloc(ns.eval, ncap * sizeof(*ne));
			uint64_t *nsp;

			if (ne)
				ns.eval = ne;
			nsp = ne ? realloc(ns.sp, ncap * sizeof(*nsp)) : NULL;
			if (!nsp) {
				err = &adbg_error_nomem;
				break;
			}
			ns.sp = nsp;
			cap = ncap;
		}
		ns.eval[ns.st.n] = is_eval_loop(f.function);
		ns.sp[ns.st.n] = frame_sp(frame);
		err = adbg_stack_push(&ns.st, &f);
		if (err)
			break;
		older = PyObject_CallMethod(frame, "older", NULL);
		if (!older)
			PyErr_Clear(); // unwinding stopped: GDB says why in its own bt
		Py_DECREF(frame);
		frame = older;
	}
	if (frame && frame != Py_None)
		ns.st.truncated = true;
	Py_XDECREF(frame);
restore:
	if (orig_th && orig_th != Py_None) {
		r = PyObject_CallMethod(orig_th, "switch", NULL);
		Py_XDECREF(r);
	}
	if (orig_frame && orig_frame != Py_None) {
		r = PyObject_CallMethod(orig_frame, "select", NULL);
		Py_XDECREF(r);
	}
	PyErr_Clear();
	Py_XDECREF(orig_th);
	Py_XDECREF(orig_frame);
	if (err) {
		adbg_stack_deinit(&ns.st);
		free(ns.eval);
		free(ns.sp);
		return err;
	}
	*ret = ns;
	return NULL;
}

/* One eval-loop entry's Python frames, innermost first. */
struct segment {
	struct adbg_stack st;
	/** address of the shim that marks the entry (3.12+), 0 when none. */
	uint64_t anchor;
};

/*
 * Cut the interpreter-frame chain that starts at iframe into per-entry segments, innermost
 * first. Frames CPython hides (shims, frames not started) are left out, as in `bt`.
 */
static struct adbg_error *python_segments(struct adbg_session *s, uint64_t iframe,
					  struct segment **ret, size_t *nret)
{
	const struct adbg_layout *l = &s->python->layout;
	uint64_t is_entry = ADBG_NO_FIELD;
	struct segment *segs = calloc(1, sizeof(*segs));
	size_t nsegs = 1, steps = 0;
	struct adbg_error *err = NULL;

	if (!segs)
		return &adbg_error_nomem;
	for (size_t i = 0; i < sizeof(entry_flags) / sizeof(entry_flags[0]); i++)
		if (strncmp(s->python->version_str, entry_flags[i].version_prefix,
			    strlen(entry_flags[i].version_prefix)) == 0)
			is_entry = entry_flags[i].is_entry;
	while (iframe && ++steps <= 2 * ADBG_MAX_FRAMES) {
		struct adbg_frame f;
		bool skip = false, close = false;
		uint8_t owner, entry = 0;

		err = adbg_read_u8(s->target, iframe + l->interpreter_frame.owner, &owner);
		if (err)
			break;
		if ((int)owner == l->frame_owner.cstack || (int)owner == l->frame_owner.interpreter) {
			// The shim below an entry's frames: the segment above it is complete.
			segs[nsegs - 1].anchor = iframe;
			close = true;
		} else {
			err = adbg_frame_read(s, iframe, &f, &skip);
			if (err)
				break;
			if (!skip)
				err = adbg_stack_push(&segs[nsegs - 1].st, &f);
			if (err)
				break;
			if (is_entry != ADBG_NO_FIELD) {
				err = adbg_read_u8(s->target, iframe + is_entry, &entry);
				if (err)
					break;
				close = entry != 0;
			}
		}
		if (close) {
			struct segment *ns = realloc(segs, (nsegs + 1) * sizeof(*ns));

			if (!ns) {
				err = &adbg_error_nomem;
				break;
			}
			segs = ns;
			memset(&segs[nsegs], 0, sizeof(*segs));
			nsegs++;
		}
		err = adbg_read_u64(s->target, iframe + l->interpreter_frame.previous, &iframe);
		if (err)
			break;
	}
	if (err) {
		// A chain that breaks off still gives the segments read so far.
		adbg_session_warn(s, "Python frame chain: %s", err->message);
		adbg_error_destroy(err);
	}
	// The outermost entry's mark leaves an empty segment behind it (3.15: the thread's
	// base frame another).
	while (nsegs > 1 && !segs[nsegs - 1].st.n)
		nsegs--;
	*ret = segs;
	*nret = nsegs;
	return NULL;
}

static void segments_free(struct segment *segs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		adbg_stack_deinit(&segs[i].st);
	free(segs);
}

/*
 * The native frame whose stack area holds addr, or -1. The outermost frame GDB found has
 * no known upper end (and an eval loop is never outermost: it was called), so it holds
 * nothing; that also keeps a stack GDB could not unwind far from swallowing every anchor.
 */
static long frame_holding(const struct native_stack *ns, uint64_t addr)
{
	for (size_t i = 0; i + 1 < ns->st.n; i++) {
		uint64_t lo = ns->sp[i], hi = ns->sp[i + 1];

		if (lo && lo <= addr && addr < hi)
			return (long)i;
	}
	return -1;
}

/*
 * seg_of[i] = the segment native frame i runs, or -1. Anchored when every segment with
 * frames has its shim inside a native frame, in order; else by the eval loop's name.
 */
static void assign_segments(const struct native_stack *ns, const struct segment *segs,
			    size_t nsegs, long *seg_of)
{
	long last = -1;
	size_t next = 0;
	bool anchored = nsegs > 0;

	for (size_t i = 0; i < ns->st.n; i++)
		seg_of[i] = -1;
	for (size_t k = 0; k < nsegs && anchored; k++) {
		long i;

		if (!segs[k].st.n)
			continue;
		i = segs[k].anchor ? frame_holding(ns, segs[k].anchor) : -1;
		// Innermost segments sit in younger native frames: indices must grow.
		if (i <= last) {
			anchored = false;
			break;
		}
		seg_of[i] = (long)k;
		last = i;
	}
	if (anchored)
		return;
	for (size_t i = 0; i < ns->st.n; i++)
		seg_of[i] = -1;
	for (size_t i = 0; i < ns->st.n && next < nsegs; i++) {
		if (!ns->eval[i])
			continue;
		// An entry that has not pushed a frame yet keeps its C frame.
		if (segs[next].st.n)
			seg_of[i] = (long)next;
		next++;
	}
}

/*
 * The merged stack of one thread, innermost first: native frames, each eval-loop frame
 * replaced by the Python frames of its entry. Python frames left over (GDB could not
 * unwind down to their eval loop) go last, after a warning.
 */
static struct adbg_error *merge(struct adbg_session *s, const struct adbg_pythread *th,
				const struct native_stack *ns, uint64_t iframe,
				struct adbg_stack *ret)
{
	struct adbg_stack out = { 0 };
	struct segment *segs = NULL;
	size_t nsegs = 0, left = 0;
	struct adbg_error *err = NULL;
	long *seg_of = NULL;
	bool *used = NULL;

	if (iframe) {
		err = python_segments(s, iframe, &segs, &nsegs);
		if (err)
			return err;
	}
	seg_of = calloc(ns->st.n + 1, sizeof(*seg_of));
	used = calloc(nsegs + 1, sizeof(*used));
	if (!seg_of || !used) {
		err = &adbg_error_nomem;
		goto out;
	}
	assign_segments(ns, segs, nsegs, seg_of);
	for (size_t i = 0; i < ns->st.n && !err; i++) {
		if (seg_of[i] < 0) {
			err = adbg_stack_push(&out, &ns->st.frames[i]);
			continue;
		}
		used[seg_of[i]] = true;
		for (size_t j = 0; j < segs[seg_of[i]].st.n && !err; j++)
			err = adbg_stack_push(&out, &segs[seg_of[i]].st.frames[j]);
	}
	for (size_t k = 0; k < nsegs && !err; k++) {
		if (used[k])
			continue;
		left += segs[k].st.n;
		for (size_t j = 0; j < segs[k].st.n && !err; j++)
			err = adbg_stack_push(&out, &segs[k].st.frames[j]);
	}
	if (!err && left)
		adbg_session_warn(s,
				  "thread %d: %zu Python frame(s) have no eval-loop frame in GDB's "
				  "native stack; shown outermost",
				  th->tid, left);
out:
	free(seg_of);
	free(used);
	segments_free(segs, nsegs);
	if (err) {
		adbg_stack_deinit(&out);
		return err;
	}
	out.truncated = ns->st.truncated;
	*ret = out;
	return NULL;
}

static const char *gil_name(enum adbg_gil_state g)
{
	switch (g) {
	case ADBG_GIL_HELD:
		return "held";
	case ADBG_GIL_RELEASED:
		return "released";
	case ADBG_GIL_UNKNOWN:
		break;
	}
	return "unknown";
}

/* The thread's innermost interpreter frame, shims included (the stack view hides them). */
static uint64_t innermost_iframe(const struct adbg_pythread *th)
{
	return th->stack.n ? th->stack.frames[0].addr : 0;
}

struct adbg_error *gdbext_bt_native(struct adbg_session *s, const char *line, bool json,
				    FILE *out)
{
	struct adbg_runtime_snapshot snap;
	struct adbg_error *err;
	struct arena a = { 0 };
	json_t *doc = NULL, *threads = NULL;
	long want = 0;
	bool found = false;
	int argc;
	char **argv;

	err = adbg_cmd_split(line, &argc, &argv);
	if (err)
		return err;
	for (int i = 1; i < argc; i++) {
		char *end;

		if (strcmp(argv[i], "--native") == 0)
			continue;
		if (strcmp(argv[i], "--json") == 0) {
			json = true;
			continue;
		}
		want = strtol(argv[i], &end, 0);
		if (argv[i][0] == '-' || *end || want <= 0 || want > INT32_MAX) {
			adbg_cmd_free_words(argv);
			return adbg_error_create(ADBG_ERR_INVALID_ARG,
						 "expected a thread id; usage: bt [TID] --native "
						 "[--json]");
		}
	}
	adbg_cmd_free_words(argv);
	adbg_session_clear_warnings(s);
	err = adbg_session_snapshot_begin(s);
	if (err)
		return err;
	err = adbg_runtime_snapshot(s, ADBG_RT_STACKS | ADBG_RT_NAMES, &snap);
	if (err) {
		adbg_session_snapshot_end(s);
		return err;
	}
	if (json) {
		doc = adbg_json_document(s);
		threads = json_array();
	}
	for (size_t i = 0; i < snap.nthreads && !err; i++) {
		const struct adbg_pythread *th = &snap.threads[i];
		struct native_stack ns = { 0 };
		struct adbg_stack merged = { 0 };

		if (want && th->tid != want)
			continue;
		err = native_frames(th->tid, &a, &ns);
		if (err) {
			// A thread GDB cannot show (exited, or no LWP match): Python frames only.
			adbg_session_warn(s, "thread %d: no native frames: %s", th->tid,
					  err->message);
			adbg_error_destroy(err);
			err = NULL;
		}
		err = merge(s, th, &ns, innermost_iframe(th), &merged);
		adbg_stack_deinit(&ns.st);
		free(ns.eval);
		free(ns.sp);
		if (err)
			break;
		if (json) {
			json_t *o = json_object();

			json_object_set_new(o, "tid", json_integer(th->tid));
			json_object_set_new(o, "name", th->name ? json_string(th->name) : json_null());
			json_object_set_new(o, "main", json_boolean(th->main));
			json_object_set_new(o, "gil", json_string(gil_name(th->gil)));
			json_object_set_new(o, "loop", adbg_json_addr(th->loop));
			json_object_set_new(o, "running_task", adbg_json_addr(th->running_task));
			json_object_set_new(o, "frames", adbg_json_stack(&merged));
			json_array_append_new(threads, o);
		} else {
			if (found)
				fputc('\n', out);
			fprintf(out, "Thread %d%s%s%s%s, GIL %s\n", th->tid, th->name ? " \"" : "",
				th->name ? th->name : "", th->name ? "\"" : "",
				th->main ? " (main)" : "", gil_name(th->gil));
			fprintf(out, "Traceback (most recent call last):\n");
			for (size_t j = merged.n; j-- > 0;)
				adbg_text_frame(out, &merged.frames[j], "  ");
			if (!merged.n)
				fprintf(out, "  (no frame)\n");
		}
		found = true;
		adbg_stack_deinit(&merged);
	}
	adbg_session_snapshot_end(s);
	adbg_runtime_snapshot_deinit(&snap);
	if (!err && want && !found)
		err = adbg_error_create(ADBG_ERR_NOT_FOUND, "no Python thread %ld", want);
	if (err) {
		json_decref(doc);
		json_decref(threads);
		arena_free(&a);
		return err;
	}
	if (json) {
		struct adbg_cmd_ctx c = { .s = s, .out = out };

		json_object_set_new(doc, "threads", threads);
		err = adbg_json_emit(&c, doc);
	} else {
		for (size_t i = 0; i < s->nwarnings; i++)
			fprintf(out, "warning: %s\n", s->warnings[i]);
	}
	arena_free(&a);
	return err;
}
