// SPDX-License-Identifier: MIT
// Unit tests of sort.c: the radix sort gives qsort's order on arrays of every size it
// treats differently (below and above the radix threshold), on addresses that share their
// top bits (passes skipped), full 64-bit keys, duplicates and sorted or reversed input.
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sort.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static int cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Sort a copy with adbg_sort_u64 and one with qsort: the same order. */
static void check_sorts(const uint64_t *in, size_t n)
{
	uint64_t *a = malloc((n ? n : 1) * sizeof(*a)), *b = malloc((n ? n : 1) * sizeof(*b));

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	if (n) {
		memcpy(a, in, n * sizeof(*a));
		memcpy(b, in, n * sizeof(*b));
		qsort(b, n, sizeof(*b), cmp);
	}
	adbg_sort_u64(a, n);
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(a[i] == b[i], "n=%zu: [%zu] %#llx, want %#llx", n, i,
			      (unsigned long long)a[i], (unsigned long long)b[i]);
	free(a);
	free(b);
}

START_TEST(test_sizes_and_keys)
{
	static const size_t sizes[] = {0, 1, 2, 3, 100, 4095, 4096, 4097, 70000, 300000};

	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t n = sizes[k];
		uint64_t *v = malloc((n ? n : 1) * sizeof(*v));

		ck_assert_ptr_nonnull(v);
		// Heap addresses: 16-byte aligned, the top 17 bits shared.
		for (size_t i = 0; i < n; i++)
			v[i] = 0x7f0000000000ull + ((next() & 0xffffffffffull) << 4);
		check_sorts(v, n);
		// Full 64-bit keys (every digit differs).
		for (size_t i = 0; i < n; i++)
			v[i] = next();
		check_sorts(v, n);
		// Few distinct keys (duplicates), then sorted and reversed input.
		for (size_t i = 0; i < n; i++)
			v[i] = next() % 7 << 40;
		check_sorts(v, n);
		for (size_t i = 0; i < n; i++)
			v[i] = i * 48;
		check_sorts(v, n);
		for (size_t i = 0; i < n; i++)
			v[i] = (uint64_t)(n - i) << 20;
		check_sorts(v, n);
		free(v);
	}
}
END_TEST

START_TEST(test_all_equal)
{
	uint64_t v[5000];

	for (size_t i = 0; i < 5000; i++)
		v[i] = 0x55d1f52c0e00ull;
	adbg_sort_u64(v, 5000);
	for (size_t i = 0; i < 5000; i++)
		ck_assert_uint_eq(v[i], 0x55d1f52c0e00ull);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sort");
	TCase *tc = tcase_create("sort");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_sizes_and_keys);
	tcase_add_test(tc, test_all_equal);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
