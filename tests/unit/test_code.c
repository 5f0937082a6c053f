// SPDX-License-Identifier: MIT
// Unit tests of code.c: the 3.11+ line table decoder against an encoder written from
// Objects/locations.md, code objects in fake 3.11-3.15 heaps, and the line tables of real
// functions of every interpreter available compared with their co_lines().
#include <check.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "code.h"
#include "fixtures/fakepy.h"
#include "fixtures/fixture.h"
#include "objects.h"
#include "repr.h"

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

// ---------------------------------------------------------------------------------------
// An encoder for location entries, written from Objects/locations.md.

struct enc {
	uint8_t *buf;
	size_t len, cap;
	int line; // running start line
};

static void put(struct enc *e, uint8_t b)
{
	if (e->len == e->cap) {
		e->cap = e->cap ? e->cap * 2 : 256;
		e->buf = realloc(e->buf, e->cap);
	}
	e->buf[e->len++] = b;
}

static void put_varint(struct enc *e, unsigned v)
{
	while (v >= 64) {
		put(e, (uint8_t)(0x40 | (v & 63)));
		v >>= 6;
	}
	put(e, (uint8_t)v);
}

static void put_svarint(struct enc *e, int v)
{
	put_varint(e, v < 0 ? ((unsigned)-v << 1) | 1 : (unsigned)v << 1);
}

// One entry of units code units (1-8) at line (or no location when line < 0), in the
// form chosen by form: 0 the smallest that fits, 1 no-column, 2 long.
static void entry(struct enc *e, int units, int line, int form)
{
	int delta = line - e->line;

	if (line < 0) {
		put(e, (uint8_t)(0x80 | 15 << 3 | (units - 1)));
		return;
	}
	if (form == 0 && delta == 0) {
		put(e, (uint8_t)(0x80 | 3 << 3 | (units - 1))); // short form, column 24..
		put(e, 0x25);
	} else if (form == 0 && delta >= 0 && delta <= 2) {
		put(e, (uint8_t)(0x80 | (10 + delta) << 3 | (units - 1)));
		put(e, 4);
		put(e, 9);
	} else if (form <= 1) {
		put(e, (uint8_t)(0x80 | 13 << 3 | (units - 1)));
		put_svarint(e, delta);
	} else {
		put(e, (uint8_t)(0x80 | 14 << 3 | (units - 1)));
		put_svarint(e, delta);
		put_varint(e, 3); // end line delta
		put_varint(e, 130); // column + 1 (two chunks)
		put_varint(e, 7); // end column + 1
	}
	e->line = line;
}

START_TEST(test_addr2line_forms)
{
	struct enc e = {.line = 10};
	int want[64], nwant = 0;

	// (units, line): each unit is 2 bytes of bytecode.
	static const int spec[][3] = {
		{1, 10, 0}, {3, 11, 0},	 {2, 13, 0}, {8, -1, 0},     {1, 13, 0},
		{4, 10, 1}, {2, 250, 2}, {1, 1, 2},  {5, 100000, 1}, {1, 99999, 0},
	};

	for (size_t i = 0; i < sizeof(spec) / sizeof(spec[0]); i++) {
		entry(&e, spec[i][0], spec[i][1], spec[i][2]);
		for (int u = 0; u < spec[i][0]; u++)
			want[nwant++] = spec[i][1];
	}
	for (int off = 0; off < nwant * 2; off++)
		ck_assert_msg(adbg_code_addr2line(e.buf, e.len, 10, off) == want[off / 2],
			      "offset %d: got %d, want %d", off,
			      adbg_code_addr2line(e.buf, e.len, 10, off), want[off / 2]);
	ck_assert_int_eq(adbg_code_addr2line(e.buf, e.len, 10, nwant * 2), -1);
	ck_assert_int_eq(adbg_code_addr2line(e.buf, e.len, 10, 1 << 30), -1);
	ck_assert_int_eq(adbg_code_addr2line(e.buf, e.len, 10, -1), 10);
	ck_assert_int_eq(adbg_code_addr2line(NULL, 0, 10, -2), 10);
	ck_assert_int_eq(adbg_code_addr2line(NULL, 0, 10, 0), -1);

	// The iterator sees the entries unmerged.
	struct adbg_code_iter it;
	struct adbg_code_range r;
	size_t n = 0;

	adbg_code_iter_init(&it, e.buf, e.len, 10);
	while (adbg_code_iter_next(&it, &r)) {
		ck_assert_int_eq(r.line, spec[n][1]);
		ck_assert_int_eq(r.end - r.start, spec[n][0] * 2);
		n++;
	}
	ck_assert_uint_eq(n, sizeof(spec) / sizeof(spec[0]));
	free(e.buf);
}
END_TEST

