// SPDX-License-Identifier: MIT
// Unit tests of render.c: the two task JSON serialisers (the jansson one of `task --json`
// and the buffered rows of `tasks --json`) give the same objects, and the text cells.
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asyncio.h"
#include "cmd.h"
#include "render.h"
#include "runtime.h"

/* Frames that tasks share (the buffered serialiser caches them by their strings). */
static struct adbg_frame frames[] = {
	{.function = "Event.wait",
	 .file = "/usr/lib/python3.13/asyncio/locks.py",
	 .addr = 0x1000,
	 .line = 213,
	 .kind = ADBG_FRAME_PYTHON},
	{.function = "worker",
	 .file = "/srv/app \"quoted\" \\ path.py",
	 .addr = 0x2000,
	 .line = 7,
	 .kind = ADBG_FRAME_PYTHON},
	{.function = "main", .file = NULL, .addr = 0x3000, .line = 0, .kind = ADBG_FRAME_PYTHON},
	{.function = "TaskGroup._aexit",
	 .file = "/usr/lib/python3.13/asyncio/taskgroups.py",
	 .addr = 0x4000,
	 .line = 121,
	 .kind = ADBG_FRAME_PYTHON},
	{.function = "épée\tñ",
	 .file = "/tmp/ü.py",
	 .addr = 0x5000,
	 .line = 1,
	 .kind = ADBG_FRAME_PYTHON},
};

static uint64_t by_a[] = {0x7f0000001000ull};
static uint64_t by_b[] = {0x7f0000001000ull, 0x7f00000010c0ull, 0x7f0000001180ull};

/* Tasks that between them set every field to each of its kinds of value. */
static void make_tasks(struct adbg_task *t, size_t n)
{
	static const char *names[] = {"w0", NULL, "name \"with\" quotes\n", "ünïcødé ✓", ""};
	static const char *what[] = {NULL, "Lock.acquire", "TaskGroup", "shield"};

	memset(t, 0, n * sizeof(*t));
	for (size_t i = 0; i < n; i++) {
		t[i].id = 0x7f0000001000ull + 0xc0 * i;
		t[i].loop = i % 4 == 3 ? 0 : 0x7f00000a0000ull;
		t[i].name = names[i % 5];
		t[i].name_truncated = i % 7 == 2;
		t[i].thread = i % 3 ? 4242 + (int)(i % 2) : 0;
		t[i].state = (uint8_t)(i % 3);
		t[i].cancelling = i % 4 == 1;
		t[i].cancel_requested = i % 5 == 1;
		t[i].cancel_count = (int)(i % 4) - 1; // -1 after an extra uncancel()
		t[i].cancel_message = i % 6 == 0 ? NULL : i % 6 == 1 ? "bye" : "stop \"now\"\u00e9";
		t[i].cancel_message_truncated = i % 11 == 1;
		t[i].running = i % 9 == 0;
		t[i].coro = i % 8 == 5 ? NULL : "worker";
		t[i].stack.frames = &frames[i % 3];
		t[i].stack.n = i % 4 == 0 ? 0 : (i % 3) + 1;
		t[i].stack.omitted = i % 10 == 4 ? 1234 : 0;
		t[i].has_waiting_on = i % 4 != 0;
		if (t[i].has_waiting_on) {
			t[i].waiting_on.id = 0x7f00000b0000ull + i;
			t[i].waiting_on.task = i % 2 ? 0x7f0000001000ull : 0;
			t[i].waiting_on.type = i % 5 == 3 ? NULL : i % 2 ? "Task" : "Future";
			t[i].waiting_on.what = what[i % 4];
		}
		if (i % 3 == 1) {
			t[i].awaited_by = by_a;
			t[i].nawaited_by = 1;
		} else if (i % 3 == 2) {
			t[i].awaited_by = by_b;
			t[i].nawaited_by = 3;
		}
	}
}

