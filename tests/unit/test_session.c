// SPDX-License-Identifier: MIT
// Unit tests of session.c's snapshots (adbg_session_snapshot): when a live target changes
// under a read, the snapshot is read again, a bounded number of times, always thawed in
// between and at the end, and Ctrl-C stops it; on a core an inconsistency is corrupt data,
// never retried; the warm read before the freeze leaves nothing behind and is bounded.
// The target is a fake with freeze/thaw counters (no process).
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "python.h"
#include "session.h"
#include "target.h"

// What the fake target and the fake read do, and what they saw.
struct fake {
	// freeze: fail this many times (transiently when transient), then succeed
	int freeze_failures;
	bool transient;
	int freezes, thaws;
	// read: report a race on this many attempts; fail on those attempts when failing
	int races;
	bool failing;
	// read: set *interrupted on the first attempt
	bool interrupt;
	volatile int interrupted;
	int reads, drops;
	// endless_fn saw adbg_session_interrupted become true
	bool interrupted_seen;
	// the target was frozen during every read
	bool frozen_in_read;
};

static struct fake F;

static struct adbg_error *f_read(struct adbg_target *t, uint64_t addr, void *buf, size_t len)
{
	(void)t;
	(void)addr;
	memset(buf, 0, len);
	return NULL;
}

static struct adbg_error *f_freeze(struct adbg_target *t)
{
	F.freezes++;
	if (F.freeze_failures > 0) {
		F.freeze_failures--;
		t->freeze_transient = F.transient;
		return adbg_error_create(ADBG_ERR_PERMISSION, "another aiodbg holds it");
	}
	return NULL;
}

static void f_thaw(struct adbg_target *t)
{
	(void)t;
	F.thaws++;
}

static struct adbg_error *f_open_file(struct adbg_target *t, const struct adbg_mapping *m, int *ret)
{
	(void)t;
	(void)m;
	(void)ret;
	return adbg_error_create(ADBG_ERR_NOT_FOUND, "no files");
}

static void f_destroy(struct adbg_target *t)
{
	(void)t;
}

static const struct adbg_target_ops fake_ops = {
	.read = f_read,
	.freeze = f_freeze,
	.thaw = f_thaw,
	.open_file = f_open_file,
	.destroy = f_destroy,
};

static struct adbg_session *fake_session(enum adbg_target_kind kind)
{
	struct adbg_session *s;
	struct adbg_target *t;
	struct adbg_python *py = calloc(1, sizeof(*py));
	struct adbg_error *err;

	ck_assert_ptr_nonnull(py);
	// 3.11: no AsyncioDebug section to look for before each snapshot.
	py->layout.major = 3;
	py->layout.minor = 11;
	err = adbg_target_alloc(&fake_ops, kind, &t);
	ck_assert_ptr_null(err);
	t->pid = 4242;
	err = adbg_session_create_python(t, py, &s);
	ck_assert_ptr_null(err);
	memset(&F, 0, sizeof(F));
	s->interrupted = &F.interrupted;
	return s;
}

static struct adbg_error *read_fn(struct adbg_session *s, void *arg)
{
	int *result = arg;

	F.reads++;
	if (F.reads == 1)
		F.frozen_in_read = true;
	F.frozen_in_read = F.frozen_in_read && s->target->frozen;
	adbg_session_warn(s, "attempt %d", F.reads);
	if (F.interrupt)
		F.interrupted = 1;
	if (F.reads <= F.races) {
		struct adbg_error *err = adbg_session_inconsistent(
			s, "thread list", "thread state 0x%x does not point back", F.reads);

		if (F.failing)
			return err;
		adbg_error_destroy(err);
	}
	*result = F.reads;
	return NULL;
}

static void drop_fn(struct adbg_session *s, void *arg)
{
	(void)s;
	*(int *)arg = 0;
	F.drops++;
}

static void check_thawed(struct adbg_session *s)
{
	ck_assert(!s->target->frozen);
	ck_assert_int_eq(F.freezes, F.thaws);
	ck_assert_ptr_null(s->race_what);
}

START_TEST(test_no_race_reads_once)
{
	struct adbg_session *s = fake_session(ADBG_TARGET_PROCESS);
	int result = 0;

	ck_assert_ptr_null(adbg_session_snapshot(s, read_fn, drop_fn, &result));
	ck_assert_int_eq(result, 1);
	ck_assert_int_eq(F.reads, 1);
	ck_assert(F.frozen_in_read);
	check_thawed(s);
	adbg_session_destroy(s);
}
END_TEST

