// SPDX-License-Identifier: MIT
// GDB's native frames for `aio bt --native`: the GDB extension's unwinder (struct
// adbg_unwinder, shared/native.h). The merge with the Python frames, the command and its
// output are the shared ones, so `aio bt --native` and the REPL's `bt --native` differ only
// in who unwound: here GDB, with whatever symbols and debug information it has loaded
// (source file and line for frames with debug information, else the object file).
#include "gdbext.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "codecache.h"
#include "native.h"

/* A string of GDB's, copied into the snapshot arena (NULL stays NULL). */
static const char *snapshot_str(struct adbg_session *s, const char *str)
{
	return str ? adbg_snapshot_strdup(s, str) : NULL;
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
		    (lwp ? lwp
		     : t ? t
			 : pid) == tid) {
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
static void native_location(struct adbg_session *s, PyObject *frame, uint64_t pc,
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
			f->file = snapshot_str(s, PyUnicode_AsUTF8(fn));
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
		f->file = snapshot_str(s, PyUnicode_AsUTF8(so));
	} else {
		PyObject *ps = gdb ? PyObject_CallMethod(gdb, "current_progspace", NULL) : NULL;
		PyObject *fn = ps ? PyObject_GetAttrString(ps, "filename") : NULL;

		if (fn && PyUnicode_Check(fn))
			f->file = snapshot_str(s, PyUnicode_AsUTF8(fn));
		Py_XDECREF(fn);
		Py_XDECREF(ps);
	}
	Py_XDECREF(so);
	PyErr_Clear();
}

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

/*
 * GDB's frames of thread tid, innermost first (struct adbg_unwinder.thread). The selected
 * thread and frame are restored afterwards, whatever happens.
 */
static ADBG_MUST_CHECK struct adbg_error *gdb_thread(struct adbg_session *s, void *state, int tid,
						     struct adbg_native_stack *ret)
{
	PyObject *gdb = gdbext_gdb_module(), *th, *orig_th, *orig_frame, *frame, *r;
	struct adbg_native_stack ns = {0};
	struct adbg_error *err = NULL;

	(void)state;
	th = find_thread(tid);
	if (!th)
		return adbg_error_create(ADBG_ERR_NOT_FOUND,
					 "thread %d: GDB knows no thread with that LWP", tid);
	orig_th = PyObject_CallMethod(gdb, "selected_thread", NULL);
	if (!orig_th)
		PyErr_Clear();
	orig_frame = PyObject_CallMethod(gdb, "selected_frame", NULL);
	if (!orig_frame)
		PyErr_Clear();
	r = PyObject_CallMethod(th, "switch", NULL);
	Py_DECREF(th);
	if (!r) {
		err = adbg_error_wrap(gdbext_py_error(ADBG_ERR_NOT_FOUND, "switching to it"),
				      "thread %d", tid);
		goto restore;
	}
	Py_DECREF(r);
	frame = PyObject_CallMethod(gdb, "newest_frame", NULL);
	if (!frame) {
		err = adbg_error_wrap(gdbext_py_error(ADBG_ERR_NOT_FOUND, "its newest frame"),
				      "thread %d", tid);
		goto restore;
	}
	while (frame && frame != Py_None && ns.st.n < ADBG_MAX_NATIVE_FRAMES) {
		struct adbg_frame f = {.kind = ADBG_FRAME_NATIVE};
		PyObject *kept, *pcobj, *older;
		const char *name = call_str(frame, "name", &kept);

		pcobj = PyObject_CallMethod(frame, "pc", NULL);
		f.addr = pcobj && PyLong_Check(pcobj) ? PyLong_AsUnsignedLongLong(pcobj) : 0;
		Py_XDECREF(pcobj);
		PyErr_Clear();
		f.function = snapshot_str(s, name ? name : "??");
		Py_XDECREF(kept);
		if (!f.function) {
			err = &adbg_error_nomem;
			break;
		}
		native_location(s, frame, f.addr, &f);
		err = adbg_native_push(&ns, &f, frame_sp(frame));
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
	if (!err && !ns.st.n)
		err = adbg_error_create(ADBG_ERR_NOT_FOUND, "thread %d: GDB has no frame for it",
					tid);
	if (err) {
		adbg_native_stack_deinit(&ns);
		return err;
	}
	*ret = ns;
	return NULL;
}

const struct adbg_unwinder gdbext_unwinder = {
	.thread = gdb_thread,
};
