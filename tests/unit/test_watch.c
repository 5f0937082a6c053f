// SPDX-License-Identifier: MIT
// Unit tests of the watch's leak signal (watch.c: adbg_watch_count_tasks and
// adbg_watch_growth) over synthetic task snapshots: a coroutine whose pending tasks keep
// growing is flagged with its slope, a steady or churning one is not, finished tasks do not
// count, and a long watch thins its series without losing its span.
#include <check.h>
#include <math.h>
#include <stdlib.h>

#include "asyncio.h"
#include "watch.h"

#define MAXT 4096

static struct adbg_task tasks[MAXT];

/* A snapshot of n tasks: coros[i] names task i's coroutine, done[i] marks it finished. */
static struct adbg_asyncio_snapshot snapshot(size_t n, const char *const *coros, const bool *done)
{
	struct adbg_asyncio_snapshot snap = {.tasks = tasks, .ntasks = n};

	ck_assert_uint_le(n, MAXT);
	for (size_t i = 0; i < n; i++)
		tasks[i] = (struct adbg_task){
			.id = 0x1000 + 16 * i,
			.coro = coros[i],
			.state = done && done[i] ? ADBG_TASK_FINISHED : ADBG_TASK_PENDING,
		};
	return snap;
}

static struct adbg_watch *new_watch(void)
{
	struct adbg_watch_opts o = ADBG_WATCH_OPTS_DEFAULT;
	struct adbg_watch *w = NULL;

	ck_assert_ptr_null(adbg_watch_create(NULL, &o, &w));
	return w;
}

/*
 * Sample k (at k * 0.5 s): `leaked` has 5k pending tasks, `steady` always 10, `churn` 4 or
 * 6 in turn, and 20 finished tasks of `gone` are also there.
 */
static void sample(struct adbg_watch *w, unsigned k)
{
	static const char *coros[MAXT];
	static bool done[MAXT];
	size_t n = 0;

	for (unsigned i = 0; i < 5 * k; i++, n++)
		coros[n] = "leaked", done[n] = false;
	for (unsigned i = 0; i < 10; i++, n++)
		coros[n] = "steady", done[n] = false;
	for (unsigned i = 0; i < (k % 2 ? 4u : 6u); i++, n++)
		coros[n] = "churn", done[n] = false;
	for (unsigned i = 0; i < 20 + k; i++, n++)
		coros[n] = "gone", done[n] = true;
	struct adbg_asyncio_snapshot snap = snapshot(n, coros, done);

	adbg_watch_count_tasks(w, &snap, k * 0.5);
}

START_TEST(test_growing_coroutine_flagged)
{
	struct adbg_watch *w = new_watch();
	struct adbg_watch_growth g[8];
	size_t n;

	for (unsigned k = 0; k < 8; k++)
		sample(w, k);
	n = adbg_watch_growth(w, g, 8);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(g[0].coro, "leaked");
	ck_assert_uint_eq(g[0].first, 0);
	ck_assert_uint_eq(g[0].last, 35);
	ck_assert_uint_eq(g[0].points, 8);
	ck_assert(fabs(g[0].per_s - 10) < 1e-9); // 5 tasks per 0.5 s
	ck_assert(fabs(g[0].over - 3.5) < 1e-9);
	adbg_watch_destroy(w);
}
END_TEST

START_TEST(test_too_few_samples_or_too_little_growth)
{
	struct adbg_watch *w = new_watch();
	struct adbg_watch_growth g[8];
	static const char *two[] = {"slow", "slow"};

	for (unsigned k = 0; k < 3; k++)
		sample(w, k);
	ck_assert_uint_eq(adbg_watch_growth(w, g, 8), 0); // 3 samples: no quarters yet
	adbg_watch_destroy(w);

	// Rising in every quarter, but by 2 tasks in all: not a leak signal.
	w = new_watch();
	for (unsigned k = 0; k < 8; k++) {
		struct adbg_asyncio_snapshot snap = snapshot(k / 3, two, NULL);

		adbg_watch_count_tasks(w, &snap, k);
	}
	ck_assert_uint_eq(adbg_watch_growth(w, g, 8), 0);
	adbg_watch_destroy(w);
}
END_TEST

START_TEST(test_long_watch_thins_its_series)
{
	struct adbg_watch *w = new_watch();
	struct adbg_watch_growth g[8];
	unsigned total = ADBG_WATCH_MAX_POINTS * 2 + 40;
	static const char *coros[MAXT];
	size_t n;

	for (unsigned k = 0; k < total; k++) {
		size_t m = 1 + k / 100; // one task more every 100 samples

		for (size_t i = 0; i < m; i++)
			coros[i] = "slowleak";
		struct adbg_asyncio_snapshot snap = snapshot(m, coros, NULL);

		adbg_watch_count_tasks(w, &snap, k);
	}
	n = adbg_watch_growth(w, g, 8);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_le(g[0].points, ADBG_WATCH_MAX_POINTS);
	ck_assert_uint_gt(g[0].points, ADBG_WATCH_MAX_POINTS / 2 - 1);
	ck_assert_uint_eq(g[0].first, 1);
	// The series still starts at the first sample and ends near the last.
	ck_assert(g[0].over > total - 8);
	ck_assert(fabs(g[0].per_s - 0.01) < 0.002);
	adbg_watch_destroy(w);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("watch");
	TCase *tc = tcase_create("growth");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_growing_coroutine_flagged);
	tcase_add_test(tc, test_too_few_samples_or_too_little_growth);
	tcase_add_test(tc, test_long_watch_thins_its_series);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