// The race of issue 14: a thread list that did not add up twice, then did.
START_TEST(test_race_reads_again)
{
	struct adbg_session *s = fake_session(ADBG_TARGET_PROCESS);
	int result = 0;

	F.races = 2;
	F.failing = _i;
	ck_assert_ptr_null(adbg_session_snapshot(s, read_fn, drop_fn, &result));
	ck_assert_int_eq(result, 3);
	ck_assert_int_eq(F.reads, 3);
	ck_assert_int_eq(F.freezes, 3);
	// A failed read leaves nothing to drop; a successful one that raced is dropped.
	ck_assert_int_eq(F.drops, _i ? 0 : 2);
	ck_assert(F.frozen_in_read);
	check_thawed(s);
	// Only the warnings of the attempt that counts.
	ck_assert_uint_eq(s->nwarnings, 1);
	ck_assert_str_eq(s->warnings[0], "attempt 3");
	adbg_session_destroy(s);
}
END_TEST

START_TEST(test_race_persists_and_fails)
{
	struct adbg_session *s = fake_session(ADBG_TARGET_PROCESS);
	struct adbg_error *err;
	int result = 0;

	F.races = 100;
	F.failing = true;
	err = adbg_session_snapshot(s, read_fn, drop_fn, &result);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->code, ADBG_ERR_TIMEOUT);
	ck_assert_msg(strstr(err->message, "the thread list of process 4242 kept changing during 5 "
					   "snapshots; try again") &&
			      strstr(err->message, "does not point back"),
		      "%s", err->message);
	ck_assert_msg(!strstr(err->message, "not supported"), "%s", err->message);
	adbg_error_destroy(err);
	ck_assert_int_eq(F.reads, ADBG_SNAPSHOT_ATTEMPTS);
	check_thawed(s);
	adbg_session_destroy(s);
}
END_TEST

// A read that only warned keeps its last result, with a warning that says so.
START_TEST(test_race_persists_and_warns)
{
	struct adbg_session *s = fake_session(ADBG_TARGET_PROCESS);
	int result = 0;

	F.races = 100;
	ck_assert_ptr_null(adbg_session_snapshot(s, read_fn, drop_fn, &result));
	ck_assert_int_eq(result, ADBG_SNAPSHOT_ATTEMPTS);
	ck_assert_int_eq(F.drops, ADBG_SNAPSHOT_ATTEMPTS - 1);
	ck_assert_uint_eq(s->nwarnings, 2);
	ck_assert_msg(strstr(s->warnings[1], "kept changing during 5 snapshots; this one may be "
					     "incomplete"),
		      "%s", s->warnings[1]);
	check_thawed(s);
	adbg_session_destroy(s);
}
END_TEST

// A core does not change: what does not add up is corrupt, and reading again is no use.
START_TEST(test_core_is_not_retried)
{
	struct adbg_session *s = fake_session(ADBG_TARGET_CORE);
	struct adbg_error *err;
	int result = 0;

	F.races = 100;
	F.failing = true;
	err = adbg_session_snapshot(s, read_fn, drop_fn, &result);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->code, ADBG_ERR_BAD_DATA);
	ck_assert_msg(strstr(err->message, "corrupt"), "%s", err->message);
	adbg_error_destroy(err);
	ck_assert_int_eq(F.reads, 1);
	adbg_session_destroy(s);
}
END_TEST

START_TEST(test_ctrl_c_stops_the_retries)
{
	struct adbg_session *s = fake_session(ADBG_TARGET_PROCESS);
	struct adbg_error *err;
	int result = 0;

	F.races = 100;
	F.failing = true;
	F.interrupt = true;
	err = adbg_session_snapshot(s, read_fn, drop_fn, &result);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->code, ADBG_ERR_INTERRUPTED);
	adbg_error_destroy(err);
	ck_assert_int_eq(F.reads, 1);
	check_thawed(s);
	adbg_session_destroy(s);
}
END_TEST

