// SPDX-License-Identifier: MIT
// Unit tests of arena.c: copies survive later copies and new chunks, long strings get a
// chunk of their own, deinit empties the arena and leaves it usable.
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

START_TEST(test_copies_survive)
{
	struct adbg_arena a = {0};
	const char *first = adbg_arena_strdup(&a, "first");
	const char *copies[20000];
	char buf[32];

	ck_assert_ptr_nonnull(first);
	// Enough names to need several 64 KiB chunks.
	for (int i = 0; i < 20000; i++) {
		snprintf(buf, sizeof(buf), "task-%d", i);
		copies[i] = adbg_arena_strdup(&a, buf);
		ck_assert_ptr_nonnull(copies[i]);
		ck_assert_ptr_ne(copies[i], buf);
	}
	ck_assert_str_eq(first, "first");
	for (int i = 0; i < 20000; i++) {
		snprintf(buf, sizeof(buf), "task-%d", i);
		ck_assert_str_eq(copies[i], buf);
	}
	adbg_arena_deinit(&a);
	ck_assert_ptr_null(a.chunks);
}
END_TEST

START_TEST(test_long_strings_and_reuse)
{
	struct adbg_arena a = {0};
	size_t n = 200 * 1024;
	char *big = malloc(n + 1);
	const char *small, *copy, *after;

	ck_assert_ptr_nonnull(big);
	memset(big, 'x', n);
	big[n] = '\0';
	small = adbg_arena_strdup(&a, "small");
	copy = adbg_arena_strdup(&a, big);
	after = adbg_arena_strdup(&a, "");
	ck_assert_ptr_nonnull(copy);
	ck_assert_uint_eq(strlen(copy), n);
	ck_assert_int_eq(memcmp(copy, big, n), 0);
	ck_assert_str_eq(small, "small");
	ck_assert_str_eq(after, "");
	adbg_arena_deinit(&a);
	// An arena is usable again after deinit (the session clears it per snapshot).
	ck_assert_str_eq(adbg_arena_strdup(&a, "again"), "again");
	adbg_arena_deinit(&a);
	adbg_arena_deinit(&a);
	free(big);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("arena");
	TCase *tc = tcase_create("strings");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_copies_survive);
	tcase_add_test(tc, test_long_strings_and_reuse);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
