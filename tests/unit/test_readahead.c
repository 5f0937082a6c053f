// SPDX-License-Identifier: MIT
// Unit tests of readahead.c and of the read cache copying ahead with it (target.c): a
// block taken holds exactly the memory's bytes, where the memory ends too; a block asked
// for but not begun is withdrawn and never copied; forget drops everything; buffers are
// traded, never lost or duplicated; a long run of reads in and out of order through the
// cache returns the memory's bytes, with most blocks copied by the thread; turning it off
// joins the thread.
#include <check.h>
#include <dirent.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "readahead.h"
#include "target.h"

#define BLOCK ((size_t)1 << 16)
#define NBLOCKS 64
#define MEM_LEN (NBLOCKS * BLOCK - 1000) // the last block is partly there
#define BASE ((uint64_t)0x7f0000000000)
#define NBUFS 8

// The fake memory: [BASE, BASE + MEM_LEN), each byte a function of its address.
struct fake {
	unsigned char *bytes;
	atomic_uint reads; // read_some calls
	atomic_bool hold; // while set, read_some waits (to test withdrawal)
	atomic_bool holding; // read_some is waiting
};

static unsigned char byte_at(uint64_t addr)
{
	uint64_t x = addr * 0x9e3779b97f4a7c15ull;

	return (unsigned char)(x >> 56);
}

static struct fake *fake_new(void)
{
	struct fake *f = calloc(1, sizeof(*f));

	ck_assert_ptr_nonnull(f);
	f->bytes = malloc(MEM_LEN);
	ck_assert_ptr_nonnull(f->bytes);
	for (size_t i = 0; i < MEM_LEN; i++)
		f->bytes[i] = byte_at(BASE + i);
	return f;
}

static void fake_free(struct fake *f)
{
	free(f->bytes);
	free(f);
}

static size_t fake_read_some(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct fake *f = ctx;

	atomic_fetch_add(&f->reads, 1);
	while (atomic_load(&f->hold)) {
		atomic_store(&f->holding, true);
		sched_yield();
	}
	atomic_store(&f->holding, false);
	if (addr < BASE || addr >= BASE + MEM_LEN)
		return 0;
	if (len > BASE + MEM_LEN - addr)
		len = BASE + MEM_LEN - addr;
	memcpy(buf, f->bytes + (addr - BASE), len);
	return len;
}

static unsigned char **bufs_new(unsigned n)
{
	unsigned char **b = calloc(n, sizeof(*b));

	ck_assert_ptr_nonnull(b);
	for (unsigned i = 0; i < n; i++) {
		b[i] = malloc(BLOCK);
		ck_assert_ptr_nonnull(b[i]);
	}
	return b;
}

static int cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t) * (unsigned char *const *)a;
	uintptr_t y = (uintptr_t) * (unsigned char *const *)b;

	return x < y ? -1 : x > y;
}

/* The n buffers in got are the n in want, in some order. */
static void assert_same_set(unsigned char **got, unsigned char **want, unsigned n)
{
	qsort(got, n, sizeof(*got), cmp_ptr);
	qsort(want, n, sizeof(*want), cmp_ptr);
	for (unsigned i = 0; i < n; i++)
		ck_assert_ptr_eq(got[i], want[i]);
}

/* Ask for addr, wait (up to 5 s) for the thread to copy it, then take it. */
static long want_and_take(struct adbg_readahead *ra, uint64_t addr, unsigned char **buf)
{
	uint64_t before, copied = 0, taken;

	adbg_readahead_stats(ra, &before, &taken);
	adbg_readahead_want(ra, addr);
	for (int i = 0; i < 5000; i++) {
		adbg_readahead_stats(ra, &copied, &taken);
		if (copied > before)
			break;
		nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
	}
	ck_assert_uint_gt(copied, before);
	return adbg_readahead_take(ra, addr, buf);
}

