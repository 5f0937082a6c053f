// SPDX-License-Identifier: MIT
// The GDB-inferior target: memory through gdb.Inferior.read_memory, mappings and threads
// as GDB reports them, files through GDB's sysroot and solib paths.
//
// GDB owns the inferior: it has stopped it (or it is a core), it is its only tracer, and it
// decides when it runs again. So this target has no freeze/thaw; instead the front end
// calls adbg_target_refresh before each command (and on every stop/continue event), which
// drops the page cache and re-reads threads and mappings.
#include "gdbext.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

// Caps on what GDB may tell us; a real program is far below them.
#define MAX_MAPS (1u << 20)
#define MAX_THREADS 65536
// How often (in reads) to let Python notice a pending Ctrl-C.
#define SIGNAL_CHECK_EVERY 256

volatile int gdbext_interrupted;

struct gdb_impl {
	/** bound method inferior.read_memory (strong reference). */
	PyObject *read_memory;
	/** strong reference to the gdb.Inferior. */
	PyObject *inferior;
	/** the identity this target was made for (owned copy). */
	struct gdbext_identity id;
	/** GDB's connection is the native target on this machine: /proc/PID is ours. */
	bool native;
	unsigned reads;
};

static char *xstrdup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

PyObject *gdbext_gdb_module(void)
{
	static PyObject *gdb;

	if (!gdb)
		gdb = PyImport_ImportModule("gdb");
	return gdb;
}

struct adbg_error *gdbext_py_error(enum adbg_error_code code, const char *what)
{
	PyObject *type, *value, *tb, *str = NULL;
	const char *msg = NULL;
	struct adbg_error *err;

	PyErr_Fetch(&type, &value, &tb);
	if (value)
		str = PyObject_Str(value);
	if (str)
		msg = PyUnicode_AsUTF8(str);
	if (!msg) {
		PyErr_Clear();
		msg = type ? ((PyTypeObject *)type)->tp_name : "unknown error";
	}
	err = adbg_error_create(code, "%s: %s", what, msg);
	Py_XDECREF(str);
	Py_XDECREF(type);
	Py_XDECREF(value);
	Py_XDECREF(tb);
	return err;
}

struct adbg_error *gdbext_execute(const char *cmd, char **ret)
{
	PyObject *gdb = gdbext_gdb_module(), *fn, *args, *kw, *res;
	const char *text;
	char *copy;

	if (!gdb)
		return gdbext_py_error(ADBG_ERR_UNSUPPORTED, "import gdb");
	fn = PyObject_GetAttrString(gdb, "execute");
	if (!fn)
		return gdbext_py_error(ADBG_ERR_UNSUPPORTED, "gdb.execute");
	args = Py_BuildValue("(s)", cmd);
	kw = Py_BuildValue("{s:O,s:O}", "to_string", Py_True, "from_tty", Py_False);
	res = args && kw ? PyObject_Call(fn, args, kw) : NULL;
	Py_DECREF(fn);
	Py_XDECREF(args);
	Py_XDECREF(kw);
	if (!res)
		return gdbext_py_error(ADBG_ERR_NOT_FOUND, cmd);
	text = PyUnicode_Check(res) ? PyUnicode_AsUTF8(res) : "";
	copy = text ? strdup(text) : NULL;
	Py_DECREF(res);
	if (!copy) {
		PyErr_Clear();
		return &adbg_error_nomem;
	}
	*ret = copy;
	return NULL;
}

/* A string attribute of obj (None and missing: NULL). New malloc'd string in *ret. */
static ADBG_MUST_CHECK struct adbg_error *str_attr(PyObject *obj, const char *name, char **ret)
{
	PyObject *v = PyObject_GetAttrString(obj, name);
	const char *s;

	if (!v) {
		PyErr_Clear();
		*ret = NULL;
		return NULL;
	}
	if (v == Py_None || !PyUnicode_Check(v)) {
		Py_DECREF(v);
		*ret = NULL;
		return NULL;
	}
	s = PyUnicode_AsUTF8(v);
	*ret = s ? strdup(s) : NULL;
	Py_DECREF(v);
	if (!*ret) {
		PyErr_Clear();
		return &adbg_error_nomem;
	}
	return NULL;
}

