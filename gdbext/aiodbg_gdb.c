// SPDX-License-Identifier: MIT
// aiodbg_gdb: the CPython extension module that GDB's embedded Python loads to run aiodbg
// commands (the shared command table) against GDB's inferior.
//
// aiodbg-gdb.py registers the GDB commands (`aio`, `aio tasks`, ...) and forwards each one
// here as a command line; we keep one session per inferior, re-create it when GDB moves to
// another process or core, render into a memory FILE and hand the text to gdb.write.
// Errors become gdb.GdbError("aiodbg: ..."), which GDB prints without a traceback.
#include "gdbext.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "asyncio.h"
#include "cmd.h"
#include "complete.h"

#define STR2(x) #x
#define STR(x) STR2(x)
#define BUILT_FOR STR(PY_MAJOR_VERSION) "." STR(PY_MINOR_VERSION)

// aiodbg-gdb.py reads this from the file before loading it, so a GDB embedding another
// Python gets a clear message instead of a crash or an undefined-symbol error.
__attribute__((used)) static const char build_tag[] = "aiodbg-gdb-python=" BUILT_FOR ";";

/* One session for the inferior GDB has selected; re-created when that changes. */
static struct {
	struct adbg_session *s;
	struct gdbext_identity id;
	/** memory may have changed since the cache was filled (stop, cont, writes). */
	bool stale;
	/** completion candidates (task names, ids, threads) of the shared layer. */
	struct adbg_complete_cache *complete;
	/** the GDB session's command state: the selection, the unwinder. */
	struct adbg_cmd_state state;
	/** a live command is running GDB's inferior: events must not free the sessions. */
	bool busy;
	bool forget_later;
} g;

static void forget_session(void)
{
	if (g.busy) {
		// GDB reports new objfiles etc. while a live command resumes the program.
		g.forget_later = true;
		return;
	}
	g.forget_later = false;
	gdbext_live_forget();
	adbg_complete_cache_destroy(g.complete);
	g.complete = NULL;
	adbg_cmd_state_deinit(&g.state);
	adbg_session_destroy(g.s);
	g.s = NULL;
	gdbext_identity_deinit(&g.id);
}

/* The session for GDB's current inferior, creating or refreshing it. */
static ADBG_MUST_CHECK struct adbg_error *current_session(struct adbg_session **ret)
{
	struct gdbext_identity id;
	struct adbg_target *t;
	struct adbg_error *err;

	err = gdbext_identity_get(&id);
	if (err)
		return err;
	if (!id.core) {
		err = gdbext_check_stopped();
		if (err) {
			gdbext_identity_deinit(&id);
			return err;
		}
	}
	if (g.s && gdbext_identity_equal(&id, &g.id)) {
		gdbext_identity_deinit(&id);
		// GDB may have run the inferior since the last command (step, call, continue
		// without our hearing of it): drop cached pages, re-read threads and maps.
		if (!g.stale && g.id.core) {
			*ret = g.s;
			return NULL;
		}
		err = adbg_target_refresh(g.s->target);
		if (!err) {
			g.stale = false;
			*ret = g.s;
			return NULL;
		}
		// The process changed under the same pid (exec): start over.
		adbg_error_destroy(err);
		err = gdbext_identity_get(&id);
		if (err)
			return err;
	}
	forget_session();
	err = gdbext_target_create(&id, &t);
	if (!err)
		err = adbg_session_create(t, &g.s);
	if (err) {
		g.s = NULL;
		if (id.core)
			err = adbg_error_wrap(err, "core %s", id.core_path ? id.core_path : "?");
		else
			err = adbg_error_wrap(err, "process %d", id.pid);
		gdbext_identity_deinit(&id);
		return err;
	}
	g.id = id;
	g.stale = false;
	g.s->interrupted = &gdbext_interrupted;
	g.state.unwinder = &gdbext_unwinder;
	*ret = g.s;
	return NULL;
}

