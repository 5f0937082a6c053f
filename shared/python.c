// SPDX-License-Identifier: MIT
// Finding _PyRuntime in a target and recognising its CPython version, build and layout
// (see python.h).
#include "python.h"

#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "symbols.h"

// 3.13+ Include/internal/pycore_debug_offsets.h (3.13: pycore_runtime.h): _Py_Debug_Cookie,
// the first 8 bytes of _PyRuntime, no NUL.
#define DEBUG_COOKIE "xdebugpy"
#define DEBUG_COOKIE_LEN 8

// Byte offset of _Py_DebugOffsets.version (3.13-3.15, after the cookie).
#define DEBUG_VERSION_OFF 8

static void target_name(const struct adbg_target *t, char *buf, size_t len)
{
	if (t->kind == ADBG_TARGET_CORE && t->core_path)
		snprintf(buf, len, "the process of core %s", t->core_path);
	else if (t->pid)
		snprintf(buf, len, "process %d", t->pid);
	else
		snprintf(buf, len, "the target");
}

// Read len bytes the target holds at addr; if the target lacks them (a core without
// read-only file segments), take the file's initial contents, which is what a constant
// such as Py_Version still holds.
static ADBG_MUST_CHECK struct adbg_error *read_or_file(struct adbg_target *t,
						       struct adbg_symbols *syms, size_t file,
						       uint64_t addr, void *buf, size_t len)
{
	struct adbg_error *err = adbg_target_read(t, addr, buf, len), *ferr;

	if (!err || err->code == ADBG_ERR_NOMEM)
		return err;
	ferr = adbg_symbols_file_read(syms, file, addr, buf, len);
	if (!ferr) {
		adbg_error_destroy(err);
		return NULL;
	}
	adbg_error_destroy(ferr);
	return err;
}

// 3.11/3.12: Python/getversion.c `const unsigned long Py_Version = PY_VERSION_HEX;`
// (exported since 3.11). Look in the runtime's own file first, then in any python file.
static ADBG_MUST_CHECK struct adbg_error *read_py_version(struct adbg_target *t,
							  struct adbg_symbols *syms,
							  size_t runtime_file, uint64_t *ret)
{
	struct adbg_symbols_hit hit;
	struct adbg_error *err;
	uint64_t v;

	err = adbg_symbols_file_symbol(syms, runtime_file, "Py_Version", &hit);
	if (err) {
		adbg_error_destroy(err);
		err = adbg_symbols_find_symbol(syms, "Py_Version", ADBG_SYMBOLS_CONTAINS, "python",
					       &hit);
	}
	if (err) {
		const char *path = adbg_symbols_file_path(syms, runtime_file);
		const char *p = strstr(path, "python3.");
		unsigned minor;

		adbg_error_destroy(err);
		// Before 3.11 there is no Py_Version; the file name (python3.10,
		// libpython3.10.so.1.0) still says which Python it is.
		if (p && sscanf(p, "python3.%u", &minor) == 1 && minor < 11)
			return adbg_error_create(ADBG_ERR_UNSUPPORTED,
						 "Python 3.%u is not supported: aiodbg supports "
						 "CPython 3.11-3.15 (%s)",
						 minor, path);
		return adbg_error_create(
			ADBG_ERR_UNSUPPORTED,
			"%s has _PyRuntime but no Py_Version symbol: Python "
			"older than 3.11 is not supported (aiodbg supports CPython "
			"3.11-3.15)",
			path);
	}
	err = read_or_file(t, syms, hit.file, hit.addr, &v, sizeof(v));
	if (err)
		return adbg_error_wrap(err, "reading Py_Version at %#" PRIx64, hit.addr);
	*ret = v;
	return NULL;
}