static long long_attr(PyObject *obj, const char *name, long dflt)
{
	PyObject *v = PyObject_GetAttrString(obj, name);
	long r = dflt;

	if (!v) {
		PyErr_Clear();
		return dflt;
	}
	if (PyLong_Check(v)) {
		r = PyLong_AsLong(v);
		if (r == -1 && PyErr_Occurred()) {
			PyErr_Clear();
			r = dflt;
		}
	}
	Py_DECREF(v);
	return r;
}

static PyObject *selected_inferior(void)
{
	PyObject *gdb = gdbext_gdb_module();

	return gdb ? PyObject_CallMethod(gdb, "selected_inferior", NULL) : NULL;
}

void gdbext_identity_deinit(struct gdbext_identity *id)
{
	free(id->core_path);
	free(id->exe);
	id->core_path = NULL;
	id->exe = NULL;
}

static bool str_equal(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

bool gdbext_identity_equal(const struct gdbext_identity *a, const struct gdbext_identity *b)
{
	return a->inferior_num == b->inferior_num && a->pid == b->pid && a->core == b->core &&
	       str_equal(a->core_path, b->core_path) && str_equal(a->exe, b->exe);
}

/*
 * The core file's name from `info target` (GDB before 16 has no Inferior.corefile):
 *	Local core dump file:
 *		`/tmp/core.123', file type elf64-x86-64.
 */
static char *core_path_from_info_target(void)
{
	struct adbg_error *err;
	char *text, *p, *q, *path = NULL;

	err = gdbext_execute("info target", &text);
	if (err) {
		adbg_error_destroy(err);
		return NULL;
	}
	p = strstr(text, "core dump file:");
	if (p)
		p = strchr(p, '`');
	if (p) {
		q = strstr(p + 1, "', file type");
		if (!q)
			q = strchr(p + 1, '\'');
		if (q)
			path = strndup(p + 1, (size_t)(q - p - 1));
	}
	free(text);
	return path;
}

struct adbg_error *gdbext_identity_get(struct gdbext_identity *ret)
{
	struct gdbext_identity id = {0};
	PyObject *inf = selected_inferior(), *conn, *pspace, *corefile;
	struct adbg_error *err = NULL;
	char *type = NULL;

	if (!inf)
		return gdbext_py_error(ADBG_ERR_NOT_FOUND, "gdb.selected_inferior");
	id.inferior_num = long_attr(inf, "num", 0);
	id.pid = (int)long_attr(inf, "pid", 0);
	// Inferior.connection (GDB 12+): "native", "core", "remote", "extended-remote", ...
	conn = PyObject_GetAttrString(inf, "connection");
	if (!conn)
		PyErr_Clear();
	if (conn && conn != Py_None)
		err = str_attr(conn, "type", &type);
	Py_XDECREF(conn);
	if (err)
		goto fail;
	id.core = type && strcmp(type, "core") == 0;
	free(type);
	// Inferior.corefile (GDB 16+) names the core; older GDBs say it in `info target`.
	corefile = PyObject_GetAttrString(inf, "corefile");
	if (!corefile)
		PyErr_Clear();
	if (corefile && corefile != Py_None)
		err = str_attr(corefile, "filename", &id.core_path);
	Py_XDECREF(corefile);
	if (err)
		goto fail;
	if (!id.core_path && (id.core || !conn))
		id.core_path = core_path_from_info_target();
	if (id.core_path)
		id.core = true;
	pspace = PyObject_GetAttrString(inf, "progspace");
	if (!pspace)
		PyErr_Clear();
	if (pspace && pspace != Py_None)
		err = str_attr(pspace, "filename", &id.exe);
	Py_XDECREF(pspace);
	if (err)
		goto fail;
	Py_DECREF(inf);
	if (!id.pid && !id.core) {
		gdbext_identity_deinit(&id);
		return adbg_error_create(ADBG_ERR_NOT_FOUND,
					 "GDB has no process and no core file; attach with "
					 "'attach PID' or load one with 'core-file CORE'");
	}
	*ret = id;
	return NULL;

fail:
	Py_DECREF(inf);
	gdbext_identity_deinit(&id);
	return err;
}

struct adbg_error *gdbext_check_stopped(void)
{
	PyObject *inf = selected_inferior(), *list, *seq;
	struct adbg_error *err = NULL;

	list = inf ? PyObject_CallMethod(inf, "threads", NULL) : NULL;
	Py_XDECREF(inf);
	seq = list ? PySequence_Fast(list, "threads") : NULL;
	Py_XDECREF(list);
	if (!seq) {
		PyErr_Clear();
		return NULL;
	}
	for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(seq) && !err; i++) {
		PyObject *r =
			PyObject_CallMethod(PySequence_Fast_GET_ITEM(seq, i), "is_running", NULL);

		// Non-stop mode or `continue &`: memory would change under the reads.
		if (r == Py_True)
			err = adbg_error_create(ADBG_ERR_INVALID_ARG,
						"the program is running; stop it first "
						"('interrupt', or Ctrl-C)");
		Py_XDECREF(r);
		PyErr_Clear();
	}
	Py_DECREF(seq);
	return err;
}