// Random tables from the encoder decode to what was encoded.
START_TEST(test_addr2line_random)
{
	uint64_t seed = 12345;

	for (int round = 0; round < 200; round++) {
		int first = (int)(seed % 5000);
		struct enc e = {.line = first};
		int *want = malloc(4096 * sizeof(*want));
		int nwant = 0;

		while (nwant < 4000) {
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			int units = (int)(seed >> 33) % 8 + 1;
			int r = (int)(seed >> 40) % 100;
			int line = r < 10 ? -1 : r < 60 ? e.line + (r % 3) : e.line + (r - 80) * 37;

			if (line < 0 && r >= 10)
				line = 0;
			entry(&e, units, line, (int)(seed >> 50) % 3);
			for (int u = 0; u < units; u++)
				want[nwant++] = line;
		}
		for (int off = 0; off < nwant * 2; off += 2)
			ck_assert_int_eq(adbg_code_addr2line(e.buf, e.len, first, off),
					 want[off / 2]);
		free(want);
		free(e.buf);
	}
}
END_TEST

// Garbage tables end without reading out of bounds (run under ASan to see it) or looping.
START_TEST(test_addr2line_garbage)
{
	uint8_t buf[4096];
	uint64_t seed = 99;
	struct adbg_code_iter it;
	struct adbg_code_range r;

	for (int round = 0; round < 2000; round++) {
		size_t len = (size_t)(seed % sizeof(buf));

		for (size_t i = 0; i < len; i++) {
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			buf[i] = (uint8_t)(seed >> 56);
			// Bias towards long-form entries with runaway varints.
			if ((seed >> 20) % 7 == 0)
				buf[i] = 0x80 | 14 << 3;
			else if ((seed >> 20) % 7 == 1)
				buf[i] = 0x7f;
		}
		// Exact-size heap copy so ASan catches any overread.
		uint8_t *copy = malloc(len ? len : 1);
		size_t steps = 0;

		memcpy(copy, buf, len);
		adbg_code_iter_init(&it, copy, len, 1);
		while (adbg_code_iter_next(&it, &r)) {
			ck_assert(r.start < r.end);
			ck_assert(++steps <= len);
		}
		(void)adbg_code_addr2line(copy, len, 1, (int)(seed % 10000));
		free(copy);
	}
	// A table that does not start with an entry byte has no lines.
	buf[0] = 0x12;
	ck_assert_int_eq(adbg_code_addr2line(buf, 1, 5, 0), -1);
	// A varint that runs off the end of the table.
	buf[0] = 0x80 | 13 << 3;
	buf[1] = 0x7f;
	buf[2] = 0x7f;
	(void)adbg_code_addr2line(buf, 3, 5, 0);
	// Line deltas that would overflow int stop the walk.
	struct enc e = {.line = 0};

	entry(&e, 1, 0x7ffffff0, 1);
	entry(&e, 1, 0x7ffffff0, 0);
	put(&e, 0x80 | 13 << 3);
	put_svarint(&e, 0x7fffff);
	ck_assert_int_eq(adbg_code_addr2line(e.buf, e.len, 0, 2), 0x7ffffff0);
	ck_assert_int_eq(adbg_code_addr2line(e.buf, e.len, 0, 4), -1);
	free(e.buf);
}
END_TEST

// ---------------------------------------------------------------------------------------
// Code objects in fake heaps.

static const unsigned minors[] = {11, 12, 13, 14, 15};