// A freeze that failed on a changing process is tried again; other failures are not.
START_TEST(test_transient_freeze)
{
	struct adbg_session *s = fake_session(ADBG_TARGET_PROCESS);
	struct adbg_error *err;
	int result = 0;

	F.freeze_failures = 2;
	F.transient = true;
	ck_assert_ptr_null(adbg_session_snapshot(s, read_fn, drop_fn, &result));
	ck_assert_int_eq(F.freezes, 3);
	ck_assert_int_eq(F.reads, 1);
	adbg_target_thaw(s->target);

	memset(&F, 0, sizeof(F));
	F.freeze_failures = 100;
	F.transient = true;
	err = adbg_session_snapshot(s, read_fn, drop_fn, &result);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->code, ADBG_ERR_PERMISSION);
	ck_assert_msg(strstr(err->message, "another aiodbg holds it; tried 12 times, try again"),
		      "%s", err->message);
	adbg_error_destroy(err);
	ck_assert_int_eq(F.freezes, ADBG_FREEZE_ATTEMPTS);
	ck_assert_int_eq(F.reads, 0);
	ck_assert(!s->target->frozen);

	memset(&F, 0, sizeof(F));
	F.freeze_failures = 100;
	F.transient = false;
	err = adbg_session_snapshot(s, read_fn, drop_fn, &result);
	ck_assert_ptr_nonnull(err);
	ck_assert_str_eq(err->message, "another aiodbg holds it");
	adbg_error_destroy(err);
	ck_assert_int_eq(F.freezes, 1);
	adbg_session_destroy(s);
}
END_TEST

START_TEST(test_backoff_grows_and_is_short)
{
	unsigned total = 0;

	for (unsigned a = 1; a < ADBG_SNAPSHOT_ATTEMPTS; a++) {
		ck_assert_uint_gt(adbg_snapshot_backoff_ms(a), 0);
		if (a > 1)
			ck_assert_uint_gt(adbg_snapshot_backoff_ms(a),
					  adbg_snapshot_backoff_ms(a - 1));
		total += adbg_snapshot_backoff_ms(a);
	}
	ck_assert_uint_le(total, 100);

	// Another aiodbg's hold is waited out longer: growing steps, about 1.2 s in all.
	total = 0;
	for (unsigned a = 1; a < ADBG_FREEZE_ATTEMPTS; a++) {
		ck_assert_uint_ge(adbg_freeze_backoff_ms(a), adbg_snapshot_backoff_ms(a));
		if (a > 1)
			ck_assert_uint_ge(adbg_freeze_backoff_ms(a), adbg_freeze_backoff_ms(a - 1));
		total += adbg_freeze_backoff_ms(a);
	}
	ck_assert_uint_ge(total, 1000);
	ck_assert_uint_le(total, 1500);
}
END_TEST

// The warm read (adbg_session_warm): with warm_ms set, a snapshot of a live target reads
// once with it running, then once frozen; what the first read made, warned and saw racing
// is gone.
static bool frozen_at[4];

static struct adbg_error *warm_read_fn(struct adbg_session *s, void *arg)
{
	if (F.reads < 4)
		frozen_at[F.reads] = s->target->frozen;
	ck_assert(s->warming == !s->target->frozen);
	return read_fn(s, arg);
}

START_TEST(test_warm_read_first)
{
	struct adbg_session *s = fake_session(ADBG_TARGET_PROCESS);
	int result = 0;

	memset(frozen_at, 0, sizeof(frozen_at));
	s->warm_ms = ADBG_WARM_MS;
	ck_assert_ptr_null(adbg_session_snapshot(s, warm_read_fn, drop_fn, &result));
	ck_assert_int_eq(F.reads, 2);
	ck_assert(!frozen_at[0]); // the warm read: target running, never frozen for it
	ck_assert(frozen_at[1]);
	ck_assert_int_eq(F.freezes, 1);
	ck_assert_int_eq(F.drops, 1); // what the warm read made
	ck_assert_int_eq(result, 2);
	// Only the frozen read's warning is left.
	ck_assert_uint_eq(s->nwarnings, 1);
	ck_assert_str_eq(s->warnings[0], "attempt 2");
	ck_assert(!s->warming);
	check_thawed(s);
	adbg_session_destroy(s);
}
END_TEST

// A snapshot right after another needs no warm read (its pages are in RAM); one after
// the previous one has aged does.
START_TEST(test_warm_not_right_after_a_snapshot)
{
	struct adbg_session *s = fake_session(ADBG_TARGET_PROCESS);
	int result = 0;

	memset(frozen_at, 0, sizeof(frozen_at));
	s->warm_ms = ADBG_WARM_MS;
	ck_assert_ptr_null(adbg_session_snapshot(s, warm_read_fn, drop_fn, &result));
	ck_assert_int_eq(F.reads, 2);
	ck_assert_ptr_null(adbg_session_snapshot(s, warm_read_fn, drop_fn, &result));
	ck_assert_int_eq(F.reads, 3); // frozen only
	ck_assert(frozen_at[2]);
	ck_assert_int_eq(F.freezes, 2);
	s->last_snapshot_ns -= (ADBG_WARM_FRESH_MS + 1) * 1000000ull;
	ck_assert_ptr_null(adbg_session_snapshot(s, warm_read_fn, drop_fn, &result));
	ck_assert_int_eq(F.reads, 5); // warm again, then frozen
	ck_assert_int_eq(F.freezes, 3);
	check_thawed(s);
	adbg_session_destroy(s);
}
END_TEST