static ADBG_MUST_CHECK struct adbg_error *gdb_read(struct adbg_target *t, uint64_t addr, void *buf,
						   size_t len)
{
	struct gdb_impl *gi = t->impl;
	PyObject *args[2], *mv;
	Py_buffer view;

	if (gdbext_interrupted)
		return adbg_error_create(ADBG_ERR_INTERRUPTED, "interrupted");
	// GDB turns Ctrl-C into a pending Python KeyboardInterrupt; we run no bytecode, so
	// look for it ourselves now and then.
	if (++gi->reads % SIGNAL_CHECK_EVERY == 0 && PyErr_CheckSignals() < 0) {
		PyErr_Clear();
		gdbext_interrupted = 1;
		return adbg_error_create(ADBG_ERR_INTERRUPTED, "interrupted");
	}
	args[0] = PyLong_FromUnsignedLongLong(addr);
	args[1] = PyLong_FromSize_t(len);
	mv = args[0] && args[1] ? PyObject_Vectorcall(gi->read_memory, args, 2, NULL) : NULL;
	Py_XDECREF(args[0]);
	Py_XDECREF(args[1]);
	if (!mv) {
		if (PyErr_ExceptionMatches(PyExc_KeyboardInterrupt)) {
			PyErr_Clear();
			gdbext_interrupted = 1;
			return adbg_error_create(ADBG_ERR_INTERRUPTED, "interrupted");
		}
		if (PyErr_ExceptionMatches(PyExc_MemoryError)) {
			// Python's own MemoryError (gdb.MemoryError is not a subclass).
			PyErr_Clear();
			return &adbg_error_nomem;
		}
		PyErr_Clear();
		return adbg_error_fault(addr, "address %#" PRIx64 " not readable", addr);
	}
	if (PyObject_GetBuffer(mv, &view, PyBUF_SIMPLE) < 0) {
		Py_DECREF(mv);
		return gdbext_py_error(ADBG_ERR_BAD_DATA, "read_memory result");
	}
	if ((size_t)view.len != len) {
		PyBuffer_Release(&view);
		Py_DECREF(mv);
		return adbg_error_fault(addr, "short read of %zu bytes at %#" PRIx64, len, addr);
	}
	memcpy(buf, view.buf, len);
	PyBuffer_Release(&view);
	Py_DECREF(mv);
	return NULL;
}

static ADBG_MUST_CHECK struct adbg_error *gdb_write(struct adbg_target *t, uint64_t addr,
						    const void *buf, size_t len)
{
	struct gdb_impl *gi = t->impl;
	PyObject *res;

	// GDB's own memory write: GDB is the only tracer, and it keeps its caches right.
	res = PyObject_CallMethod(gi->inferior, "write_memory", "Ky#", (unsigned long long)addr,
				  (const char *)buf, (Py_ssize_t)len);
	if (!res) {
		struct adbg_error *err = gdbext_py_error(ADBG_ERR_FAULT, "write_memory");

		err->addr = addr;
		return err;
	}
	Py_DECREF(res);
	return NULL;
}

static int cmp_mapping(const void *a, const void *b)
{
	const struct adbg_mapping *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

struct map_list {
	struct adbg_mapping *v;
	size_t n, cap;
};

static void map_list_free(struct map_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].path);
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

