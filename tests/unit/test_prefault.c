// SPDX-License-Identifier: MIT
// Unit tests of prefault.c: the thread populates pages up to the window past what the
// owner used and no further, keeps every byte the owner writes meanwhile, gives back the
// window when stopped, and follows the owner as it goes on. Residency is read with
// mincore(2).
#include <check.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "prefault.h"

#define MIB ((size_t)1 << 20)

static size_t resident(const unsigned char *base, size_t from, size_t to)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), n = (to - from) / page, count = 0;
	unsigned char vec[(64 * MIB) / 4096];

	ck_assert_uint_le(n, sizeof(vec));
	ck_assert_int_eq(mincore((void *)(base + from), to - from, vec), 0);
	for (size_t i = 0; i < n; i++)
		count += vec[i] & 1;
	return count * page;
}

/* Wait (up to 5 s) until [from, to) is all resident. */
static bool wait_resident(const unsigned char *base, size_t from, size_t to)
{
	for (int i = 0; i < 500; i++) {
		if (resident(base, from, to) == to - from)
			return true;
		nanosleep(&(struct timespec){.tv_nsec = 10000000}, NULL);
	}
	return false;
}

static unsigned char *map(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ck_assert_ptr_ne(p, MAP_FAILED);
	// Small pages: residency is then exact to the page.
	(void)madvise(p, len, MADV_NOHUGEPAGE);
	return p;
}

START_TEST(test_window_and_contents)
{
	size_t len = 64 * MIB, ahead = 8 * MIB;
	unsigned char *base = map(len);
	struct adbg_prefault *pf;

	memset(base, 0xab, MIB); // the owner's first megabyte, before the thread
	pf = adbg_prefault_start(base, len, MIB, ahead);
	ck_assert_ptr_nonnull(pf);
	ck_assert(wait_resident(base, MIB, MIB + ahead));
	// Never past the window (give it time to overrun, were it to).
	nanosleep(&(struct timespec){.tv_nsec = 50000000}, NULL);
	ck_assert_uint_eq(resident(base, MIB + ahead + 2 * MIB, len), 0);
	// The owner writes while the thread works; the window moves with it.
	for (size_t off = MIB; off < 20 * MIB; off += 4096) {
		base[off] = (unsigned char)(off >> 12);
		adbg_prefault_used(pf, off + 1);
	}
	ck_assert(wait_resident(base, 20 * MIB, 20 * MIB + ahead - 4096));
	adbg_prefault_stop(pf, 20 * MIB);
	for (size_t i = 0; i < MIB; i++)
		ck_assert_uint_eq(base[i], 0xab);
	for (size_t off = MIB; off < 20 * MIB; off += 4096)
		ck_assert_uint_eq(base[off], (unsigned char)(off >> 12));
	// The window is given back; what the owner used is not.
	ck_assert_uint_eq(resident(base, 20 * MIB, len), 0);
	ck_assert_uint_eq(resident(base, 0, 20 * MIB), 20 * MIB);
	munmap(base, len);
}
END_TEST

/* A window past the end stops at the end; stopping at once is fine; NULL is a no-op. */
START_TEST(test_edges)
{
	size_t len = 4 * MIB;
	unsigned char *base = map(len);
	struct adbg_prefault *pf = adbg_prefault_start(base, len, 0, 64 * MIB);

	ck_assert_ptr_nonnull(pf);
	ck_assert(wait_resident(base, 0, len));
	adbg_prefault_stop(pf, len);
	ck_assert_uint_eq(resident(base, 0, len), len);
	pf = adbg_prefault_start(base, len, len, MIB);
	ck_assert_ptr_nonnull(pf);
	adbg_prefault_stop(pf, 0); // gives back what it populated (none), not the owner's
	ck_assert_uint_eq(resident(base, 0, len), len);
	adbg_prefault_used(NULL, 1);
	adbg_prefault_stop(NULL, 0);
	munmap(base, len);
}
END_TEST

static Suite *prefault_suite(void)
{
	Suite *s = suite_create("prefault");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_window_and_contents);
	tcase_add_test(tc, test_edges);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(prefault_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
