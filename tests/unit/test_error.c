// SPDX-License-Identifier: MIT
// Unit tests of error.c: what adbg_error_is matches (by code, so an ENOMEM from the OS is
// NOMEM like the static error), wrap chains that keep code, errno and address, adbg_ok, and
// adbg_session_warn_error, which turns an error into a warning and frees it.
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "session.h"

START_TEST(test_is_null_is_nothing)
{
	// Success is no kind of failure.
	for (int code = ADBG_ERR_NOMEM; code <= ADBG_ERR_REPORTED; code++)
		ck_assert(!adbg_error_is(NULL, (enum adbg_error_code)code));
}
END_TEST

START_TEST(test_is_nomem)
{
	struct adbg_error *os = adbg_error_os(ENOMEM, "mmap of %s", "libpython");
	struct adbg_error *made = adbg_error_create(ADBG_ERR_NOMEM, "growing the task table");

	ck_assert(adbg_error_is(&adbg_error_nomem, ADBG_ERR_NOMEM));
	// The case a pointer comparison with &adbg_error_nomem misses.
	ck_assert_ptr_ne(os, &adbg_error_nomem);
	ck_assert(adbg_error_is(os, ADBG_ERR_NOMEM));
	ck_assert(!adbg_error_is(os, ADBG_ERR_OS));
	ck_assert_int_eq(os->errnum, ENOMEM);
	ck_assert(adbg_error_is(made, ADBG_ERR_NOMEM));
	ck_assert(!adbg_error_is(&adbg_error_nomem, ADBG_ERR_OS));
	adbg_error_destroy(os);
	adbg_error_destroy(made);
}
END_TEST

START_TEST(test_is_os_classification)
{
	static const struct {
		int errnum;
		enum adbg_error_code code;
	} cases[] = {
		{EPERM, ADBG_ERR_PERMISSION}, {EACCES, ADBG_ERR_PERMISSION}, {ESRCH, ADBG_ERR_GONE},
		{ENOMEM, ADBG_ERR_NOMEM},     {ENOENT, ADBG_ERR_OS},	     {EIO, ADBG_ERR_OS},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct adbg_error *err = adbg_error_os(cases[i].errnum, "open /proc/1/mem");

		for (int code = ADBG_ERR_NOMEM; code <= ADBG_ERR_REPORTED; code++)
			ck_assert_msg(adbg_error_is(err, (enum adbg_error_code)code) ==
					      (code == (int)cases[i].code),
				      "errno %d, code %s", cases[i].errnum,
				      adbg_error_code_name((enum adbg_error_code)code));
		adbg_error_destroy(err);
	}
}
END_TEST

START_TEST(test_wrap_keeps_code)
{
	struct adbg_error *err = adbg_error_fault(0x10, "address %#x not mapped", 0x10);

	err = adbg_error_wrap(err, "coro");
	err = adbg_error_wrap(err, "task %#x", 0x7f00);
	ck_assert_str_eq(err->message, "task 0x7f00: coro: address 0x10 not mapped");
	ck_assert(adbg_error_is(err, ADBG_ERR_FAULT));
	ck_assert_uint_eq(err->addr, 0x10);
	adbg_error_destroy(err);

	err = adbg_error_wrap(adbg_error_os(ENOMEM, "mmap"), "reading %s", "libpython");
	ck_assert(adbg_error_is(err, ADBG_ERR_NOMEM));
	ck_assert_int_eq(err->errnum, ENOMEM);
	adbg_error_destroy(err);

	// The static error is never written: wrapping returns it unchanged.
	ck_assert_ptr_eq(adbg_error_wrap(&adbg_error_nomem, "context"), &adbg_error_nomem);
	ck_assert_str_eq(adbg_error_nomem.message, "out of memory");
	ck_assert(adbg_error_is(adbg_error_wrap(&adbg_error_nomem, "x"), ADBG_ERR_NOMEM));
	ck_assert_ptr_null(adbg_error_wrap(NULL, "context"));
}
END_TEST

START_TEST(test_ok)
{
	ck_assert(adbg_ok(NULL));
	ck_assert(!adbg_ok(adbg_error_create(ADBG_ERR_NOT_FOUND, "no such symbol")));
	ck_assert(!adbg_ok(&adbg_error_nomem));
}
END_TEST

START_TEST(test_warn_error)
{
	// A session built by hand: warnings need nothing else.
	struct adbg_session s = {0};

	adbg_session_warn_error(&s, NULL);
	ck_assert_uint_eq(s.nwarnings, 0);
	adbg_session_warn_error(
		&s,
		adbg_error_wrap(adbg_error_fault(0x10, "address 0x10 not mapped"), "frame chain"));
	adbg_session_warn_error(&s, adbg_error_os(ESRCH, "thread %d", 42));
	adbg_session_warn_error(&s, &adbg_error_nomem);
	ck_assert_uint_eq(s.nwarnings, 3);
	ck_assert_str_eq(s.warnings[0], "frame chain: address 0x10 not mapped");
	ck_assert_str_eq(s.warnings[1], "thread 42: No such process");
	ck_assert_str_eq(s.warnings[2], "out of memory");
	// The static error survives being consumed.
	ck_assert_str_eq(adbg_error_nomem.message, "out of memory");
	adbg_session_clear_warnings(&s);
	free(s.warnings);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("error");
	TCase *tc = tcase_create("error");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_is_null_is_nothing);
	tcase_add_test(tc, test_is_nomem);
	tcase_add_test(tc, test_is_os_classification);
	tcase_add_test(tc, test_wrap_keeps_code);
	tcase_add_test(tc, test_ok);
	tcase_add_test(tc, test_warn_error);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
