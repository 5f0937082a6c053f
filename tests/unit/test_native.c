// SPDX-License-Identifier: MIT
// Unit tests of native.c (the merge of native and Python stacks) and of the symbol lookup
// by address the unwinder names frames with (elffile.c).
//
// The merge runs over fake 3.11 and 3.12 interpreter-frame chains in an in-memory target,
// with the real built-in layouts, and hand-made native stacks: entries anchored by 3.12
// shims (whatever the native frames are named), by 3.11 is_entry and eval-loop names,
// Python frames no native frame runs, and a cycle in the chain.
#include <check.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codecache.h"
#include "elffile.h"
#include "fixtures/fakepy.h"
#include "native.h"

#define OK(expr)                                                                   \
	do {                                                                       \
		struct adbg_error *e_ = (expr);                                    \
		ck_assert_msg(!e_, "%s failed: %s", #expr, e_ ? e_->message : ""); \
	} while (0)

#define FAILS(expr, want)                                                   \
	do {                                                                \
		struct adbg_error *e_ = (expr);                             \
		ck_assert_msg(e_, "%s succeeded", #expr);                   \
		ck_assert_msg(e_->code == (want), "%s: got %s (%s)", #expr, \
			      adbg_error_code_name(e_->code), e_->message); \
		adbg_error_destroy(e_);                                     \
	} while (0)

struct world {
	struct fake f;
	struct adbg_python py;
	struct adbg_session s;
	uint64_t code[8];
};

static const char *const names[] = {"c", "b", "a", "main", "<module>", "x", "y", "z"};

/* A fake heap for 3.minor with the real built-in layout and one code object per name. */
static void world_init(struct world *w, unsigned minor)
{
	static const uint8_t no_lines[] = {0};

	memset(w, 0, sizeof(*w));
	fake_init(&w->f, minor);
	OK(adbg_layout_build(0x030000f0ull | (uint64_t)minor << 16 | 1ull << 8, NULL, 0, NULL, 0,
			     &w->f.l));
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		w->code[i] =
			fake_code(&w->f, names[i], names[i], "/t.py", 10 * (int)i + 1, no_lines, 0);
	w->py.layout = w->f.l;
	snprintf(w->py.version_str, sizeof(w->py.version_str), "3.%u.1", minor);
	w->s.target = w->f.t;
	w->s.python = &w->py;
}

static void world_deinit(struct world *w)
{
	adbg_session_clear_warnings(&w->s);
	free(w->s.warnings);
	adbg_codecache_destroy(w->s.codecache);
	adbg_arena_deinit(&w->s.strings);
	fake_deinit(&w->f);
}

/* An interpreter frame running code[k] (k < 0: a C-stack shim), previous prev. */
static uint64_t iframe(struct world *w, int k, uint64_t prev, bool entry)
{
	const struct adbg_layout *l = &w->f.l;
	uint64_t a = fake_alloc(&w->f, l->interpreter_frame.size + 64);

	fake_w64(&w->f, a + l->interpreter_frame.previous, prev);
	if (k < 0) {
		fake_w8(&w->f, a + l->interpreter_frame.owner, (uint8_t)l->frame_owner.cstack);
		return a;
	}
	fake_w8(&w->f, a + l->interpreter_frame.owner, (uint8_t)l->frame_owner.thread);
	fake_w64(&w->f, a + l->interpreter_frame.executable, w->code[k]);
	fake_w64(&w->f, a + l->interpreter_frame.instr_ptr,
		 w->code[k] + l->code_object.co_code_adaptive + 4);
	if (l->interpreter_frame.is_entry != ADBG_NO_FIELD)
		fake_w8(&w->f, a + l->interpreter_frame.is_entry, entry);
	return a;
}

static void push_native(struct adbg_native_stack *ns, const char *fn, uint64_t sp)
{
	struct adbg_frame f = {.kind = ADBG_FRAME_NATIVE,
			       .function = fn,
			       .file = "/lib/x.so",
			       .addr = 0x1000 + ns->st.n};

	OK(adbg_native_push(ns, &f, sp));
}

static void thread_of(struct world *w, uint64_t innermost, struct adbg_pythread *th)
{
	memset(th, 0, sizeof(*th));
	th->tid = 7;
	th->current_frame = innermost;
	OK(adbg_stack_walk(&w->s, innermost, 0, 0, &th->stack));
}

/* The merged stack as "name" words, Python frames marked "py:". */
static void check_merged(struct world *w, const struct adbg_pythread *th,
			 const struct adbg_native_stack *ns, const char *want)
{
	struct adbg_native_segments *segs;
	struct adbg_stack out;
	char got[512] = "";

	OK(adbg_native_segments_read(&w->s, th, 0, &segs));
	OK(adbg_native_merge(&w->s, th, segs, ns, &out));
	adbg_native_segments_destroy(segs);
	for (size_t i = 0; i < out.n; i++) {
		const struct adbg_frame *f = &out.frames[i];

		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s%s", i ? " " : "",
			 f->kind == ADBG_FRAME_PYTHON ? "py:" : "", f->function);
	}
	ck_assert_str_eq(got, want);
	adbg_stack_deinit(&out);
}

static bool warned(struct world *w, const char *what)
{
	for (size_t i = 0; i < w->s.nwarnings; i++)
		if (strstr(w->s.warnings[i], what))
			return true;
	return false;
}

// 3.12: <module> -> a --(C call)--> b -> c, blocked in a C call. The shims are locals of the
// eval-loop frames that run the entries: the native frame whose stack area holds a shim runs
// the segment above it, whatever it is called (a PGO-split, stripped eval loop is "??").
START_TEST(test_merge_312_anchored)
{
	struct world w;
	struct adbg_native_stack ns = {0};
	struct adbg_pythread th;
	uint64_t shim0, mod, a, shim1, b, c;

	world_init(&w, 12);
	// The inner shim first, so that it sits lower, as on a real stack.
	shim1 = iframe(&w, -1, 0, false);
	fake_alloc(&w.f, 0x1000); // the native frames between the two entries
	shim0 = iframe(&w, -1, 0, false);
	mod = iframe(&w, 4, shim0, false);
	a = iframe(&w, 2, mod, false);
	fake_w64(&w.f, shim1 + w.f.l.interpreter_frame.previous, a);
	b = iframe(&w, 1, shim1, false);
	c = iframe(&w, 0, b, false);
	thread_of(&w, c, &th);
	// Innermost first; a frame's area is [sp, next frame's sp). Stacks grow down, but the
	// rule only needs the areas, so the fake heap's addresses serve.
	push_native(&ns, "clock_nanosleep", shim1 - 0x400);
	push_native(&ns, "time_sleep", shim1 - 0x200);
	push_native(&ns, "??", shim1 - 0x10); // runs b, c
	push_native(&ns, "PyObject_Call", shim1 + 0x100);
	push_native(&ns, "_PyEval_EvalFrameDefault.cold", shim0 - 0x20); // runs <module>, a
	push_native(&ns, "PyEval_EvalCode", shim0 + 0x100);
	push_native(&ns, "_start", shim0 + 0x200);
	check_merged(&w, &th, &ns,
		     "clock_nanosleep time_sleep py:c py:b PyObject_Call py:a py:<module> "
		     "PyEval_EvalCode _start");
	ck_assert_uint_eq(w.s.nwarnings, 0);

	// Without usable anchors (no stack pointers), the frames named as the eval loop run
	// the entries, in order: the "??" one is not recognised, the .cold one is.
	adbg_native_stack_deinit(&ns);
	push_native(&ns, "clock_nanosleep", 0);
	push_native(&ns, "_PyEval_EvalFrameDefault", 0);
	push_native(&ns, "PyObject_Call", 0);
	push_native(&ns, "_PyEval_EvalFrameDefault.cold", 0);
	push_native(&ns, "_start", 0);
	check_merged(&w, &th, &ns,
		     "clock_nanosleep py:c py:b PyObject_Call py:a py:<module> _start");

	// An unwinder that stopped early: Python frames no native frame runs come last, said.
	adbg_native_stack_deinit(&ns);
	push_native(&ns, "clock_nanosleep", shim1 - 0x400);
	push_native(&ns, "time_sleep", shim1 - 0x200);
	check_merged(&w, &th, &ns, "clock_nanosleep time_sleep py:c py:b py:a py:<module>");
	ck_assert(warned(&w, "4 Python frame(s) have no eval-loop frame"));

	// No native frame at all (the unwinder failed): the Python stack as it was.
	adbg_native_stack_deinit(&ns);
	check_merged(&w, &th, &ns, "py:c py:b py:a py:<module>");
	adbg_stack_deinit(&th.stack);
	world_deinit(&w);
}
END_TEST

// 3.11: no shims; is_entry marks the first frame each entry pushed.
START_TEST(test_merge_311_is_entry)
{
	struct world w;
	struct adbg_native_stack ns = {0};
	struct adbg_pythread th;
	uint64_t mod, a, b, c;

	world_init(&w, 11);
	ck_assert_uint_eq(w.f.l.interpreter_frame.is_entry, 68);
	mod = iframe(&w, 4, 0, true);
	a = iframe(&w, 2, mod, false);
	b = iframe(&w, 1, a, true);
	c = iframe(&w, 0, b, false);
	thread_of(&w, c, &th);
	push_native(&ns, "clock_nanosleep", 0x100);
	push_native(&ns, "_PyEval_EvalFrameDefault", 0x200);
	push_native(&ns, "cfunction_call", 0x300);
	push_native(&ns, "_PyEval_EvalFrameDefault", 0x400);
	push_native(&ns, "main", 0x500);
	check_merged(&w, &th, &ns,
		     "clock_nanosleep py:c py:b cfunction_call py:a py:<module> main");
	ck_assert_uint_eq(w.s.nwarnings, 0);

	adbg_native_stack_deinit(&ns);
	adbg_stack_deinit(&th.stack);
	world_deinit(&w);
}
END_TEST

// A chain that cycles (garbage memory) ends at the frame cap; the merge returns.
START_TEST(test_merge_cycle)
{
	struct world w;
	struct adbg_native_stack ns = {0};
	struct adbg_pythread th;
	struct adbg_stack out;
	uint64_t a, b;

	world_init(&w, 12);
	a = iframe(&w, 2, 0, false);
	b = iframe(&w, 1, a, false);
	fake_w64(&w.f, a + w.f.l.interpreter_frame.previous, b);
	thread_of(&w, b, &th);
	ck_assert_uint_eq(th.stack.n, ADBG_MAX_FRAMES);
	push_native(&ns, "_PyEval_EvalFrameDefault", 0);
	push_native(&ns, "main", 0);
	{
		struct adbg_native_segments *segs;

		OK(adbg_native_segments_read(&w.s, &th, 0, &segs));
		OK(adbg_native_merge(&w.s, &th, segs, &ns, &out));
		adbg_native_segments_destroy(segs);
	}
	ck_assert_uint_eq(out.n, ADBG_MAX_FRAMES + 1);
	ck_assert_str_eq(out.frames[ADBG_MAX_FRAMES].function, "main");
	adbg_stack_deinit(&out);
	adbg_native_stack_deinit(&ns);
	adbg_stack_deinit(&th.stack);
	world_deinit(&w);
}
END_TEST

// A stack deeper than the cap keeps its innermost frames and counts the outer ones it
// leaves out, shims not counted (issue 14: a cut is never silent); whole, nothing is marked.
START_TEST(test_stack_cut_counts_what_it_leaves_out)
{
	struct world w;
	struct adbg_stack st;
	uint64_t f = 0;

	world_init(&w, 11 + _i);
	for (int i = 0; i < 50; i++) {
		if (i == 20 && w.f.l.frame_owner.cstack >= 0)
			f = iframe(&w, -1, f, false);
		f = iframe(&w, i % 5, f, false);
	}
	OK(adbg_stack_walk(&w.s, f, 0, 10, &st));
	ck_assert_uint_eq(st.n, 10);
	ck_assert_uint_eq(st.omitted, 40);
	ck_assert(st.truncated);
	// Innermost first: the last frame built (code 49 % 5) comes first.
	ck_assert_str_eq(st.frames[0].function, names[49 % 5]);
	ck_assert_str_eq(st.frames[9].function, names[40 % 5]);
	ck_assert_uint_eq(w.s.nwarnings, 1);
	ck_assert_msg(strstr(w.s.warnings[0], "cut at 10 frames; 40 outer frames not shown"), "%s",
		      w.s.warnings[0]);
	adbg_stack_deinit(&st);
	adbg_session_clear_warnings(&w.s);
	OK(adbg_stack_walk(&w.s, f, 0, 0, &st));
	ck_assert_uint_eq(st.n, 50);
	ck_assert_uint_eq(st.omitted, 0);
	ck_assert(!st.truncated);
	adbg_stack_deinit(&st);
	world_deinit(&w);
}
END_TEST

// Beyond the cap, a chain that cycles ends the count at once (and says it is a bound).
START_TEST(test_stack_cut_cycle)
{
	struct world w;
	struct adbg_stack st;
	uint64_t a, b;

	world_init(&w, 12);
	a = iframe(&w, 2, 0, false);
	b = iframe(&w, 1, a, false);
	fake_w64(&w.f, a + w.f.l.interpreter_frame.previous, b);
	OK(adbg_stack_walk(&w.s, b, 0, 0, &st));
	ck_assert_uint_eq(st.n, ADBG_MAX_FRAMES);
	ck_assert_uint_lt(st.omitted, 16);
	ck_assert_msg(w.s.nwarnings == 1 && strstr(w.s.warnings[0], "at least"), "%s",
		      w.s.nwarnings ? w.s.warnings[0] : "no warning");
	adbg_stack_deinit(&st);
	world_deinit(&w);
}
END_TEST

// The agent's thread is told by its outermost Python frame (adbg_stack_is_agent).
START_TEST(test_agent_stack)
{
	static const uint8_t no_lines[] = {0};
	static const struct {
		const char *qualname, *file;
		bool agent;
	} cases[] = {
		{"_Agent.run", "/tmp/aiodbg-Ab3xYz/a.py", true},
		{"_Agent.watch.<locals>.watchdog", "/dev/shm/aiodbg-Q1w2E3/a.py", true},
		{"run", "/var/tmp/aiodbg-000000/a.py", true},
		{"_Agent.run", "<string>", true},
		{"main", "<string>", false},
		{"_Agent.run", "/tmp/aiodbg-Ab3xYz/b.py", false},
		{"_Agent.run", "/home/me/aiodbg-Ab3xYz/a.py", false},
		{"_Agent.run", "/tmp/aiodbg-/a.py", false},
		{"_Agent.run", "/tmp/aiodbg-Ab3xYz/sub/a.py", false},
		{"_Agent.run", "/tmp/x/aiodbg-Ab3xYz/a.py", false},
	};
	struct world w;

	world_init(&w, 12);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct adbg_stack st;
		uint64_t outer, inner;

		w.code[5] = fake_code(&w.f, "x", cases[i].qualname, cases[i].file, 1, no_lines, 0);
		// The agent's code calls into the library: only the outermost frame tells.
		outer = iframe(&w, 5, 0, false);
		inner = iframe(&w, 0, outer, false);
		OK(adbg_stack_walk(&w.s, inner, 0, 0, &st));
		ck_assert_msg(adbg_stack_is_agent(&st) == cases[i].agent, "%s %s",
			      cases[i].qualname, cases[i].file);
		adbg_stack_deinit(&st);
		// A program's thread that merely calls into such code is not the agent's.
		inner = iframe(&w, 5, iframe(&w, 0, 0, false), false);
		OK(adbg_stack_walk(&w.s, inner, 0, 0, &st));
		ck_assert(!adbg_stack_is_agent(&st));
		adbg_stack_deinit(&st);
		adbg_codecache_clear(w.s.codecache);
		adbg_arena_deinit(&w.s.strings);
	}
	world_deinit(&w);
}
END_TEST