// Look for the AsyncioDebug section (3.14+ Modules/_asynciomodule.c, emitted with
// GENERATE_DEBUG_SECTION): in the runtime's file (static _asyncio, as Debian's 3.15),
// then in _asyncio extension modules, then anywhere. Not finding it is not an error:
// asyncio may not be imported yet.
static ADBG_MUST_CHECK struct adbg_error *find_asyncio_debug(struct adbg_target *t,
							     struct adbg_symbols *syms,
							     size_t runtime_file, size_t want,
							     uint64_t *addr_ret, unsigned char *buf)
{
	static const struct {
		enum adbg_symbols_match match;
		const char *filter;
	} passes[] = {
		{ADBG_SYMBOLS_ANY, NULL},
		{ADBG_SYMBOLS_CONTAINS, "_asyncio"},
		{ADBG_SYMBOLS_LACKS, "_asyncio"},
	};

	for (size_t p = 0; p < sizeof(passes) / sizeof(passes[0]); p++) {
		for (size_t i = 0; i < adbg_symbols_nfiles(syms); i++) {
			struct adbg_symbols_hit hit;
			struct adbg_error *err;

			// Pass 0 is the runtime's file only; later passes skip it.
			if ((p == 0) != (i == runtime_file) ||
			    !adbg_symbols_file_matches(syms, i, passes[p].match, passes[p].filter))
				continue;
			err = adbg_symbols_file_section(syms, i, "AsyncioDebug", &hit);
			if (err) {
				if (err->code == ADBG_ERR_NOMEM)
					return err;
				adbg_error_destroy(err);
				continue;
			}
			if (hit.size < want)
				return adbg_error_create(ADBG_ERR_BAD_DATA,
							 "%s: AsyncioDebug section is %" PRIu64
							 " bytes, expected %zu",
							 hit.path, hit.size, want);
			err = read_or_file(t, syms, i, hit.addr, buf, want);
			if (err)
				return adbg_error_wrap(err, "%s: reading AsyncioDebug at %#" PRIx64,
						       hit.path, hit.addr);
			*addr_ret = hit.addr;
			return NULL;
		}
	}
	*addr_ret = 0;
	return NULL;
}

// _PySet_Dummy: Objects/setobject.c exports a pointer variable to the dummy key that
// marks deleted set entries (3.11-3.15). Its address, 0 when no file defines it.
static uint64_t find_set_dummy(struct adbg_symbols *syms, size_t runtime_file)
{
	struct adbg_symbols_hit hit;
	struct adbg_error *err;

	err = adbg_symbols_file_symbol(syms, runtime_file, "_PySet_Dummy", &hit);
	if (err) {
		adbg_error_destroy(err);
		err = adbg_symbols_find_symbol(syms, "_PySet_Dummy", ADBG_SYMBOLS_ANY, NULL, &hit);
	}
	if (err) {
		adbg_error_destroy(err);
		return 0;
	}
	return hit.addr;
}

