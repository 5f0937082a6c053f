// SPDX-License-Identifier: MIT
// Errors returned by every fallible function of libaiodbg.
//
// A fallible function returns a struct adbg_error *, NULL on success. An error carries a
// code from one list, an optional errno and address, and a message that grows context on
// the way up (adbg_error_wrap). Creating an error never fails: when memory runs out the
// caller gets a static out-of-memory error, which adbg_error_destroy ignores. This module
// does not print; the front ends do.
#ifndef AIODBG_ERROR_H
#define AIODBG_ERROR_H

#include <stdbool.h>
#include <stdint.h>

/*
 * On every function that returns a struct adbg_error * (declarations in headers, static
 * definitions, and function-pointer members and typedefs, where GCC applies it to the
 * function type): dropping the result leaks the error and hides the failure, so the
 * compiler refuses it (-Werror). A caller for whom failure only means "not there" says so
 * with adbg_ok(); a `(void)` cast does not silence the attribute under GCC.
 */
#define ADBG_MUST_CHECK __attribute__((warn_unused_result))

#define ADBG_ERROR_CODES(X)                       \
	X(NOMEM, "out of memory")                 \
	X(OS, "system error")                     \
	X(FAULT, "memory not readable")           \
	X(BAD_DATA, "corrupt or unexpected data") \
	X(UNSUPPORTED, "unsupported")             \
	X(NOT_FOUND, "not found")                 \
	X(INVALID_ARG, "invalid argument")        \
	X(PERMISSION, "permission denied")        \
	X(TIMEOUT, "timed out")                   \
	X(INTERRUPTED, "interrupted")             \
	X(GONE, "target exited")                  \
	X(STATE, "not possible now")              \
	X(REPORTED, "failed, as the output shows")

/*
 * Two codes are about commands rather than the target:
 * - STATE: the command is well formed but cannot be done now (the loop is already paused,
 *   or not paused; the task has finished; an expression is still running). A failure
 *   (exit status 1), not bad usage.
 * - REPORTED: the command failed and its output already shows how (the traceback of an
 *   expression that raised, an {"ok": false} JSON document, an interrupted expression).
 *   Front ends fail with it (exit status 1) without printing the message again; the
 *   message is still a whole sentence, for callers that did not show the output.
 */
enum adbg_error_code {
#define X(name, text) ADBG_ERR_##name,
	ADBG_ERROR_CODES(X)
#undef X
};

struct adbg_error {
	enum adbg_error_code code;
	/** errno for ADBG_ERR_OS and ADBG_ERR_PERMISSION, else 0. */
	int errnum;
	/** the faulting target address for ADBG_ERR_FAULT, else 0. */
	uint64_t addr;
	/** full message, context first: "reading task 0x..: coro: address 0x10 not mapped". */
	char *message;
};

/** The static error returned when allocating an error fails. */
extern struct adbg_error adbg_error_nomem;

/** Create an error with a printf-style message. Never returns NULL. */
ADBG_MUST_CHECK struct adbg_error *adbg_error_create(enum adbg_error_code code, const char *fmt,
						     ...) __attribute__((format(printf, 2, 3)));

/** Create an ADBG_ERR_OS error (or ADBG_ERR_PERMISSION for EPERM/EACCES) for errnum. */
ADBG_MUST_CHECK struct adbg_error *adbg_error_os(int errnum, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/** Create an ADBG_ERR_FAULT error for a target address. */
ADBG_MUST_CHECK struct adbg_error *adbg_error_fault(uint64_t addr, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/**
 * Prefix err's message with "context: ". Returns err (or adbg_error_nomem); takes
 * ownership of err. adbg_error_wrap(NULL, ...) returns NULL.
 */
ADBG_MUST_CHECK struct adbg_error *adbg_error_wrap(struct adbg_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/** Free an error. NULL and adbg_error_nomem are ignored. */
void adbg_error_destroy(struct adbg_error *err);

/**
 * For calls whose failure only means "not there": true when err is NULL. Frees err, so
 * `if (adbg_ok(read(...)))` leaks nothing either way.
 */
bool adbg_ok(struct adbg_error *err);

/**
 * Whether err is a failure of kind code: false for NULL (success), else err->code == code.
 * The code is all that is compared, never the pointer, so:
 * - ADBG_ERR_NOMEM matches the static adbg_error_nomem, an error created with that code,
 *   and adbg_error_os(ENOMEM, ...) (adbg_error_os files errno ENOMEM under NOMEM);
 * - likewise adbg_error_os files EPERM and EACCES under ADBG_ERR_PERMISSION and ESRCH
 *   under ADBG_ERR_GONE: for those errors ADBG_ERR_OS does not match, the specific code
 *   does (ADBG_ERR_OS matches the other errno values);
 * - adbg_error_wrap keeps the code, so a wrapped error matches what it matched before.
 * Use it instead of comparing with &adbg_error_nomem, which misses an ENOMEM from the OS.
 * Comparing the pointer is right only to ask whether err may be written to (the static
 * error may not). err is not consumed.
 */
bool adbg_error_is(const struct adbg_error *err, enum adbg_error_code code);

/** The name of a code, e.g. "FAULT". */
const char *adbg_error_code_name(enum adbg_error_code code);

#endif
