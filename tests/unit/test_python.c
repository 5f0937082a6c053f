// SPDX-License-Identifier: MIT
// Unit tests of python.c and symbols.c against real CPython files without running them: a
// fake target maps each file's PT_LOAD segments the way ld.so would (file bytes, then zeros
// for .bss) at a chosen base, and opens files by path. The static initializer of
// _PyRuntime (cookie, _Py_DebugOffsets) and Py_Version are in those bytes, so recognition
// runs exactly as on a live process; tests/integration covers real processes.
//
// Interpreters: Debian bookworm /usr/bin/python3.11 (stripped, static), pyenv 3.10.13,
// 3.11.7, 3.12.1, 3.13.0 (libpython), the Debian sid root (.cache/sid, or
// $AIODBG_SID_ROOT) python3.13/3.14/3.15. A missing one is skipped with a loud message;
// with CI=true it is a failure.
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elffile.h"
#include "python.h"
#include "symbols.h"
#include "target.h"

#define OK(expr)                                                                   \
	do {                                                                       \
		struct adbg_error *e_ = (expr);                                    \
		ck_assert_msg(!e_, "%s failed: %s", #expr, e_ ? e_->message : ""); \
	} while (0)

#define FAILS(expr, want, needle)                                                                  \
	do {                                                                                       \
		struct adbg_error *e_ = (expr);                                                    \
		ck_assert_msg(e_, "%s succeeded, expected %s", #expr, adbg_error_code_name(want)); \
		ck_assert_msg(e_->code == (want), "%s: got %s (%s), expected %s", #expr,           \
			      adbg_error_code_name(e_->code), e_->message,                         \
			      adbg_error_code_name(want));                                         \
		ck_assert_msg(!(needle) || strstr(e_->message, (needle) ? (needle) : ""),          \
			      "%s: message <%s> lacks <%s>", #expr, e_->message,                   \
			      (needle) ? (needle) : "");                                           \
		adbg_error_destroy(e_);                                                            \
	} while (0)

// --- A fake target made of real files ----------------------------------------------------

struct fseg {
	uint64_t addr;
	const unsigned char *data;
	size_t size;
	/** the segment is readable (false: a core that lacks it). */
	bool present;
	/** data is a zero buffer of ours (.bss), freed with the target. */
	bool owned;
};

struct ffile {
	char path[512];
	unsigned char *map;
	size_t len;
	uint64_t bias;
	/** mappings not shown yet (fake_show_file). */
	struct adbg_mapping hidden[8];
	size_t nhidden;
};

struct fimpl {
	struct fseg segs[64];
	size_t nsegs;
	struct ffile files[8];
	size_t nfiles;
	/** open_file fails for paths containing this (a core whose files moved). */
	const char *unreadable;
};

static struct adbg_error *f_read(struct adbg_target *t, uint64_t addr, void *buf, size_t len)
{
	struct fimpl *fi = t->impl;

	for (size_t i = 0; i < fi->nsegs; i++) {
		const struct fseg *s = &fi->segs[i];

		if (s->present && addr >= s->addr && addr - s->addr <= s->size &&
		    len <= s->size - (addr - s->addr)) {
			memcpy(buf, s->data + (addr - s->addr), len);
			return NULL;
		}
	}
	return adbg_error_fault(addr, "address %#" PRIx64 " not mapped", addr);
}

static struct adbg_error *f_open_file(struct adbg_target *t, const struct adbg_mapping *m, int *ret)
{
	struct fimpl *fi = t->impl;
	int fd;

	if (fi->unreadable && strstr(m->path, fi->unreadable))
		return adbg_error_os(ENOENT, "cannot open %s", m->path);
	fd = open(m->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return adbg_error_os(errno, "cannot open %s", m->path);
	*ret = fd;
	return NULL;
}

static void f_destroy(struct adbg_target *t)
{
	struct fimpl *fi = t->impl;

	for (size_t i = 0; i < fi->nfiles; i++)
		munmap(fi->files[i].map, fi->files[i].len);
	for (size_t i = 0; i < fi->nsegs; i++)
		if (fi->segs[i].owned)
			free((void *)fi->segs[i].data);
	free(fi);
}

static const struct adbg_target_ops f_ops = {
	.read = f_read,
	.open_file = f_open_file,
	.destroy = f_destroy,
};

static const char *sid_root(void)
{
	const char *r = getenv("AIODBG_SID_ROOT");

	return r && *r ? r : ".cache/sid";
}

static bool have(const char *path)
{
	return access(path, R_OK) == 0;
}

static void skip_loudly(const char *what)
{
	const char *ci = getenv("CI");

	fprintf(stderr, "test_python: SKIPPED: %s is missing\n", what);
	ck_assert_msg(!(ci && !strcmp(ci, "true")), "%s is missing (CI=true)", what);
}

static struct adbg_target *fake_create(void)
{
	struct adbg_target *t;
	struct fimpl *fi = calloc(1, sizeof(*fi));

	ck_assert_ptr_nonnull(fi);
	OK(adbg_target_alloc(&f_ops, ADBG_TARGET_CORE, &t));
	t->impl = fi;
	t->pid = 4242;
	return t;
}

static void add_mapping(struct adbg_target *t, uint64_t start, uint64_t end, uint64_t offset,
			uint64_t inode, const char *perms, const char *path)
{
	struct adbg_mapping *m = realloc(t->maps, (t->nmaps + 1) * sizeof(*m));

	ck_assert_ptr_nonnull(m);
	t->maps = m;
	m = &t->maps[t->nmaps++];
	memset(m, 0, sizeof(*m));
	m->start = start;
	m->end = end;
	m->offset = offset;
	m->inode = inode;
	snprintf(m->perms, sizeof(m->perms), "%s", perms);
	m->path = strdup(path);
	ck_assert_ptr_nonnull(m->path);
}

#define PAGE 4096ull
#define DOWN(x) ((x) & ~(PAGE - 1))
#define UP(x) (((x) + PAGE - 1) & ~(PAGE - 1))

/**
 * Map file at base (ET_DYN) or at its link addresses (ET_EXEC) like ld.so: one mapping per
 * PT_LOAD. The file is mapped copy-on-write so tests may corrupt "memory". With
 * with_mappings false the memory is there but /proc/PID/maps would not show the file yet.
 * Returns the file's index in the fake.
 */
static size_t fake_add_file(struct adbg_target *t, const char *path, uint64_t base,
			    bool with_mappings)
{
	struct fimpl *fi = t->impl;
	struct ffile *ff = &fi->files[fi->nfiles];
	struct adbg_elf *elf;
	struct stat st;
	uint64_t bias = 0;
	int fd;

	ck_assert_uint_lt(fi->nfiles, 8);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_msg(fd >= 0, "open %s", path);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ff->len = st.st_size;
	ff->map = mmap(NULL, ff->len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	ck_assert_ptr_ne(ff->map, MAP_FAILED);
	close(fd);
	snprintf(ff->path, sizeof(ff->path), "%s", path);
	OK(adbg_elf_open_mem(ff->map, ff->len, &elf));
	if (adbg_elf_type(elf) == ET_DYN)
		bias = base;
	ff->bias = bias;
	for (size_t i = 0; i < adbg_elf_phnum(elf); i++) {
		const Elf64_Phdr *p = adbg_elf_phdr(elf, i);
		uint64_t start = bias + p->p_vaddr;
		char perms[5];

		if (p->p_type != PT_LOAD)
			continue;
		ck_assert_uint_lt(fi->nsegs + 2, 64);
		fi->segs[fi->nsegs++] =
			(struct fseg){start, ff->map + p->p_offset, p->p_filesz, true, false};
		if (p->p_memsz > p->p_filesz) {
			unsigned char *zero = calloc(1, p->p_memsz - p->p_filesz);

			ck_assert_ptr_nonnull(zero);
			fi->segs[fi->nsegs++] = (struct fseg){start + p->p_filesz, zero,
							      p->p_memsz - p->p_filesz, true, true};
		}
		snprintf(perms, sizeof(perms), "%c%c%cp", p->p_flags & PF_R ? 'r' : '-',
			 p->p_flags & PF_W ? 'w' : '-', p->p_flags & PF_X ? 'x' : '-');
		if (with_mappings) {
			add_mapping(t, DOWN(start), UP(start + p->p_memsz), DOWN(p->p_offset),
				    st.st_ino, perms, path);
		} else {
			struct adbg_mapping *m = &ff->hidden[ff->nhidden++];

			ck_assert_uint_le(ff->nhidden, 8);
			*m = (struct adbg_mapping){DOWN(start),
						   UP(start + p->p_memsz),
						   DOWN(p->p_offset),
						   st.st_ino,
						   "",
						   NULL};
			snprintf(m->perms, sizeof(m->perms), "%s", perms);
		}
	}
	adbg_elf_destroy(elf);
	return fi->nfiles++;
}

// The mappings of file k appear in the maps (a dlopen since the last look).
static void fake_show_file(struct adbg_target *t, size_t k)
{
	struct ffile *ff = &((struct fimpl *)t->impl)->files[k];

	for (size_t i = 0; i < ff->nhidden; i++)
		add_mapping(t, ff->hidden[i].start, ff->hidden[i].end, ff->hidden[i].offset,
			    ff->hidden[i].inode, ff->hidden[i].perms, ff->path);
	ff->nhidden = 0;
}

// Where symbol name of file i is in the fake target.
static uint64_t file_symbol(struct adbg_target *t, size_t i, const char *name)
{
	struct fimpl *fi = t->impl;
	struct adbg_elf *elf;
	uint64_t v;

	OK(adbg_elf_open_mem(fi->files[i].map, fi->files[i].len, &elf));
	OK(adbg_elf_find_symbol(elf, name, &v, NULL));
	adbg_elf_destroy(elf);
	return v + fi->files[i].bias;
}

static unsigned char *mem_at(struct adbg_target *t, uint64_t addr)
{
	struct fimpl *fi = t->impl;

	for (size_t i = 0; i < fi->nsegs; i++)
		if (addr >= fi->segs[i].addr && addr - fi->segs[i].addr < fi->segs[i].size)
			return (unsigned char *)fi->segs[i].data + (addr - fi->segs[i].addr);
	ck_abort_msg("%#" PRIx64 " not in the fake", addr);
	return NULL;
}

// --- The interpreters ---------------------------------------------------------------------

struct interp {
	const char *label;
	/** the executable; NULL parts are relative to the sid root when sid is set. */
	const char *exe;
	const char *lib;
	/** 3.14: the _asyncio extension module (mapped once asyncio is imported). */
	const char *asyncio_mod;
	bool sid;
	const char *version;
	uint64_t hexversion;
};

static const struct interp interps[] = {
	{"bookworm 3.11.2", "/usr/bin/python3.11", NULL, NULL, false, "3.11.2", 0x030b02f0},
	{"pyenv 3.11.7", "/root/.pyenv/versions/3.11.7/bin/python3.11",
	 "/root/.pyenv/versions/3.11.7/lib/libpython3.11.so.1.0", NULL, false, "3.11.7",
	 0x030b07f0},
	{"pyenv 3.12.1", "/root/.pyenv/versions/3.12.1/bin/python3.12",
	 "/root/.pyenv/versions/3.12.1/lib/libpython3.12.so.1.0", NULL, false, "3.12.1",
	 0x030c01f0},
	{"pyenv 3.13.0", "/root/.pyenv/versions/3.13.0/bin/python3.13",
	 "/root/.pyenv/versions/3.13.0/lib/libpython3.13.so.1.0", NULL, false, "3.13.0",
	 0x030d00f0},
	{"sid 3.13.18", "/usr/bin/python3.13", NULL, NULL, true, "3.13.18", 0x030d12f0},
	{"sid 3.14.10", "/usr/bin/python3.14", NULL,
	 "/usr/lib/python3.14/lib-dynload/_asyncio.cpython-314-x86_64-linux-gnu.so", true,
	 "3.14.10", 0x030e0af0},
	{"sid 3.15.2", "/usr/bin/python3.15", NULL, NULL, true, "3.15.2", 0x030f02f0},
};
#define NINTERPS (int)(sizeof(interps) / sizeof(interps[0]))

#define LIB_BASE 0x7f1234500000ull
#define EXE_BASE 0x555555554000ull
#define MOD_BASE 0x7f5550000000ull

static void path_of(const struct interp *in, const char *p, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s", in->sid ? sid_root() : "", p);
}

/** Build the fake for in; false (after a loud skip) when its files are missing. */
static bool fake_interp(const struct interp *in, bool with_asyncio, struct adbg_target **ret,
			size_t *runtime_file)
{
	char exe[512], mod[512];
	struct adbg_target *t;
	size_t f;

	path_of(in, in->exe, exe, sizeof(exe));
	if (!have(exe)) {
		skip_loudly(exe);
		return false;
	}
	if (in->lib && !have(in->lib)) {
		skip_loudly(in->lib);
		return false;
	}
	t = fake_create();
	f = fake_add_file(t, exe, EXE_BASE, true);
	if (in->lib)
		f = fake_add_file(t, in->lib, LIB_BASE, true);
	if (in->asyncio_mod) {
		path_of(in, in->asyncio_mod, mod, sizeof(mod));
		if (have(mod))
			fake_add_file(t, mod, MOD_BASE, with_asyncio);
	}
	*runtime_file = f;
	*ret = t;
	return true;
}

START_TEST(test_find_real)
{
	const struct interp *in = &interps[_i];
	struct adbg_python *py;
	struct adbg_target *t;
	size_t rf;
	unsigned minor = (in->hexversion >> 16) & 0xff;
	uint64_t addr;

	if (!fake_interp(in, true, &t, &rf))
		return;
	OK(adbg_python_find(t, &py));
	ck_assert_str_eq(py->version_str, in->version);
	ck_assert_uint_eq(py->layout.version, in->hexversion);
	ck_assert_uint_eq(py->runtime_addr, file_symbol(t, rf, "_PyRuntime"));
	ck_assert_str_eq(py->binary, ((struct fimpl *)t->impl)->files[rf].path);
	ck_assert_uint_eq(py->set_dummy_addr, file_symbol(t, rf, "_PySet_Dummy"));
	ck_assert(py->layout.from_debug_offsets == (minor >= 13));
	ck_assert(py->layout.from_asyncio_debug == (minor >= 14));
	ck_assert((py->asyncio_debug_addr != 0) == (minor >= 14));
	if (minor == 14)
		ck_assert_uint_ge(py->asyncio_debug_addr, MOD_BASE);
	if (minor == 15)
		ck_assert_uint_lt(py->asyncio_debug_addr, 0x1000000);
	if (minor >= 13)
		ck_assert_uint_eq(py->layout.thread_state.current_frame, 72);
	OK(adbg_python_symbol(t, "PyRun_SimpleString", &addr));
	ck_assert_uint_eq(addr, file_symbol(t, rf, "PyRun_SimpleString"));
	FAILS(adbg_python_symbol(t, "no_such_symbol_anywhere", &addr), ADBG_ERR_NOT_FOUND, NULL);
	adbg_python_destroy(py);
	adbg_target_destroy(t);
}
END_TEST

// 3.14 with _asyncio not imported yet, then imported: adbg_python_find_asyncio picks it up.
START_TEST(test_asyncio_imported_later)
{
	const struct interp *in = &interps[5];
	struct fimpl *fi;
	struct adbg_python *py;
	struct adbg_target *t;
	char mod[512];
	size_t rf;

	path_of(in, in->asyncio_mod, mod, sizeof(mod));
	if (!fake_interp(in, false, &t, &rf))
		return;
	if (!have(mod)) {
		skip_loudly(mod);
		adbg_target_destroy(t);
		return;
	}
	OK(adbg_python_find(t, &py));
	ck_assert(!py->layout.from_asyncio_debug);
	ck_assert_uint_eq(py->asyncio_debug_addr, 0);
	ck_assert_uint_eq(py->layout.thread_state.asyncio_tasks_head, ADBG_NO_FIELD);
	OK(adbg_python_find_asyncio(t, py));
	ck_assert(!py->layout.from_asyncio_debug);

	// "import asyncio": the module's mappings appear.
	fi = t->impl;
	for (size_t k = 0; k < fi->nfiles; k++)
		if (!strcmp(fi->files[k].path, mod))
			fake_show_file(t, k);
	OK(adbg_python_find_asyncio(t, py));
	ck_assert(py->layout.from_asyncio_debug);
	ck_assert_uint_ge(py->asyncio_debug_addr, MOD_BASE);
	ck_assert_uint_eq(py->layout.thread_state.asyncio_tasks_head, 880);
	ck_assert_uint_eq(py->layout.interpreter_state.asyncio_tasks_head, 10880);
	ck_assert_uint_eq(py->layout.asyncio_task_object.task_coro, 128);
	ck_assert_str_eq(py->version_str, "3.14.10");
	adbg_python_destroy(py);
	adbg_target_destroy(t);
}
END_TEST

START_TEST(test_not_python)
{
	struct adbg_target *t = fake_create();
	struct adbg_python *py = NULL;
	const char *libc = "/lib/x86_64-linux-gnu/libc.so.6";

	fake_add_file(t, "/bin/ls", EXE_BASE, true);
	if (have(libc))
		fake_add_file(t, libc, LIB_BASE, true);
	FAILS(adbg_python_find(t, &py), ADBG_ERR_NOT_FOUND,
	      "process 4242 is not a Python process (no mapped file holds _PyRuntime)");
	ck_assert_ptr_null(py);
	adbg_target_destroy(t);
}
END_TEST

// A core whose libpython moved: say which file could not be read, and what to do.
START_TEST(test_unreadable_python_file)
{
	struct adbg_target *t;
	struct adbg_python *py = NULL;
	size_t rf;

	if (!fake_interp(&interps[2], true, &t, &rf))
		return;
	((struct fimpl *)t->impl)->unreadable = "libpython3.12";
	FAILS(adbg_python_find(t, &py), ADBG_ERR_OS, "--sysroot");
	ck_assert_ptr_null(py);
	adbg_target_destroy(t);
}
END_TEST

START_TEST(test_python_310)
{
	const char *lib = "/root/.pyenv/versions/3.10.13/lib/libpython3.10.so.1.0";
	struct adbg_target *t;
	struct adbg_python *py = NULL;

	if (!have(lib)) {
		skip_loudly(lib);
		return;
	}
	t = fake_create();
	fake_add_file(t, lib, LIB_BASE, true);
	FAILS(adbg_python_find(t, &py), ADBG_ERR_UNSUPPORTED,
	      "Python 3.10 is not supported: aiodbg supports CPython 3.11-3.15");
	adbg_target_destroy(t);
}
END_TEST

// Corrupting _PyRuntime in memory: the cookie, free_threaded, a table entry.
START_TEST(test_corrupt_runtime)
{
	struct adbg_python *py = NULL;
	struct adbg_target *t;
	unsigned char *rt;
	uint64_t v;
	size_t rf;

	if (!fake_interp(&interps[6], true, &t, &rf))
		return;
	rt = mem_at(t, file_symbol(t, rf, "_PyRuntime"));
	rt[0] = 'X';
	FAILS(adbg_python_find(t, &py), ADBG_ERR_BAD_DATA, "cookie");
	rt[0] = 'x';
	v = 1;
	memcpy(rt + 16, &v, 8);
	// A default table claiming a free-threaded build: its object header is 16 bytes.
	FAILS(adbg_python_find(t, &py), ADBG_ERR_BAD_DATA, "free-threaded object header");
	v = 0;
	memcpy(rt + 16, &v, 8);
	v = 0x031000f0;
	memcpy(rt + 8, &v, 8);
	FAILS(adbg_python_find(t, &py), ADBG_ERR_UNSUPPORTED, "3.16.0");
	v = 0x030f02f0;
	memcpy(rt + 8, &v, 8);
	// thread_state.current_frame of the 3.15 table (section at 176, fifth word).
	v = 1u << 30;
	memcpy(rt + 176 + 32, &v, 8);
	FAILS(adbg_python_find(t, &py), ADBG_ERR_BAD_DATA, "thread_state.current_frame");
	ck_assert_ptr_null(py);
	adbg_target_destroy(t);
}
END_TEST

// A patch release whose structs moved: the main interpreter must lie inside _PyRuntime and
// its first thread state (3.11/3.12: _initial_thread, the last member of
// PyInterpreterState) must point back to it. Only those static structures are read: the
// thread list (threads.head), which changes as threads come and go, does not matter here
// (issue 14: a thread ending during attach was taken for an unsupported release).
START_TEST(test_layout_mismatch)
{
	struct adbg_python *py = NULL;
	struct adbg_target *t;
	uint64_t rt, interp, tstate, ghost, garbage = 0x1234567, outside;
	size_t rf;

	if (!fake_interp(&interps[2], true, &t, &rf))
		return;
	rt = file_symbol(t, rf, "_PyRuntime");
	interp = rt + 0x10000;
	// 3.12: interpreters.head at 40, .main at 48; PyInterpreterState is 383552 bytes,
	// PyThreadState 288, PyThreadState.interp at 16; threads.head at 72.
	tstate = interp + 383552 - 288;
	memcpy(mem_at(t, rt + 40), &interp, 8);
	memcpy(mem_at(t, rt + 48), &interp, 8);
	memcpy(mem_at(t, tstate + 16), &interp, 8);
	// The newest thread state is one being torn down: freed memory, reused already.
	ghost = rt + 0x8000;
	memcpy(mem_at(t, interp + 72), &ghost, 8);
	memcpy(mem_at(t, ghost + 16), &garbage, 8);
	OK(adbg_python_find(t, &py));
	adbg_python_destroy(py);
	py = NULL;
	memcpy(mem_at(t, tstate + 16), &tstate, 8);
	FAILS(adbg_python_find(t, &py), ADBG_ERR_UNSUPPORTED, "does not point back");
	ck_assert_ptr_null(py);
	memcpy(mem_at(t, tstate + 16), &interp, 8);
	outside = rt - 0x100000;
	memcpy(mem_at(t, rt + 48), &outside, 8);
	FAILS(adbg_python_find(t, &py), ADBG_ERR_UNSUPPORTED, "not inside _PyRuntime");
	ck_assert_ptr_null(py);
	adbg_target_destroy(t);
}
END_TEST

// A core without the read-only segment holding Py_Version: the file's bytes serve.
START_TEST(test_py_version_from_file)
{
	struct adbg_python *py;
	struct adbg_target *t;
	struct fimpl *fi;
	uint64_t pv;
	size_t rf;

	if (!fake_interp(&interps[1], true, &t, &rf))
		return;
	fi = t->impl;
	pv = file_symbol(t, rf, "Py_Version");
	for (size_t i = 0; i < fi->nsegs; i++)
		if (pv >= fi->segs[i].addr && pv - fi->segs[i].addr < fi->segs[i].size)
			fi->segs[i].present = false;
	OK(adbg_python_find(t, &py));
	ck_assert_str_eq(py->version_str, "3.11.7");
	adbg_python_destroy(py);
	adbg_target_destroy(t);
}
END_TEST

// symbols.c on its own: biases, filters, file reads, remembered open errors.
START_TEST(test_symbols)
{
	const struct interp *in = &interps[2];
	struct adbg_symbols_hit hit;
	struct adbg_symbols *syms;
	struct adbg_target *t;
	unsigned char buf[8];
	size_t rf;

	if (!fake_interp(in, true, &t, &rf))
		return;
	// An anonymous mapping and a second mapping of the same file add no file.
	add_mapping(t, 0x10000, 0x20000, 0, 0, "rw-p",
		    "/root/.pyenv/versions/3.12.1/bin/python3.12");
	t->maps[t->nmaps - 1].inode = t->maps[0].inode;
	OK(adbg_symbols_create(t, &syms));
	ck_assert_uint_eq(adbg_symbols_nfiles(syms), 2);
	ck_assert(adbg_symbols_file_matches(syms, 1, ADBG_SYMBOLS_CONTAINS, "libpython"));
	ck_assert(!adbg_symbols_file_matches(syms, 0, ADBG_SYMBOLS_CONTAINS, "libpython"));
	ck_assert(adbg_symbols_file_matches(syms, 0, ADBG_SYMBOLS_LACKS, "libpython"));

	OK(adbg_symbols_find_section(syms, ".PyRuntime", ADBG_SYMBOLS_ANY, NULL, &hit));
	ck_assert_uint_eq(hit.addr, file_symbol(t, rf, "_PyRuntime"));
	ck_assert_uint_eq(hit.file, 1);
	ck_assert_str_eq(hit.path, in->lib);
	OK(adbg_symbols_find_section(syms, "PyRuntime", ADBG_SYMBOLS_CONTAINS, "python", &hit));
	FAILS(adbg_symbols_find_section(syms, ".PyRuntime", ADBG_SYMBOLS_LACKS, "libpython", &hit),
	      ADBG_ERR_NOT_FOUND, NULL);
	// .comment is not loaded.
	FAILS(adbg_symbols_file_section(syms, 1, ".comment", &hit), ADBG_ERR_NOT_FOUND,
	      "not loaded");
	OK(adbg_symbols_find_symbol(syms, "Py_Version", ADBG_SYMBOLS_ANY, NULL, &hit));
	ck_assert_uint_ge(hit.addr, LIB_BASE);
	OK(adbg_symbols_file_read(syms, hit.file, hit.addr, buf, sizeof(buf)));
	ck_assert_uint_eq(buf[2], 12);
	ck_assert_uint_eq(buf[3], 3);
	ck_assert_ptr_null(adbg_symbols_open_error(syms));
	adbg_symbols_destroy(syms);

	((struct fimpl *)t->impl)->unreadable = "libpython";
	OK(adbg_symbols_create(t, &syms));
	FAILS(adbg_symbols_file_symbol(syms, 1, "Py_Version", &hit), ADBG_ERR_OS, "libpython");
	// Remembered, and answered from the cache the second time.
	ck_assert_ptr_nonnull(adbg_symbols_open_error(syms));
	FAILS(adbg_symbols_file_symbol(syms, 1, "Py_Version", &hit), ADBG_ERR_OS, "libpython");
	FAILS(adbg_symbols_find_symbol(syms, "Py_Version", ADBG_SYMBOLS_ANY, NULL, &hit),
	      ADBG_ERR_NOT_FOUND, NULL);
	adbg_symbols_destroy(syms);
	adbg_target_destroy(t);
}
END_TEST

static Suite *python_suite(void)
{
	Suite *s = suite_create("python");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_find_real, 0, NINTERPS);
	tcase_add_test(tc, test_asyncio_imported_later);
	tcase_add_test(tc, test_not_python);
	tcase_add_test(tc, test_unreadable_python_file);
	tcase_add_test(tc, test_python_310);
	tcase_add_test(tc, test_corrupt_runtime);
	tcase_add_test(tc, test_layout_mismatch);
	tcase_add_test(tc, test_py_version_from_file);
	tcase_add_test(tc, test_symbols);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(python_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