/* The rows of adbg_json_write_tasks (snap may be NULL), parsed as one array. */
static json_t *rows_in(const struct adbg_asyncio_snapshot *snap, const struct adbg_task *t,
		       size_t n)
{
	char *buf = NULL, *text;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	json_error_t jerr;
	json_t *a;

	ck_assert_ptr_nonnull(out);
	ck_assert_ptr_null(adbg_json_write_tasks(out, snap, t, n));
	ck_assert_int_eq(fclose(out), 0);
	// One line: the rows of a JSON Lines document.
	if (n)
		ck_assert_int_eq(buf[0], '{');
	ck_assert_ptr_null(memchr(buf, '\n', len));
	text = malloc(len + 3);
	ck_assert_ptr_nonnull(text);
	snprintf(text, len + 3, "[%s]", buf);
	a = json_loads(text, 0, &jerr);
	if (!a)
		ck_abort_msg("rows are not JSON (%s): %s", jerr.text, text);
	free(text);
	free(buf);
	return a;
}

static json_t *rows_of(const struct adbg_task *t, size_t n)
{
	return rows_in(NULL, t, n);
}

START_TEST(test_serialisers_agree)
{
	struct adbg_task t[60];
	json_t *rows;

	make_tasks(t, 60);
	rows = rows_of(t, 60);
	ck_assert_uint_eq(json_array_size(rows), 60);
	for (size_t i = 0; i < 60; i++) {
		json_t *want = adbg_json_task(NULL, &t[i]), *got = json_array_get(rows, i);

		if (!json_equal(want, got)) {
			char *w = json_dumps(want, JSON_SORT_KEYS),
			     *g = json_dumps(got, JSON_SORT_KEYS);

			ck_abort_msg("task %zu differs:\n  jansson:  %s\n  buffered: %s", i, w, g);
		}
		// Same keys in the same order, too: both print in schema order.
		{
			void *iw = json_object_iter(want), *ig = json_object_iter(got);

			for (; iw && ig; iw = json_object_iter_next(want, iw),
					 ig = json_object_iter_next(got, ig))
				ck_assert_str_eq(json_object_iter_key(iw),
						 json_object_iter_key(ig));
			ck_assert(!iw && !ig);
		}
		json_decref(want);
	}
	json_decref(rows);
}
END_TEST

/* Many tasks at the same few places and with the same names: the buffered serialiser takes
 * them from its fragment cache, and must still give each task its own. */
START_TEST(test_serialisers_agree_shared)
{
	enum { N = 5000 };
	struct adbg_task *t = calloc(N, sizeof(*t));
	json_t *rows;

	ck_assert_ptr_nonnull(t);
	for (size_t i = 0; i < N; i++) {
		t[i].id = 0x7f0000100000ull + 0x100 * i;
		t[i].name = i % 2 ? "even" : "odd";
		t[i].coro = "worker";
		t[i].stack.frames = &frames[i % 5];
		t[i].stack.n = 1;
		t[i].thread = 1;
	}
	rows = rows_of(t, N);
	ck_assert_uint_eq(json_array_size(rows), N);
	for (size_t i = 0; i < N; i++) {
		json_t *want = adbg_json_task(NULL, &t[i]);

		ck_assert(json_equal(want, json_array_get(rows, i)));
		json_decref(want);
	}
	json_decref(rows);
	rows = rows_of(t, 0);
	ck_assert_uint_eq(json_array_size(rows), 0);
	json_decref(rows);
	free(t);
}
END_TEST

/*
 * Tasks with wait details (a lock and its holders, a queue, an event, deadlines with and
 * without the time left), several sharing one: both serialisers give the same waiting_on,
 * and the text says the same.
 */