START_TEST(test_warm_race_is_forgotten)
{
	struct adbg_session *s = fake_session(ADBG_TARGET_PROCESS);
	int result = 0;

	s->warm_ms = ADBG_WARM_MS;
	F.races = 1; // the warm read sees the program change: no retry for that
	F.failing = true;
	ck_assert_ptr_null(adbg_session_snapshot(s, warm_read_fn, drop_fn, &result));
	ck_assert_int_eq(F.reads, 2);
	ck_assert_int_eq(F.freezes, 1);
	ck_assert_int_eq(F.drops, 0); // the warm read failed: nothing to drop
	ck_assert_uint_eq(s->nwarnings, 1);
	ck_assert_str_eq(s->warnings[0], "attempt 2");
	check_thawed(s);
	adbg_session_destroy(s);
}
END_TEST

START_TEST(test_warm_not_on_a_core)
{
	struct adbg_session *s = fake_session(ADBG_TARGET_CORE);
	int result = 0;

	s->warm_ms = ADBG_WARM_MS;
	ck_assert_ptr_null(adbg_session_snapshot(s, read_fn, drop_fn, &result));
	ck_assert_int_eq(F.reads, 1);
	adbg_session_destroy(s);
}
END_TEST

// A bounded warm read is stopped through adbg_session_interrupted, as Ctrl-C stops a walk;
// afterwards nothing is interrupted.
static struct adbg_error *endless_fn(struct adbg_session *s, void *arg)
{
	uint64_t give_up = adbg_now_ns() + 10ull * 1000000000u;

	(void)arg;
	F.reads++;
	while (!adbg_session_interrupted(s))
		if (adbg_now_ns() > give_up)
			return NULL; // the bound did not work: the test fails below
	F.interrupted_seen = true;
	return adbg_error_create(ADBG_ERR_INTERRUPTED, "interrupted");
}

START_TEST(test_warm_is_bounded)
{
	struct adbg_session *s = fake_session(ADBG_TARGET_PROCESS);

	adbg_session_warm(s, endless_fn, drop_fn, NULL, 5);
	ck_assert_int_eq(F.reads, 1);
	ck_assert(F.interrupted_seen);
	ck_assert_int_eq(F.drops, 0);
	ck_assert(!adbg_session_interrupted(s));
	ck_assert_int_eq(F.freezes, 0);
	adbg_session_destroy(s);
}
END_TEST

// A warm read over a long walk ends after ADBG_WARM_ITEMS items, without a time bound too.
static size_t walked;

static struct adbg_error *long_walk_fn(struct adbg_session *s, void *arg)
{
	(void)arg;
	F.reads++;
	for (walked = 1; walked <= 1000000; walked++) {
		adbg_session_progress(s, "tasks", walked);
		if (adbg_session_interrupted(s))
			return adbg_error_create(ADBG_ERR_INTERRUPTED, "interrupted");
	}
	return NULL;
}

START_TEST(test_warm_reads_a_few_items)
{
	struct adbg_session *s = fake_session(ADBG_TARGET_PROCESS);

	adbg_session_warm(s, long_walk_fn, drop_fn, NULL, 0);
	ck_assert_int_eq(F.reads, 1);
	ck_assert_uint_eq(walked, ADBG_WARM_ITEMS);
	ck_assert(!adbg_session_interrupted(s));
	// Not when it is no warm read.
	ck_assert_ptr_null(long_walk_fn(s, NULL));
	ck_assert_uint_eq(walked, 1000001);
	adbg_session_destroy(s);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("session");
	TCase *tc = tcase_create("snapshot");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_no_race_reads_once);
	tcase_add_loop_test(tc, test_race_reads_again, 0, 2);
	tcase_add_test(tc, test_race_persists_and_fails);
	tcase_add_test(tc, test_race_persists_and_warns);
	tcase_add_test(tc, test_core_is_not_retried);
	tcase_add_test(tc, test_ctrl_c_stops_the_retries);
	tcase_add_test(tc, test_transient_freeze);
	tcase_add_test(tc, test_backoff_grows_and_is_short);
	tcase_add_test(tc, test_warm_read_first);
	tcase_add_test(tc, test_warm_not_right_after_a_snapshot);
	tcase_add_test(tc, test_warm_race_is_forgotten);
	tcase_add_test(tc, test_warm_not_on_a_core);
	tcase_add_test(tc, test_warm_is_bounded);
	tcase_add_test(tc, test_warm_reads_a_few_items);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