/* Append m (taking its path) to l. */
static ADBG_MUST_CHECK struct adbg_error *map_list_add(struct map_list *l, struct adbg_mapping *m)
{
	if (l->n == MAX_MAPS) {
		free(m->path);
		return NULL;
	}
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 256;
		struct adbg_mapping *nv = realloc(l->v, ncap * sizeof(*nv));

		if (!nv) {
			free(m->path);
			return &adbg_error_nomem;
		}
		l->v = nv;
		l->cap = ncap;
	}
	l->v[l->n++] = *m;
	return NULL;
}

/* Keep only real files: anonymous memory and [heap]/[stack]/[vdso] have no file. */
static ADBG_MUST_CHECK struct adbg_error *set_map_path(struct adbg_mapping *m, char *p)
{
	size_t n;

	while (*p == ' ' || *p == '\t')
		p++;
	n = strcspn(p, "\n");
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	p[n] = '\0';
	// " (deleted)" stays: it is what the target says, and open_file copes.
	if (p[0] != '/')
		return NULL;
	m->path = strdup(p);
	return m->path ? NULL : &adbg_error_nomem;
}

/* /proc/PID/maps of a process on this machine: the same view the live target has. */
static ADBG_MUST_CHECK struct adbg_error *read_proc_maps(struct adbg_target *t, struct map_list *l)
{
	char path[64], *line = NULL;
	size_t linecap = 0;
	struct adbg_error *err = NULL;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", t->pid);
	f = fopen(path, "re");
	if (!f)
		return adbg_error_os(errno, "%s", path);
	while (!err && getline(&line, &linecap, f) > 0) {
		struct adbg_mapping m = {0};
		unsigned long long start, end, off, inode;
		char perms[8];
		int pathpos = 0;

		if (sscanf(line, "%llx-%llx %7s %llx %*x:%*x %llu %n", &start, &end, perms, &off,
			   &inode, &pathpos) < 5)
			continue;
		m.start = start;
		m.end = end;
		m.offset = off;
		m.inode = inode;
		memcpy(m.perms, perms, 4);
		err = set_map_path(&m, line + pathpos);
		if (!err)
			err = map_list_add(l, &m);
	}
	free(line);
	fclose(f);
	return err;
}

static bool is_perms(const char *s)
{
	return strlen(s) == 4 && strchr("r-", s[0]) && strchr("w-", s[1]) && strchr("x-", s[2]) &&
	       strchr("ps", s[3]);
}

/*
 * `info proc mappings`, which GDB answers from /proc (native), from the remote's files
 * (gdbserver) or from the core's NT_FILE note (cores; GDB 13 prints no Perms column
 * there):
 *	Start Addr   End Addr   Size   Offset  [Perms]  objfile
 */
static ADBG_MUST_CHECK struct adbg_error *parse_info_proc_mappings(const char *text,
								   struct map_list *l)
{
	struct adbg_error *err = NULL;
	char *copy = strdup(text), *save = NULL, *line;

	if (!copy)
		return &adbg_error_nomem;
	for (line = strtok_r(copy, "\n", &save); line && !err; line = strtok_r(NULL, "\n", &save)) {
		struct adbg_mapping m = {0};
		unsigned long long start, end, size, off;
		char word[16];
		int pos = 0, wpos = 0;

		if (sscanf(line, " 0x%llx 0x%llx 0x%llx 0x%llx %n", &start, &end, &size, &off,
			   &pos) < 4 ||
		    !pos || end <= start)
			continue;
		m.start = start;
		m.end = end;
		m.offset = off;
		memcpy(m.perms, "r--p", 4);
		if (sscanf(line + pos, "%15s %n", word, &wpos) == 1 && is_perms(word)) {
			memcpy(m.perms, word, 4);
			pos += wpos;
		}
		err = set_map_path(&m, line + pos);
		if (!err)
			err = map_list_add(l, &m);
	}
	free(copy);
	return err;
}

struct load_section {
	uint64_t start, end;
	char perms[5];
};