static ADBG_MUST_CHECK struct adbg_error *layout_mismatch(const struct adbg_python *py,
							  const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static ADBG_MUST_CHECK struct adbg_error *layout_mismatch(const struct adbg_python *py,
							  const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return adbg_error_create(ADBG_ERR_UNSUPPORTED,
				 "Python %s: the layout aiodbg has for it does not fit this "
				 "interpreter (%s); this build or patch release is not supported "
				 "yet",
				 py->version_str, why);
}

// A look at the interpreter's static structures with the new layout. On 3.11/3.12 the
// layout is built in and internal structs are not promised stable across patch releases
// (3.13.0 -> 3.13.18 grew PyThreadState), so a release we never saw is caught here rather
// than producing garbage later. Only memory that a running program does not change under
// us is read: the main interpreter is _PyRuntime._main_interpreter and its first thread
// state is embedded in it (3.11-3.15 Include/internal/pycore_runtime.h, pycore_interp.h),
// both set up once at startup. Thread states that come and go (threads_head) are
// checked by every snapshot, where a mismatch is a race (runtime.c). Memory that cannot
// be read (a process still starting, a core without the data segment) proves nothing.
static ADBG_MUST_CHECK struct adbg_error *check_runtime(struct adbg_target *t,
							const struct adbg_python *py)
{
	const struct adbg_layout *l = &py->layout;
	uint64_t rt = py->runtime_addr, interp = 0, tstate = 0, back = 0;
	struct adbg_error *err;

	err = adbg_read_u64(t, rt + l->runtime_state.interpreters_main, &interp);
	if (!err && !interp)
		return NULL; // not initialised yet
	if (!err && l->runtime_state.size && l->interpreter_state.size &&
	    (interp < rt || interp - rt > l->runtime_state.size ||
	     l->runtime_state.size - (interp - rt) < l->interpreter_state.size))
		return layout_mismatch(py,
				       "the main interpreter %#" PRIx64
				       " is not inside _PyRuntime at %#" PRIx64,
				       interp, rt);
	// The first thread state: 3.13+ threads.main names it; 3.11/3.12 have no such field
	// and keep it as the last member of PyInterpreterState (_initial_thread).
	if (!err && l->interpreter_state.threads_main != ADBG_NO_FIELD)
		err = adbg_read_u64(t, interp + l->interpreter_state.threads_main, &tstate);
	else if (!err && l->interpreter_state.size > l->thread_state.size)
		tstate = interp + l->interpreter_state.size - l->thread_state.size;
	if (!err && tstate)
		err = adbg_read_u64(t, tstate + l->thread_state.interp, &back);
	if (err) {
		if (err->code == ADBG_ERR_NOMEM)
			return err;
		adbg_error_destroy(err);
		return NULL;
	}
	// 0: not used yet, or already cleared (after a fork from another thread).
	if (back && back != interp)
		return layout_mismatch(py,
				       "thread state %#" PRIx64
				       " does not point back to interpreter %#" PRIx64,
				       tstate, interp);
	return NULL;
}

/*
 * 3.13+: read the cookie at the start of _PyRuntime (at addr) and the _Py_DebugOffsets
 * table that follows; *table_ret is malloc'd. No cookie: *version_ret = 0, *table_ret =
 * NULL. what names the runtime in messages.
 */
static ADBG_MUST_CHECK struct adbg_error *
read_debug_offsets(struct adbg_target *t, uint64_t addr, const char *what, uint64_t *version_ret,
		   unsigned char **table_ret, size_t *len_ret)
{
	unsigned char head[24], *table;
	uint64_t version;
	struct adbg_error *err;
	size_t table_len;
	char vs[32];

	*version_ret = 0;
	*table_ret = NULL;
	*len_ret = 0;
	err = adbg_target_read(t, addr, head, sizeof(head));
	if (err)
		return adbg_error_wrap(err, "%s: reading _PyRuntime at %#" PRIx64, what, addr);
	if (memcmp(head, DEBUG_COOKIE, DEBUG_COOKIE_LEN) != 0)
		return NULL;
	memcpy(&version, head + DEBUG_VERSION_OFF, sizeof(version));
	adbg_version_string(version, vs, sizeof(vs));
	table_len = adbg_layout_debug_offsets_size(version);
	if (!table_len) {
		// A cookie only exists from 3.13 on: an older version here is garbage, a newer
		// one is a CPython we do not know yet.
		if (((version >> 24) & 0xff) == 3 && ((version >> 16) & 0xff) > 15 &&
		    !(version >> 32))
			return adbg_error_create(ADBG_ERR_UNSUPPORTED,
						 "Python %s is not supported: aiodbg "
						 "supports CPython 3.11-3.15",
						 vs);
		return adbg_error_create(ADBG_ERR_BAD_DATA,
					 "%s: _Py_DebugOffsets says version %#" PRIx64, what,
					 version);
	}
	table = malloc(table_len);
	if (!table)
		return &adbg_error_nomem;
	err = adbg_target_read(t, addr, table, table_len);
	if (err) {
		free(table);
		return adbg_error_wrap(err, "%s: reading _Py_DebugOffsets", what);
	}
	*version_ret = version;
	*table_ret = table;
	*len_ret = table_len;
	return NULL;
}

/* 3.13+ always starts _PyRuntime with the cookie (pycore_runtime_init.h). */
static ADBG_MUST_CHECK struct adbg_error *check_no_cookie(uint64_t version, const char *what,
							  uint64_t addr)
{
	char vs[32];

	adbg_version_string(version, vs, sizeof(vs));
	if (((version >> 24) & 0xff) == 3 && ((version >> 16) & 0xff) >= 13 &&
	    ((version >> 16) & 0xff) <= 15)
		return adbg_error_create(ADBG_ERR_BAD_DATA,
					 "%s: Python %s but no \"xdebugpy\" cookie at "
					 "_PyRuntime (%#" PRIx64 ")",
					 what, vs, addr);
	return NULL;
}

/* Build py->layout from what was read, and check it against the live structures. */
static ADBG_MUST_CHECK struct adbg_error *finish(struct adbg_target *t, struct adbg_python *py,
						 uint64_t runtime_addr, uint64_t version,
						 const unsigned char *table, size_t table_len,
						 const unsigned char *ad, size_t ad_len)
{
	struct adbg_error *err;

	err = adbg_layout_build(version, table, table_len, ad, ad ? ad_len : 0, &py->layout);
	if (err)
		return err;
	adbg_version_string(version, py->version_str, sizeof(py->version_str));
	py->runtime_addr = runtime_addr;
	return check_runtime(t, py);
}

// Build the layout for the runtime at rt: cookie and _Py_DebugOffsets on 3.13+,
// Py_Version before; AsyncioDebug when present.
static ADBG_MUST_CHECK struct adbg_error *recognise(struct adbg_target *t,
						    struct adbg_symbols *syms,
						    const struct adbg_symbols_hit *rt,
						    struct adbg_python *py)
{
	unsigned char *table = NULL, adbuf[128];
	size_t table_len = 0, ad_len;
	uint64_t version = 0;
	struct adbg_error *err;

	err = read_debug_offsets(t, rt->addr, rt->path, &version, &table, &table_len);
	if (err)
		return err;
	if (!table) {
		err = read_py_version(t, syms, rt->file, &version);
		if (!err)
			err = check_no_cookie(version, rt->path, rt->addr);
		if (err)
			return err;
	}

	ad_len = adbg_layout_asyncio_debug_size(version);
	py->asyncio_debug_addr = 0;
	if (ad_len) {
		if (ad_len > sizeof(adbuf))
			ad_len = 0;
		else
			err = find_asyncio_debug(t, syms, rt->file, ad_len, &py->asyncio_debug_addr,
						 adbuf);
		if (err) {
			free(table);
			return err;
		}
	}
	err = finish(t, py, rt->addr, version, table, table_len,
		     py->asyncio_debug_addr ? adbuf : NULL, ad_len);
	free(table);
	if (err)
		return err;
	py->set_dummy_addr = find_set_dummy(syms, rt->file);
	free(py->binary);
	py->binary = strdup(rt->path);
	if (!py->binary)
		return &adbg_error_nomem;
	return NULL;
}

struct adbg_error *adbg_python_at(struct adbg_target *t, uint64_t runtime_addr, uint64_t version,
				  uint64_t asyncio_debug_addr, struct adbg_python **ret)
{
	unsigned char *table = NULL, adbuf[128];
	size_t table_len = 0, ad_len = 0;
	struct adbg_python *py;
	struct adbg_error *err;
	uint64_t v;

	err = read_debug_offsets(t, runtime_addr, "_PyRuntime", &v, &table, &table_len);
	if (err)
		return err;
	if (!table) {
		v = version;
		err = check_no_cookie(v, "_PyRuntime", runtime_addr);
		if (err)
			return err;
	}
	if (asyncio_debug_addr) {
		ad_len = adbg_layout_asyncio_debug_size(v);
		if (ad_len > sizeof(adbuf))
			ad_len = 0;
		if (ad_len)
			err = adbg_target_read(t, asyncio_debug_addr, adbuf, ad_len);
		if (err) {
			free(table);
			return adbg_error_wrap(err, "reading AsyncioDebug at %#" PRIx64,
					       asyncio_debug_addr);
		}
	}
	py = calloc(1, sizeof(*py));
	if (!py) {
		free(table);
		return &adbg_error_nomem;
	}
	err = finish(t, py, runtime_addr, v, table, table_len, ad_len ? adbuf : NULL, ad_len);
	free(table);
	if (err) {
		adbg_python_destroy(py);
		return err;
	}
	if (ad_len)
		py->asyncio_debug_addr = asyncio_debug_addr;
	*ret = py;
	return NULL;
}

// The error to report when no candidate worked.
static ADBG_MUST_CHECK struct adbg_error *
not_found(struct adbg_target *t, struct adbg_symbols *syms, struct adbg_error *python_open_err)
{
	const struct adbg_error *open_err = adbg_symbols_open_error(syms);
	char who[PATH_MAX + 64];

	target_name(t, who, sizeof(who));
	// A file named like Python that we could not read: that is the likely culprit.
	if (python_open_err)
		// Advise once: the core target's own message may already say it.
		return strstr(python_open_err->message, "--sysroot")
			       ? adbg_error_wrap(python_open_err,
						 "cannot recognise the Python of %s", who)
			       : adbg_error_wrap(
					 python_open_err,
					 "cannot recognise the Python of %s (pass --sysroot "
					 "or --lib-path if its files moved)",
					 who);
	if (open_err)
		return adbg_error_create(
			ADBG_ERR_NOT_FOUND,
			"%s is not a Python process (no readable mapped file holds "
			"_PyRuntime; could not read: %s; pass --sysroot or --lib-path "
			"if files moved)",
			who, open_err->message);
	return adbg_error_create(ADBG_ERR_NOT_FOUND,
				 "%s is not a Python process (no mapped file holds _PyRuntime)",
				 who);
}

struct adbg_error *adbg_python_find(struct adbg_target *t, struct adbg_python **ret)
{
	struct adbg_error *first_err = NULL, *python_open_err = NULL, *err;
	struct adbg_python *py;
	struct adbg_symbols *syms;

	err = adbg_symbols_create(t, &syms);
	if (err)
		return err;
	py = calloc(1, sizeof(*py));
	if (!py) {
		adbg_symbols_destroy(syms);
		return &adbg_error_nomem;
	}
	// docs/design.md §3: CPython's own tools look at files named
	// "python" (the executable or libpython); static embedders need the others too.
	for (int pass = 0; pass < 2; pass++) {
		enum adbg_symbols_match match = pass ? ADBG_SYMBOLS_LACKS : ADBG_SYMBOLS_CONTAINS;

		for (size_t i = 0; i < adbg_symbols_nfiles(syms); i++) {
			struct adbg_symbols_hit hit;

			if (!adbg_symbols_file_matches(syms, i, match, "python"))
				continue;
			err = adbg_symbols_file_section(syms, i, ".PyRuntime", &hit);
			if (adbg_error_is(err, ADBG_ERR_NOT_FOUND)) {
				// A build without the section still exports the symbol.
				adbg_error_destroy(err);
				err = adbg_symbols_file_symbol(syms, i, "_PyRuntime", &hit);
			}
			if (err) {
				if (err->code == ADBG_ERR_NOMEM)
					goto fail;
				// A file named like Python that cannot be opened (a core whose
				// executable moved) is the likely culprit, whatever the code.
				if (!pass && !python_open_err &&
				    adbg_symbols_file_unreadable(syms, i))
					python_open_err = err;
				else
					adbg_error_destroy(err);
				continue;
			}
			err = recognise(t, syms, &hit, py);
			if (!err) {
				adbg_error_destroy(first_err);
				adbg_error_destroy(python_open_err);
				adbg_symbols_destroy(syms);
				*ret = py;
				return NULL;
			}
			if (err->code == ADBG_ERR_NOMEM)
				goto fail;
			// Keep looking (a stale dlopen'ed copy, a file that merely embeds the
			// section), but report the first real problem if nothing else works.
			if (!first_err)
				first_err = err;
			else
				adbg_error_destroy(err);
		}
	}
	if (first_err) {
		adbg_error_destroy(python_open_err);
		err = first_err;
	} else {
		err = not_found(t, syms, python_open_err);
	}
	adbg_symbols_destroy(syms);
	adbg_python_destroy(py);
	return err;

fail:
	adbg_error_destroy(first_err);
	adbg_error_destroy(python_open_err);
	adbg_symbols_destroy(syms);
	adbg_python_destroy(py);
	return err;
}

struct adbg_error *adbg_python_find_asyncio(struct adbg_target *t, struct adbg_python *py)
{
	unsigned char adbuf[128], *table = NULL;
	size_t ad_len = adbg_layout_asyncio_debug_size(py->layout.version);
	size_t table_len = adbg_layout_debug_offsets_size(py->layout.version);
	struct adbg_symbols *syms;
	struct adbg_layout l;
	struct adbg_error *err;
	size_t runtime_file = SIZE_MAX;
	uint64_t addr = 0;

	if (!ad_len || ad_len > sizeof(adbuf) || py->layout.from_asyncio_debug)
		return NULL;
	err = adbg_symbols_create(t, &syms);
	if (err)
		return err;
	for (size_t i = 0; i < adbg_symbols_nfiles(syms); i++)
		if (py->binary && !strcmp(adbg_symbols_file_path(syms, i), py->binary))
			runtime_file = i;
	err = find_asyncio_debug(t, syms, runtime_file, ad_len, &addr, adbuf);
	adbg_symbols_destroy(syms);
	if (err || !addr)
		return err;
	table = malloc(table_len);
	if (!table)
		return &adbg_error_nomem;
	err = adbg_target_read(t, py->runtime_addr, table, table_len);
	if (!err)
		err = adbg_layout_build(py->layout.version, table, table_len, adbuf, ad_len, &l);
	free(table);
	if (err)
		return err;
	py->layout = l;
	py->asyncio_debug_addr = addr;
	return NULL;
}

void adbg_python_destroy(struct adbg_python *py)
{
	if (!py)
		return;
	free(py->binary);
	free(py);
}

struct adbg_error *adbg_python_symbol(struct adbg_target *t, const char *name, uint64_t *ret)
{
	struct adbg_symbols_hit hit;
	struct adbg_symbols *syms;
	struct adbg_error *err;

	err = adbg_symbols_create(t, &syms);
	if (err)
		return err;
	err = adbg_symbols_find_symbol(syms, name, ADBG_SYMBOLS_CONTAINS, "python", &hit);
	if (adbg_error_is(err, ADBG_ERR_NOT_FOUND)) {
		adbg_error_destroy(err);
		err = adbg_symbols_find_symbol(syms, name, ADBG_SYMBOLS_LACKS, "python", &hit);
	}
	adbg_symbols_destroy(syms);
	if (err)
		return err;
	*ret = hit.addr;
	return NULL;
}