START_TEST(test_wait_details)
{
	enum { N = 6 };
	struct adbg_task t[N];
	struct adbg_wait_detail w[4] = {
		{.primitive = 0x7f0000900000,
		 .primitive_type = "Lock",
		 .lock = 0x7f0000900000,
		 .holders_at = 0,
		 .nholders = 2,
		 .held_evidence = "async with",
		 .is_lock = true},
		{.primitive = 0x7f0000900100,
		 .primitive_type = "Queue",
		 .qsize = 1,
		 .maxsize = 1,
		 .putters = 1,
		 .is_queue = true,
		 .has_deadline = true,
		 .when = 12345.25,
		 .left = 29.5,
		 .left_known = true,
		 .deadline_via = "wait_for"},
		{.primitive = 0x7f0000900200, .primitive_type = "Event", .is_event = true},
		{.has_deadline = true, .when = 100.5, .deadline_via = "sleep"},
	};
	uint64_t holders[2] = {0x7f0000100000, 0x7f0000100100};
	struct adbg_asyncio_snapshot snap = {.tasks = t,
					     .ntasks = N,
					     .waits = w,
					     .nwaits = 4,
					     .holders = holders,
					     .nholders = 2,
					     .now_source = "clock"};
	json_t *rows;
	char buf[256];

	memset(t, 0, sizeof(t));
	for (size_t i = 0; i < N; i++) {
		t[i].id = 0x7f0000100000ull + 0x100 * i;
		t[i].name = i == 0 ? "holder-a" : i == 1 ? "holder-b" : "waiter";
		t[i].has_waiting_on = i >= 2;
		t[i].waiting_on.type = "_asyncio.Future";
		t[i].waiting_on.id = 0x7f0000800000ull + 0x100 * i;
		t[i].waiting_on.what = "Lock.acquire";
		t[i].wait = i >= 2 ? (uint32_t)(i == 5 ? 1 : i - 1) : 0;
	}
	rows = rows_in(&snap, t, N);
	for (size_t i = 0; i < N; i++) {
		json_t *want = adbg_json_task(&snap, &t[i]), *got = json_array_get(rows, i);

		if (!json_equal(want, got)) {
			char *a = json_dumps(want, JSON_SORT_KEYS),
			     *b = json_dumps(got, JSON_SORT_KEYS);

			ck_abort_msg("task %zu differs:\n  jansson:  %s\n  buffered: %s", i, a, b);
		}
		json_decref(want);
	}
	ck_assert_str_eq(
		json_string_value(json_object_get(
			json_object_get(json_object_get(json_array_get(rows, 2), "waiting_on"),
					"primitive"),
			"type")),
		"Lock");
	json_decref(rows);
	ck_assert_str_eq(adbg_text_waiting_on(&snap, &t[2], buf, sizeof(buf)),
			 "Lock.acquire held by holder-a, holder-b");
	ck_assert_str_eq(adbg_text_waiting_on(&snap, &t[3], buf, sizeof(buf)),
			 "Lock.acquire (size 1 of 1, 0 getters, 1 putter), 29.5 s left (wait_for)");
	ck_assert_str_eq(adbg_text_waiting_on(&snap, &t[4], buf, sizeof(buf)),
			 "Lock.acquire (not set)");
	t[4].wait = 4;
	ck_assert_str_eq(adbg_text_waiting_on(&snap, &t[4], buf, sizeof(buf)),
			 "Lock.acquire, deadline 100.500 loop time (sleep)");
	// Cut to the buffer, never past it.
	ck_assert_str_eq(adbg_text_waiting_on(&snap, &t[2], buf, 20), "Lock.acquire held b");
}
END_TEST

/* The text cell: padding, the ellipsis, UTF-8 and control characters. */
START_TEST(test_text_cell)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	struct adbg_cmd_ctx c = {.out = out};

	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(adbg_text_columns("ünï"), 3);
	adbg_text_cell(&c, "abc", 5, -1, false);
	adbg_text_cell(&c, "abcdefgh", 5, -1, false);
	adbg_text_cell(&c, "ünïcødé", 4, ADBG_COLOR_RED, false);
	adbg_text_cell(&c, "a\x1b[31mb", 0, -1, true);
	ck_assert_int_eq(fclose(out), 0);
	ck_assert_str_eq(buf, "abc   abcd… ünï… a?[31mb");
	free(buf);
}
END_TEST

START_TEST(test_text_fit)
{
	int w[3] = {10, 20, 30}, min[3] = {5, 5, 25};

	adbg_text_fit(w, min, 3, 0);
	ck_assert_int_eq(w[0] + w[1] + w[2], 60);
	adbg_text_fit(w, min, 3, 50);
	ck_assert_int_eq(w[0] + w[1] + w[2] + 2, 50);
	ck_assert_int_ge(w[2], 25);
	adbg_text_fit(w, min, 3, 10);
	ck_assert_int_eq(w[0], 5);
	ck_assert_int_eq(w[1], 5);
	ck_assert_int_eq(w[2], 25);
}
END_TEST

static Suite *render_suite(void)
{
	Suite *s = suite_create("render");
	TCase *tc = tcase_create("render");

	tcase_add_test(tc, test_serialisers_agree);
	tcase_add_test(tc, test_serialisers_agree_shared);
	tcase_add_test(tc, test_wait_details);
	tcase_add_test(tc, test_text_cell);
	tcase_add_test(tc, test_text_fit);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(render_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
