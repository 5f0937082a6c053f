// SPDX-License-Identifier: MIT
// Seed generator for fuzz_runtime: cuts one input out of a real process.
//
// usage: gen_runtime_seeds PID OUTFILE
//
// Attaches to PID, recognises its Python (files and all), then runs the fuzzer's commands
// over a recording target that forwards every read to the frozen process and remembers
// which bytes were read: the seed is those bytes (ranges a little apart are joined), the
// runtime's address and version, and the native frames of the main thread (libunwind),
// in fuzz_runtime.c's input format. Linked with build/libaiodbg.a.
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "native.h"
#include "python.h"
#include "runtime.h"
#include "session.h"
#include "target.h"
#include "unwind.h"

// Ranges closer than this are joined into one segment (fewer, larger segments).
#define JOIN_GAP 256
#define MAX_SEGS 512

struct range {
	uint64_t addr, end;
};

struct rec {
	struct adbg_target *inner;
	struct range *r;
	size_t n, cap;
};

static struct adbg_error *rec_read(struct adbg_target *t, uint64_t addr, void *buf, size_t len)
{
	struct rec *r = t->impl;
	struct adbg_error *err = adbg_target_read(r->inner, addr, buf, len);

	if (err || !len)
		return err;
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 1024;
		r->r = realloc(r->r, r->cap * sizeof(*r->r));
		if (!r->r) {
			fprintf(stderr, "out of memory\n");
			exit(1);
		}
	}
	r->r[r->n++] = (struct range){addr, addr + len};
	return NULL;
}

static struct adbg_error *rec_open_file(struct adbg_target *t, const struct adbg_mapping *m,
					int *ret)
{
	(void)t;
	(void)m;
	(void)ret;
	return adbg_error_create(ADBG_ERR_NOT_FOUND, "no files while recording");
}

static void rec_destroy(struct adbg_target *t)
{
	(void)t;
}

static const struct adbg_target_ops rec_ops = {
	.read = rec_read,
	.open_file = rec_open_file,
	.destroy = rec_destroy,
};