// ---------------------------------------------------------------------------------------
// Symbols by address, on the host's libc (dynamic symbols only: Debian strips .symtab).

// adbg_frame_local on a frame whose code pointer cannot be read: "not a Python frame", and
// the read's error is freed, not leaked (make asan finds the leak this once had).
START_TEST(test_frame_local_unreadable_code)
{
	struct world w;
	struct adbg_frame f = {.kind = ADBG_FRAME_PYTHON, .addr = 0x10};
	uint64_t v;

	world_init(&w, 12);
	FAILS(adbg_frame_local(&w.s, &f, "x", &v), ADBG_ERR_NOT_FOUND);
	world_deinit(&w);
}
END_TEST

START_TEST(test_symbol_at_libc)
{
	const char *path = "/lib/x86_64-linux-gnu/libc.so.6";
	struct adbg_elf *elf;
	const char *name;
	uint64_t start, value, size;
	int fd = open(path, O_RDONLY);

	if (fd < 0) {
		fprintf(stderr, "test_symbol_at_libc: no %s\n", path);
		return;
	}
	OK(adbg_elf_open_fd(fd, path, &elf));
	close(fd);
	OK(adbg_elf_find_symbol(elf, "clock_nanosleep", &value, &size));
	ck_assert_uint_gt(size, 8);
	OK(adbg_elf_symbol_at(elf, value + 5, &name, &start));
	ck_assert_str_eq(name, "clock_nanosleep");
	ck_assert_uint_eq(start, value);
	// The public name of an alias, not its __ twin (GLOBAL __newlocale, WEAK newlocale).
	OK(adbg_elf_find_symbol(elf, "__newlocale", &value, &size));
	OK(adbg_elf_symbol_at(elf, value + 1, &name, &start));
	ck_assert_str_eq(name, "newlocale");
	// Nothing holds address 0 or an address far beyond the text.
	FAILS(adbg_elf_symbol_at(elf, 0, &name, &start), ADBG_ERR_NOT_FOUND);
	FAILS(adbg_elf_symbol_at(elf, UINT64_MAX - 1, &name, &start), ADBG_ERR_NOT_FOUND);
	adbg_elf_destroy(elf);
}
END_TEST