/* Raise gdb.GdbError("aiodbg: MESSAGE"): GDB prints it as an error, with no traceback. */
static PyObject *raise_gdb_error(const char *msg)
{
	PyObject *gdb = gdbext_gdb_module(), *cls;

	cls = gdb ? PyObject_GetAttrString(gdb, "GdbError") : NULL;
	if (!cls) {
		PyErr_Clear();
		PyErr_Format(PyExc_RuntimeError, "aiodbg: %s", msg);
		return NULL;
	}
	PyErr_Format(cls, "aiodbg: %s", msg);
	Py_DECREF(cls);
	return NULL;
}

static PyObject *raise_adbg_error(struct adbg_error *err)
{
	PyObject *r = raise_gdb_error(err->code == ADBG_ERR_INTERRUPTED ? "interrupted (Ctrl-C)"
									: err->message);

	adbg_error_destroy(err);
	return r;
}

static int gdb_write_text(const char *text, size_t len)
{
	PyObject *gdb = gdbext_gdb_module(), *r;

	if (!len)
		return 0;
	r = gdb ? PyObject_CallMethod(gdb, "write", "s#", text, (Py_ssize_t)len) : NULL;
	if (!r)
		return -1;
	Py_DECREF(r);
	return 0;
}

/* A GDB parameter as an int (unlimited, None and errors: 0). */
static int int_parameter(const char *name)
{
	PyObject *gdb = gdbext_gdb_module();
	PyObject *v = gdb ? PyObject_CallMethod(gdb, "parameter", "s", name) : NULL;
	long r = 0;

	if (v && PyLong_Check(v) && !PyBool_Check(v))
		r = PyLong_AsLong(v);
	else if (v && PyBool_Check(v))
		r = v == Py_True;
	Py_XDECREF(v);
	PyErr_Clear();
	return r > 0 && r < 100000 ? (int)r : 0;
}

/* The first word of line (the command name), in buf. */
static const char *first_word(const char *line, char *buf, size_t size)
{
	size_t n;

	line += strspn(line, " \t");
	n = strcspn(line, " \t");
	if (n >= size)
		n = size - 1;
	memcpy(buf, line, n);
	buf[n] = '\0';
	return buf;
}

PyDoc_STRVAR(run_doc, "run(line, to_string=False)\n\n"
		      "Run one aiodbg command line (\"tasks --json\") against GDB's selected "
		      "inferior. Writes the output with gdb.write, or returns it when to_string "
		      "is true. Errors raise gdb.GdbError.");

static PyObject *py_run(PyObject *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = {"line", "to_string", NULL};
	struct adbg_cmd_opts opts = {0};
	struct adbg_session *s = NULL;
	const struct adbg_cmd *cmd;
	struct adbg_error *err = NULL;
	const char *line;
	int to_string = 0;
	char word[64], *text = NULL;
	size_t len = 0;
	PyObject *result;
	FILE *out;

	(void)self;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "s|p:run", kwlist, &line, &to_string))
		return NULL;
	gdbext_interrupted = 0;
	cmd = adbg_cmd_find(first_word(line, word, sizeof(word)));
	// Unknown commands and help need no target: let the command layer answer them
	// even when GDB has nothing loaded.
	if (cmd && !(cmd->flags & ADBG_CMD_NO_TARGET)) {
		err = current_session(&s);
		if (err)
			return raise_adbg_error(err);
	}
	opts.state = &g.state;
	opts.width = int_parameter("width");
	opts.color = !to_string && isatty(STDOUT_FILENO) && int_parameter("style enabled");

	out = open_memstream(&text, &len);
	if (!out)
		return PyErr_NoMemory();
	if (cmd && (cmd->flags & ADBG_CMD_LIVE_ONLY) && s && !s->target->core_path) {
		g.busy = true;
		err = gdbext_live_run(s, gdbext_target_native(s->target), line, &opts, out);
		g.busy = false;
		if (g.forget_later)
			forget_session();
	} else {
		err = adbg_cmd_run(s, line, &opts, out);
	}
	fclose(out);
	if (PyErr_Occurred()) {
		// A Python error that a callback could not turn into an adbg_error.
		free(text);
		adbg_error_destroy(err);
		return NULL;
	}
	if (to_string && !err) {
		result = PyUnicode_DecodeUTF8(text ? text : "", (Py_ssize_t)len, "replace");
		free(text);
		return result;
	}
	// What a failing command printed before failing is still worth seeing.
	if (!to_string && gdb_write_text(text, len) < 0) {
		free(text);
		adbg_error_destroy(err);
		return NULL;
	}
	free(text);
	// ADBG_ERR_REPORTED: what was just written shows the failure (a traceback, JSON); GDB
	// has no exit status to carry it, and an error would only say it again. (to_string:
	// nothing was shown, the error says it.)
	if (adbg_error_is(err, ADBG_ERR_REPORTED) && !to_string) {
		adbg_error_destroy(err);
		Py_RETURN_NONE;
	}
	if (err)
		return raise_adbg_error(err);
	Py_RETURN_NONE;
}