START_TEST(test_take_trades_buffers)
{
	struct fake *f = fake_new();
	unsigned char **lent = bufs_new(NBUFS), **all = calloc(NBUFS + 1, sizeof(*all));
	unsigned char **back = calloc(NBUFS + 1, sizeof(*back));
	unsigned char *mine = malloc(BLOCK), *before = mine;
	struct adbg_readahead *ra;
	uint64_t copied, taken;
	long got;

	memcpy(all, lent, NBUFS * sizeof(*all));
	all[NBUFS] = mine;
	ra = adbg_readahead_start(fake_read_some, f, BLOCK, lent, NBUFS);
	ck_assert_ptr_nonnull(ra);
	ck_assert_int_eq(adbg_readahead_take(ra, BASE, &mine), -1); // never asked for
	adbg_readahead_want(ra, BASE + 3 * BLOCK); // asked twice: copied once
	got = want_and_take(ra, BASE + 3 * BLOCK, &mine);
	ck_assert_int_eq(got, (long)BLOCK);
	ck_assert_ptr_ne(mine, before);
	ck_assert_mem_eq(mine, f->bytes + 3 * BLOCK, BLOCK);
	ck_assert_int_eq(adbg_readahead_take(ra, BASE + 3 * BLOCK, &mine), -1); // taken once
	// The last block, where the memory ends: only what is there.
	ck_assert_int_eq(want_and_take(ra, BASE + (NBLOCKS - 1) * BLOCK, &mine),
			 (long)(BLOCK - 1000));
	ck_assert_mem_eq(mine, f->bytes + (NBLOCKS - 1) * BLOCK, BLOCK - 1000);
	// Past it: nothing readable.
	ck_assert_int_eq(want_and_take(ra, BASE + NBLOCKS * BLOCK, &mine), 0);
	adbg_readahead_stats(ra, &copied, &taken);
	ck_assert_uint_eq(copied, 3);
	ck_assert_uint_eq(taken, 3);
	adbg_readahead_stop(ra, back);
	back[NBUFS] = mine;
	assert_same_set(back, all, NBUFS + 1);
	for (unsigned i = 0; i <= NBUFS; i++)
		free(back[i]);
	free(all);
	free(back);
	free(lent);
	fake_free(f);
}
END_TEST

START_TEST(test_withdraw_and_forget)
{
	struct fake *f = fake_new();
	unsigned char **lent = bufs_new(NBUFS), **back = calloc(NBUFS, sizeof(*back));
	unsigned char *mine = malloc(BLOCK);
	struct adbg_readahead *ra;
	unsigned reads;

	ra = adbg_readahead_start(fake_read_some, f, BLOCK, lent, NBUFS);
	ck_assert_ptr_nonnull(ra);
	// The thread is held in its first copy; the second and third are not begun.
	atomic_store(&f->hold, true);
	adbg_readahead_want(ra, BASE);
	while (!atomic_load(&f->holding))
		sched_yield();
	adbg_readahead_want(ra, BASE + BLOCK);
	adbg_readahead_want(ra, BASE + 2 * BLOCK);
	ck_assert_int_eq(adbg_readahead_take(ra, BASE + BLOCK, &mine), -1); // withdrawn
	atomic_store(&f->hold, false);
	// Taking the block being copied waits for it.
	ck_assert_int_eq(adbg_readahead_take(ra, BASE, &mine), (long)BLOCK);
	ck_assert_mem_eq(mine, f->bytes, BLOCK);
	// The third is copied, then forgotten.
	while (atomic_load(&f->reads) < 2)
		sched_yield();
	adbg_readahead_forget(ra);
	ck_assert_int_eq(adbg_readahead_take(ra, BASE + 2 * BLOCK, &mine), -1);
	adbg_readahead_stop(ra, back);
	// The withdrawn block was never read: the first and the third only.
	reads = atomic_load(&f->reads);
	ck_assert_uint_eq(reads, 2);
	for (unsigned i = 0; i < NBUFS; i++)
		free(back[i]);
	free(mine);
	free(back);
	free(lent);
	fake_free(f);
}
END_TEST

// A target over the fake memory, for the cache.
static ADBG_MUST_CHECK struct adbg_error *t_read(struct adbg_target *t, uint64_t addr, void *buf,
						 size_t len)
{
	if (fake_read_some(t->impl, addr, buf, len) != len)
		return adbg_error_fault(addr, "address %#" PRIx64 " not readable", addr);
	return NULL;
}