static int cmp_range(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static void put(FILE *f, uint64_t v, size_t n)
{
	fwrite(&v, n, 1, f); // little-endian host
}

static void die(const char *what, struct adbg_error *err)
{
	fprintf(stderr, "gen_runtime_seeds: %s: %s\n", what, err->message);
	exit(1);
}

/* Join sorted ranges closer than gap, as long as the joined bytes can be read. */
static size_t join(struct adbg_target *t, struct range *r, size_t n, uint64_t gap)
{
	size_t out = 0;

	qsort(r, n, sizeof(*r), cmp_range);
	for (size_t i = 0; i < n; i++) {
		if (out && r[i].addr <= r[out - 1].end + gap) {
			uint64_t end = r[i].end > r[out - 1].end ? r[i].end : r[out - 1].end;
			unsigned char *tmp = malloc(end - r[out - 1].addr);
			struct adbg_error *err;

			err = tmp ? adbg_target_read(t, r[out - 1].addr, tmp, end - r[out - 1].addr)
				  : &adbg_error_nomem;
			free(tmp);
			if (!err) {
				r[out - 1].end = end;
				continue;
			}
			adbg_error_destroy(err);
		}
		r[out++] = r[i];
	}
	return out;
}

int main(int argc, char **argv)
{
	static const char *const cmds[] = {"info --json", "threads --json", "bt --json",
					   "tasks --json", "tree --json"};
	struct adbg_session *live, *s;
	struct adbg_target *t, *rt;
	struct adbg_python *py;
	struct adbg_native_stack ns = {0};
	struct adbg_runtime_snapshot snap;
	struct adbg_cmd_opts opts = {0};
	struct adbg_error *err;
	struct rec rec = {0};
	uint64_t gap = JOIN_GAP;
	size_t nseg;
	void *state = NULL;
	FILE *f, *devnull;
	int pid, main_tid = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: gen_runtime_seeds PID OUTFILE\n");
		return 2;
	}
	pid = atoi(argv[1]);
	err = adbg_target_attach(pid, NULL, &t);
	if (!err)
		err = adbg_session_create(t, &live);
	if (err)
		die("attach", err);
	devnull = fopen("/dev/null", "w");

	// The main thread's native frames, as the fuzzer's unwinder will hand them out.
	err = adbg_session_snapshot_begin(live);
	if (!err)
		err = adbg_runtime_snapshot(live, 0, &snap);
	if (err)
		die("snapshot", err);
	for (size_t i = 0; i < snap.nthreads; i++)
		if (snap.threads[i].main)
			main_tid = snap.threads[i].tid;
	adbg_runtime_snapshot_deinit(&snap);
	err = adbg_libunwind_unwinder.begin(live, &state);
	if (!err)
		err = adbg_libunwind_unwinder.thread(live, state, main_tid ? main_tid : pid, &ns);
	if (err) {
		fprintf(stderr, "gen_runtime_seeds: no native frames: %s\n", err->message);
		adbg_error_destroy(err);
	} else {
		adbg_libunwind_unwinder.name(live, state, &ns);
	}
	if (state)
		adbg_libunwind_unwinder.end(live, state);

	// The walks, over a target that records what they read (the process stays frozen).
	rec.inner = t;
	err = adbg_target_alloc(&rec_ops, ADBG_TARGET_MEMORY, &rt);
	if (err)
		die("recording target", err);
	rt->impl = &rec;
	err = adbg_python_at(rt, live->python->runtime_addr, live->python->layout.version,
			     live->python->asyncio_debug_addr, &py);
	if (!err)
		err = adbg_session_create_python(rt, py, &s);
	if (err)
		die("python", err);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		err = adbg_cmd_run(s, cmds[i], &opts, devnull);
		if (err) {
			fprintf(stderr, "gen_runtime_seeds: %s: %s\n", cmds[i], err->message);
			adbg_error_destroy(err);
		}
	}
	// Fewer than MAX_SEGS segments: join wider gaps until they fit.
	nseg = join(t, rec.r, rec.n, gap);
	while (nseg > MAX_SEGS && gap < (1u << 20)) {
		gap *= 2;
		nseg = join(t, rec.r, nseg, gap);
	}

	f = fopen(argv[2], "wb");
	if (!f) {
		perror(argv[2]);
		return 1;
	}
	put(f, live->python->layout.version, 8);
	put(f, live->python->runtime_addr, 8);
	put(f, live->python->asyncio_debug_addr, 8);
	put(f, nseg > MAX_SEGS ? MAX_SEGS : nseg, 2);
	for (size_t i = 0; i < nseg && i < MAX_SEGS; i++) {
		size_t len = rec.r[i].end - rec.r[i].addr;
		unsigned char *buf = malloc(len);

		err = buf ? adbg_target_read(t, rec.r[i].addr, buf, len) : &adbg_error_nomem;
		if (err)
			die("reading back", err);
		put(f, rec.r[i].addr, 8);
		put(f, len, 4);
		fwrite(buf, len, 1, f);
		free(buf);
	}
	for (size_t i = 0; i < ns.st.n; i++) {
		const char *fn = ns.st.frames[i].function;
		uint8_t k = adbg_native_is_eval_loop(fn) ? 1 : strstr(fn, "sleep") ? 3 : 0;

		put(f, ns.sp[i], 8);
		put(f, k, 1);
	}
	fclose(f);
	adbg_session_snapshot_end(live);
	fprintf(stderr, "gen_runtime_seeds: %s: %zu reads, %zu segments, %zu native frames\n",
		argv[2], rec.n, nseg, ns.st.n);
	adbg_native_stack_deinit(&ns);
	adbg_session_destroy(s);
	adbg_session_destroy(live);
	free(rec.r);
	fclose(devnull);
	return 0;
}