static PyObject *str_tuple(const char *const *v, size_t max)
{
	size_t n = 0;
	PyObject *t;

	while (n < max && v[n])
		n++;
	t = PyTuple_New((Py_ssize_t)n);
	for (size_t i = 0; t && i < n; i++) {
		PyObject *s = PyUnicode_FromString(v[i]);

		if (!s) {
			Py_DECREF(t);
			return NULL;
		}
		PyTuple_SET_ITEM(t, (Py_ssize_t)i, s);
	}
	return t;
}

PyDoc_STRVAR(commands_doc, "commands() -> list of dict\n\n"
			   "The command table: name, aliases, usage, summary, help, options, "
			   "live_only, frontend (handled by the REPL, not by GDB).");

static PyObject *py_commands(PyObject *self, PyObject *unused)
{
	PyObject *list = PyList_New(0);

	(void)self;
	(void)unused;
	for (const struct adbg_cmd *c = adbg_cmds; list && c->name; c++) {
		PyObject *d = Py_BuildValue(
			"{s:s,s:N,s:s,s:s,s:s,s:N,s:O,s:O}", "name", c->name, "aliases",
			str_tuple(c->aliases, 4), "usage", c->usage ? c->usage : c->name, "summary",
			c->summary ? c->summary : "", "help", c->help ? c->help : "", "options",
			str_tuple(c->options, 8), "live_only",
			c->flags & ADBG_CMD_LIVE_ONLY ? Py_True : Py_False, "frontend",
			c->flags & ADBG_CMD_FRONTEND ? Py_True : Py_False);

		if (!d || PyList_Append(list, d) < 0) {
			Py_XDECREF(d);
			Py_DECREF(list);
			return NULL;
		}
		Py_DECREF(d);
	}
	return list;
}

struct completions {
	PyObject *list;
	/** GDB replaces only its own last word, which may be a tail of ours. */
	size_t skip;
	int failed;
};

static void add_completion(void *arg, const char *cand)
{
	struct completions *c = arg;
	PyObject *s;

	if (c->failed || strlen(cand) < c->skip)
		return;
	s = PyUnicode_FromString(cand + c->skip);
	if (!s || PyList_Append(c->list, s) < 0)
		c->failed = 1;
	Py_XDECREF(s);
}

PyDoc_STRVAR(complete_doc, "complete(command, text, word) -> list of str\n\n"
			   "Completions for `aio COMMAND TEXT` (the shared command layer's: "
			   "options, command names, task ids and names, thread ids). word is "
			   "GDB's last word; the results complete it.");