static size_t t_read_some(struct adbg_target *t, uint64_t addr, void *buf, size_t len)
{
	return fake_read_some(t->impl, addr, buf, len);
}

static const struct adbg_target_ops fake_ops = {
	.read = t_read,
	.read_some = t_read_some,
	.read_some_threadsafe = true,
};

static unsigned threads_now(void)
{
	DIR *d = opendir("/proc/self/task");
	unsigned n = 0;

	ck_assert_ptr_nonnull(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n - 2; // . and ..
}

START_TEST(test_cache_reads_ahead)
{
	struct fake *f = fake_new();
	struct adbg_target *t;
	unsigned char buf[256];
	uint64_t copied, taken;
	unsigned threads = threads_now();
	struct adbg_error *err;

	ck_assert_ptr_null(adbg_target_alloc(&fake_ops, ADBG_TARGET_MEMORY, &t));
	t->impl = f;
	// 16 blocks of 64 KiB: the fake memory is 4 times the cache.
	ck_assert_ptr_null(adbg_target_enable_cache(t, 16, 4));
	adbg_target_readahead(t, true);
	srand(7);
	for (int round = 0; round < 3; round++) {
		// Streaming, as a walk over objects allocated in order does.
		for (uint64_t a = BASE; a + sizeof(buf) <= BASE + MEM_LEN; a += 4000) {
			ck_assert_ptr_null(adbg_target_read(t, a, buf, sizeof(buf)));
			ck_assert_mem_eq(buf, f->bytes + (a - BASE), sizeof(buf));
		}
		// Anywhere, across block ends too.
		for (int i = 0; i < 20000; i++) {
			uint64_t a = BASE + (uint64_t)rand() % (MEM_LEN - sizeof(buf));
			size_t n = 1 + (size_t)rand() % sizeof(buf);

			ck_assert_ptr_null(adbg_target_read(t, a, buf, n));
			ck_assert_mem_eq(buf, f->bytes + (a - BASE), n);
		}
		err = adbg_target_read(t, BASE + MEM_LEN - 8, buf, 16); // past the end
		ck_assert_ptr_nonnull(err);
		adbg_error_destroy(err);
	}
	adbg_target_readahead_stats(t, &copied, &taken);
	ck_assert_uint_gt(taken, NBLOCKS);
	ck_assert_uint_ge(copied, taken);
	ck_assert_uint_eq(threads_now(), threads + 1);
	adbg_target_readahead(t, false);
	ck_assert_uint_eq(threads_now(), threads);
	// Off: reads are the cache's own, still right.
	ck_assert_ptr_null(adbg_target_read(t, BASE + 12345, buf, sizeof(buf)));
	ck_assert_mem_eq(buf, f->bytes + 12345, sizeof(buf));
	adbg_target_destroy(t);
	fake_free(f);
}
END_TEST

START_TEST(test_small_blocks_no_thread)
{
	struct fake *f = fake_new();
	struct adbg_target *t;
	unsigned char buf[64];
	unsigned threads = threads_now();

	ck_assert_ptr_null(adbg_target_alloc(&fake_ops, ADBG_TARGET_MEMORY, &t));
	t->impl = f;
	// 4 KiB blocks (the watch's sampler): no readahead.
	ck_assert_ptr_null(adbg_target_enable_cache(t, 12, 4));
	adbg_target_readahead(t, true);
	for (uint64_t a = BASE; a + sizeof(buf) <= BASE + MEM_LEN; a += 4096)
		ck_assert_ptr_null(adbg_target_read(t, a, buf, sizeof(buf)));
	ck_assert_uint_eq(threads_now(), threads);
	adbg_target_destroy(t);
	fake_free(f);
}
END_TEST

static Suite *readahead_suite(void)
{
	Suite *s = suite_create("readahead");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_take_trades_buffers);
	tcase_add_test(tc, test_withdraw_and_forget);
	tcase_add_test(tc, test_cache_reads_ahead);
	tcase_add_test(tc, test_small_blocks_no_thread);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(readahead_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
