// SPDX-License-Identifier: MIT
// Building, wrapping and freeing errors (see error.h).
#include "error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct adbg_error adbg_error_nomem = {
	.code = ADBG_ERR_NOMEM,
	.message = (char *)"out of memory",
};

static ADBG_MUST_CHECK struct adbg_error *error_vcreate(enum adbg_error_code code, int errnum,
							uint64_t addr, const char *suffix,
							const char *fmt, va_list ap)
{
	struct adbg_error *err = calloc(1, sizeof(*err));
	char *msg = NULL;

	if (!err)
		return &adbg_error_nomem;
	if (vasprintf(&msg, fmt, ap) < 0) {
		free(err);
		return &adbg_error_nomem;
	}
	if (suffix) {
		char *full = NULL;

		if (asprintf(&full, "%s: %s", msg, suffix) < 0) {
			free(msg);
			free(err);
			return &adbg_error_nomem;
		}
		free(msg);
		msg = full;
	}
	err->code = code;
	err->errnum = errnum;
	err->addr = addr;
	err->message = msg;
	return err;
}

struct adbg_error *adbg_error_create(enum adbg_error_code code, const char *fmt, ...)
{
	struct adbg_error *err;
	va_list ap;

	va_start(ap, fmt);
	err = error_vcreate(code, 0, 0, NULL, fmt, ap);
	va_end(ap);
	return err;
}

struct adbg_error *adbg_error_os(int errnum, const char *fmt, ...)
{
	enum adbg_error_code code = ADBG_ERR_OS;
	struct adbg_error *err;
	va_list ap;

	if (errnum == EPERM || errnum == EACCES)
		code = ADBG_ERR_PERMISSION;
	else if (errnum == ENOMEM)
		code = ADBG_ERR_NOMEM;
	else if (errnum == ESRCH)
		code = ADBG_ERR_GONE;
	va_start(ap, fmt);
	err = error_vcreate(code, errnum, 0, strerror(errnum), fmt, ap);
	va_end(ap);
	return err;
}

struct adbg_error *adbg_error_fault(uint64_t addr, const char *fmt, ...)
{
	struct adbg_error *err;
	va_list ap;

	va_start(ap, fmt);
	err = error_vcreate(ADBG_ERR_FAULT, 0, addr, NULL, fmt, ap);
	va_end(ap);
	return err;
}

struct adbg_error *adbg_error_wrap(struct adbg_error *err, const char *fmt, ...)
{
	char *ctx = NULL, *full = NULL;
	va_list ap;

	if (!err || err == &adbg_error_nomem)
		return err;
	va_start(ap, fmt);
	if (vasprintf(&ctx, fmt, ap) < 0)
		ctx = NULL;
	va_end(ap);
	if (!ctx)
		return err; // keep the inner message; losing context beats losing the error
	if (asprintf(&full, "%s: %s", ctx, err->message) >= 0) {
		free(err->message);
		err->message = full;
	}
	free(ctx);
	return err;
}

void adbg_error_destroy(struct adbg_error *err)
{
	if (!err || err == &adbg_error_nomem)
		return;
	free(err->message);
	free(err);
}

const char *adbg_error_code_name(enum adbg_error_code code)
{
	static const char *const names[] = {
#define X(name, text) #name,
		ADBG_ERROR_CODES(X)
#undef X
	};

	if ((unsigned)code >= sizeof(names) / sizeof(names[0]))
		return "UNKNOWN";
	return names[code];
}

bool adbg_ok(struct adbg_error *err)
{
	adbg_error_destroy(err);
	return !err;
}

bool adbg_error_is(const struct adbg_error *err, enum adbg_error_code code)
{
	return err && err->code == code;
}
