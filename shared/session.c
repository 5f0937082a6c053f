// SPDX-License-Identifier: MIT
// Session lifetime and per-command warnings (see session.h).
#include "session.h"

#include "codecache.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

// More warnings than this in one command say nothing new; the rest are counted.
#define MAX_WARNINGS 100

struct adbg_error *adbg_session_create(struct adbg_target *t, struct adbg_session **ret)
{
	struct adbg_session *s = calloc(1, sizeof(*s));
	struct adbg_error *err;

	if (!s) {
		adbg_target_destroy(t);
		return &adbg_error_nomem;
	}
	s->target = t;
	err = adbg_python_find(t, &s->python);
	if (err) {
		adbg_session_destroy(s);
		return err;
	}
	*ret = s;
	return NULL;
}

struct adbg_error *adbg_session_create_python(struct adbg_target *t, struct adbg_python *py,
					      struct adbg_session **ret)
{
	struct adbg_session *s = calloc(1, sizeof(*s));

	if (!s) {
		adbg_python_destroy(py);
		adbg_target_destroy(t);
		return &adbg_error_nomem;
	}
	s->target = t;
	s->python = py;
	*ret = s;
	return NULL;
}

void adbg_session_destroy(struct adbg_session *s)
{
	if (!s)
		return;
	// Closing live control's channel first: the agent then resumes a paused loop and
	// unloads itself, before the target is detached.
	if (s->live && s->live_destroy)
		s->live_destroy(s->live);
	adbg_session_clear_warnings(s);
	adbg_codecache_destroy(s->codecache);
	adbg_python_destroy(s->python);
	adbg_target_destroy(s->target);
	free(s->warnings);
	free(s);
}

void adbg_session_warn(struct adbg_session *s, const char *fmt, ...)
{
	char **w;
	char *msg;
	va_list ap;

	if (s->nwarnings > MAX_WARNINGS)
		return;
	if (s->nwarnings == MAX_WARNINGS) {
		fmt = "more warnings were dropped";
		msg = NULL;
	}
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (!msg)
		return;
	w = realloc(s->warnings, (s->nwarnings + 1) * sizeof(*w));
	if (!w) {
		free(msg);
		return;
	}
	s->warnings = w;
	s->warnings[s->nwarnings++] = msg;
}

void adbg_session_clear_warnings(struct adbg_session *s)
{
	for (size_t i = 0; i < s->nwarnings; i++)
		free(s->warnings[i]);
	s->nwarnings = 0;
}

bool adbg_session_interrupted(const struct adbg_session *s)
{
	return s->interrupted && *s->interrupted;
}

const char *adbg_session_kind_name(const struct adbg_session *s)
{
	switch (s->target->kind) {
	case ADBG_TARGET_PROCESS:
		return "process";
	case ADBG_TARGET_CORE:
		return "core";
	case ADBG_TARGET_GDB:
		// To the user GDB's inferior is a process or a core like any other (the JSON
		// schema knows only those two); gdbext sets core_path for cores.
		return s->target->core_path ? "core" : "process";
	case ADBG_TARGET_MEMORY:
		break;
	}
	return "memory";
}

struct adbg_error *adbg_session_snapshot_begin(struct adbg_session *s)
{
	adbg_codecache_clear(s->codecache);
	// 3.14+: the AsyncioDebug section appears only once the target imports asyncio;
	// until it has been found, look again (new mappings first) before each snapshot.
	if (s->python->layout.minor >= 14 && !s->python->layout.from_asyncio_debug) {
		struct adbg_error *err = adbg_target_refresh(s->target);

		if (!err)
			err = adbg_python_find_asyncio(s->target, s->python);
		if (err)
			adbg_session_warn(s, "asyncio offsets: %s", err->message);
		adbg_error_destroy(err);
	}
	return adbg_target_freeze(s->target);
}

void adbg_session_snapshot_end(struct adbg_session *s)
{
	adbg_target_thaw(s->target);
}
