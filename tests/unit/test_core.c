// SPDX-License-Identifier: MIT
// Unit tests of the core-file target (target_core.c): synthetic cores built in memory
// (tests/fuzz/synth_core.h) for maps, threads, reads, file lookup and every error, and a
// real core of python3.11 made with gcore when gcore is installed.
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../fuzz/synth_core.h"
#include "target.h"

#define OK(expr)                                                                   \
	do {                                                                       \
		struct adbg_error *e_ = (expr);                                    \
		ck_assert_msg(!e_, "%s failed: %s", #expr, e_ ? e_->message : ""); \
	} while (0)

// Expect an error with code want whose message contains text; returns nothing, frees it.
#define FAILS(expr, want, text)                                                                    \
	do {                                                                                       \
		struct adbg_error *e_ = (expr);                                                    \
		ck_assert_msg(e_, "%s succeeded, expected %s", #expr, adbg_error_code_name(want)); \
		ck_assert_msg(e_->code == (want), "%s: got %s (%s), expected %s", #expr,           \
			      adbg_error_code_name(e_->code), e_->message,                         \
			      adbg_error_code_name(want));                                         \
		ck_assert_msg(strstr(e_->message, (text)), "%s: message <%s> lacks <%s>", #expr,   \
			      e_->message, (text));                                                \
		adbg_error_destroy(e_);                                                            \
	} while (0)

#define EXE "/usr/bin/fakepython"
#define LIB "/usr/lib/libfake.so"

static const unsigned char good_id[20] = {0xaa, 1,  2,	3,  4,	5,  6,	7,  8,	9,
					  10,	11, 12, 13, 14, 15, 16, 17, 18, 19};
static const unsigned char bad_id[20] = {0xbb, 1,  2,  3,  4,  5,  6,  7,  8,  9,
					 10,   11, 12, 13, 14, 15, 16, 17, 18, 19};

static unsigned char lib_page0[4096];
static unsigned char anon_a[4096];

static const struct synth_seg std_segs[] = {
	// the executable's first page (no ELF header in it: no build id to check)
	{0x400000, 0x1000, 0x1000, PF_R, NULL, 'P'},
	// its text, of which the kernel dumped one page of two
	{0x401000, 0x2000, 0x1000, PF_R | PF_X, NULL, 'T'},
	// two adjacent anonymous segments
	{0x10000000, 0x1000, 0x1000, PF_R | PF_W, anon_a, 0},
	{0x10001000, 0x1000, 0x1000, PF_R | PF_W, NULL, 'b'},
	// the library's first page, with its build id; the rest is not in the core at all
	{0x20000000, 0x1000, 0x1000, PF_R, lib_page0, 0},
};

static const struct synth_fmap std_fmaps[] = {
	{0x400000, 0x401000, 0, EXE},
	{0x401000, 0x403000, 1, EXE},
	{0x20000000, 0x20003000, 0, LIB},
};

static const struct synth_thread std_threads[] = {
	{1234, 0x401234, 0x10000800},
	{1240, 0x401300, 0x10001800},
};

static void init_pages(void)
{
	synth_elf_page(lib_page0, sizeof(lib_page0), good_id, sizeof(good_id), 'C');
	memset(anon_a, 'a', sizeof(anon_a));
	strcpy((char *)anon_a + 0x100, "/opt/bin/execfn-python");
}

static struct synth_core std_core(void)
{
	struct synth_core c = {
		.segs = std_segs,
		.nsegs = sizeof(std_segs) / sizeof(std_segs[0]),
		.fmaps = std_fmaps,
		.nfmaps = sizeof(std_fmaps) / sizeof(std_fmaps[0]),
		.threads = std_threads,
		.nthreads = sizeof(std_threads) / sizeof(std_threads[0]),
		.pid = 1234,
		.fname = "fakepython",
		.psargs = "fakepython -c pass ",
		.at_phdr = 0x400040,
		.at_execfn = 0x10000100,
	};

	init_pages();
	return c;
}

static unsigned char *build(const struct synth_core *c, size_t *len, struct synth_layout *lay)
{
	return synth_core_build(c, len, lay);
}

// ---------------------------------------------------------------------------------------
// files

static char tmpdir[256];

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void tmp_cleanup(void)
{
	if (tmpdir[0])
		nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	tmpdir[0] = '\0';
}

static const char *tmp_make(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/aiodbg-test-core.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	return tmpdir;
}

static char *tmp_path(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *tmp_path(const char *fmt, ...)
{
	static char bufs[8][512];
	static int next;
	char rel[256];
	char *b = bufs[next++ % 8];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	snprintf(b, sizeof(bufs[0]), "%s/%s", tmpdir, rel);
	return b;
}

static void mkdirs(const char *path)
{
	char buf[512];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(buf, 0755);
		*p = '/';
	}
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f;

	mkdirs(path);
	f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	fclose(f);
}

// A library file: page 0 an ELF header with build id id, then pages of p1 and p2.
static void write_lib(const char *path, const unsigned char *id, char p1, char p2, size_t len)
{
	unsigned char buf[3 * 4096];

	synth_elf_page(buf, 4096, id, 20, 'c');
	memset(buf + 4096, p1, 4096);
	memset(buf + 8192, p2, 4096);
	write_file(path, buf, len);
}

static void read_expect(struct adbg_target *t, uint64_t addr, const char *want, size_t len)
{
	char buf[256];

	ck_assert_uint_le(len, sizeof(buf));
	OK(adbg_target_read(t, addr, buf, len));
	ck_assert_msg(memcmp(buf, want, len) == 0, "read at %#" PRIx64 ": got <%.*s>, want <%.*s>",
		      addr, (int)len, buf, (int)len, want);
}

static void read_fault(struct adbg_target *t, uint64_t addr, size_t len, uint64_t fault_addr)
{
	char buf[256];
	struct adbg_error *err;

	memset(buf, 0x55, sizeof(buf));
	err = adbg_target_read(t, addr, buf, len);
	ck_assert_msg(err, "read at %#" PRIx64 " succeeded", addr);
	ck_assert_msg(err->code == ADBG_ERR_FAULT, "read at %#" PRIx64 ": %s (%s)", addr,
		      adbg_error_code_name(err->code), err->message);
	ck_assert_msg(err->addr == fault_addr,
		      "read at %#" PRIx64 ": fault at %#" PRIx64 ", want %#" PRIx64 " (%s)", addr,
		      err->addr, fault_addr, err->message);
	adbg_error_destroy(err);
}

// ---------------------------------------------------------------------------------------
// structure

START_TEST(test_structure)
{
	struct synth_core c = std_core();
	struct adbg_target *t;
	size_t len;
	unsigned char *buf = build(&c, &len, NULL);
	static const struct {
		uint64_t start, end, offset;
		const char *perms, *path;
	} want[] = {
		{0x400000, 0x401000, 0, "r--p", EXE},
		{0x401000, 0x403000, 0x1000, "r-xp", EXE},
		{0x10000000, 0x10001000, 0, "rw-p", NULL},
		{0x10001000, 0x10002000, 0, "rw-p", NULL},
		{0x20000000, 0x20001000, 0, "r--p", LIB},
		{0x20001000, 0x20003000, 0x1000, "???p", LIB},
	};

	OK(adbg_target_open_core_mem(buf, len, NULL, &t));
	ck_assert_int_eq(t->kind, ADBG_TARGET_CORE);
	ck_assert_int_eq(t->pid, 1234);
	ck_assert_str_eq(t->cmdline, "fakepython -c pass");
	ck_assert_str_eq(t->executable, EXE);
	ck_assert_ptr_null(t->core_path);
	ck_assert_uint_eq(t->nmaps, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < t->nmaps; i++) {
		const struct adbg_mapping *m = &t->maps[i];

		ck_assert_msg(m->start == want[i].start && m->end == want[i].end,
			      "map %zu: %#" PRIx64 "-%#" PRIx64, i, m->start, m->end);
		ck_assert_uint_eq(m->offset, want[i].offset);
		ck_assert_str_eq(m->perms, want[i].perms);
		if (want[i].path)
			ck_assert_str_eq(m->path, want[i].path);
		else
			ck_assert_ptr_null(m->path);
	}
	ck_assert_ptr_eq(adbg_target_find_mapping(t, 0x10001800), &t->maps[3]);
	ck_assert_ptr_eq(adbg_target_find_mapping(t, 0x20002fff), &t->maps[5]);
	ck_assert_ptr_null(adbg_target_find_mapping(t, 0x10002000));
	ck_assert_uint_eq(t->nthreads, 2);
	ck_assert_int_eq(t->threads[0].tid, 1234);
	ck_assert(t->threads[0].have_regs);
	ck_assert_uint_eq(t->threads[0].regs.rip, 0x401234);
	ck_assert_uint_eq(t->threads[0].regs.rsp, 0x10000800);
	ck_assert_int_eq(t->threads[1].tid, 1240);
	ck_assert_uint_eq(t->threads[1].regs.rip, 0x401300);
	adbg_target_destroy(t);
	free(buf);
}
END_TEST

START_TEST(test_executable_sources)
{
	struct synth_core c = std_core();
	struct adbg_target *t;
	size_t len;
	unsigned char *buf;

	// No AT_PHDR mapping: AT_EXECFN, a string in core memory.
	c.at_phdr = 0x7000;
	buf = build(&c, &len, NULL);
	OK(adbg_target_open_core_mem(buf, len, NULL, &t));
	ck_assert_str_eq(t->executable, "/opt/bin/execfn-python");
	adbg_target_destroy(t);
	free(buf);

	// No auxv at all: pr_fname matched against the mapped files.
	c.at_phdr = c.at_execfn = 0;
	buf = build(&c, &len, NULL);
	OK(adbg_target_open_core_mem(buf, len, NULL, &t));
	ck_assert_str_eq(t->executable, EXE);
	adbg_target_destroy(t);
	free(buf);

	// No PRPSINFO either: unknown, and no pid or command line.
	c.psargs = NULL;
	buf = build(&c, &len, NULL);
	OK(adbg_target_open_core_mem(buf, len, NULL, &t));
	ck_assert_ptr_null(t->executable);
	ck_assert_ptr_null(t->cmdline);
	ck_assert_int_eq(t->pid, 0);
	adbg_target_destroy(t);
	free(buf);
}
END_TEST

START_TEST(test_pn_xnum)
{
	struct synth_core c = std_core();
	struct adbg_target *t;
	size_t len;
	unsigned char *buf;

	c.xnum = true;
	buf = build(&c, &len, NULL);
	OK(adbg_target_open_core_mem(buf, len, NULL, &t));
	ck_assert_uint_eq(t->nmaps, 6);
	ck_assert_uint_eq(t->nthreads, 2);
	read_expect(t, 0x10000ffe, "aabb", 4);
	adbg_target_destroy(t);

	// PN_XNUM with the section header cut away.
	FAILS(adbg_target_open_core_mem(buf, 64 + 6 * 56, NULL, &t), ADBG_ERR_BAD_DATA, "PN_XNUM");
	free(buf);
}
END_TEST

// Overlapping segments and mappings (a corrupt core): the maps stay sorted and disjoint,
// and every read still comes from somewhere sensible.
START_TEST(test_overlaps)
{
	static const struct synth_seg segs[] = {
		{0x1000, 0x3000, 0x3000, PF_R, NULL, 'x'},
		{0x2000, 0x3000, 0x3000, PF_R | PF_W, NULL, 'y'},
		{0x2000, 0x1000, 0x1000, PF_R, NULL, 'z'},
		{0x8000, 0x1000, 0x2000, PF_R, NULL, 'w'}, // filesz > memsz
		{0xfffffffffffff000, 0x2000, 0x1000, PF_R, NULL, 'v'}, // wraps
	};
	static const struct synth_fmap fmaps[] = {
		{0x1800, 0x6000, 0, "/a"},
		{0x1000, 0x2000, 0, "/b"},
		{0x4000, 0x4000, 0, "/empty"},
		{0x9000, 0x8000, 0, "/backwards"},
		{0x20000, 0x21000, 0xffffffffffffff, "/huge-offset"},
	};
	struct synth_core c = {.segs = segs, .nsegs = 5, .fmaps = fmaps, .nfmaps = 5};
	struct adbg_target *t;
	size_t len;
	unsigned char *buf = build(&c, &len, NULL);

	OK(adbg_target_open_core_mem(buf, len, NULL, &t));
	for (size_t i = 0; i < t->nmaps; i++) {
		ck_assert_uint_lt(t->maps[i].start, t->maps[i].end);
		if (i)
			ck_assert_uint_le(t->maps[i - 1].end, t->maps[i].start);
	}
	read_expect(t, 0x3fff, "xy", 2);
	read_expect(t, 0x4fff, "y", 1);
	read_expect(t, 0x9fff, "w", 1);
	read_expect(t, 0xfffffffffffff000, "v", 1);
	// [0x5000, 0x6000) is /a's only, not in the core: not found (in-memory core).
	FAILS(adbg_target_read(t, 0x5000, buf, 1), ADBG_ERR_FAULT, "the core names /a,");
	ck_assert_ptr_null(adbg_target_find_mapping(t, 0x20000));
	adbg_target_destroy(t);
	free(buf);
}
END_TEST

// ---------------------------------------------------------------------------------------
// reads

START_TEST(test_reads)
{
	struct synth_core c = std_core();
	struct adbg_open_options opts = {0};
	struct adbg_target *t;
	size_t len;
	unsigned char *buf = build(&c, &len, NULL);
	char want[64];

	// In-memory core, no options: the files are never looked up.
	OK(adbg_target_open_core_mem(buf, len, NULL, &t));
	read_expect(t, 0x400010, "PPPP", 4);
	read_expect(t, 0x10000ffc, "aaaabbbb", 8); // spans two segments
	read_expect(t, 0x20000ffe, "CC", 2); // the core's copy of the library page
	read_fault(t, 0x30000000, 1, 0x30000000);
	read_fault(t, 0x10001ffe, 4, 0x10002000); // runs off the end of the last segment
	read_fault(t, 0x3ffff0, 32, 0x3ffff0);
	{
		struct adbg_error *err = adbg_target_read(t, 0x30000000, want, 1);

		ck_assert_ptr_nonnull(err);
		ck_assert_str_eq(err->message,
				 "address 0x30000000 is not in the core nor in a mapped file");
		adbg_error_destroy(err);
	}
	// Bytes the core lacks and whose file is missing: a fault at the first of them that
	// says which file to provide.
	read_fault(t, 0x401ff0, 32, 0x402000);
	FAILS(adbg_target_read(t, 0x401ff0, want, 32), ADBG_ERR_FAULT,
	      "reading 0x402000: the core names /usr/bin/fakepython, which cannot be found: "
	      "pass --sysroot DIR or --lib-path DIRS");
	FAILS(adbg_target_read(t, 0x20001000, want, 1), ADBG_ERR_FAULT,
	      "the core names /usr/lib/libfake.so, which cannot be found");
	adbg_target_destroy(t);

	// With a sysroot holding the library: the bytes the core lacks come from it.
	tmp_make();
	write_lib(tmp_path("root" LIB), good_id, 'F', 'G', 3 * 4096);
	opts.sysroot = tmp_path("root");
	OK(adbg_target_open_core_mem(buf, len, &opts, &t));
	memset(want, 'C', 16);
	memset(want + 16, 'F', 16);
	read_expect(t, 0x20000ff0, want, 32); // core, then file
	read_expect(t, 0x20001ffe, "FFGG", 4);
	read_fault(t, 0x20002ffe, 4, 0x20003000);
	// The executable is still missing.
	FAILS(adbg_target_read(t, 0x402000, want, 1), ADBG_ERR_FAULT, EXE);
	adbg_target_destroy(t);

	// A library shorter than its mapping: bytes past its end are a fault, not zeros.
	write_lib(tmp_path("short" LIB), good_id, 'F', 'G', 4096 + 2048);
	opts.sysroot = tmp_path("short");
	OK(adbg_target_open_core_mem(buf, len, &opts, &t));
	read_expect(t, 0x200017fe, "FF", 2);
	read_fault(t, 0x200017fe, 4, 0x20001800);
	adbg_target_destroy(t);
	tmp_cleanup();
	free(buf);
}
END_TEST

// A core file (not in memory) is read with pread through the block cache: the same bytes,
// blocks that start in one segment and end in the next or in a file, and a core cut short
// after it was opened gives a fault, not a crash or stale bytes.
START_TEST(test_reads_from_file)
{
	struct synth_core c = std_core();
	struct adbg_open_options opts = {0};
	struct adbg_target *t;
	size_t len;
	unsigned char *buf = build(&c, &len, NULL);
	char want[64];

	tmp_make();
	write_file(tmp_path("core"), buf, len);
	write_lib(tmp_path("root" LIB), good_id, 'F', 'G', 3 * 4096);
	opts.sysroot = tmp_path("root");
	OK(adbg_target_open_core(tmp_path("core"), &opts, &t));
	ck_assert_str_eq(t->core_path, tmp_path("core"));
	read_expect(t, 0x10000ffc, "aaaabbbb", 8); // spans two segments
	read_expect(t, 0x10000000, "aaaa", 4);
	memset(want, 'C', 16);
	memset(want + 16, 'F', 16);
	read_expect(t, 0x20000ff0, want, 32); // core, then file
	read_expect(t, 0x20001ffe, "FFGG", 4);
	read_fault(t, 0x20002ffe, 4, 0x20003000);
	read_fault(t, 0x10001ffe, 4, 0x10002000);
	read_fault(t, 0x30000000, 1, 0x30000000);
	// Cut short under us: what was never read is a fault at its address.
	ck_assert_int_eq(truncate(tmp_path("core"), 0), 0);
	read_fault(t, 0x400010, 4, 0x400010);
	FAILS(adbg_target_read(t, 0x400010, want, 4), ADBG_ERR_FAULT,
	      "is shorter than when it was opened");
	adbg_target_destroy(t);
	tmp_cleanup();
	free(buf);
}
END_TEST

START_TEST(test_lib_path_and_build_id)
{
	struct synth_core c = std_core();
	struct adbg_open_options opts = {0};
	const struct adbg_mapping *m;
	struct adbg_target *t;
	struct stat st1, st2;
	char path_ab[600];
	size_t len;
	unsigned char *buf = build(&c, &len, NULL);
	char b[4];
	int fd;

	tmp_make();
	write_lib(tmp_path("a/libfake.so"), bad_id, 'X', 'X', 3 * 4096);
	write_lib(tmp_path("b/libfake.so"), good_id, 'F', 'G', 3 * 4096);
	write_lib(tmp_path("root" LIB), bad_id, 'R', 'R', 3 * 4096);

	// lib_path is searched in order; a different build id is skipped, and so is what
	// is not a regular file (without blocking on a FIFO).
	mkdirs(tmp_path("fifo/libfake.so"));
	ck_assert_int_eq(mkfifo(tmp_path("fifo/libfake.so"), 0600), 0);
	snprintf(path_ab, sizeof(path_ab), "::%s:%s:%s/", tmp_path("fifo"), tmp_path("a"),
		 tmp_path("b"));
	opts.lib_path = path_ab;
	opts.sysroot = tmp_path("root");
	OK(adbg_target_open_core_mem(buf, len, &opts, &t));
	read_expect(t, 0x20001000, "F", 1);
	m = adbg_target_find_mapping(t, 0x20001000);
	ck_assert_ptr_nonnull(m);
	OK(adbg_target_open_file(t, m, &fd));
	ck_assert_int_eq(fstat(fd, &st1), 0);
	ck_assert_int_eq(stat(tmp_path("b/libfake.so"), &st2), 0);
	ck_assert_uint_eq(st1.st_ino, st2.st_ino);
	ck_assert_int_eq(pread(fd, b, 4, 0), 4);
	ck_assert_mem_eq(b, ELFMAG, 4);
	close(fd);
	// Anonymous memory has no file.
	FAILS(adbg_target_open_file(t, adbg_target_find_mapping(t, 0x10000000), &fd),
	      ADBG_ERR_NOT_FOUND, "has no file");
	// The missing executable, through open_file.
	FAILS(adbg_target_open_file(t, adbg_target_find_mapping(t, 0x400000), &fd),
	      ADBG_ERR_NOT_FOUND,
	      "the core names /usr/bin/fakepython, which cannot be found: pass --sysroot DIR "
	      "or --lib-path DIRS");
	adbg_target_destroy(t);

	// Only mismatching candidates: not found, and the message says why.
	opts.lib_path = tmp_path("a");
	OK(adbg_target_open_core_mem(buf, len, &opts, &t));
	FAILS(adbg_target_read(t, 0x20001000, b, 1), ADBG_ERR_FAULT, "has a different build id");
	FAILS(adbg_target_read(t, 0x20001000, b, 1), ADBG_ERR_FAULT, "--lib-path DIRS");
	adbg_target_destroy(t);
	tmp_cleanup();
	free(buf);
}
END_TEST

START_TEST(test_executable_option)
{
	struct synth_core c = std_core();
	struct adbg_open_options opts = {0};
	unsigned char pages[3 * 4096];
	struct adbg_target *t;
	struct stat st1, st2;
	size_t len;
	unsigned char *buf = build(&c, &len, NULL);
	const char *exe;
	int fd;

	tmp_make();
	memset(pages, 'E', sizeof(pages));
	exe = tmp_path("moved-python");
	write_file(exe, pages, sizeof(pages));
	opts.executable = exe;
	OK(adbg_target_open_core_mem(buf, len, &opts, &t));
	ck_assert_str_eq(t->executable, exe);
	read_expect(t, 0x401ffe, "TTEE", 4);
	OK(adbg_target_open_file(t, adbg_target_find_mapping(t, 0x400000), &fd));
	ck_assert_int_eq(fstat(fd, &st1), 0);
	ck_assert_int_eq(stat(exe, &st2), 0);
	ck_assert_uint_eq(st1.st_ino, st2.st_ino);
	close(fd);
	adbg_target_destroy(t);
	tmp_cleanup();
	free(buf);
}
END_TEST

// ---------------------------------------------------------------------------------------
// errors

// Write buf to a file and open it as a core; expect code and message text.
static void file_fails(const char *name, const void *buf, size_t len, enum adbg_error_code code,
		       const char *text)
{
	struct adbg_target *t = NULL;
	char full[1024];
	const char *path = tmp_path("%s", name);

	write_file(path, buf, len);
	snprintf(full, sizeof(full), "%s%s", path, text);
	FAILS(adbg_target_open_core(path, NULL, &t), code, full);
	ck_assert_ptr_null(t);
}

START_TEST(test_errors)
{
	struct synth_core c = std_core();
	struct synth_layout lay;
	struct adbg_target *t = NULL;
	size_t len;
	unsigned char *buf = build(&c, &len, &lay);
	unsigned char *copy = malloc(len);
	char text[256];

	tmp_make();
	FAILS(adbg_target_open_core(tmp_path("nonexistent"), NULL, &t), ADBG_ERR_OS,
	      tmp_path("nonexistent"));
	FAILS(adbg_target_open_core(tmpdir, NULL, &t), ADBG_ERR_BAD_DATA, "not a regular file");
	// A FIFO must be refused, not waited on.
	ck_assert_int_eq(mkfifo(tmp_path("fifo"), 0600), 0);
	FAILS(adbg_target_open_core(tmp_path("fifo"), NULL, &t), ADBG_ERR_BAD_DATA,
	      "not a regular file");
	file_fails("text", "hello, world\n", 13, ADBG_ERR_BAD_DATA, " is not an ELF core file");
	file_fails("empty", "", 0, ADBG_ERR_BAD_DATA, " is not an ELF core file");
	file_fails("short", buf, 40, ADBG_ERR_BAD_DATA,
		   " is truncated: 40 bytes, the ELF header needs 64");

	// A copy of the good core with one field changed.
#define PATCHED(off, type, val)                        \
	({                                             \
		type v_ = (val);                       \
		memcpy(copy, buf, len);                \
		memcpy(copy + (off), &v_, sizeof(v_)); \
		copy;                                  \
	})
	file_fails("exec", PATCHED(16, uint16_t, ET_EXEC), len, ADBG_ERR_BAD_DATA,
		   " is an ELF executable, not a core file");
	file_fails("dyn", PATCHED(16, uint16_t, ET_DYN), len, ADBG_ERR_BAD_DATA,
		   " is an ELF shared object or PIE executable, not a core file");
	file_fails("rel", PATCHED(16, uint16_t, ET_REL), len, ADBG_ERR_BAD_DATA,
		   " is an ELF relocatable object, not a core file");
	file_fails("arm", PATCHED(18, uint16_t, EM_AARCH64), len, ADBG_ERR_UNSUPPORTED,
		   " is a core for ELF machine 183; aiodbg reads x86-64 cores only");
	file_fails("elf32", PATCHED(EI_CLASS, uint8_t, ELFCLASS32), len, ADBG_ERR_UNSUPPORTED,
		   " is a 32-bit core");
	memcpy(copy, buf, len);
	copy[EI_DATA] = ELFDATA2MSB;
	copy[16] = 0;
	copy[17] = ET_CORE;
	file_fails("be", copy, len, ADBG_ERR_UNSUPPORTED, " is a big-endian core");
	file_fails("phentsize", PATCHED(offsetof(Elf64_Ehdr, e_phentsize), uint16_t, 32), len,
		   ADBG_ERR_BAD_DATA, ": program headers of 32 bytes");
	file_fails("phoff", PATCHED(offsetof(Elf64_Ehdr, e_phoff), uint64_t, 65), len,
		   ADBG_ERR_BAD_DATA, ": program header offset 0x41 is corrupt");
	file_fails("nophdr", PATCHED(offsetof(Elf64_Ehdr, e_phnum), uint16_t, 0), len,
		   ADBG_ERR_BAD_DATA, " has no program headers");

	// Truncated: in the program headers, in the notes, in the PT_LOAD data.
	snprintf(text, sizeof(text), " is truncated: 130 bytes, segments need %zu",
		 64 + 6 * sizeof(Elf64_Phdr));
	file_fails("cut-phdrs", buf, 130, ADBG_ERR_BAD_DATA, text);
	snprintf(text, sizeof(text), " is truncated: %zu bytes, segments need %zu",
		 lay.notes_off + 10, len);
	file_fails("cut-notes", buf, lay.notes_off + 10, ADBG_ERR_BAD_DATA, text);
	snprintf(text, sizeof(text), " is truncated: %zu bytes, segments need %zu",
		 lay.seg_off[2] + 100, len);
	file_fails("cut-load", buf, lay.seg_off[2] + 100, ADBG_ERR_BAD_DATA, text);
	file_fails("cut-last-byte", buf, len - 1, ADBG_ERR_BAD_DATA, " is truncated:");
	FAILS(adbg_target_open_core_mem(buf, len - 1, NULL, &t), ADBG_ERR_BAD_DATA,
	      "the core is truncated:");

	// A segment whose offset + size wraps around.
	file_fails("wrap",
		   PATCHED(lay.phoff + 2 * sizeof(Elf64_Phdr) + offsetof(Elf64_Phdr, p_offset),
			   uint64_t, UINT64_MAX - 10),
		   len, ADBG_ERR_BAD_DATA, ": program header 2: offset");
	// Notes that run past their segment.
	file_fails("note-size", PATCHED(lay.notes_off + 4, uint32_t, 0x7fffffff), len,
		   ADBG_ERR_BAD_DATA, ": notes: note at offset 0 is truncated");
	// NT_PRSTATUS too short for its registers.
	file_fails("prstatus-size", PATCHED(lay.notes_off + 4, uint32_t, 16), len,
		   ADBG_ERR_BAD_DATA, ": notes: NT_PRSTATUS note of 16 bytes");

	// A good core opens by path and says where it came from.
	write_file(tmp_path("good"), buf, len);
	OK(adbg_target_open_core(tmp_path("good"), NULL, &t));
	ck_assert_str_eq(t->core_path, tmp_path("good"));
	ck_assert_uint_eq(t->nthreads, 2);
	adbg_target_destroy(t);
	t = NULL;

	// Unaligned in-memory input is accepted (copied).
	{
		unsigned char *odd = malloc(len + 1);

		memcpy(odd + 1, buf, len);
		OK(adbg_target_open_core_mem(odd + 1, len, NULL, &t));
		read_expect(t, 0x10000ffc, "aaaabbbb", 8);
		adbg_target_destroy(t);
		free(odd);
	}
#undef PATCHED
	tmp_cleanup();
	free(copy);
	free(buf);
}
END_TEST

START_TEST(test_nt_file_errors)
{
	struct synth_core c = std_core();
	struct synth_layout lay;
	struct adbg_target *t;
	size_t len, desc;
	unsigned char *buf;
	uint64_t v;

	// NT_FILE alone, so its descriptor is at a known place (after "CORE\0" + padding).
	c.nthreads = 0;
	c.psargs = NULL;
	c.at_phdr = c.at_execfn = 0;
	buf = build(&c, &len, &lay);
	desc = lay.notes_off + sizeof(Elf64_Nhdr) + 8;
	OK(adbg_target_open_core_mem(buf, len, NULL, &t));
	ck_assert_uint_eq(t->nmaps, 6);
	adbg_target_destroy(t);

	v = 1000000000;
	memcpy(buf + desc, &v, 8);
	FAILS(adbg_target_open_core_mem(buf, len, NULL, &t), ADBG_ERR_BAD_DATA,
	      "NT_FILE note claims 1000000000 mappings");
	v = 3;
	memcpy(buf + desc, &v, 8);
	v = 4095;
	memcpy(buf + desc + 8, &v, 8);
	FAILS(adbg_target_open_core_mem(buf, len, NULL, &t), ADBG_ERR_BAD_DATA,
	      "NT_FILE page size 4095");
	v = 4096;
	memcpy(buf + desc + 8, &v, 8);
	// Names cut off: overwrite every NUL of the name area.
	for (size_t i = desc + 16 + 3 * 24; i < lay.notes_off + lay.notes_len; i++)
		if (!buf[i])
			buf[i] = 'n';
	FAILS(adbg_target_open_core_mem(buf, len, NULL, &t), ADBG_ERR_BAD_DATA,
	      "NT_FILE note: name of mapping");
	free(buf);
}
END_TEST

// ---------------------------------------------------------------------------------------
// a real core

static pid_t spawn(char *const argv[], bool quiet)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		setpgid(0, 0);
		if (quiet) {
			int fd = open("/dev/null", O_RDWR);

			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	setpgid(pid, pid);
	return pid;
}

static bool in_sleep(pid_t pid)
{
	char path[64], line[256] = {0};
	FILE *f;

	// /proc/PID/syscall: the number of the system call the thread is blocked in
	// (230 = clock_nanosleep, 35 = nanosleep on x86-64).
	snprintf(path, sizeof(path), "/proc/%d/syscall", pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	fclose(f);
	return strncmp(line, "230 ", 4) == 0 || strncmp(line, "35 ", 3) == 0;
}

static void msleep(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

// Wait for pid with a deadline; kill its process group when it is exceeded.
static int wait_deadline(pid_t pid, int seconds)
{
	int status = 0;

	for (int i = 0; i < seconds * 10; i++) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
		msleep(100);
	}
	kill(-pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

START_TEST(test_real_core)
{
	static const char python[] = "/usr/bin/python3.11";
	static const char marker[] = "AIODBG-MARKERAIODBG-MARKERAIODBG-MARKER";
	char *py_argv[] = {(char *)python, (char *)"-c",
			   (char *)"import time; x=b\"AIODBG-MARKER\"*3; time.sleep(60)", NULL};
	char prefix[300], pidstr[32], core[400];
	const struct adbg_mapping *pym = NULL;
	struct adbg_target *t;
	bool found_marker = false;
	unsigned char *chunk;
	pid_t py, gc;
	int rc;

	if (access("/usr/bin/gcore", X_OK) != 0 || access(python, X_OK) != 0) {
		printf("test_real_core: SKIPPED: needs /usr/bin/gcore and %s\n", python);
		return;
	}
	tmp_make();
	snprintf(prefix, sizeof(prefix), "%s/core", tmpdir);
	py = spawn(py_argv, false);
	for (int i = 0; i < 100 && !in_sleep(py); i++)
		msleep(100);
	snprintf(pidstr, sizeof(pidstr), "%d", py);
	{
		char *gc_argv[] = {(char *)"/usr/bin/gcore", (char *)"-o", prefix, pidstr, NULL};

		gc = spawn(gc_argv, true);
		rc = wait_deadline(gc, 120);
	}
	kill(py, SIGKILL);
	waitpid(py, NULL, 0);
	snprintf(core, sizeof(core), "%s.%d", prefix, py);
	if (rc != 0 || access(core, R_OK) != 0) {
		tmp_cleanup();
		// gcore exists but cannot attach here (ptrace restrictions): say so, loudly.
		printf("test_real_core: SKIPPED: gcore failed (status %d); ptrace not allowed?\n",
		       rc);
		return;
	}

	OK(adbg_target_open_core(core, NULL, &t));
	ck_assert_int_eq(t->pid, py);
	ck_assert_ptr_nonnull(t->executable);
	ck_assert_msg(strlen(t->executable) >= 10 &&
			      !strcmp(t->executable + strlen(t->executable) - 10, "python3.11"),
		      "executable %s", t->executable);
	ck_assert_uint_ge(t->nthreads, 1);
	ck_assert_int_eq(t->threads[0].tid, py);
	ck_assert(t->threads[0].have_regs);
	ck_assert_uint_ne(t->threads[0].regs.rip, 0);
	ck_assert_ptr_nonnull(t->cmdline);
	// gcore writes argv[0] only in pr_psargs (the kernel writes all of argv, joined).
	ck_assert_msg(strstr(t->cmdline, "python3.11"), "cmdline %s", t->cmdline);
	for (size_t i = 0; i < t->nmaps; i++) {
		const struct adbg_mapping *m = &t->maps[i];
		size_t pl = m->path ? strlen(m->path) : 0;

		if (i)
			ck_assert_uint_le(t->maps[i - 1].end, m->start);
		if (!pym && pl >= 10 && !strcmp(m->path + pl - 10, "python3.11") && m->offset == 0)
			pym = m;
	}
	ck_assert_msg(pym, "no mapping of python3.11");
	read_expect(t, pym->start,
		    "\x7f"
		    "ELF",
		    4);

	// Every byte of every mapping of python3.11 reads the same as the file (text that
	// gcore left out comes from the file; the rest from the core must agree where the
	// program did not write, e.g. the first page).
	{
		unsigned char a[64], b[64];
		int fd;

		OK(adbg_target_open_file(t, pym, &fd));
		for (size_t i = 0; i < t->nmaps; i++) {
			const struct adbg_mapping *m = &t->maps[i];

			// Only what the core lacks ("???p": gcore left it out) and the
			// first page: RELRO pages hold relocated data, unlike the file.
			if (!m->path || strcmp(m->path, pym->path) != 0 ||
			    (m != pym && strcmp(m->perms, "???p") != 0))
				continue;
			OK(adbg_target_read(t, m->start + 0x100, a, sizeof(a)));
			ck_assert_int_eq(pread(fd, b, sizeof(b), (off_t)(m->offset + 0x100)),
					 (ssize_t)sizeof(b));
			ck_assert_msg(!memcmp(a, b, sizeof(a)), "mapping %#" PRIx64 " differs",
				      m->start);
		}
		close(fd);
	}

	// The stack pointer of the thread points at readable memory.
	{
		uint64_t word;

		OK(adbg_read_u64(t, t->threads[0].regs.rsp, &word));
	}

	// The vDSO (AT_SYSINFO_EHDR): an anonymous mapping whose image the core holds.
	{
		const struct adbg_mapping *m = adbg_target_find_mapping(t, t->vdso);

		ck_assert_uint_ne(t->vdso, 0);
		ck_assert_msg(m && m->start == t->vdso && !m->path, "vdso %#" PRIx64, t->vdso);
		read_expect(t, t->vdso,
			    "\x7f"
			    "ELF",
			    4);
	}

	// A sysroot whose python3.11 is another build: skipped for its build id, the
	// recorded path is used, and bytes the core lacks still match the real file.
	{
		struct adbg_open_options opts = {0};
		struct adbg_target *t2;
		unsigned char a[64], b[64];

		write_lib(tmp_path("sysroot/usr/bin/python3.11"), bad_id, 'X', 'X', 3 * 4096);
		opts.sysroot = tmp_path("sysroot");
		OK(adbg_target_open_core(core, &opts, &t2));
		for (size_t i = 0; i < t2->nmaps; i++) {
			const struct adbg_mapping *m = &t2->maps[i];
			int fd;

			if (!m->path || strcmp(m->path, pym->path) != 0 ||
			    strcmp(m->perms, "???p") != 0)
				continue;
			OK(adbg_target_read(t2, m->start, a, sizeof(a)));
			fd = open(python, O_RDONLY);
			ck_assert_int_ge(fd, 0);
			ck_assert_int_eq(pread(fd, b, sizeof(b), (off_t)m->offset),
					 (ssize_t)sizeof(b));
			close(fd);
			ck_assert_msg(!memcmp(a, b, sizeof(a)), "mapping %#" PRIx64 " differs",
				      m->start);
		}
		adbg_target_destroy(t2);
	}

	// The marker the program built at run time is somewhere in its writable memory.
	chunk = malloc(1 << 16);
	for (size_t i = 0; i < t->nmaps && !found_marker; i++) {
		const struct adbg_mapping *m = &t->maps[i];

		if (m->perms[1] != 'w')
			continue;
		for (uint64_t a = m->start; a < m->end && !found_marker; a += (1 << 16) - 64) {
			size_t n = m->end - a < (1 << 16) ? (size_t)(m->end - a) : (1 << 16);
			struct adbg_error *err = adbg_target_read(t, a, chunk, n);

			if (err) {
				adbg_error_destroy(err);
				break;
			}
			found_marker = memmem(chunk, n, marker, sizeof(marker) - 1) != NULL;
		}
	}
	free(chunk);
	ck_assert_msg(found_marker, "the marker is not in the core's writable memory");
	adbg_target_destroy(t);
	tmp_cleanup();
}
END_TEST

START_TEST(test_auxv)
{
	const uint64_t v[] = {AT_PHDR, 0x400040, AT_SYSINFO_EHDR, 0x7fff0000,
			      AT_NULL, 0,	 AT_EXECFN,	  0x1234};
	uint64_t val = 0;

	ck_assert(adbg_auxv_get(v, sizeof(v), AT_SYSINFO_EHDR, &val));
	ck_assert_uint_eq(val, 0x7fff0000);
	ck_assert(adbg_auxv_get(v, sizeof(v), AT_PHDR, &val));
	ck_assert_uint_eq(val, 0x400040);
	// Nothing after AT_NULL counts; a cut entry is not read; no vector has nothing.
	ck_assert(!adbg_auxv_get(v, sizeof(v), AT_EXECFN, &val));
	ck_assert(!adbg_auxv_get(v, 16 + 12, AT_SYSINFO_EHDR, &val));
	ck_assert(!adbg_auxv_get(NULL, 64, AT_PHDR, &val));
	ck_assert_uint_eq(val, 0x400040);
}
END_TEST

static Suite *core_suite(void)
{
	Suite *s = suite_create("core");
	TCase *tc = tcase_create("synthetic");
	TCase *real = tcase_create("real");

	tcase_add_test(tc, test_structure);
	tcase_add_test(tc, test_executable_sources);
	tcase_add_test(tc, test_pn_xnum);
	tcase_add_test(tc, test_overlaps);
	tcase_add_test(tc, test_reads);
	tcase_add_test(tc, test_reads_from_file);
	tcase_add_test(tc, test_lib_path_and_build_id);
	tcase_add_test(tc, test_executable_option);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_nt_file_errors);
	tcase_add_test(tc, test_auxv);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	tcase_add_test(real, test_real_core);
	tcase_set_timeout(real, 300);
	suite_add_tcase(s, real);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(core_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