/*
 * The core's load segments from `maint info sections` (after "Core file:"), e.g.
 *	 [12]      0x7f00->0x7f10 at 0x00002000: load7 ALLOC LOAD READONLY CODE HAS_CONTENTS
 * They give cores their permissions (NT_FILE has none) and their anonymous memory.
 */
static ADBG_MUST_CHECK struct adbg_error *core_load_sections(struct load_section **ret,
							     size_t *nret)
{
	struct load_section *v = NULL;
	size_t n = 0, cap = 0;
	struct adbg_error *err;
	char *text, *p, *save = NULL, *line;

	err = gdbext_execute("maintenance info sections", &text);
	if (err)
		return err;
	p = strstr(text, "Core file:");
	for (line = p ? strtok_r(p, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long long start, end;
		char *colon;

		if (sscanf(line, " [%*u] 0x%llx->0x%llx", &start, &end) != 2 || end <= start)
			continue;
		colon = strstr(line, ": load");
		if (!colon)
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 256;
			struct load_section *nv = realloc(v, ncap * sizeof(*nv));

			if (!nv) {
				free(v);
				free(text);
				return &adbg_error_nomem;
			}
			v = nv;
			cap = ncap;
		}
		v[n].start = start;
		v[n].end = end;
		memcpy(v[n].perms, "r--p", 5);
		if (!strstr(colon, " READONLY"))
			v[n].perms[1] = 'w';
		if (strstr(colon, " CODE"))
			v[n].perms[2] = 'x';
		n++;
	}
	free(text);
	*ret = v;
	*nret = n;
	return NULL;
}

/* Give core file mappings the load segments' permissions, and add anonymous segments. */
static ADBG_MUST_CHECK struct adbg_error *merge_core_segments(struct map_list *l)
{
	struct load_section *segs;
	size_t nsegs, nfile = l->n;
	struct adbg_error *err;

	err = core_load_sections(&segs, &nsegs);
	if (err) {
		// Permissions are a nicety; the file mappings alone still find Python.
		adbg_error_destroy(err);
		return NULL;
	}
	for (size_t i = 0; i < nsegs && !err; i++) {
		bool covered = false;

		for (size_t j = 0; j < nfile; j++) {
			struct adbg_mapping *m = &l->v[j];

			if (m->start >= segs[i].start && m->start < segs[i].end)
				memcpy(m->perms, segs[i].perms, 4);
			if (m->start < segs[i].end && segs[i].start < m->end)
				covered = true;
		}
		if (!covered) {
			struct adbg_mapping m = {.start = segs[i].start, .end = segs[i].end};

			memcpy(m.perms, segs[i].perms, 4);
			err = map_list_add(l, &m);
		}
	}
	free(segs);
	return err;
}

static ADBG_MUST_CHECK struct adbg_error *read_maps(struct adbg_target *t)
{
	struct gdb_impl *gi = t->impl;
	struct map_list l = {0};
	struct adbg_error *err = NULL;
	char *text;

	if (gi->native && t->pid) {
		err = read_proc_maps(t, &l);
		if (err) {
			// Gone, or not ours to read: ask GDB instead.
			adbg_error_destroy(err);
			map_list_free(&l);
			err = NULL;
		}
	}
	if (!l.n) {
		err = gdbext_execute("info proc mappings", &text);
		if (err)
			return adbg_error_wrap(err, "listing the mappings");
		err = parse_info_proc_mappings(text, &l);
		free(text);
		if (!err && gi->id.core)
			err = merge_core_segments(&l);
	}
	if (err) {
		map_list_free(&l);
		return err;
	}
	if (!l.n)
		return adbg_error_create(ADBG_ERR_NOT_FOUND,
					 "GDB reports no mappings for this inferior "
					 "('info proc mappings' is empty)");
	qsort(l.v, l.n, sizeof(*l.v), cmp_mapping);
	// Overlaps would break adbg_target_find_mapping's binary search; GDB never reports
	// them, but cut any so the invariant holds whatever it prints.
	for (size_t i = 1; i < l.n; i++)
		if (l.v[i].start < l.v[i - 1].end)
			l.v[i - 1].end = l.v[i].start;
	adbg_target_free_maps(t);
	t->maps = l.v;
	t->nmaps = l.n;
	return NULL;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return x < y ? -1 : x > y;
}