// PLT entries, named as binutils names them: every "<NAME@plt>" label objdump prints for
// .plt, .plt.sec and .plt.got (not the "*ABS*+0x...@plt" of IRELATIVE slots) is what
// adbg_elf_plt_at finds inside that entry; nothing else claims it. Returns how many.
static int check_plt(const char *path)
{
	char cmd[512], line[512], name[256];
	struct adbg_elf *elf;
	const char *got;
	uint64_t addr, value;
	int fd = open(path, O_RDONLY), n = 0;
	FILE *p;

	if (fd < 0)
		return -1;
	OK(adbg_elf_open_fd(fd, path, &elf));
	close(fd);
	snprintf(cmd, sizeof(cmd), "objdump -d -j .plt -j .plt.sec -j .plt.got '%s' 2>/dev/null",
		 path);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	while (fgets(line, sizeof(line), p)) {
		size_t len;

		if (sscanf(line, "%" SCNx64 " <%255[^>]>:", &addr, name) != 2)
			continue;
		len = strlen(name);
		if (len < 5 || strcmp(name + len - 4, "@plt") != 0 || strchr(name, '*') ||
		    strchr(name, '-'))
			continue;
		name[len - 4] = '\0';
		OK(adbg_elf_plt_at(elf, addr + 6, &got, &value));
		ck_assert_str_eq(got, name);
		ck_assert_uint_eq(value, addr);
		FAILS(adbg_elf_symbol_at(elf, addr + 6, &got, &value), ADBG_ERR_NOT_FOUND);
		n++;
	}
	ck_assert_int_eq(pclose(p), 0);
	// The resolver entry (.plt's first) and addresses outside any PLT call nothing.
	{
		struct adbg_elf_section plt;

		OK(adbg_elf_find_section(elf, ".plt", &plt));
		FAILS(adbg_elf_plt_at(elf, plt.addr + 2, &got, &value), ADBG_ERR_NOT_FOUND);
		FAILS(adbg_elf_plt_at(elf, plt.addr - 1, &got, &value), ADBG_ERR_NOT_FOUND);
	}
	adbg_elf_destroy(elf);
	return n;
}