START_TEST(test_code_objects)
{
	struct fake f;
	struct enc e = {.line = 40};
	struct adbg_code_info ci;
	uint8_t *table;
	size_t len;
	int line;
	uint64_t code;

	fake_init(&f, minors[_i]);
	entry(&e, 2, 40, 0);
	entry(&e, 3, 42, 0);
	entry(&e, 1, -1, 0);
	entry(&e, 4, 41, 1);
	code = fake_code(&f, "worker", "Pool.worker", "/srv/app/pool.py", 40, e.buf, e.len);
	OK(adbg_code_read(f.t, &f.l, code, &ci));
	ck_assert_str_eq(ci.name, "worker");
	ck_assert_str_eq(ci.qualname, "Pool.worker");
	ck_assert_str_eq(ci.filename, "/srv/app/pool.py");
	ck_assert_int_eq(ci.firstlineno, 40);
	adbg_code_info_deinit(&ci);
	OK(adbg_code_read_linetable(f.t, &f.l, code, &table, &len));
	ck_assert_uint_eq(len, e.len);
	ck_assert(!memcmp(table, e.buf, len));
	free(table);
	OK(adbg_code_line(f.t, &f.l, code, 6, &line));
	ck_assert_int_eq(line, 42);
	OK(adbg_code_line(f.t, &f.l, code, 10, &line));
	ck_assert_int_eq(line, -1);
	OK(adbg_code_line(f.t, &f.l, code, 12, &line));
	ck_assert_int_eq(line, 41);
	OK(adbg_code_line(f.t, &f.l, code, -1, &line));
	ck_assert_int_eq(line, 40);
	{
		char *s, want[160];

		OK(adbg_obj_repr(f.t, &f.l, code, 200, &s));
		snprintf(want, sizeof(want),
			 "<code object worker at %#" PRIx64 ", file \"/srv/app/pool.py\", line 40>",
			 code);
		ck_assert_str_eq(s, want);
		free(s);
	}

	// An empty table has no lines.
	code = fake_code(&f, "empty", "empty", "x.py", 1, NULL, 0);
	OK(adbg_code_read_linetable(f.t, &f.l, code, &table, &len));
	ck_assert_uint_eq(len, 0);
	ck_assert_ptr_null(table);
	OK(adbg_code_line(f.t, &f.l, code, 0, &line));
	ck_assert_int_eq(line, -1);

	// Garbage: NULL and misaligned code, a name that is not a str, a table that is not
	// bytes, a table over the cap, unmapped fields.
	FAILS(adbg_code_read(f.t, &f.l, 0, &ci), ADBG_ERR_BAD_DATA);
	FAILS(adbg_code_read(f.t, &f.l, code + 4, &ci), ADBG_ERR_BAD_DATA);
	FAILS(adbg_code_read(f.t, &f.l, FAKE_UNMAPPED, &ci), ADBG_ERR_FAULT);
	code = fake_code(&f, "n", "q", "f", 1, e.buf, e.len);
	fake_w64(&f, code + f.l.code_object.qualname, fake_int(&f, 3));
	FAILS(adbg_code_read(f.t, &f.l, code, &ci), ADBG_ERR_BAD_DATA);
	fake_w64(&f, code + f.l.code_object.qualname, FAKE_UNMAPPED);
	FAILS(adbg_code_read(f.t, &f.l, code, &ci), ADBG_ERR_FAULT);
	fake_w64(&f, code + f.l.code_object.linetable, fake_str(&f, "xx"));
	FAILS(adbg_code_read_linetable(f.t, &f.l, code, &table, &len), ADBG_ERR_BAD_DATA);
	uint64_t big = fake_bytes(&f, "", 0);

	fake_w64(&f, big + f.l.bytes_object.ob_size, ADBG_CODE_MAX_LINETABLE + 1);
	fake_w64(&f, code + f.l.code_object.linetable, big);
	FAILS(adbg_code_read_linetable(f.t, &f.l, code, &table, &len), ADBG_ERR_BAD_DATA);
	FAILS(adbg_code_line(f.t, &f.l, code, 0, &line), ADBG_ERR_BAD_DATA);
	free(e.buf);
	fake_deinit(&f);
}
END_TEST