/* Threads from Inferior.threads(): ptid is (pid, lwp, tid); the LWP is the kernel's tid. */
static ADBG_MUST_CHECK struct adbg_error *read_threads(struct adbg_target *t)
{
	struct gdb_impl *gi = t->impl;
	PyObject *list = PyObject_CallMethod(gi->inferior, "threads", NULL), *seq;
	struct adbg_thread *threads;
	Py_ssize_t n;
	int *tids;
	size_t nt = 0;

	if (!list)
		return gdbext_py_error(ADBG_ERR_NOT_FOUND, "Inferior.threads");
	seq = PySequence_Fast(list, "threads");
	Py_DECREF(list);
	if (!seq)
		return gdbext_py_error(ADBG_ERR_BAD_DATA, "Inferior.threads");
	n = PySequence_Fast_GET_SIZE(seq);
	if (n > MAX_THREADS)
		n = MAX_THREADS;
	tids = calloc((size_t)n + 1, sizeof(*tids));
	if (!tids) {
		Py_DECREF(seq);
		return &adbg_error_nomem;
	}
	for (Py_ssize_t i = 0; i < n; i++) {
		PyObject *ptid = PyObject_GetAttrString(PySequence_Fast_GET_ITEM(seq, i), "ptid");
		long pid = 0, lwp = 0, tid = 0;

		if (!ptid || !PyArg_ParseTuple(ptid, "lll", &pid, &lwp, &tid)) {
			PyErr_Clear();
			Py_XDECREF(ptid);
			continue;
		}
		Py_DECREF(ptid);
		// Remote stubs without LWPs put the thread in tid; a lone thread may have
		// neither.
		tids[nt++] = (int)(lwp ? lwp : tid ? tid : pid);
	}
	Py_DECREF(seq);
	// The order the live target uses: sorted, the main thread (tid == pid) first.
	qsort(tids, nt, sizeof(*tids), cmp_int);
	for (size_t i = 1; i < nt; i++) {
		if (tids[i] == t->pid) {
			memmove(tids + 1, tids, i * sizeof(*tids));
			tids[0] = t->pid;
			break;
		}
	}
	threads = calloc(nt ? nt : 1, sizeof(*threads));
	if (!threads) {
		free(tids);
		return &adbg_error_nomem;
	}
	for (size_t i = 0; i < nt; i++)
		threads[i].tid = tids[i];
	free(tids);
	free(t->threads);
	t->threads = threads;
	t->nthreads = nt;
	return NULL;
}

static ADBG_MUST_CHECK struct adbg_error *gdb_refresh(struct adbg_target *t)
{
	struct gdb_impl *gi = t->impl;
	struct adbg_error *err;

	// A core never changes; a process may have mapped and started things since the
	// last stop.
	if (!gi->id.core || !t->maps) {
		err = read_maps(t);
		if (err)
			return err;
	}
	return read_threads(t);
}

/* GDB's sysroot, unless it means "the target's own files" ("" or "target:..."). */
static char *sysroot(void)
{
	PyObject *gdb = gdbext_gdb_module();
	PyObject *v = gdb ? PyObject_CallMethod(gdb, "parameter", "s", "sysroot") : NULL;
	const char *s;
	char *r = NULL;

	if (!v) {
		PyErr_Clear();
		return NULL;
	}
	s = PyUnicode_Check(v) ? PyUnicode_AsUTF8(v) : NULL;
	if (s && *s && strncmp(s, "target:", 7) != 0 && strcmp(s, "/") != 0)
		r = strdup(s);
	PyErr_Clear();
	Py_DECREF(v);
	return r;
}

/* The file GDB itself loaded for the object mapped at addr (sysroot and solib paths applied). */
static char *gdb_file_for(struct adbg_target *t, uint64_t addr, const char *path)
{
	struct gdb_impl *gi = t->impl;
	PyObject *gdb = gdbext_gdb_module(), *v;
	char *r = NULL;

	if (!gdb)
		return NULL;
	v = PyObject_CallMethod(gdb, "solib_name", "K", (unsigned long long)addr);
	if (v && PyUnicode_Check(v)) {
		const char *s = PyUnicode_AsUTF8(v);

		if (s)
			r = strdup(s);
	}
	Py_XDECREF(v);
	PyErr_Clear();
	// The executable is no solib: it is the program space's file when the names agree.
	if (!r && gi->id.exe && t->executable && strcmp(path, t->executable) == 0)
		r = strdup(gi->id.exe);
	if (r && strncmp(r, "target:", 7) == 0)
		memmove(r, r + 7, strlen(r + 7) + 1);
	return r;
}