static PyObject *py_complete(PyObject *self, PyObject *args)
{
	const char *name, *text, *word, *token;
	struct completions c = {0};
	struct adbg_session *s = NULL;
	struct adbg_error *err;
	size_t tlen, wlen;
	char *line;

	(void)self;
	if (!PyArg_ParseTuple(args, "szz:complete", &name, &text, &word))
		return NULL;
	if (!text)
		text = "";
	if (!word)
		word = "";
	// Our word is everything after the last blank; GDB's stops at its own word breaks
	// too ('-' is one), so "--j" is our word and "j" GDB's: we return "json".
	tlen = strlen(text);
	token = text + tlen;
	while (token > text && token[-1] != ' ' && token[-1] != '\t')
		token--;
	wlen = strlen(word);
	c.skip = strlen(token) >= wlen ? strlen(token) - wlen : 0;
	c.list = PyList_New(0);
	if (!c.list)
		return NULL;
	if (asprintf(&line, "%s %s", name, text) < 0) {
		Py_DECREF(c.list);
		return PyErr_NoMemory();
	}
	gdbext_interrupted = 0;
	err = current_session(&s);
	if (err) {
		// No target (yet): commands and options only.
		adbg_error_destroy(err);
		s = NULL;
	}
	PyErr_Clear();
	adbg_cmd_complete(s, &g.complete, line, token, add_completion, &c);
	free(line);
	PyErr_Clear();
	if (c.failed) {
		Py_DECREF(c.list);
		return PyErr_NoMemory();
	}
	return c.list;
}

PyDoc_STRVAR(invalidate_doc, "invalidate()\n\n"
			     "The inferior ran or its memory changed: drop what was cached "
			     "(connected to gdb.events.stop, cont and memory_changed).");

static PyObject *py_invalidate(PyObject *self, PyObject *unused)
{
	(void)self;
	(void)unused;
	g.stale = true;
	adbg_complete_cache_destroy(g.complete);
	g.complete = NULL;
	Py_RETURN_NONE;
}

PyDoc_STRVAR(forget_doc, "forget()\n\n"
			 "GDB's program changed (new objfiles, exit, another core): drop the "
			 "session; the next command opens a new one.");

static PyObject *py_forget(PyObject *self, PyObject *unused)
{
	(void)self;
	(void)unused;
	forget_session();
	Py_RETURN_NONE;
}

PyDoc_STRVAR(check_doc, "check()\n\n"
			"Before each GDB prompt: if GDB no longer has the process that live "
			"control loaded its agent into (detach, kill), close the agent's channel "
			"so it resumes the loop.");

static PyObject *py_check(PyObject *self, PyObject *unused)
{
	(void)self;
	(void)unused;
	if (!g.busy)
		gdbext_live_check();
	Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
	{"run", (PyCFunction)(void (*)(void))py_run, METH_VARARGS | METH_KEYWORDS, run_doc},
	{"commands", py_commands, METH_NOARGS, commands_doc},
	{"complete", py_complete, METH_VARARGS, complete_doc},
	{"invalidate", py_invalidate, METH_NOARGS, invalidate_doc},
	{"forget", py_forget, METH_NOARGS, forget_doc},
	{"check", py_check, METH_NOARGS, check_doc},
	{NULL, NULL, 0, NULL},
};

static void module_free(void *unused)
{
	(void)unused;
	forget_session();
}

static struct PyModuleDef module = {
	PyModuleDef_HEAD_INIT,
	.m_name = "aiodbg_gdb",
	.m_doc = "aiodbg commands for GDB: asyncio tasks, await graph and Python stacks of "
		 "the inferior.",
	.m_size = -1,
	.m_methods = methods,
	.m_free = module_free,
};

PyMODINIT_FUNC PyInit_aiodbg_gdb(void);

PyMODINIT_FUNC PyInit_aiodbg_gdb(void)
{
	PyObject *m = PyModule_Create(&module);

	if (!m)
		return NULL;
	if (PyModule_AddStringConstant(m, "PYTHON_VERSION", BUILT_FOR) < 0 ||
	    PyModule_AddStringConstant(m, "BUILD_TAG", build_tag) < 0) {
		Py_DECREF(m);
		return NULL;
	}
	return m;
}