// ---------------------------------------------------------------------------------------
// Real line tables: co_linetable against co_lines() of the same code object, for every
// instruction offset, plus the same table read from the dumped memory.

static unsigned live_failures;

START_TEST(test_live_lines)
{
	struct fixture_set fs;
	unsigned total_codes = 0, total_offsets = 0;

	live_failures += fixture_set_load(&fs);
	for (size_t n = 0; n < fs.n; n++) {
		struct fixture *fx = &fs.fx[n];
		struct adbg_layout l;
		unsigned codes = 0, offsets = 0, from_memory = 0;

		if (!fixture_layout(fx, false, &l)) {
			live_failures++;
			continue;
		}
		for (size_t i = 0; i < fx->nchecks_lines; i++) {
			const char *line = fx->checks[i];
			size_t cap, nw, tlen;
			char **w, *copy;
			uint8_t *table, *mem_table;
			size_t mem_len;
			int first;
			uint64_t code;
			struct adbg_error *err;

			if (strncmp(line, "lines ", 6))
				continue;
			copy = strdup(line);
			cap = strlen(copy) / 2 + 4;
			w = malloc(cap * sizeof(*w));
			nw = fixture_words(copy, w, cap);
			code = strtoull(w[1], NULL, 0);
			first = atoi(w[2]);
			table = (uint8_t *)fixture_unhex(w[3], &tlen);
			size_t nranges = strtoull(w[4], NULL, 10);

			ck_assert_uint_eq(nw, 5 + nranges);
			for (size_t r = 0; r < nranges; r++) {
				int s, e, ln;

				sscanf(w[5 + r], "%d:%d:%d", &s, &e, &ln);
				for (int off = s; off < e; off += 2) {
					int got = adbg_code_addr2line(table, tlen, first, off);

					if (got != ln) {
						fprintf(stderr,
							"FAIL live %s: code %s offset %d: got %d, "
							"want %d\n",
							fx->label, w[1], off, got, ln);
						live_failures++;
					}
					offsets++;
				}
			}
			// The same table, read from the code object in memory.
			err = adbg_code_read_linetable(fx->t, &l, code, &mem_table, &mem_len);
			if (err) {
				fprintf(stderr, "FAIL live %s: code %s: %s\n", fx->label, w[1],
					err->message);
				adbg_error_destroy(err);
				live_failures++;
			} else {
				if (mem_len != tlen || (tlen && memcmp(mem_table, table, tlen))) {
					fprintf(stderr, "FAIL live %s: code %s: table differs\n",
						fx->label, w[1]);
					live_failures++;
				}
				from_memory++;
				free(mem_table);
			}
			codes++;
			free(table);
			free(w);
			free(copy);
		}
		fprintf(stderr,
			"test_code: live %s (%s): %u code objects, %u instruction offsets, %u "
			"tables read from memory\n",
			fx->label, fx->version, codes, offsets, from_memory);
		total_codes += codes;
		total_offsets += offsets;
	}
	fprintf(stderr,
		"test_code: live: %u code objects, %u offsets over %zu interpreters, %u "
		"failures\n",
		total_codes, total_offsets, fs.n, live_failures);
	fixture_set_free(&fs);
	ck_assert_uint_eq(live_failures, 0);
}
END_TEST

static Suite *code_suite(void)
{
	Suite *s = suite_create("code");
	TCase *tc = tcase_create("linetable");
	TCase *live = tcase_create("live");

	tcase_add_test(tc, test_addr2line_forms);
	tcase_add_test(tc, test_addr2line_random);
	tcase_add_test(tc, test_addr2line_garbage);
	tcase_add_loop_test(tc, test_code_objects, 0, (int)(sizeof(minors) / sizeof(minors[0])));
	suite_add_tcase(s, tc);
	tcase_add_test(live, test_live_lines);
	tcase_set_timeout(live, 300);
	suite_add_tcase(s, live);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(code_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