static int open_checked(const char *path, uint64_t inode)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd >= 0 && inode && fstat(fd, &st) == 0 && st.st_ino != inode) {
		close(fd);
		errno = ESTALE;
		return -1;
	}
	return fd;
}

static ADBG_MUST_CHECK struct adbg_error *gdb_open_file(struct adbg_target *t,
							const struct adbg_mapping *m, int *ret)
{
	struct gdb_impl *gi = t->impl;
	char path[PATH_MAX + 128];
	char *root, *mine;
	int fd = -1, saved = ENOENT;

	// 1. A process on this machine: the very file mapped, whatever namespace it is in.
	if (gi->native && t->pid) {
		snprintf(path, sizeof(path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, t->pid,
			 m->start, m->end);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			snprintf(path, sizeof(path), "/proc/%d/root%s", t->pid, m->path);
			fd = open_checked(path, m->inode);
		}
	}
	// 2. The file GDB loaded for it: GDB has applied sysroot and solib-search-path.
	if (fd < 0) {
		mine = gdb_file_for(t, m->start, m->path);
		if (mine) {
			fd = open_checked(mine, gi->native ? m->inode : 0);
			free(mine);
		}
	}
	// 3. The user's `set sysroot`.
	if (fd < 0) {
		root = sysroot();
		if (root) {
			snprintf(path, sizeof(path), "%s%s", root, m->path);
			fd = open_checked(path, gi->native ? m->inode : 0);
			free(root);
		}
	}
	// 4. The path as the target names it.
	if (fd < 0) {
		fd = open_checked(m->path, gi->native ? m->inode : 0);
		saved = errno;
	}
	if (fd < 0)
		return adbg_error_os(saved,
				     "cannot open %s (mapped at %#" PRIx64 "); "
				     "if it lives elsewhere here, tell GDB with 'set sysroot DIR' "
				     "or 'set solib-search-path DIRS'",
				     m->path, m->start);
	*ret = fd;
	return NULL;
}

static void gdb_destroy(struct adbg_target *t)
{
	struct gdb_impl *gi = t->impl;

	if (!gi)
		return;
	Py_XDECREF(gi->read_memory);
	Py_XDECREF(gi->inferior);
	gdbext_identity_deinit(&gi->id);
	free(gi);
	t->impl = NULL;
}

static const struct adbg_target_ops gdb_ops;

bool gdbext_target_native(const struct adbg_target *t)
{
	return t->ops == &gdb_ops && ((const struct gdb_impl *)t->impl)->native;
}

static const struct adbg_target_ops gdb_ops = {
	.read = gdb_read,
	.write = gdb_write,
	// GDB has stopped the inferior already and decides when it runs.
	.freeze = NULL,
	.thaw = NULL,
	.refresh = gdb_refresh,
	.open_file = gdb_open_file,
	.destroy = gdb_destroy,
};

/*
 * The executable as the target names it: the file mapped at AT_PHDR (`info auxv`), which is
 * what the core target reports too; the program space's file may be a sysroot copy.
 */
static char *executable_from_auxv(struct adbg_target *t)
{
	struct adbg_error *err;
	const struct adbg_mapping *m;
	unsigned long long phdr = 0;
	char *text, *p;

	err = gdbext_execute("info auxv", &text);
	if (err) {
		adbg_error_destroy(err);
		return NULL;
	}
	// "3    AT_PHDR              Program headers for program    0x400040"
	p = strstr(text, " AT_PHDR ");
	if (p) {
		char *end = strchr(p, '\n'), *hex;

		if (end)
			*end = '\0';
		hex = strrchr(p, ' ');
		if (hex)
			phdr = strtoull(hex + 1, NULL, 16);
	}
	free(text);
	m = phdr ? adbg_target_find_mapping(t, phdr) : NULL;
	return m && m->path ? strdup(m->path) : NULL;
}