START_TEST(test_plt_names)
{
	static const char *const files[] = {"/usr/bin/python3.11",
					    "/lib/x86_64-linux-gnu/libc.so.6"};
	char dir[] = "/tmp/aiodbg-plt-XXXXXX", src[64], so[64], cmd[512];
	FILE *f;
	int n;

	if (system("objdump --version >/dev/null 2>&1") != 0) {
		printf("test_plt_names: SKIPPED: no objdump\n");
		return;
	}
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		n = check_plt(files[i]);
		ck_assert_msg(n >= 10, "%s: %d PLT entries checked", files[i], n);
	}
	// An IBT link (-z ibtplt): calls go through .plt.sec, .plt holds the lazy stubs.
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(src, sizeof(src), "%s/plt.c", dir);
	snprintf(so, sizeof(so), "%s/libplt.so", dir);
	f = fopen(src, "w");
	ck_assert_ptr_nonnull(f);
	fputs("#include <stdlib.h>\n#include <string.h>\n#include <stdio.h>\n"
	      "int f(const char *s) { char *d = strdup(s); puts(d); int n = atoi(d);\n"
	      "  free(d); return n + (int)strlen(s) + abs(n); }\n",
	      f);
	fclose(f);
	snprintf(cmd, sizeof(cmd),
		 "cc -shared -fPIC -O1 -fcf-protection -Wl,-z,ibtplt -Wl,-z,lazy -o %s %s", so,
		 src);
	ck_assert_int_eq(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "readelf -SW %s | grep -q '\\.plt\\.sec'", so);
	ck_assert_msg(system(cmd) == 0, "%s has no .plt.sec", so);
	n = check_plt(so);
	ck_assert_msg(n >= 5, "%s: %d PLT entries checked", so, n);
	unlink(src);
	unlink(so);
	rmdir(dir);
}
END_TEST

static Suite *native_suite(void)
{
	Suite *s = suite_create("native");
	TCase *tc = tcase_create("merge");

	tcase_add_test(tc, test_merge_312_anchored);
	tcase_add_test(tc, test_merge_311_is_entry);
	tcase_add_test(tc, test_merge_cycle);
	tcase_add_loop_test(tc, test_stack_cut_counts_what_it_leaves_out, 0, 2);
	tcase_add_test(tc, test_stack_cut_cycle);
	tcase_add_test(tc, test_agent_stack);
	tcase_add_test(tc, test_frame_local_unreadable_code);
	tcase_add_test(tc, test_symbol_at_libc);
	tcase_add_test(tc, test_plt_names);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(native_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