/*
 * The command line a core records (NT_PRPSINFO pr_psargs, what "Core was generated by"
 * shows). GDB prints it in `info proc`: "exe = '...'" (GDB 13), "cmdline = '...'" (later).
 */
static char *core_command_line(void)
{
	static const char *const keys[] = {"cmdline = '", "exe = '"};
	struct adbg_error *err;
	char *text, *p, *q, *r = NULL;

	err = gdbext_execute("info proc", &text);
	if (err) {
		adbg_error_destroy(err);
		return NULL;
	}
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]) && !r; i++) {
		p = strstr(text, keys[i]);
		if (!p)
			continue;
		p += strlen(keys[i]);
		q = strchr(p, '\n');
		if (!q)
			q = p + strlen(p);
		while (q > p && q[-1] != '\'')
			q--;
		if (q > p)
			r = strndup(p, (size_t)(q - 1 - p));
	}
	free(text);
	return r;
}

struct adbg_error *gdbext_target_create(const struct gdbext_identity *id, struct adbg_target **ret)
{
	struct adbg_target *t;
	struct gdb_impl *gi;
	struct adbg_error *err;
	PyObject *conn;
	char *type = NULL;

	err = adbg_target_alloc(&gdb_ops, ADBG_TARGET_GDB, &t);
	if (err)
		return err;
	gi = calloc(1, sizeof(*gi));
	if (!gi) {
		free(t);
		return &adbg_error_nomem;
	}
	t->impl = gi;
	t->pid = id->pid;
	gi->id.inferior_num = id->inferior_num;
	gi->id.pid = id->pid;
	gi->id.core = id->core;
	gi->id.core_path = xstrdup_or_null(id->core_path);
	gi->id.exe = xstrdup_or_null(id->exe);
	if ((id->core_path && !gi->id.core_path) || (id->exe && !gi->id.exe)) {
		err = &adbg_error_nomem;
		goto fail;
	}
	gi->inferior = selected_inferior();
	if (!gi->inferior) {
		err = gdbext_py_error(ADBG_ERR_NOT_FOUND, "gdb.selected_inferior");
		goto fail;
	}
	gi->read_memory = PyObject_GetAttrString(gi->inferior, "read_memory");
	if (!gi->read_memory) {
		err = gdbext_py_error(ADBG_ERR_UNSUPPORTED, "Inferior.read_memory");
		goto fail;
	}
	conn = PyObject_GetAttrString(gi->inferior, "connection");
	if (!conn)
		PyErr_Clear();
	if (conn && conn != Py_None) {
		err = str_attr(conn, "type", &type);
		if (err) {
			Py_DECREF(conn);
			goto fail;
		}
	}
	Py_XDECREF(conn);
	// "native": GDB runs the process on this machine, so /proc/PID is the same one
	// (a gdbserver's pid would name some other process here).
	gi->native = type && strcmp(type, "native") == 0 && !id->core;
	free(type);

	if (gi->native) {
		adbg_target_describe_process(t);
	} else {
		if (id->exe) {
			t->executable =
				strdup(strncmp(id->exe, "target:", 7) == 0 ? id->exe + 7 : id->exe);
			if (!t->executable) {
				err = &adbg_error_nomem;
				goto fail;
			}
		}
		if (id->core)
			t->cmdline = core_command_line();
	}
	if (id->core_path) {
		t->core_path = strdup(id->core_path);
		if (!t->core_path) {
			err = &adbg_error_nomem;
			goto fail;
		}
	}
	err = read_maps(t);
	if (!err)
		err = read_threads(t);
	if (err)
		goto fail;
	if (!gi->native) {
		char *exe = executable_from_auxv(t);

		if (exe) {
			free(t->executable);
			t->executable = exe;
		}
	}
	// 2^14 pages: 64 MiB of address space, filled only as pages are read. Each miss
	// is a Python call into GDB, so the cache matters more here than anywhere.
	err = adbg_target_enable_cache(t, 12, 14);
	if (err)
		goto fail;
	*ret = t;
	return NULL;

fail:
	adbg_target_destroy(t);
	return err;
}
